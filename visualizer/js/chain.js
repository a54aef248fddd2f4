// What the page reads from the node: the Mediators on the chain, the blocks with Mediator-related
// transactions, block / transaction details with decoding, and one Mediator's full picture.
// Uses RpcClient batches so a page of blocks or a Mediator costs a few HTTP requests.

import { EVENT_TOPICS, MEDIATOR_CREATED_TOPIC, MEDIATOR_FACTORY_ADDRESS, checksum, createdAddress, decodeCall, decodeLog, decodeRevert, factoryInterface, isFactory, mediatorInterface } from './decode.js';
import { eventTotals, mediatorState } from './model.js';
import { toBigInt, toHex, toNumber } from './rpc.js';

const GETTERS = ['serviceConsumer', 'serviceProvider', 'costPerRequest', 'terminationTimeout', 'tokenRedemptionTimeout',
  'serviceConsumerFunds', 'serviceProviderFunds', 'activeTokenId', 'soonExpiringTokenId', 'soonExpiringTokenIdTimeout',
  'terminationStartedAt', 'terminated'];
const SCAN_CHUNK = 50;

export class Chain {
  constructor(rpc) {
    this.rpc = rpc;
    /** checksummed Mediator address -> { address, consumer, provider, createdBlock, createdTx } */
    this.mediators = new Map();
    this.scannedMediatorsTo = -1;
    this.blockCache = new Map();
  }

  isMediator(address) {
    const a = address && checksum(address);
    return Boolean(a && this.mediators.has(a));
  }

  /** Learns the Mediators created up to block `head` from their MediatorCreated logs. */
  async discoverMediators(head) {
    if (head <= this.scannedMediatorsTo) return;
    const from = this.scannedMediatorsTo + 1;
    const logs = await this.rpc.call('eth_getLogs', [{ fromBlock: toHex(from), toBlock: toHex(head), topics: [MEDIATOR_CREATED_TOPIC] }]);
    await this.noteCreatedLogs(logs);
    this.scannedMediatorsTo = head;
  }

  /**
   * Notes the MediatorCreated logs of genuine Mediators only: any contract can emit that event, so
   * each new emitter is checked with the factory's isMediator (its code is the clone of our
   * implementation and its address the factory's CREATE), in one batch.
   */
  async noteCreatedLogs(logs) {
    const fresh = logs.filter((log) => log.topics[0] === MEDIATOR_CREATED_TOPIC && !this.isMediator(log.address));
    if (!fresh.length) return;
    const calls = fresh.map((log) => ['eth_call', [{ to: MEDIATOR_FACTORY_ADDRESS,
      data: factoryInterface.encodeFunctionData('isMediator', [log.address]) }, 'latest']]);
    const answers = await this.rpc.batchStrict(calls);
    fresh.forEach((log, i) => {
      if (answers[i] && answers[i] !== '0x' && factoryInterface.decodeFunctionResult('isMediator', answers[i])[0]) this.noteCreated(log);
    });
  }

  noteCreated(log) {
    const ev = decodeLog(log);
    if (!ev || ev.name !== 'MediatorCreated') return;
    const address = checksum(log.address);
    if (this.mediators.has(address)) return;
    this.mediators.set(address, {
      address,
      consumer: checksum(ev.args[0].value),
      provider: checksum(ev.args[1].value),
      createdBlock: toNumber(log.blockNumber),
      createdTx: log.transactionHash,
    });
  }

  /** True when tx (from eth_getBlockByNumber with full txs) touches a Mediator directly. */
  txIsRelated(tx, loggedTxs) {
    if (loggedTxs.has(tx.hash)) return true;
    if (tx.to) return this.isMediator(tx.to) || isFactory(tx.to);
    return this.isMediator(createdAddress(tx.from, tx.nonce));
  }

