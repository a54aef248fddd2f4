// A small JSON-RPC client over fetch (works in the browser and in node >= 18), with batches and
// errors that tell a person what is wrong: the node cannot be reached, or something answered
// that is not an Ethereum JSON-RPC node, or the node answered a call with an error.

export class RpcError extends Error {
  /** kind: 'unreachable' | 'not-ethereum' | 'rpc' (the node answered with an error object). */
  constructor(kind, message, detail) {
    super(message);
    this.name = 'RpcError';
    this.kind = kind;
    this.detail = detail;
  }
}

const NOT_ETH_HINT = 'is that the JSON-RPC endpoint of an Ethereum node (e.g. http://localhost:8545)?';

/** Checks that `url` is an http(s) URL; returns the normalized string or throws RpcError. */
export function normalizeNodeUrl(url) {
  let u;
  try {
    u = new URL(String(url).trim());
  } catch {
    throw new RpcError('unreachable', `"${url}" is not a valid URL: use e.g. http://localhost:8545`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new RpcError('unreachable', `"${url}" is not an http(s) URL: use e.g. http://localhost:8545`);
  }
  return u.toString();
}

export class RpcClient {
  constructor(url, { timeoutMs = 10000, fetchImpl = (...args) => globalThis.fetch(...args) } = {}) {
    this.url = normalizeNodeUrl(url);
    this.timeoutMs = timeoutMs;
    this.fetchImpl = fetchImpl;
    this.nextId = 1;
  }

  /** Posts `body` (a request or an array of them) and returns the parsed JSON answer. */
  async post(body) {
    let response;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    try {
      response = await this.fetchImpl(this.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
        signal: controller.signal,
      });
    } catch (e) {
      const why = e?.name === 'AbortError' ? `no answer within ${this.timeoutMs / 1000} s` : 'connection refused, host unknown, or CORS not allowed by the node';
      throw new RpcError('unreachable', `Cannot reach the node at ${this.url} (${why}).`, String(e?.message ?? e));
    } finally {
      clearTimeout(timer);
    }
    const text = await response.text().catch(() => '');
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      throw new RpcError('not-ethereum', `${this.url} answered HTTP ${response.status} with something that is not JSON-RPC: ${NOT_ETH_HINT}`, text.slice(0, 200));
    }
    return json;
  }

  /** One call; resolves to its result or throws RpcError. */
  async call(method, params = []) {
    const json = await this.post({ jsonrpc: '2.0', id: this.nextId++, method, params });
    return unwrap(this.url, method, json);
  }

  /**
   * Several calls in one HTTP request. Resolves to an array in the order of `calls`
   * ([method, params] pairs); each element is the result, or an RpcError when that call failed.
   */
  async batch(calls) {
    if (calls.length === 0) return [];
    const first = this.nextId;
    this.nextId += calls.length;
    const json = await this.post(calls.map(([method, params], i) => ({ jsonrpc: '2.0', id: first + i, method, params: params ?? [] })));
    if (!Array.isArray(json)) {
      // Some nodes refuse batches with a single error object: fall back to one call each.
      if (json && json.error) return Promise.all(calls.map(([m, p]) => this.call(m, p).catch((e) => e)));
      throw new RpcError('not-ethereum', `${this.url} did not answer a JSON-RPC batch: ${NOT_ETH_HINT}`);
    }
    const byId = new Map(json.map((r) => [r.id, r]));
    return calls.map(([method], i) => {
      try {
        return unwrap(this.url, method, byId.get(first + i));
      } catch (e) {
        return e;
      }
    });
  }

  /** Like batch, but throws the first failure. */
  async batchStrict(calls) {
    const results = await this.batch(calls);
    const failed = results.find((r) => r instanceof Error);
    if (failed) throw failed;
    return results;
  }
}

function unwrap(url, method, json) {
  if (!json || typeof json !== 'object' || json.jsonrpc !== '2.0') {
    throw new RpcError('not-ethereum', `${url} answered ${method} without a JSON-RPC 2.0 response: ${NOT_ETH_HINT}`);
  }
  if (json.error) {
    const e = new RpcError('rpc', `${method} failed: ${json.error.message ?? 'error'} (code ${json.error.code})`, json.error);
    e.data = json.error.data;
    throw e;
  }
  if (!('result' in json)) throw new RpcError('not-ethereum', `${url} answered ${method} without a result: ${NOT_ETH_HINT}`);
  return json.result;
}

/**
 * Connects to the node: checks it answers eth_chainId and eth_blockNumber like an Ethereum node.
 * Resolves to { chainId, blockNumber, client } (numbers, client version or '') or throws RpcError
 * whose message is meant for the person at the page.
 */
export async function probeNode(client) {
  let chainHex;
  let blockHex;
  try {
    [chainHex, blockHex] = await client.batchStrict([['eth_chainId'], ['eth_blockNumber']]);
  } catch (e) {
    if (e instanceof RpcError && e.kind === 'rpc') {
      throw new RpcError('not-ethereum', `${client.url} does not support eth_chainId/eth_blockNumber (${e.message}): ${NOT_ETH_HINT}`);
    }
    throw e;
  }
  if (!/^0x[0-9a-f]+$/i.test(chainHex) || !/^0x[0-9a-f]+$/i.test(blockHex)) {
    throw new RpcError('not-ethereum', `${client.url} answered eth_chainId with ${JSON.stringify(chainHex)}: ${NOT_ETH_HINT}`);
  }
  const clientVersion = await client.call('web3_clientVersion').catch(() => '');
  return { chainId: Number(BigInt(chainHex)), blockNumber: Number(BigInt(blockHex)), client: String(clientVersion) };
}

export const toNumber = (hex) => (hex === null || hex === undefined ? null : Number(BigInt(hex)));
export const toBigInt = (hex) => (hex === null || hex === undefined ? 0n : BigInt(hex));
export const toHex = (n) => `0x${BigInt(n).toString(16)}`;
