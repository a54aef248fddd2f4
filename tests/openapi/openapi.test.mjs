// docs/openapi.yaml against a running paychand (two, one per team, on a private anvil, and a third
//  one whose node is not there, for the answers while not ready):
//  - the file is OpenAPI 3.1 and its routes are exactly those the server's route table serves
//    (PAYCHAN_ROUTES_DUMP prints that table: tests/openapi/routes_dump.c);
//  - every operation in the file answers as described: a channel's whole life is driven through
//    the API with GET and POST, and every answer's status must be documented for its operation
//    and its body must match the documented schema; every operation is seen answering 200 and
//    (where it documents errors) an error; unknown paths and methods answer the Error object.
//
// Environment: PAYCHAN_PAYCHAND (the binary), PAYCHAN_ROUTES_DUMP, PAYCHAN_ANVIL (optional).
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createHmac, createHash } from 'node:crypto';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { SigningKey } from 'ethers';
import YAML from 'yaml';
import { ROOT, devWallets, freePort, startAnvil } from '../visualizer/support.mjs';

const PAYCHAND = process.env.PAYCHAN_PAYCHAND;
const ROUTES_DUMP = process.env.PAYCHAN_ROUTES_DUMP;
const SPEC = YAML.parse(readFileSync(path.join(ROOT, 'docs', 'openapi.yaml'), 'utf8'));
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

// ---- a JSON Schema check for the subset the file uses -------------------------------------

function resolve(node) {
  while (node && node.$ref) {
    assert.ok(node.$ref.startsWith('#/'), `only local $ref: ${node.$ref}`);
    node = node.$ref.slice(2).split('/').reduce((o, k) => o?.[k], SPEC);
    assert.ok(node, 'dangling $ref');
  }
  return node;
}

const typeOf = (v) => (v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v);

/** The ways `value` breaks `schema` (empty when it matches). */
function schemaErrors(schemaRef, value, where = 'body') {
  const s = resolve(schemaRef);
  const errors = [];
  if (s.type) {
    const types = [s.type].flat();
    const t = typeOf(value);
    if (!types.includes(t) && !(t === 'integer' && types.includes('number'))) return [`${where}: ${t}, want ${types}`];
  }
  if (s.const !== undefined && value !== s.const) errors.push(`${where}: ${JSON.stringify(value)}, want ${JSON.stringify(s.const)}`);
  if (s.enum && !s.enum.includes(value)) errors.push(`${where}: ${JSON.stringify(value)} not in ${s.enum}`);
  if (s.pattern && typeof value === 'string' && !new RegExp(s.pattern).test(value)) errors.push(`${where}: "${value}" !~ ${s.pattern}`);
  if (typeOf(value) === 'object') {
    for (const k of s.required ?? []) if (!(k in value)) errors.push(`${where}: ${k} missing`);
    for (const [k, v] of Object.entries(value)) {
      if (s.properties?.[k]) errors.push(...schemaErrors(s.properties[k], v, `${where}.${k}`));
      else if (s.additionalProperties === false) errors.push(`${where}: ${k} not documented`);
      else if (typeof s.additionalProperties === 'object') errors.push(...schemaErrors(s.additionalProperties, v, `${where}.${k}`));
    }
  }
  if (Array.isArray(value) && s.items) value.forEach((v, i) => errors.push(...schemaErrors(s.items, v, `${where}[${i}]`)));
  return errors;
}

// ---- the running servers ----------------------------------------------------------------------

let anvil;
let tmp;
const servers = {}; // team -> {url, child}
const wallets = {};

/** A paychand of `team` on `nodeUrl`, once `started` answers 200 (/status: once ready). */
async function startPaychand(team, key, { nodeUrl = anvil.url, started = '/status', more = [] } = {}) {
  const port = await freePort();
  const log = openSync(path.join(tmp, `${team}.log`), 'a');
  const child = spawn(PAYCHAND, ['--node-url', nodeUrl, '--chain-id', '31337', '--port', String(port),
    '--store', 'memory', '--dev', '--dev-key', key, '--duty-interval', '500',
    '--visualizer', path.join(ROOT, 'visualizer'), '--data-dir', path.join(tmp, team), ...more],
  { stdio: ['ignore', log, log] });
  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 30000; ;) {
    if (child.exitCode !== null) throw new Error(`${team} paychand exited: ${readFileSync(path.join(tmp, `${team}.log`), 'utf8')}`);
    try { if ((await fetch(`${url}${started}`)).ok) break; } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`${team} paychand did not answer`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, child };
}

