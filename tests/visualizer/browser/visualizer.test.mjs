// Browser tests of the visualizer: a real anvil with real Mediator activity (support.mjs), the
// page served from visualizer/ by its static server, Debian's chromium driven by playwright-core.
// Screenshots of every view go to tests/visualizer/artifacts/ (or $PAYCHAN_TEST_ARTIFACTS).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createStaticServer } from '../../../visualizer/serve.mjs';
import { FINNEY, ROOT, createActivity, freePort, startAnvil } from '../support.mjs';
import { launchChromium } from './chromium.mjs';

const ARTIFACTS = process.env.PAYCHAN_TEST_ARTIFACTS ?? path.join(ROOT, 'tests', 'visualizer', 'artifacts');
const WAIT = { timeout: 15000 };

let anvil; let chrome; let server; let base; let act; let context; let page;
const pageErrors = [];

before(async () => {
  // vendor/ethers.min.js is not committed: the page needs it next to index.html.
  execFileSync(process.execPath, [path.join(ROOT, 'visualizer', 'build.mjs')], { stdio: 'inherit' });
  mkdirSync(ARTIFACTS, { recursive: true });
  anvil = await startAnvil();
  server = createStaticServer(path.join(ROOT, 'visualizer'));
  const port = await freePort();
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  base = `http://127.0.0.1:${port}/`;
  [act, chrome] = await Promise.all([createActivity(anvil.url), launchChromium()]);
  context = await chrome.browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(15000);
  page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
});

after(async () => {
  // Each step runs even when an earlier one fails, so nothing keeps running after the tests.
  const steps = [() => chrome?.stop(), () => server?.closeAllConnections(), () => server?.close(),
    () => act?.provider.destroy(), () => anvil?.stop()];
  for (const step of steps) {
    try {
      await step();
    } catch (e) {
      console.error(`cleanup: ${e.message}`);
    }
  }
});

const shot = (name) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
const open = (hash, node = anvil.url) => page.goto(`${base}?node=${encodeURIComponent(node)}${hash}`);
const text = (sel) => page.locator(sel).first().innerText();
const weiOf = (testid) => page.locator(`[data-testid="${testid}"]`).first().getAttribute('data-wei');

test('a wrong node URL gives a clear error message', async () => {
  const closed = `http://127.0.0.1:${await freePort()}`;
  await open('#/blocks', closed);
  await page.locator('[data-testid="connect-error"]').waitFor({ state: 'visible', ...WAIT });
  assert.match(await text('[data-testid="connect-error"]'), new RegExp(`Cannot reach the node at ${closed}/`));
  assert.equal(await text('[data-testid="node-status"]'), 'not connected');
  await shot('error-unreachable');

  // Something answers, but it is not an Ethereum node: the page's own static server.
  await page.fill('#node-url', base);
  await page.click('#connect');
  await page.getByText('not JSON-RPC').waitFor(WAIT);
  assert.match(await text('[data-testid="connect-error"]'), /answered HTTP 405 with something that is not JSON-RPC/);
  await shot('error-not-ethereum');
});

test('the block list pages back and shows the Mediator transactions, the redemption and the failed call', async () => {
  await page.goto(`${base}?pageSize=4&node=${encodeURIComponent(anvil.url)}#/blocks`);
  const rows = page.locator('[data-testid="block-row"]');
  await rows.first().waitFor(WAIT);
  const shown = () => rows.evaluateAll((els) => els.map((e) => Number(e.dataset.block)));
  // Blocks 2-7 and 9-12 carry Mediator transactions (1 deploys the MediatorFactory, 8 is the
  // empty block of evm_mine); 4 a page.
  assert.deepEqual(await shown(), [12, 11, 10, 9]);
  await shot('blocks');
  await page.click('[data-testid="older"]');
  await page.locator('[data-testid="block-row"][data-block="4"]').waitFor(WAIT);
  assert.deepEqual(await shown(), [12, 11, 10, 9, 7, 6, 5, 4]);
  await page.click('[data-testid="older"]');
  await page.locator('[data-testid="block-row"][data-block="2"]').waitFor(WAIT);
  assert.deepEqual(await shown(), [12, 11, 10, 9, 7, 6, 5, 4, 3, 2]);
  assert.match(await text('.pager'), /reached the genesis block/);

  const labels = await page.locator('[data-testid="tx-label"]').allInnerTexts();
  assert.ok(labels.includes('redeem 7 requests = 0.000000014 ETH'), labels.join(' | '));
  assert.equal(labels.filter((l) => l.startsWith('deploy Mediator')).length, 2);
  assert.equal(labels.filter((l) => l.startsWith('deposit')).length, 3);
  assert.ok(labels.includes('provider closes'));
  const failedRow = page.locator('[data-testid="block-tx"]', { has: page.locator('.badge.failed') });
  assert.equal(await failedRow.count(), 1);
  assert.match(await failedRow.innerText(), /payout to provider/);
  assert.match(await text('[data-testid="node-status"]'), /connected: chain 31337/);
  await shot('blocks-all');
});