  /**
   * Scans blocks lo..hi (inclusive) and returns the ones with Mediator-related transactions,
   * newest first: [{ number, hash, timestamp, txs: [{ hash, from, to, call, failed }] }].
   * Related = sent to a Mediator, deploying one, or emitting a Mediator event (also through
   * another contract). Failed calls are found because they are sent to a known Mediator.
   */
  async scanRange(lo, hi) {
    if (hi < lo) return [];
    const calls = [['eth_getLogs', [{ fromBlock: toHex(lo), toBlock: toHex(hi), topics: [EVENT_TOPICS] }]]];
    for (let n = hi; n >= lo; n--) calls.push(['eth_getBlockByNumber', [toHex(n), true]]);
    const [logs, ...blocks] = await this.rpc.batchStrict(calls);
    await this.noteCreatedLogs(logs);
    const loggedTxs = new Map();
    for (const log of logs) {
      if (!this.isMediator(log.address)) continue;
      const list = loggedTxs.get(log.transactionHash) ?? [];
      list.push(log);
      loggedTxs.set(log.transactionHash, list);
    }
    const found = [];
    for (const b of blocks) {
      if (!b) continue;
      const txs = b.transactions.filter((tx) => this.txIsRelated(tx, loggedTxs));
      if (txs.length === 0) continue;
      found.push({
        number: toNumber(b.number),
        hash: b.hash,
        timestamp: toNumber(b.timestamp),
        txCount: b.transactions.length,
        txs: txs.map((tx) => ({
          hash: tx.hash,
          from: checksum(tx.from),
          to: tx.to ? checksum(tx.to) : createdAddress(tx.from, tx.nonce),
          deploy: !tx.to,
          value: toBigInt(tx.value),
          call: decodeCall(tx.input, tx.to),
          events: (loggedTxs.get(tx.hash) ?? []).map(decodeLog),
          // every successful Mediator call emits an event; none means it reverted (checked below)
          failed: !loggedTxs.has(tx.hash),
        })),
      });
    }
    await this.confirmFailures(found);
    return found;
  }

  /** Replaces the "no event" guess by the receipt status for the transactions that emitted nothing. */
  async confirmFailures(blocks) {
    const suspects = blocks.flatMap((b) => b.txs.filter((t) => t.failed));
    if (suspects.length === 0) return;
    const receipts = await this.rpc.batch(suspects.map((t) => ['eth_getTransactionReceipt', [t.hash]]));
    suspects.forEach((t, i) => {
      const r = receipts[i];
      t.failed = !(r instanceof Error) && r !== null && r.status === '0x0';
    });
  }

  /**
   * One page of the block list: walks back from block `before` (inclusive) until `want` blocks with
   * Mediator transactions are found, block 0 is reached, or `maxScan` blocks were looked at.
   * Resolves to { blocks, next } with next = the block to continue from (-1 at genesis).
   */
  async blocksPage(before, want = 10, maxScan = 2000) {
    const blocks = [];
    let hi = before;
    let scanned = 0;
    while (hi >= 0 && blocks.length < want && scanned < maxScan) {
      const lo = Math.max(0, hi - SCAN_CHUNK + 1);
      blocks.push(...(await this.scanRange(lo, hi)));
      scanned += hi - lo + 1;
      hi = lo - 1;
    }
    if (blocks.length > want) {
      // A chunk may bring more than a page: keep the newest `want`, continue below the last one.
      blocks.length = want;
      hi = blocks[want - 1].number - 1;
    }
    return { blocks, next: hi };
  }

  /** A block with every transaction, receipt and decoding: for the block details view. */
  async blockDetails(id) {
    const method = /^0x[0-9a-fA-F]{64}$/.test(String(id)) ? 'eth_getBlockByHash' : 'eth_getBlockByNumber';
    const param = method === 'eth_getBlockByHash' ? id : toHex(id);
    const block = await this.rpc.call(method, [param, true]);
    if (!block) return null;
    const receipts = await this.rpc.batch(block.transactions.map((tx) => ['eth_getTransactionReceipt', [tx.hash]]));
    const txs = await Promise.all(block.transactions.map((tx, i) => this.describeTx(tx, receipts[i] instanceof Error ? null : receipts[i])));
    return {
      number: toNumber(block.number),
      hash: block.hash,
      parentHash: block.parentHash,
      timestamp: toNumber(block.timestamp),
      miner: block.miner,
      gasUsed: toBigInt(block.gasUsed),
      gasLimit: toBigInt(block.gasLimit),
      baseFee: block.baseFeePerGas ? toBigInt(block.baseFeePerGas) : null,
      txs,
    };
  }

