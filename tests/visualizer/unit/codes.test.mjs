// The error-code table of the page against docs/protocol.md §4.4 and the contract's codes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES, describeCode } from '../../../visualizer/js/codes.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const PROTOCOL = path.join(ROOT, 'docs', 'protocol.md');

// docs/protocol.md §4.4: | code | name | HTTP | meaning |. The page knows the codes a Mediator's
// transactions can fail with: those of the original system and the contract's (1-202).
test('every code of the docs/protocol.md §4.4 table up to 202 has the documented meaning', () => {
  const doc = readFileSync(PROTOCOL, 'utf8');
  const rows = [...doc.matchAll(/^\| (\d+) \| \w+ \| \d{3} \| (.+) \|$/gm)].map((m) => [Number(m[1]), m[2].replace(/ \(metadata:.*\)$/, '')]);
  assert.ok(rows.length >= 30, `found ${rows.length} code rows`);
  for (const [code, meaning] of rows.filter(([c]) => c <= 202)) assert.equal(ERROR_CODES[code], meaning, `code ${code}`);
  for (const code of Object.keys(ERROR_CODES)) assert.ok(rows.some(([c]) => c === Number(code)), `code ${code} documented`);
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
