// A small stand-in for paychand's admin API (the contract of docs/protocol.md's admin routes) for
// the operations view's browser test: serves the page from visualizer/ and, on the same origin,
// GET /admin/accounts, /admin/channels (paged) and /admin/transactions with canned JSON, only for
// `Authorization: Bearer <token>` (else 401 with the protocol's error object). `set(data)` changes
// the answers, so a test can watch the page update live.

import http from 'node:http';
import { createStaticServer } from '../../visualizer/serve.mjs';

export function createFakeAdmin(root, token, initial) {
  let data = initial;
  const pageServer = createStaticServer(root);
  const requests = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (!url.pathname.startsWith('/admin/')) {
      req.url = req.url.replace(/^\/visualizer/, '') || '/';
      return pageServer.emit('request', req, res);
    }
    requests.push({ path: url.pathname, auth: req.headers.authorization ?? null });
    const send = (status, body) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${token}`) return send(401, { error: { code: 401, message: 'admin token missing or wrong' } });
    if (url.pathname === '/admin/accounts') return send(200, { accounts: data.accounts });
    if (url.pathname === '/admin/transactions') return send(200, { transactions: data.transactions ?? [] });
    if (url.pathname === '/admin/channels') {
      const offset = Number(url.searchParams.get('offset') ?? 0);
      const limit = Math.min(1000, Number(url.searchParams.get('limit') ?? 100));
      return send(200, { total: data.channels.length, offset, channels: data.channels.slice(offset, offset + limit) });
    }
    return send(404, { error: { code: 404, message: 'no such admin route' } });
  });
  return { server, requests, set: (d) => { data = d; } };
}
