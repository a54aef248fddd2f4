// Test support for the visualizer's browser tests: a private anvil on a free port, the dev
// accounts, and the Mediator activity the tests look for, created with ethers 6 from the
// committed artifact (contracts/artifacts/Mediator.json).

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Contract, HDNodeWallet, JsonRpcProvider, Signature } from 'ethers';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ANVIL = process.env.PAYCHAN_ANVIL
  ?? path.join(ROOT, 'node_modules', '@foundry-rs', 'anvil-linux-amd64', 'bin', 'anvil');
const MNEMONIC = readFileSync(path.join(ROOT, 'devnet', 'dev-only', 'mnemonic.txt'), 'utf8').trim();
const ARTIFACT = JSON.parse(readFileSync(path.join(ROOT, 'contracts', 'artifacts', 'Mediator.json'), 'utf8'));
const FACTORY = JSON.parse(readFileSync(path.join(ROOT, 'contracts', 'artifacts', 'MediatorFactory.json'), 'utf8'));
const CREATE2_DEPLOYER = '0x4e59b44847b379578588920ca78fbf26c0b4956c';

/** A free TCP port on 127.0.0.1 (the OS picks it; a tiny race with other processes is accepted). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function rpcOnce(url, method, params = []) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const json = await res.json();
  if (json.error) throw new Error(`${method}: ${json.error.message}`);
  return json.result;
}

/** Starts the anvil binary with the dev mnemonic; resolves to { url, pid, stop() } once it answers. */
export async function startAnvil() {
  const port = await freePort();
  const child = spawn(ANVIL, ['--port', String(port), '--host', '127.0.0.1', '--mnemonic', MNEMONIC,
    '--accounts', '6', '--chain-id', '31337'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`anvil exited ${child.exitCode}: ${stderr}`);
    try {
      await rpcOnce(url, 'eth_chainId');
      break;
    } catch {
      if (Date.now() > deadline) {
        process.kill(child.pid, 'SIGKILL');
        throw new Error(`anvil did not answer on ${url} within 10 s: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    pid: child.pid,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      process.kill(child.pid, 'SIGTERM');
      setTimeout(() => { if (child.exitCode === null) process.kill(child.pid, 'SIGKILL'); }, 3000).unref();
    }),
  };
}

/** The dev account wallets (devnet/dev-only/accounts.json order) connected to `provider`. */
export function devWallets(provider) {
  const names = ['consumer', 'persistence', 'random', 'spare1'];
  return Object.fromEntries(names.map((name, i) =>
    [name, HDNodeWallet.fromPhrase(MNEMONIC, undefined, `m/44'/60'/0'/0/${i}`).connect(provider)]));
}

export const GWEI = 10n ** 9n;
export const FINNEY = 10n ** 15n;
/** M1's first token id: 77 digits. */
export const M1_TOKEN = 10n ** 76n + 1001n;

/** Deploys the MediatorFactory at its deterministic address (as devnet/start.sh does), from `wallet`. */
export async function deployFactory(wallet) {
  const tx = await wallet.sendTransaction({ to: CREATE2_DEPLOYER, data: `0x${'00'.repeat(32)}${FACTORY.bytecode.slice(2)}` });
  await tx.wait();
  return FACTORY.deployment.address;
}

/** Opens a Mediator from `consumer` to `provider` through the factory; resolves to the connected Contract. */
export async function deployMediator(consumer, provider, { tokenId, cost, terminationTimeout = 40n, redemptionTimeout = 20n }) {
  const factory = new Contract(FACTORY.deployment.address, FACTORY.abi, consumer);
  const tx = await factory.createMediator(provider.address, tokenId, cost, terminationTimeout, redemptionTimeout);
  const receipt = await tx.wait();
  return new Contract(receipt.logs[0].address, ARTIFACT.abi, consumer);
}

/** The consumer's EIP-712 PaymentToken signature (docs/protocol.md §2) as { v, r, s }. */
export async function signToken(consumer, mediatorAddress, chainId, tokenId, requestCount) {
  const sig = await consumer.signTypedData(
    { name: 'Mediator', version: '1', chainId, verifyingContract: mediatorAddress },
    { PaymentToken: [
      { name: 'serviceConsumer', type: 'address' },
      { name: 'tokenId', type: 'uint256' },
      { name: 'requestCount', type: 'uint256' },
    ] },
    { serviceConsumer: consumer.address, tokenId, requestCount },
  );
  return Signature.from(sig);
}

async function mined(txPromise) {
  const tx = await txPromise;
  return tx.wait();
}

/**
 * Creates the activity the browser tests check, and returns what the page must show:
 *  - M1: consumer -> persistence, 2 gwei/request, deposit 5 finney, a redemption of 7 requests
 *    (token id M1_TOKEN, 77 digits) with a consumer-signed token, a payout, and a failed payout call by the
 *    consumer (reverts with OnlyServiceProvider, code 2);
 *  - M2: spare1 -> random, 1 gwei/request, deposits 3 + 1 finney, closed by the provider.
 */
export async function createActivity(url) {
  const provider = new JsonRpcProvider(url, undefined, { staticNetwork: true, pollingInterval: 50, cacheTimeout: -1 });
  const w = devWallets(provider);
  const chainId = (await provider.getNetwork()).chainId;

  await deployFactory(w.spare1); // block 1
  // M1 uses 77-digit token ids, as paychand's random 256-bit ids are (the page shortens them).
  const m1 = await deployMediator(w.consumer, w.persistence, { tokenId: M1_TOKEN, cost: 2n * GWEI });
  const m2 = await deployMediator(w.spare1, w.random, { tokenId: 2001n, cost: GWEI });
  const m1Addr = await m1.getAddress();
  const m2Addr = await m2.getAddress();

  await mined(m1.depositForServiceConsumer({ value: 5n * FINNEY }));
  await mined(m2.depositForServiceConsumer({ value: 3n * FINNEY }));
  await mined(m2.depositForServiceConsumer({ value: 1n * FINNEY }));

  const m1p = m1.connect(w.persistence);
  await mined(m1p.startTokenRedemption(M1_TOKEN + 1n));
  await provider.send('evm_increaseTime', [21]);
  await provider.send('evm_mine', []);
  const requests = 7n;
  const sig = await signToken(w.consumer, m1Addr, chainId, M1_TOKEN, requests);
  const redeem = await mined(m1p.redeemToken(requests, sig.v, sig.r, sig.s));
  await mined(m1p.payoutForServiceProvider());

  // A failing call, mined anyway (explicit gas limit skips ethers' estimate, which would refuse it).
  const failedTx = await m1.payoutForServiceProvider({ gasLimit: 100000n });
  const failed = await provider.waitForTransaction(failedTx.hash);

  await mined(m2.connect(w.random).closeThroughServiceProvider());

  return {
    provider,
    wallets: w,
    chainId,
    m1: { address: m1Addr, contract: m1, consumer: w.consumer.address, provider: w.persistence.address,
      consumerFunds: 5n * FINNEY - requests * 2n * GWEI, providerFunds: 0n, paid: requests * 2n * GWEI, requests,
      tokenId: M1_TOKEN },
    m2: { address: m2Addr, contract: m2, consumer: w.spare1.address, provider: w.random.address,
      consumerFunds: 0n, providerFunds: 0n, paid: 0n, requests: 0n },
    redeemTxHash: redeem.hash,
    redeemAmount: requests * 2n * GWEI,
    failedTxHash: failed.hash,
    failedStatus: failed.status,
  };
}

export { Contract };