test('the redemption transaction shows the decoded request count and amount', async () => {
  await open(`#/tx/${act.redeemTxHash}`);
  await page.locator('[data-testid="call-name"]').waitFor(WAIT);
  assert.equal(await text('[data-testid="call-name"]'), 'redeemToken');
  assert.equal(await text('[data-testid="call-args"] [data-arg="requestCount"]'), String(act.m1.requests));
  const ev = page.locator('[data-testid="event"][data-event="TokenRedeemed"]');
  assert.equal(await ev.locator('[data-arg="requestCount"]').innerText(), '7');
  assert.equal(await ev.locator('[data-arg="amount"]').getAttribute('data-value'), act.redeemAmount.toString());
  assert.equal(await ev.locator('[data-arg="amount"]').innerText(), '14 gwei');
  assert.equal(await ev.locator('[data-arg="tokenId"]').getAttribute('data-value'), act.m1.tokenId.toString());
  await shot('tx-redeem');
});

test('a failed transaction shows its decoded error code and meaning', async () => {
  assert.equal(act.failedStatus, 0);
  await open(`#/tx/${act.failedTxHash}`);
  await page.locator('[data-testid="tx-error"]').waitFor(WAIT);
  assert.equal(await text('[data-testid="error-code"]'), '2');
  assert.equal(await text('[data-testid="error-meaning"]'), 'only the provider may do this');
  assert.match(await text('[data-testid="tx-error"]'), /OnlyServiceProvider/);
  await shot('tx-failed');
});

test('block details show hash, parent and every transaction', async () => {
  const receipt = await act.provider.getTransactionReceipt(act.redeemTxHash);
  await open(`#/block/${receipt.blockNumber}`);
  await page.locator('[data-testid="block-details"]').waitFor(WAIT);
  const details = await text('[data-testid="block-details"]');
  const block = await act.provider.getBlock(receipt.blockNumber);
  assert.ok(details.includes(block.hash), details);
  assert.ok(details.includes(block.parentHash), details);
  assert.equal(await page.locator('[data-testid="tx"]').count(), block.transactions.length);
  await shot('block');
});

test('the inspector shows each Mediator\'s parties, state and funds to the wei', async () => {
  for (const [name, m, state] of [['m1', act.m1, 'active'], ['m2', act.m2, 'terminated']]) {
    await open(`#/mediator/${m.address}`);
    await page.locator('[data-testid="consumer-funds"]').waitFor(WAIT);
    assert.equal(await weiOf('consumer-funds'), m.consumerFunds.toString(), `${name} consumer funds`);
    assert.equal(await weiOf('provider-funds'), m.providerFunds.toString(), `${name} provider funds`);
    assert.equal(await text('[data-testid="consumer"]'), m.consumer);
    assert.equal(await text('[data-testid="provider"]'), m.provider);
    assert.equal(await text('[data-testid="mediator-state"]'), state);
    assert.equal(await weiOf('paid'), m.paid.toString());
    assert.equal(await text('[data-testid="requests-redeemed"]'), m.requests.toString());
    // the chart arrives after the balance history: consumer, provider, Mediator and two gas lines
    await page.locator('[data-testid="balance-chart"] svg path.series').first().waitFor(WAIT);
    assert.equal(await page.locator('[data-testid="balance-chart"] svg path.series').count(), 5);
    await shot(`mediator-${name}`);
  }
  assert.equal(await text('[data-testid="termination"]'), 'terminated');
  const events = await page.locator('[data-testid="timeline-event"]').evaluateAll((els) => els.map((e) => e.dataset.event));
  assert.deepEqual(events, ['MediatorCreated', 'Deposited', 'Deposited', 'Terminated']);
});