before(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'paychan-openapi-'));
  anvil = await startAnvil();
  const w = devWallets(null);
  wallets.consumer = w.consumer;
  wallets.provider = w.random;
  servers.consumer = await startPaychand('consumer', w.consumer.privateKey);
  servers.provider = await startPaychand('provider', w.random.privateKey);
  // one whose node is not there: serving, not ready
  servers.nonode = await startPaychand('nonode', w.consumer.privateKey,
    { nodeUrl: `http://127.0.0.1:${await freePort()}`, started: '/health', more: ['--metrics-token', 'scrape-me'] });
});

after(async () => {
  for (const s of Object.values(servers)) {
    if (s.child.exitCode === null) {
      const gone = new Promise((r) => s.child.once('exit', r));
      s.child.kill('SIGTERM');
      await gone;
    }
  }
  await anvil?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// ---- calls ------------------------------------------------------------------------------------------

let lastMicros = 0;
function stamp() { // unix seconds with a unique fraction (docs/protocol.md §3.2)
  lastMicros = Math.max(lastMicros + 1, Date.now() * 1000);
  return `${Math.floor(lastMicros / 1e6)}.${String(lastMicros % 1e6).padStart(6, '0')}`;
}

/** The x-pay-* authentication headers of docs/protocol.md §3 (MAC, or the signature); a POST
 * also signs its method, Content-Type and body digest (§3.4). */
function authHeaders(who, method, target, scheme = 'mac', body = '', bodyType = '') {
  const wallet = wallets[who];
  const sender = wallet.address.toLowerCase();
  const ts = stamp();
  const post = method === 'POST' ? `\nPOST\n${bodyType}\n${createHash('sha256').update(body).digest('hex')}` : '';
  const text = `${sender}${target}\n${ts}${post}`;
  const key = Buffer.from(wallet.privateKey.slice(2), 'hex');
  if (scheme === 'signature') {
    const digest = createHash('sha256').update(text).digest();
    return { 'x-pay-sender': sender, 'x-pay-timestamp': ts, 'x-pay-signature': new SigningKey(key).sign(digest).serialized };
  }
  const macKey = createHmac('sha256', key).update('paychan request MAC v1').digest();
  return { 'x-pay-sender': sender, 'x-pay-timestamp': ts, 'x-pay-mac': `0x${createHmac('sha256', macKey).update(text).digest('hex')}` };
}

const seen = new Map(); // "METHOD template" -> Set of statuses

/** The documented operation (template path and method) that serves `pathname`. */
function operationOf(pathname, method) {
  for (const [template, item] of Object.entries(SPEC.paths)) {
    const re = new RegExp(`^${template.replace(/\{file\}/, '.*').replace(/\{[^}]+\}/g, '[^/]+')}$`);
    if (re.test(pathname) && item[method]) return { template, op: item[method] };
  }
  return null;
}

/** Sends one call (json: a JSON body, POST) and checks the answer against the file; resolves
 * to {status, body}. */
async function call(method, target, { who, scheme, server, extra = {}, json } = {}) {
  const sent = json === undefined ? undefined : JSON.stringify(json);
  const sentType = sent === undefined ? '' : 'application/json';
  const headers = {
    ...(who ? authHeaders(who, method, target, scheme, sent ?? '', sentType) : {}),
    ...(sent === undefined ? {} : { 'content-type': sentType }), ...extra,
  };
  const base = servers[server ?? who ?? 'consumer'].url;
  const res = await fetch(base + target, { method, headers, body: sent });
  const type = res.headers.get('content-type') ?? '';
  const text = await res.text();
  const body = type.startsWith('application/json') ? JSON.parse(text) : text;
  const pathname = new URL(base + target).pathname;
  const found = operationOf(pathname, method.toLowerCase());
  const what = `${method} ${target} -> ${res.status} ${text.slice(0, 300)}`;
  if (found) {
    const key = `${method} ${found.template}`;
    if (!seen.has(key)) seen.set(key, new Set());
    seen.get(key).add(res.status);
    const response = resolve(found.op.responses[String(res.status)]);
    assert.ok(response, `${what}: status ${res.status} not documented for ${key}`);
    const media = Object.entries(response.content ?? {}).find(([t]) => type.startsWith(t));
    assert.ok(media, `${what}: content type ${type} not documented`);
    if (type.startsWith('application/json')) assert.deepEqual(schemaErrors(media[1].schema, body), [], what);
  } else { // not a documented route: the Error object with 404 or 405
    assert.ok([404, 405].includes(res.status), what);
    assert.deepEqual(schemaErrors({ $ref: '#/components/schemas/Error' }, body), [], what);
  }
  return { status: res.status, body };
}

const expectOk = async (...a) => { const r = await call(...a); assert.equal(r.status, 200, JSON.stringify(r.body)); return r.body; };
async function expectError(status, code, ...a) {
  const r = await call(...a);
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body.code, code, JSON.stringify(r.body));
}

// ---- the tests --------------------------------------------------------------------------------

test('the file is OpenAPI 3.1 and names exactly the routes the server serves', () => {
  assert.match(SPEC.openapi, /^3\.1\./);
  const served = execFileSync(ROUTES_DUMP, { encoding: 'utf8' }).trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(served.length >= 24, `${served.length} routes from the route table`);
  const servedSet = new Set(served.map((r) => `${r.method} ${r.path}`));
  const fileSet = new Set(Object.entries(SPEC.paths).flatMap(([p, item]) =>
    METHODS.filter((m) => item[m]).map((m) => `${m.toUpperCase()} ${p}`)));
  assert.deepEqual([...servedSet].filter((r) => !fileSet.has(r)), [], 'served but not in docs/openapi.yaml');
  assert.deepEqual([...fileSet].filter((r) => !servedSet.has(r)), [], 'in docs/openapi.yaml but not served');
  for (const r of served) { // authentication as documented
    const op = SPEC.paths[r.path][r.method.toLowerCase()];
    const open = Array.isArray(op.security) && op.security.length === 0;
    assert.equal(open, !r.authenticated, `${r.method} ${r.path}: security`);
  }
});

test('every operation answers as documented through a channel\'s life', async () => {
  const P = wallets.provider.address.toLowerCase();
  const terms = 'costPerRequest=1000&terminationTimeout=100&tokenRedemptionTimeout=2';
  // unauthenticated routes
  await expectOk('GET', '/status');
  await expectOk('POST', '/status');
  await expectOk('GET', '/visualizer/');
  await expectOk('POST', '/visualizer/index.html');
  await expectError(404, 404, 'GET', '/visualizer/no-such-file.html');
  await expectError(404, 404, 'POST', '/visualizer/no-such-file.html');
  await expectError(404, 404, 'GET', '/no-such-endpoint', { who: 'consumer' });
  await expectError(405, 404, 'PUT', '/status');
  await expectOk('GET', '/health');
  await expectOk('POST', '/health', { server: 'nonode' });
  assert.deepEqual(await expectOk('GET', '/ready'), { ready: true, missing: [], reasons: {} });
  await expectOk('POST', '/ready', { server: 'provider' });

  // a server without its node: /health 200; /ready, /status and the chain's endpoints 503
  await expectError(503, 101, 'GET', '/ready', { server: 'nonode' });
  await expectError(503, 101, 'POST', '/status', { server: 'nonode' });
  await expectError(503, 101, 'GET', `/useService?serviceProvider=${P}`, { who: 'consumer', server: 'nonode' });

  // useService (consumer)
  await expectError(412, 202, 'GET', `/useService?serviceProvider=${P}`);
  await expectError(400, 300, 'POST', '/useService?serviceProvider=0x12', { who: 'consumer' });
  const { mediatorAddress: M } = await expectOk('GET', `/useService?serviceProvider=${P}&${terms}`, { who: 'consumer', scheme: 'signature' });
  assert.equal((await expectOk('POST', `/useService?serviceProvider=${P}&${terms}&allowReuseExistingMediator=true`, { who: 'consumer' })).mediatorAddress, M);
  await expectError(400, 300, 'GET', `/useService?serviceProvider=0x12`, { who: 'consumer' });

  // deposit (consumer)
  await expectOk('GET', `/contracts/${M}/deposit/1000000000000000?autoFundingThreshold=0`, { who: 'consumer' });
  await expectOk('POST', `/contracts/${M}/deposit/1000?autoFundingThreshold=0&autoFundingAmount=0`, { who: 'consumer' });
  await expectError(400, 300, 'GET', `/contracts/${M}/deposit/0`, { who: 'consumer' });
  await expectError(412, 3, 'POST', `/contracts/${M}/deposit/1000`, { who: 'provider' });

  // createSignatureHeaders (consumer), one and several
  const h1 = await expectOk('GET', `/contracts/${M}/createSignatureHeaders`, { who: 'consumer' });
  const h2 = await expectOk('POST', `/contracts/${M}/createSignatureHeaders?privateKey=ignored`, { who: 'consumer' });
  await expectError(412, 3, 'GET', `/contracts/${M}/createSignatureHeaders`, { who: 'provider' });
  await expectError(400, 300, 'POST', '/contracts/0x12/createSignatureHeaders', { who: 'consumer' });
  const many = await expectOk('GET', `/createSignatureHeaders?mediators=${M},${M}`, { who: 'consumer' });
  assert.equal(many.headers.length, 2);
  await expectOk('POST', `/createSignatureHeaders?mediators=${M}`, { who: 'consumer' });
  await expectError(400, 300, 'GET', '/createSignatureHeaders?mediators=nope', { who: 'consumer' });
  await expectError(400, 300, 'POST', '/createSignatureHeaders', { who: 'consumer' });

  // validateToken (provider)
  const validate = (h) => `/contracts/${M}/validateToken?sender=${h['x-pay-sender']}&mediator=${M}` +
    `&signature=${h['x-pay-signature']}&tokenId=${h['x-pay-token-id']}&reqCount=${h['x-pay-req-count']}` +
    '&minCostPerRequest=1000&terminationTimeout=100&tokenRedemptionTimeout=2';
  await expectOk('GET', validate(h1), { who: 'provider' });
  await expectOk('POST', validate(h2), { who: 'provider' });
  await expectError(412, 37, 'GET', validate(h1), { who: 'provider' });
  await expectError(400, 300, 'POST', `/contracts/${M}/validateToken?sender=0x12`, { who: 'provider' });

  // the admin API (any served account) and the metrics
  const page = await expectOk('GET', '/admin/channels?limit=10', { who: 'provider' });
  assert.equal(page.total, 1);
  assert.equal(page.channels[0].highestValidated, 2);
  assert.equal((await expectOk('POST', '/admin/channels?role=consumer', { who: 'consumer' })).channels[0].highestIssued, 5);
  await expectError(400, 300, 'GET', '/admin/channels?limit=0', { who: 'consumer' });
  await expectError(400, 300, 'POST', '/admin/channels?role=judge', { who: 'consumer' });
  await expectOk('GET', `/admin/channels/${M}`, { who: 'provider' });
  await expectOk('POST', `/admin/channels/${M}`, { who: 'consumer' });
  await expectError(404, 404, 'GET', `/admin/channels/${P}`, { who: 'consumer' });
  await expectError(400, 300, 'POST', '/admin/channels/0x12', { who: 'consumer' });
  await expectOk('GET', '/admin/accounts', { who: 'consumer' });
  await expectOk('POST', '/admin/accounts', { who: 'provider' });
  await expectError(412, 202, 'GET', '/admin/accounts');
  await expectError(412, 202, 'POST', '/admin/accounts');
  const txs = await expectOk('GET', '/admin/transactions?limit=5', { who: 'consumer' });
  assert.ok(txs.transactions.some((t) => t.action === 'deploy'), JSON.stringify(txs));
  await expectOk('POST', '/admin/transactions', { who: 'provider' });
  await expectError(400, 300, 'GET', '/admin/transactions?limit=101', { who: 'consumer' });
  await expectError(400, 300, 'POST', '/admin/transactions?limit=0', { who: 'consumer' });
  assert.match(await expectOk('GET', '/metrics', { server: 'provider' }), /paychan_tokens_validated_total 2/);
  await expectOk('POST', '/metrics');
  await expectError(412, 201, 'GET', '/metrics', { server: 'nonode' });
  await expectError(412, 201, 'POST', '/metrics', { server: 'nonode', extra: { authorization: 'Bearer wrong' } });
  await expectOk('GET', '/metrics', { server: 'nonode', extra: { authorization: 'Bearer scrape-me' } });

  // returnCount (consumer; our extension): the last count taken (5) given back, once, then taken again
  const tokenId = h1['x-pay-token-id'];
  assert.deepEqual(await expectOk('POST', `/contracts/${M}/returnCount`, { who: 'consumer', json: { tokenId, reqCount: 5 } }), { returned: true });
  assert.deepEqual(await expectOk('GET', `/contracts/${M}/returnCount?tokenId=${tokenId}&reqCount=5`, { who: 'consumer' }), { returned: false });
  await expectError(412, 3, 'POST', `/contracts/${M}/returnCount`, { who: 'provider', json: { tokenId, reqCount: 5 } });
  await expectError(400, 300, 'GET', `/contracts/${M}/returnCount?tokenId=${tokenId}&reqCount=0`, { who: 'consumer' });
  assert.equal((await expectOk('GET', `/contracts/${M}/createSignatureHeaders`, { who: 'consumer' }))['x-pay-req-count'], '5');

  // validateTokens (provider; our extension): several tokens in one call, each its own result
  const toValidate = many.headers.map((h) => ({ mediator: h['x-pay-mediator'], sender: h['x-pay-sender'],
    signature: h['x-pay-signature'], tokenId: h['x-pay-token-id'], reqCount: Number(h['x-pay-req-count']) }));
  const batch = { minCostPerRequest: '1000', terminationTimeout: 100, tokenRedemptionTimeout: '2', tokens: toValidate };
  assert.deepEqual(await expectOk('POST', '/validateTokens', { who: 'provider', json: batch }),
    { results: [{ valid: true }, { valid: true }] });
  const again = await expectOk('POST', '/validateTokens', { who: 'provider', scheme: 'signature', json: batch });
  assert.deepEqual(again.results.map((r) => [r.valid, r.code]), [[false, 37], [false, 37]]);
  await expectError(400, 300, 'POST', '/validateTokens', { who: 'provider', json: { ...batch, tokens: [] } });
  await expectError(400, 300, 'GET', '/validateTokens?minCostPerRequest=1000', { who: 'provider' });
  const query = `minCostPerRequest=1000&terminationTimeout=100&tokenRedemptionTimeout=2&tokens=${encodeURIComponent(JSON.stringify(toValidate))}`;
  assert.equal((await expectOk('GET', `/validateTokens?${query}`, { who: 'provider' })).results[1].code, 37);

  // funds and terminationStatus (either party)
  const funds = await expectOk('GET', `/contracts/${M}/funds`, { who: 'consumer' });
  assert.equal(funds.serviceConsumerFunds, '1000000000001000');
  await expectOk('POST', `/contracts/${M}/funds`, { who: 'provider' });
  await expectError(400, 300, 'GET', '/contracts/0x12/funds', { who: 'provider' });
  assert.deepEqual(await expectOk('GET', `/contracts/${M}/terminationStatus`, { who: 'provider' }), { terminated: false });
  await expectError(400, 300, 'POST', '/contracts/0x12/terminationStatus', { who: 'consumer' });

  // redeemToken and payout (provider)
  assert.deepEqual(await expectOk('POST', `/contracts/${M}/redeemToken`, { who: 'provider' }), { started: true });
  await expectError(412, 2, 'GET', `/contracts/${M}/redeemToken`, { who: 'consumer' });
  await expectOk('GET', `/contracts/${M}/payout`, { who: 'provider' });
  await expectOk('POST', `/contracts/${M}/payout`, { who: 'provider' });
  await expectError(412, 2, 'GET', `/contracts/${M}/payout`, { who: 'consumer' });

  // terminate: the consumer starts, the provider closes, then it is closed for everyone
  assert.deepEqual(await expectOk('GET', `/contracts/${M}/terminate`, { who: 'consumer' }), { terminated: false, terminationStarted: true });
  const running = await expectOk('POST', `/contracts/${M}/terminationStatus`, { who: 'consumer' });
  assert.equal(running.terminationRunning, true);
  assert.deepEqual(await expectOk('POST', `/contracts/${M}/terminate`, { who: 'provider' }), { terminated: true });
  assert.deepEqual(await expectOk('GET', `/contracts/${M}/terminationStatus`, { who: 'consumer' }), { terminated: true });
  await expectError(400, 300, 'GET', '/contracts/0x12/terminate', { who: 'consumer' });
  await expectError(412, 1, 'GET', `/contracts/${M}/createSignatureHeaders`, { who: 'consumer' });

  // every documented operation was seen, answering 200 and an error
  for (const [template, item] of Object.entries(SPEC.paths)) {
    for (const m of METHODS.filter((x) => item[x])) {
      const statuses = seen.get(`${m.toUpperCase()} ${template}`);
      assert.ok(statuses, `${m.toUpperCase()} ${template} was never called`);
      const all = [...seen.entries()].filter(([k]) => k.endsWith(` ${template}`)).flatMap(([, v]) => [...v]);
      const documentsErrors = Object.keys(item[m].responses).some((s) => Number(s) >= 400);
      assert.ok(all.includes(200) && (!documentsErrors || all.some((s) => s >= 400)), `${template}: saw ${all}`);
    }
  }
});