  /** One transaction with its receipt, block, decoded call, events and (when failed) error. */
  async txDetails(hash) {
    const [tx, receipt] = await this.rpc.batchStrict([['eth_getTransactionByHash', [hash]], ['eth_getTransactionReceipt', [hash]]]);
    if (!tx) return null;
    const d = await this.describeTx(tx, receipt);
    if (tx.blockNumber) {
      const b = await this.rpc.call('eth_getBlockByNumber', [tx.blockNumber, false]);
      d.timestamp = toNumber(b?.timestamp);
      d.blockHash = b?.hash;
    }
    return d;
  }

  async describeTx(tx, receipt) {
    const to = tx.to ? checksum(tx.to) : null;
    const created = receipt?.contractAddress ? checksum(receipt.contractAddress) : null;
    const mediatorTx = to ? this.isMediator(to) || isFactory(to) : Boolean(created && this.isMediator(created));
    const call = decodeCall(tx.input, tx.to);
    const events = (receipt?.logs ?? []).map((log) => ({
      address: checksum(log.address),
      logIndex: toNumber(log.logIndex),
      decoded: this.isMediator(log.address) || log.topics[0] === MEDIATOR_CREATED_TOPIC ? decodeLog(log) : null,
      topics: log.topics,
      data: log.data,
    }));
    const status = receipt ? (receipt.status === '0x1' ? 'success' : 'failed') : 'pending';
    const d = {
      hash: tx.hash,
      blockNumber: toNumber(tx.blockNumber),
      from: checksum(tx.from),
      to,
      created,
      value: toBigInt(tx.value),
      gasUsed: receipt ? toBigInt(receipt.gasUsed) : null,
      gasPrice: receipt?.effectiveGasPrice ? toBigInt(receipt.effectiveGasPrice) : toBigInt(tx.gasPrice),
      status,
      mediatorTx,
      call: mediatorTx || (to && call) ? call : null,
      input: tx.input,
      events,
      error: null,
    };
    if (status === 'failed') d.error = await this.revertOf(tx);
    return d;
  }

  /**
   * The decoded revert of a mined failed transaction: from debug_traceTransaction (callTracer) when
   * the node has it, else by replaying the call with eth_call on the parent block's state.
   */
  async revertOf(tx) {
    let data = null;
    try {
      const trace = await this.rpc.call('debug_traceTransaction', [tx.hash, { tracer: 'callTracer' }]);
      data = trace?.output ?? null;
    } catch {
      try {
        const parent = toHex(toNumber(tx.blockNumber) - 1);
        await this.rpc.call('eth_call', [{ from: tx.from, to: tx.to, data: tx.input, value: tx.value, gas: tx.gas }, parent]);
      } catch (e) {
        data = typeof e.data === 'string' ? e.data : (e.data?.data ?? null);
      }
    }
    const decoded = decodeRevert(data);
    return decoded ?? { name: null, code: null, meaning: data && data !== '0x' ? `undecoded revert data ${data}` : 'reverted without data (out of gas or not a Mediator error)', args: [] };
  }

  /** The getters of Mediator `address` at `blockTag` as an object of plain values (bigint/bool/address). */
  async getters(address, blockTag = 'latest') {
    const results = await this.rpc.batchStrict(GETTERS.map((name) =>
      ['eth_call', [{ to: address, data: mediatorInterface.encodeFunctionData(name) }, blockTag]]));
    const g = {};
    GETTERS.forEach((name, i) => {
      g[name] = mediatorInterface.decodeFunctionResult(name, results[i])[0];
    });
    g.serviceConsumer = checksum(g.serviceConsumer);
    g.serviceProvider = checksum(g.serviceProvider);
    return g;
  }

  /** The decoded events of Mediator `address` from its creation on, oldest first, with block times. */
  async events(address) {
    const info = this.mediators.get(checksum(address));
    const from = info ? toHex(info.createdBlock) : '0x0';
    const logs = await this.rpc.call('eth_getLogs', [{ address, fromBlock: from, toBlock: 'latest', topics: [EVENT_TOPICS] }]);
    const numbers = [...new Set(logs.map((l) => l.blockNumber))];
    const times = await this.blockTimes(numbers.map(toNumber));
    return logs.map((log) => ({
      ...decodeLog(log),
      blockNumber: toNumber(log.blockNumber),
      timestamp: times.get(toNumber(log.blockNumber)),
      txHash: log.transactionHash,
      logIndex: toNumber(log.logIndex),
    }));
  }

