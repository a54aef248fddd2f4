// The generated ABI module is the artifact's ABI (drift check), and the static server serves the
// page with the content types ES modules need and nothing outside visualizer/.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { abiModuleText } from '../../../visualizer/build.mjs';
import { MEDIATOR_ABI } from '../../../visualizer/generated/mediator-abi.js';
import { createStaticServer } from '../../../visualizer/serve.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

test('generated/mediator-abi.js matches contracts/artifacts/Mediator.json and MediatorFactory.json', () => {
  const artifactText = readFileSync(path.join(ROOT, 'contracts', 'artifacts', 'Mediator.json'), 'utf8');
  const factoryText = readFileSync(path.join(ROOT, 'contracts', 'artifacts', 'MediatorFactory.json'), 'utf8');
  const committed = readFileSync(path.join(ROOT, 'visualizer', 'generated', 'mediator-abi.js'), 'utf8');
  assert.equal(committed, abiModuleText(artifactText, factoryText), 'run: node visualizer/build.mjs');
  assert.deepEqual(MEDIATOR_ABI, JSON.parse(artifactText).abi);
});

test('the static server serves the page and refuses what is not in visualizer/', async () => {
  const srv = createStaticServer(path.join(ROOT, 'visualizer'));
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${srv.address().port}`;
  try {
    const index = await fetch(`${base}/`);
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type'), /text\/html/);
    assert.match(await index.text(), /<script type="module" src="js\/app.js">/);
    const js = await fetch(`${base}/js/decode.js`);
    assert.match(js.headers.get('content-type'), /text\/javascript/);
    assert.equal((await fetch(`${base}/nope.js`)).status, 404);
    // ../ cannot leave the folder: this names contracts/Mediator.sol outside visualizer/
    assert.equal((await fetch(`${base}/%2e%2e/contracts/Mediator.sol`)).status, 404);
    assert.equal((await fetch(`${base}/`, { method: 'POST' })).status, 405);
  } finally {
    srv.close();
  }
});
