#!/usr/bin/env node
// A tiny static file server for visualizer/ (node:http only), for local use and the browser tests.
//   node visualizer/serve.mjs [--port 8080] [--host 127.0.0.1]
// Any other static server works as well (e.g. `python3 -m http.server -d visualizer 8080`),
// as long as it sends .js files with a JavaScript content type (ES modules need it).

import { createReadStream, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.dirname(fileURLToPath(import.meta.url));
const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png',
  '.map': 'application/json', '.md': 'text/plain; charset=utf-8',
};

/** Creates (not starts) the server for directory `root`; GET/HEAD only, no listing, no escaping root. */
export function createStaticServer(root = ROOT) {
  return http.createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    let rel;
    try {
      rel = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch {
      res.writeHead(400).end('bad path');
      return;
    }
    if (rel.endsWith('/')) rel += 'index.html';
    const file = path.join(root, path.normalize(rel));
    if (!file.startsWith(root + path.sep)) {
      res.writeHead(403).end('forbidden');
      return;
    }
    let st;
    try {
      st = statSync(file);
    } catch {
      st = null;
    }
    if (!st || !st.isFile()) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`not found: ${rel}`);
      return;
    }
    res.writeHead(200, {
      'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      'Content-Length': st.size,
      'Cache-Control': 'no-cache',
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
}

function main() {
  const args = process.argv.slice(2);
  const opt = (name, def) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : def;
  };
  if (args.includes('--help')) {
    console.log('usage: node visualizer/serve.mjs [--port 8080] [--host 127.0.0.1]');
    return;
  }
  const port = Number(opt('--port', '8080'));
  const host = opt('--host', '127.0.0.1');
  createStaticServer().listen(port, host, () => {
    console.log(`visualizer: http://${host}:${port}/  (add ?node=<JSON-RPC URL> to pick the node)`);
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
