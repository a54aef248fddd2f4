#!/usr/bin/env node
// The main job: the seed's "Example Network with Payment" end to end on a
// local dev chain. Starts the scenario example-network (scripts/scenario),
// calls /init, performs N /action calls, has both providers redeem, waits
// until the redemptions and payouts are on chain and prints a summary: per
// provider the requests paid, the wei earned, the gas its Payment Server
// spent (from its /status, which accounts every transaction's receipt) and
// the net. Fails unless every provider's net is positive.
//
//   node scripts/demo-network.mjs [--actions N] [--keep] [--port-offset N] [--build-dir DIR]
//     --keep         leave the network running to explore (stop: scripts/scenario stop example-network)
//     --port-offset  every port plus N (beside another copy); --build-dir: programs from DIR
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Contract, JsonRpcProvider, formatEther } from 'ethers';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SCENARIO = 'example-network';
const args = process.argv.slice(2);
const option = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const actions = Number(option('--actions') || 0) || 50;
const keep = args.includes('--keep');
const offset = Number(option('--port-offset') || 0);
const buildDir = option('--build-dir');
const url = (port) => `http://127.0.0.1:${port + offset}`;
const NODE = url(8545);
const PUBLIC = url(8003);
const PROVIDERS = { persistence: url(8001), random: url(8002) };
const PROVIDERS_PAYCHAND = url(3001);
const SCENARIO_OPTIONS = [...(offset ? ['--port-offset', String(offset)] : []),
                          ...(buildDir ? ['--build-dir', buildDir] : [])];
const ABI = JSON.parse(readFileSync(path.join(ROOT, 'contracts', 'artifacts', 'Mediator.json'), 'utf8')).abi;
const ACCOUNTS = JSON.parse(readFileSync(path.join(ROOT, 'devnet', 'dev-only', 'accounts.json'), 'utf8')).accounts;


function scenario(...a) {
  const r = spawnSync(path.join(ROOT, 'scripts', 'scenario'), a, { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`scripts/scenario ${a.join(' ')} failed`);
}

async function getJson(url) {
  const res = await fetch(url);
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${JSON.stringify(body)}`);
  return body;
}

async function balances(provider) {
  const out = {};
  for (const name of ['consumer', 'persistence', 'random'])
    out[name] = await provider.getBalance(ACCOUNTS[name].address);
  return out;
}

/** Mediator addresses from /init's answer, keyed persistence / random. */
function mediatorsOf(init) {
  const m = init.mediators ?? init;
  const pick = (re) => Object.entries(m).find(([k]) => re.test(k))?.[1];
  const found = { persistence: pick(/persist/i), random: pick(/random/i) };
  if (!found.persistence || !found.random) throw new Error(`/init answered no Mediators: ${JSON.stringify(init)}`);
  return found;
}

/** Waits until the Mediator shows a TokenRedeemed and a PaidOut event. */
async function waitRedeemed(mediator, provider, deadlineMs) {
  const c = new Contract(mediator, ABI, provider);
  while (Date.now() < deadlineMs) {
    const redeemed = await c.queryFilter(c.filters.TokenRedeemed(), 0);
    const paid = await c.queryFilter(c.filters.PaidOut(), 0);
    if (redeemed.length && paid.length) return { redeemed, paid };
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`no redemption and payout on ${mediator} in time`);
}

/** The gas (wei) each provider's account spent, from its paychand's /status,
 * once it has accounted at least `txs` transactions for each (the payout's
 * record follows its receipt). */
async function gasSpent(names, txs, deadlineMs) {
  for (;;) {
    const accounts = (await getJson(`${PROVIDERS_PAYCHAND}/status`)).gas?.accounts ?? {};
    const of = (name) => accounts[ACCOUNTS[name].address.toLowerCase()];
    if (names.every((n) => (of(n)?.transactions ?? 0) >= txs) || Date.now() > deadlineMs)
      return Object.fromEntries(names.map((n) => [n, BigInt(of(n)?.feeWei ?? 0)]));
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function main() {
  console.log(`demo: starting the scenario ${SCENARIO} (builds its programs first; a first build takes about a minute)`);
  scenario(SCENARIO, '--detach', ...SCENARIO_OPTIONS);
  const provider = new JsonRpcProvider(NODE, undefined, { staticNetwork: true, polling: true });
  try {
    const before = await balances(provider);
    const t0 = performance.now();
    console.log('demo: /init: PublicService deploys and funds a Mediator to each provider...');
    const mediators = mediatorsOf(await getJson(`${PUBLIC}/init`));
    console.log(`/init: Mediators ${JSON.stringify(mediators)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);

    const times = [];
    process.stdout.write(`demo: ${actions} paid /action calls `);
    for (let i = 0; i < actions; i++) {
      const t = performance.now();
      await getJson(`${PUBLIC}/action`);
      times.push(performance.now() - t);
      if ((i + 1) % Math.max(1, Math.ceil(actions / 10)) === 0) process.stdout.write('.');
    }
    process.stdout.write('\n');
    times.sort((a, b) => a - b);
    const p = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(2);
    console.log(`/action x${actions}: p50 ${p(0.5)} ms, p90 ${p(0.9)} ms, max ${p(1)} ms`);

    for (const [name, url] of Object.entries(PROVIDERS))
      console.log(`${name} /redeem: ${JSON.stringify(await getJson(`${url}/redeem`))}`);
    console.log('waiting for the grace period, the redemptions and the payouts on chain...');
    const deadline = Date.now() + 120000;
    const results = {};
    for (const [name, m] of Object.entries(mediators)) results[name] = await waitRedeemed(m, provider, deadline);
    const after = await balances(provider);

    // start, redeem and payout: three transactions per provider
    const gas = await gasSpent(Object.keys(mediators), 3, Date.now() + 10000);

    console.log('\nsummary');
    let allNetPositive = true;
    for (const [name, m] of Object.entries(mediators)) {
      const [ev] = results[name].redeemed;
      const net = ev.args.amount - gas[name];
      const balanceMoved = after[name] - before[name];
      allNetPositive &&= net > 0n;
      console.log(`  ${name.padEnd(12)} Mediator ${m}: ${ev.args.requestCount} requests paid, ` +
                  `${ev.args.amount} wei earned, ${gas[name]} wei gas spent, net ${net} wei` +
                  (balanceMoved === net ? ' (= its balance change)' : ` (its balance moved ${balanceMoved} wei)`));
    }
    for (const name of Object.keys(before))
      console.log(`  ${name.padEnd(12)} balance ${formatEther(before[name])} -> ${formatEther(after[name])} ETH`);
    const ok = Object.values(results).every((r) => r.redeemed[0].args.requestCount === BigInt(actions));
    console.log(ok ? `\nevery one of the ${actions} actions was paid to both providers`
                   : `\nMISMATCH: expected ${actions} paid requests per provider`);
    console.log(allNetPositive ? 'every provider earned more than it spent on gas'
                               : 'LOSS: a provider spent more on gas than it earned (see README, "What the demo earns")');
    if (!ok || !allNetPositive) process.exitCode = 1;
  } finally {
    provider.destroy();
    if (keep) console.log(`\nthe network keeps running: http://127.0.0.1:8003/action, visualizer http://127.0.0.1:3001/visualizer/ ; stop: scripts/scenario stop ${SCENARIO}`);
    else scenario('stop', SCENARIO);
  }
}

main().catch((e) => {
  console.error(`demo: ${e.message}`);
  if (!keep) scenario('stop', SCENARIO);
  process.exit(1);
});
