// Browser tests of issue 14 point 6 at desktop (1400 px) and narrow (800 px) widths, screenshots
// kept in $PAYCHAN_TEST_ARTIFACTS: the Mediator page stays inside its cards, times stay on one line,
// amounts read as ETH / gwei with the exact wei on hover, 77-digit token ids are shortened with the
// full value on hover and copy, the chart has ticks and keeps gas apart from the provider's line;
// and the operations view against a fake admin API (tests/visualizer/fake-admin.mjs).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createStaticServer } from '../../../visualizer/serve.mjs';
import { createFakeAdmin } from '../fake-admin.mjs';
import { ROOT, createActivity, freePort, startAnvil } from '../support.mjs';
import { launchChromium } from './chromium.mjs';

const ARTIFACTS = process.env.PAYCHAN_TEST_ARTIFACTS ?? path.join(ROOT, 'tests', 'visualizer', 'artifacts');
const WAIT = { timeout: 15000 };
const WIDTHS = [1400, 800];
const TOKEN = 'admin-secret-for-the-test';
const A = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const B = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC';
const M = ['0x1111111111111111111111111111111111111111', '0x2222222222222222222222222222222222222222'];

let anvil; let chrome; let server; let base; let act; let context; let page; let fake; let fakeBase;
const pageErrors = [];

const now = () => Math.floor(Date.now() / 1000);
/** What the fake paychand answers: A (labelled by paychand) provides to B, B consumes; `n` moves the numbers. */
function adminData(n) {
  const ch = (mediator, role, account, counterparty, extra) => ({
    mediator, role, account, counterparty, costPerRequest: '2000000000', consumerFunds: '5000000000000000', providerFunds: '0',
    activeTokenId: (10n ** 76n + 7n).toString(), highestIssued: null, highestValidated: null, unredeemedWei: '0',
    lastRedemption: null, nextDeadline: null, state: 'open', ...extra });
  return {
    accounts: {
      [A]: { label: 'search', 'role counts': { consumer: 0, provider: 2 }, earnedWei: String(14000000000n * BigInt(n)), redeemedWei: '14000000000', paidOutWei: '0', spentWei: '0', gasFeeWei: '7000000000', gasUsed: 90000, transactions: 3 },
      [B]: { 'role counts': { consumer: 1, provider: 0 }, earnedWei: '0', redeemedWei: '0', paidOutWei: '0', spentWei: '5000000000000000', gasFeeWei: '3000000000', gasUsed: 40000, transactions: 1 },
    },
    channels: [
      ch(M[0], 'provider', A, B, { highestValidated: 7 * n, unredeemedWei: String(2000000000n * BigInt(7 * n)), nextDeadline: { what: 'redemption timeout', at: now() + 600 } }),
      ch(M[1], 'provider', A, '0x90F79bf6EB2c4f870365E785982E1f101E93b906', { consumerFunds: '1000000000', highestValidated: 0, nextDeadline: { what: 'termination', at: now() + 86400 } }),
      ch(M[0], 'consumer', B, A, { highestIssued: 7 * n }),
    ],
    transactions: [],
  };
}

before(async () => {
  execFileSync(process.execPath, [path.join(ROOT, 'visualizer', 'build.mjs')], { stdio: 'inherit' });
  mkdirSync(ARTIFACTS, { recursive: true });
  anvil = await startAnvil();
  server = createStaticServer(path.join(ROOT, 'visualizer'));
  fake = createFakeAdmin(path.join(ROOT, 'visualizer'), TOKEN, adminData(1));
  const [port, fakePort] = [await freePort(), await freePort()];
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  await new Promise((r) => fake.server.listen(fakePort, '127.0.0.1', r));
  base = `http://127.0.0.1:${port}/`;
  fakeBase = `http://127.0.0.1:${fakePort}`;
  [act, chrome] = await Promise.all([createActivity(anvil.url), launchChromium()]);
  context = await chrome.browser.newContext({ viewport: { width: 1400, height: 900 } });
  context.setDefaultTimeout(15000);
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
});

after(async () => {
  const steps = [() => chrome?.stop(), () => server?.closeAllConnections(), () => server?.close(),
    () => fake?.server.closeAllConnections(), () => fake?.server.close(), () => act?.provider.destroy(), () => anvil?.stop()];
  for (const step of steps) {
    try {
      await step();
    } catch (e) {
      console.error(`cleanup: ${e.message}`);
    }
  }
});

