// The JSON-RPC client's error classification and batches, against small local HTTP servers.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { RpcClient, RpcError, normalizeNodeUrl, probeNode } from '../../../visualizer/js/rpc.js';

function serve(handler) {
  return new Promise((resolve) => {
    const srv = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => handler(body ? JSON.parse(body) : null, res));
    });
    srv.listen(0, '127.0.0.1', () => resolve({ srv, url: `http://127.0.0.1:${srv.address().port}` }));
  });
}

const answer = (req) => {
  const results = { eth_chainId: '0x7a69', eth_blockNumber: '0x2a', web3_clientVersion: 'fake/1.0' };
  if (req.method in results) return { jsonrpc: '2.0', id: req.id, result: results[req.method] };
  return { jsonrpc: '2.0', id: req.id, error: { code: -32601, message: 'Method not found' } };
};

let node; let html; let closedUrl;
before(async () => {
  // A fake node that answers batches in reverse order (allowed by JSON-RPC): ids must be matched.
  node = await serve((req, res) => {
    const out = Array.isArray(req) ? req.map(answer).reverse() : answer(req);
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(out));
  });
  html = await serve((req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html>hello</html>'));
  const tmp = await serve(() => {});
  closedUrl = tmp.url;
  await new Promise((r) => tmp.srv.close(r));
});
after(() => {
  node.srv.close();
  html.srv.close();
});

test('probeNode reads chain id, head and client of an Ethereum node', async () => {
  assert.deepEqual(await probeNode(new RpcClient(node.url)), { chainId: 31337, blockNumber: 42, client: 'fake/1.0' });
});

test('batch results follow the request order, with per-call errors', async () => {
  const r = await new RpcClient(node.url).batch([['eth_blockNumber'], ['nope_x'], ['eth_chainId']]);
  assert.equal(r[0], '0x2a');
  assert.ok(r[1] instanceof RpcError);
  assert.equal(r[1].kind, 'rpc');
  assert.match(r[1].message, /nope_x failed: Method not found/);
  assert.equal(r[2], '0x7a69');
});

test('a closed port is reported as unreachable', async () => {
  await assert.rejects(probeNode(new RpcClient(closedUrl)), (e) => e.kind === 'unreachable' && /Cannot reach the node at/.test(e.message));
});

test('a web server that is not a node is reported as such', async () => {
  await assert.rejects(probeNode(new RpcClient(html.url)), (e) => e.kind === 'not-ethereum' && /not JSON-RPC/.test(e.message));
});

test('invalid URLs are refused with a hint', () => {
  assert.throws(() => normalizeNodeUrl('localhost:8545'), /not an http\(s\) URL|not a valid URL/);
  assert.throws(() => normalizeNodeUrl('ftp://x'), /not an http\(s\) URL/);
  assert.equal(normalizeNodeUrl(' http://localhost:8545 '), 'http://localhost:8545/');
});
