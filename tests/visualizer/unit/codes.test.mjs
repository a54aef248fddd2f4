// The error-code table of the page against spec §4 and the contract's codes.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES, describeCode } from '../../../visualizer/js/codes.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const SPEC = [path.join(ROOT, '..', 'shared', 'spec', 'protocol.md'), '/work/shared/spec/protocol.md'].find((p) => existsSync(p));

test('every code of the spec §4 table has the spec meaning', { skip: SPEC ? false : 'spec not found beside the repository' }, () => {
  const spec = readFileSync(SPEC, 'utf8');
  const rows = [...spec.matchAll(/^\| (\d+) \| (.+) \|$/gm)].map((m) => [Number(m[1]), m[2].replace(/ \(metadata:.*\)$/, '')]);
  assert.ok(rows.length >= 20, `found ${rows.length} code rows`);
  for (const [code, meaning] of rows) assert.equal(ERROR_CODES[code], meaning, `code ${code}`);
});

test('every code the contract raises has a meaning', () => {
  const source = readFileSync(path.join(ROOT, 'contracts', 'Mediator.sol'), 'utf8');
  const codes = [...source.matchAll(/uint16 private constant CODE_\w+ = (\d+);/g)].map((m) => Number(m[1]));
  assert.ok(codes.length >= 15);
  for (const c of codes) assert.ok(Object.hasOwn(ERROR_CODES, c), `code ${c}`);
});

test('unknown codes say so', () => {
  assert.equal(describeCode(999), 'unknown error code 999');
  assert.equal(describeCode('2'), 'only the provider may do this');
});