test('the service graph has one edge per Mediator, consumer to provider, and leads to the inspector', async () => {
  await open('#/services');
  await page.locator('[data-testid="edge-row"]').first().waitFor(WAIT);
  const rows = await page.locator('[data-testid="edge-row"]').evaluateAll((els) => els.map((r) =>
    [...r.querySelectorAll('td')].map((td) => td.querySelector('[data-wei]')?.dataset.wei ?? td.innerText.trim())));
  const expect = [act.m1, act.m2].map((m) => [m.consumer, m.provider, m.address, m.paid.toString(), m.requests.toString()]);
  assert.deepEqual(rows.map((r) => r.slice(0, 5)).sort(), expect.sort());
  assert.deepEqual(rows.map((r) => r[5]).sort(), ['active', 'terminated']);
  assert.equal(await page.locator('[data-testid="graph-node"]').count(), 4);
  assert.equal(await page.locator('[data-testid="graph-edge"]').count(), 2);
  const m1Edge = page.locator(`[data-testid="graph-edge"][data-mediator="${act.m1.address}"]`);
  assert.match(await m1Edge.textContent(), /14 gwei paid · 7 requests/);
  await shot('services');
  await m1Edge.locator('text').first().click();
  await page.waitForURL(`**#/mediator/${act.m1.address}`, WAIT);
  await page.locator('[data-testid="consumer-funds"]').waitFor(WAIT);
});

test('a new block with a Mediator transaction appears live, and the node is remembered', async () => {
  // Opened without ?node=: the URL comes from localStorage.
  await page.goto(`${base}#/blocks`);
  await page.locator('[data-testid="block-row"]').first().waitFor(WAIT);
  assert.equal(await page.inputValue('#node-url'), `${anvil.url}/`);
  const before = await page.locator('[data-testid="block-row"]').count();
  const tx = await act.m1.contract.depositForServiceConsumer({ value: 2n * FINNEY });
  const receipt = await tx.wait();
  const row = page.locator(`[data-testid="block-row"][data-block="${receipt.blockNumber}"]`);
  await row.waitFor(WAIT);
  assert.match(await row.innerText(), /deposit 0\.002 ETH/);
  assert.equal(await page.locator('[data-testid="block-row"]').count(), before + 1);
  assert.equal(await page.locator('[data-testid="block-row"]').first().getAttribute('data-block'), String(receipt.blockNumber));
  assert.match(await row.getAttribute('class'), /new/);
  await shot('blocks-live');
  assert.deepEqual(pageErrors, []);
});

// Issue 5, point 7: paychand serves the same page at /visualizer/ (--visualizer DIR). CTest passes
// the daemon's path in PAYCHAN_PAYCHAND; a bare `node --test` run without it skips this test.
test('paychand serves the page at /visualizer/', { skip: !process.env.PAYCHAN_PAYCHAND }, async () => {
  const { spawn } = await import('node:child_process');
  const port = await freePort();
  const anvilKey0 = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
  const daemon = spawn(process.env.PAYCHAN_PAYCHAND, ['--node-url', anvil.url, '--chain-id', '31337',
    '--port', String(port), '--store', 'memory', '--dev', '--dev-key', anvilKey0,
    '--visualizer', path.join(ROOT, 'visualizer'), '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    const status = `http://127.0.0.1:${port}/status`;
    for (let i = 0; i < 100; i++) {
      try { if ((await fetch(status)).ok) break; } catch { /* not listening yet */ }
      await new Promise((r) => setTimeout(r, 100));
    }
    const outside = await fetch(`http://127.0.0.1:${port}/visualizer/%2e%2e/README.md`);
    assert.equal(outside.status, 404);
    await page.goto(`http://127.0.0.1:${port}/visualizer/?node=${encodeURIComponent(anvil.url)}#/services`);
    await page.locator('[data-testid="edge-row"]').first().waitFor(WAIT);
    assert.equal(await page.locator('[data-testid="graph-edge"]').count(), 2);
    await shot('served-by-paychand');
  } finally {
    daemon.kill('SIGTERM');
  }
});