  /** Map block number -> timestamp for the given numbers (cached: blocks never change once read). */
  async blockTimes(numbers) {
    const missing = numbers.filter((n) => !this.blockCache.has(n));
    const blocks = await this.rpc.batch(missing.map((n) => ['eth_getBlockByNumber', [toHex(n), false]]));
    missing.forEach((n, i) => {
      if (blocks[i] && !(blocks[i] instanceof Error)) this.blockCache.set(n, toNumber(blocks[i].timestamp));
    });
    return new Map(numbers.map((n) => [n, this.blockCache.get(n)]));
  }

  /** Everything the inspector shows about one Mediator. Throws when `address` is not a Mediator. */
  async mediator(address, head) {
    const a = checksum(address);
    if (!a) throw new Error(`"${address}" is not an address`);
    let g;
    try {
      g = await this.getters(a);
    } catch {
      throw new Error(`${a} is not a Mediator contract on this chain (its getters do not answer)`);
    }
    const [events, balance] = await Promise.all([this.events(a), this.rpc.call('eth_getBalance', [a, 'latest'])]);
    const totals = eventTotals(events);
    return { address: a, getters: g, state: mediatorState(g), balance: toBigInt(balance), events, totals, head };
  }

  /**
   * Balances of the consumer, the provider and the Mediator at every block with a Mediator event and
   * at `head`, with the gas the consumer and the provider paid (summed up to that block) for the
   * transactions that emitted this Mediator's events, and their balances with that gas added back
   * (consumerNet, providerNet). Resolves to { points: [{ block, time, consumer, provider, mediator,
   * consumerGas, providerGas, consumerNet, providerNet }], error } - error is set when the node has
   * no historical state (a non-archive node) for some blocks.
   */
  async balanceHistory(m, head) {
    const blocks = [...new Set([...m.events.map((e) => e.blockNumber), head])].sort((x, y) => x - y);
    const who = [m.getters.serviceConsumer, m.getters.serviceProvider, m.address];
    const calls = blocks.flatMap((b) => who.map((a) => ['eth_getBalance', [a, toHex(b)]]));
    const [results, times, fees] = await Promise.all([this.rpc.batch(calls), this.blockTimes(blocks), this.gasFees(m)]);
    const points = [];
    let error = null;
    blocks.forEach((b, i) => {
      const r = results.slice(i * 3, i * 3 + 3);
      const bad = r.find((x) => x instanceof Error);
      if (bad) {
        error = bad.message;
        return;
      }
      const paid = (party) => fees.filter((f) => f.block <= b && f.from === party).reduce((sum, f) => sum + f.fee, 0n);
      const [consumer, provider, mediator] = r.map(toBigInt);
      const consumerGas = paid(checksum(who[0]));
      const providerGas = paid(checksum(who[1]));
      points.push({ block: b, time: times.get(b), consumer, provider, mediator, consumerGas, providerGas,
        consumerNet: consumer + consumerGas, providerNet: provider + providerGas });
    });
    return { points, error };
  }

  /** The fee (gas used x effective gas price) of each transaction that emitted an event of Mediator `m`. */
  async gasFees(m) {
    const hashes = [...new Set(m.events.map((e) => e.txHash))];
    const receipts = await this.rpc.batch(hashes.map((h) => ['eth_getTransactionReceipt', [h]]));
    return receipts.filter((r) => r && !(r instanceof Error)).map((r) => ({
      block: toNumber(r.blockNumber), from: checksum(r.from), fee: toBigInt(r.gasUsed) * toBigInt(r.effectiveGasPrice ?? '0x0'),
    }));
  }

  /** The overview of every known Mediator: parties, state, wei paid, requests redeemed. */
  async overview() {
    const list = [...this.mediators.values()];
    return Promise.all(list.map(async (info) => {
      const [g, events] = await Promise.all([this.getters(info.address), this.events(info.address)]);
      const totals = eventTotals(events);
      return {
        address: info.address,
        consumer: g.serviceConsumer,
        provider: g.serviceProvider,
        state: mediatorState(g),
        paidWei: totals.paidWei,
        requestsRedeemed: totals.requestsRedeemed,
        consumerFunds: g.serviceConsumerFunds,
        providerFunds: g.serviceProviderFunds,
      };
    }));
  }
}