const shot = (name) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });

/** Every card, and the page itself, keeps its content inside (no horizontal overflow). */
async function assertNoOverflow(where) {
  const bad = await page.evaluate(() => {
    const out = [];
    if (document.documentElement.scrollWidth > window.innerWidth) out.push(`page ${document.documentElement.scrollWidth} > ${window.innerWidth}`);
    for (const c of document.querySelectorAll('.card')) {
      if (c.scrollWidth > c.clientWidth + 1) out.push(`card "${c.querySelector('h3,h2')?.textContent}" ${c.scrollWidth} > ${c.clientWidth}`);
    }
    return out;
  });
  assert.deepEqual(bad, [], where);
}

for (const width of WIDTHS) {
  test(`the Mediator page fits and reads well at ${width} px`, async () => {
    await page.setViewportSize({ width, height: 900 });
    await page.goto(`${base}?node=${encodeURIComponent(anvil.url)}#/mediator/${act.m1.address}`);
    await page.locator('[data-testid="balance-chart"] svg path.series').first().waitFor(WAIT);
    await assertNoOverflow(`mediator at ${width}`);
    // At desktop width the event table needs no scrolling at all.
    if (width === 1400) {
      const fits = await page.locator('[data-testid="timeline"]').evaluate((t) => t.scrollWidth <= t.parentElement.clientWidth);
      assert.ok(fits, 'event table wider than its card at 1400 px');
    }
    // Times on one line.
    const lines = await page.locator('[data-testid="event-time"] time').evaluateAll((els) =>
      els.map((e) => Math.round(e.getBoundingClientRect().height / parseFloat(getComputedStyle(e).lineHeight || '17') || 1)));
    assert.ok(lines.length >= 4 && lines.every((h) => h <= 1), `time heights in lines: ${lines}`);
    const oneLine = await page.locator('[data-testid="event-time"] time').evaluateAll((els) => els.every((e) => e.getClientRects().length === 1 && e.getBoundingClientRect().height < 24));
    assert.ok(oneLine, 'a time wraps');
    // Amounts as ETH / gwei, exact wei on hover.
    const funds = page.locator('[data-testid="consumer-funds"]');
    assert.equal(await funds.innerText(), '0.00499998 ETH');
    assert.equal(await funds.getAttribute('title'), `${act.m1.consumerFunds} wei`);
    assert.equal(await page.locator('[data-testid="paid"]').innerText(), '14 gwei');
    // 77-digit token id: short on the page, whole on hover and copy.
    const full = (act.m1.tokenId + 1n).toString();
    assert.equal(full.length, 77);
    const tok = page.locator('[data-testid="active-token"]');
    assert.equal(await tok.innerText(), `${full.slice(0, 6)}…${full.slice(-4)}`);
    assert.equal(await tok.getAttribute('title'), full);
    await page.locator(`[data-testid="active-token"] + button[data-copy]`).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), full);
    // Chart: ticks on both axes in every panel, and gas in its own panel.
    for (const key of ['consumer', 'provider', 'mediator', 'gas']) {
      const panel = page.locator(`[data-testid="balance-chart"] g[data-series="${key}"]`);
      assert.ok(await panel.locator('.tick.y').count() >= 1, `${key} y ticks`);
      assert.ok(await panel.locator('.tick.x').count() >= 3, `${key} x ticks`);
    }
    const xLabels = await page.locator('[data-testid="balance-chart"] g[data-series="gas"] .tick.x text').evaluateAll((els) => els.map((e) => e.textContent));
    assert.ok(xLabels.every((t) => /^\d+$/.test(t)), xLabels.join());
    assert.equal(await page.locator('[data-testid="balance-chart"] path[data-line="providerGas"]').count(), 1);
    // The provider paid gas for three transactions; its line (gas added back) only ever rises.
    const d = await page.locator('[data-testid="balance-chart"] path[data-line="providerNet"]').getAttribute('d');
    const ys = [...d.matchAll(/[MV][\d.]+ ?([\d.]+)?|V([\d.]+)/g)].map((m) => Number(m[1] ?? m[2])).filter((v) => !Number.isNaN(v));
    const vs = [Number(/^M[\d.]+ ([\d.]+)/.exec(d)[1]), ...[...d.matchAll(/V([\d.]+)/g)].map((m) => Number(m[1]))];
    assert.ok(ys.length > 0);
    for (let i = 1; i < vs.length; i++) assert.ok(vs[i] <= vs[i - 1] + 0.05, `provider line drops: ${d}`);
    assert.ok(vs[vs.length - 1] < vs[0], 'the payout raises the provider line');
    await shot(`mediator-m1-${width}`);
  });
}

