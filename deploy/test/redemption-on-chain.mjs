#!/usr/bin/env node
// deploy/test/redemption-on-chain.mjs: checks on the chain that each given Mediator has logged
// TokenRedemptionStarted (what a provider's /redeem starts), for scripts/test-containers.
//   node deploy/test/redemption-on-chain.mjs http://127.0.0.1:8545 0xMEDIATOR...
// Exit 0 when every Mediator has the event, else 1 naming those that lack it.
import { readFileSync } from 'node:fs';
import { Interface } from 'ethers';

const [rpc, ...mediators] = process.argv.slice(2);
if (!rpc || !mediators.length) { console.error('usage: redemption-on-chain.mjs RPC_URL MEDIATOR...'); process.exit(2); }
const abi = JSON.parse(readFileSync(new URL('../../contracts/artifacts/Mediator.json', import.meta.url), 'utf8')).abi;
const topic = new Interface(abi).getEvent('TokenRedemptionStarted').topicHash;

async function logs(address) {
  const body = { jsonrpc: '2.0', id: 1, method: 'eth_getLogs', params: [{ address, fromBlock: '0x0', toBlock: 'latest', topics: [topic] }] };
  const r = await fetch(rpc, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const j = await r.json();
  if (j.error) throw new Error(`eth_getLogs ${address}: ${j.error.message}`);
  return j.result;
}

const missing = [];
for (const m of mediators) if (!(await logs(m)).length) missing.push(m);
if (missing.length) { console.error(`no TokenRedemptionStarted on chain for ${missing.join(', ')}`); process.exit(1); }
console.log(`TokenRedemptionStarted on chain for ${mediators.length} Mediator(s)`);