for (const width of WIDTHS) {
  test(`the operations view shows each service, its channels and alerts, live, at ${width} px`, async () => {
    fake.set(adminData(1));
    await page.setViewportSize({ width, height: 900 });
    await page.goto(`${fakeBase}/visualizer/?node=${encodeURIComponent(anvil.url)}&labels=${encodeURIComponent(`${B}=weather`)}#/ops`);
    // Served by "paychand" at /visualizer/: the URL is its own origin; the token is typed in.
    await page.locator('#ops-url').waitFor(WAIT);
    assert.equal(await page.inputValue('#ops-url'), fakeBase);
    await page.fill('#ops-token', 'wrong');
    await page.click('#ops-connect');
    await page.getByText('check the admin token').waitFor(WAIT);
    await page.fill('#ops-token', TOKEN);
    await page.click('#ops-connect');
    const card = (a) => page.locator(`[data-testid="ops-service"][data-address="${a}"]`);
    await card(A).waitFor(WAIT);
    assert.equal(await card(A).locator('[data-testid="ops-service-name"] span').first().innerText(), 'search');
    assert.equal(await card(B).locator('[data-testid="ops-service-name"] span').first().innerText(), 'weather');
    assert.equal(await card(A).locator('[data-testid="ops-requests-to"]').innerText(), '7');
    assert.equal(await card(B).locator('[data-testid="ops-requests-by"]').innerText(), '7');
    assert.equal(await card(A).locator('[data-testid="ops-unredeemed"]').getAttribute('data-wei'), '14000000000');
    assert.equal(await card(A).locator('[data-testid="ops-earned"]').innerText(), '14 gwei');
    assert.equal(await card(A).locator('[data-testid="ops-gas"]').innerText(), '7 gwei');
    assert.match(await card(A).locator('[data-testid="ops-gas-share"]').innerText(), /50\.0 % of earned/);
    const alerts = async (m, role) => page.locator(`[data-testid="ops-channel"][data-mediator="${m}"][data-role="${role}"] [data-alert]`)
      .evaluateAll((els) => els.map((e) => e.dataset.alert));
    assert.deepEqual(await alerts(M[0], 'provider'), ['timeout-near', 'redemption-pending']);
    assert.deepEqual(await alerts(M[1], 'provider'), ['funds-low']);
    assert.deepEqual(await alerts(M[0], 'consumer'), []);
    assert.match(await page.locator(`[data-testid="ops-channel"][data-mediator="${M[0]}"][data-role="provider"] [data-testid="ops-deadline"]`).innerText(), /redemption timeout in (9|10) min/);
    await assertNoOverflow(`ops at ${width}`);
    // The channel table fits its box (rows stack when narrow): no sideways scrolling.
    const box = await page.locator('[data-testid="ops-channels-box"]').evaluate((b) => ({ sw: b.scrollWidth, cw: b.clientWidth }));
    assert.ok(box.sw <= box.cw, `the channel table scrolls sideways at ${width} px: ${box.sw} > ${box.cw}`);
    const pageBox = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, cw: document.documentElement.clientWidth }));
    assert.ok(pageBox.sw <= pageBox.cw, `the page scrolls sideways at ${width} px`);
    await shot(`ops-${width}`);
    // Live: paychand's numbers move, the page follows without a reload.
    fake.set(adminData(3));
    await page.locator('[data-testid="ops-service"]').first().locator('[data-testid="ops-requests-to"]', { hasText: '21' }).waitFor(WAIT);
    assert.equal(await card(A).locator('[data-testid="ops-unredeemed"]').getAttribute('data-wei'), '42000000000');
    // Only the bearer admin token went to paychand: no request MAC, no service key.
    assert.ok(fake.requests.length >= 6);
    assert.ok(fake.requests.filter((r) => r.auth === `Bearer ${TOKEN}`).length >= 3);
    assert.deepEqual(pageErrors, []);
  });
}
