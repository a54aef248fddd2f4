// The page: connection handling (field, ?node= parameter, localStorage), hash routing between the
// views, and the live poll that brings new blocks with Mediator transactions in.

import { Chain } from './chain.js';
import { RpcClient, RpcError, probeNode } from './rpc.js';
import { AdminClient, parseLabels, serviceSummaries } from './ops.js';
import { opsView } from './opsview.js';
import { blockView, blocksView, esc, mediatorPicker, mediatorView, servicesView, txView } from './views.js';

const DEFAULT_NODE = 'http://localhost:8545';
const STORAGE_KEY = 'paychan.visualizer.node';
const POLL_MS = 1000;
// Blocks per page of the list; ?pageSize= changes it (1..100).
const PAGE_SIZE = Math.min(100, Math.max(1, Number(new URLSearchParams(location.search).get('pageSize')) || 10));
const $ = (id) => document.getElementById(id);
const OPS_POLL_MS = 2000;
const OPS_KEY = 'paychan.visualizer.ops';

const state = {
  chain: null, head: -1, blocks: null, next: -1, fresh: new Set(),
  connectSeq: 0, pollTimer: null, renderSeq: 0, polling: false,
};

/** The node URL to use: ?node= wins, then the remembered one, then the default. */
function initialNodeUrl() {
  const fromQuery = new URLSearchParams(location.search).get('node');
  if (fromQuery) return fromQuery;
  try {
    return localStorage.getItem(STORAGE_KEY) || DEFAULT_NODE;
  } catch {
    return DEFAULT_NODE;
  }
}

function showError(message) {
  const box = $('connect-error');
  box.textContent = message;
  box.hidden = !message;
}

async function connect(url) {
  const seq = ++state.connectSeq;
  clearTimeout(state.pollTimer);
  state.chain = null;
  state.blocks = null;
  state.fresh = new Set();
  $('node-url').value = url;
  $('node-status').textContent = `connecting to ${url}…`;
  showError('');
  try {
    const rpc = new RpcClient(url);
    const info = await probeNode(rpc);
    if (seq !== state.connectSeq) return;
    try {
      localStorage.setItem(STORAGE_KEY, rpc.url);
    } catch { /* storage may be off; the page still works */ }
    const chain = new Chain(rpc);
    await chain.discoverMediators(info.blockNumber);
    if (seq !== state.connectSeq) return;
    state.chain = chain;
    state.head = info.blockNumber;
    state.info = info;
    updateStatus();
    const page = await chain.blocksPage(info.blockNumber, PAGE_SIZE);
    if (seq !== state.connectSeq) return;
    state.blocks = page.blocks;
    state.next = page.next;
    await render();
    schedulePoll(seq);
  } catch (e) {
    if (seq !== state.connectSeq) return;
    $('node-status').textContent = 'not connected';
    showError(e instanceof RpcError ? e.message : `Connecting to ${url} failed: ${e.message}`);
    if (route().view !== 'ops') $('view').innerHTML = `<p class="muted">Enter the JSON-RPC URL of an Ethereum node above (default ${esc(DEFAULT_NODE)}) and press Connect.</p>`;
  }
}

function updateStatus() {
  const i = state.info;
  $('node-status').textContent = `connected: chain ${i.chainId} · block ${state.head}${i.client ? ` · ${i.client}` : ''}`;
}

function schedulePoll(seq) {
  clearTimeout(state.pollTimer);
  state.pollTimer = setTimeout(() => poll(seq), POLL_MS);
}

/** Reads new blocks; new Mediator transactions go on top of the list and refresh the current view. */
async function poll(seq) {
  if (seq !== state.connectSeq) return;
  try {
    const head = Number(BigInt(await state.chain.rpc.call('eth_blockNumber')));
    if (seq !== state.connectSeq) return;
    if (head < state.head) {
      // The chain was reset (e.g. anvil restarted): start over.
      connect(state.chain.rpc.url);
      return;
    }
    if (head > state.head) {
      const from = state.head + 1;
      const found = await state.chain.scanRange(from, head);
      if (seq !== state.connectSeq) return;
      state.head = head;
      state.chain.scannedMediatorsTo = Math.max(state.chain.scannedMediatorsTo, head);
      updateStatus();
      showError('');
      if (found.length) {
        state.fresh = new Set(found.map((b) => b.number));
        state.blocks = [...found, ...state.blocks];
        await render({ live: true });
      } else if (route().view === 'blocks') {
        await render({ live: true });
      }
    }
  } catch (e) {
    showError(`Lost the node: ${e.message} Retrying…`);
  }
  schedulePoll(seq);
}

function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/');
  const view = parts[0] || 'blocks';
  return { view, arg: parts[1] ? decodeURIComponent(parts[1]) : null };
}

function markNav(view) {
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('current', a.dataset.nav === view);
}

/** Renders the view of the current hash. `live` re-renders only views that show changing data. */
async function render({ live = false } = {}) {
  const { view, arg } = route();
  markNav(view);
  const el = $('view');
  if (view === 'ops') {
    if (!live) renderOps(true);
    return;
  }
  if (!state.chain) return;
  if (live && (view === 'block' || view === 'tx')) return; // mined blocks never change
  const seq = ++state.renderSeq;
  const put = (html) => {
    if (seq === state.renderSeq) el.innerHTML = html;
  };
  try {
    if (view === 'blocks') {
      put(blocksView(state));
      $('older')?.addEventListener('click', loadOlder);
    } else if (view === 'block') {
      if (!live) put('<p class="muted">Loading block…</p>');
      put(blockView(await state.chain.blockDetails(/^\d+$/.test(arg) ? Number(arg) : arg)));
    } else if (view === 'tx') {
      put('<p class="muted">Loading transaction…</p>');
      put(txView(await state.chain.txDetails(arg)));
    } else if (view === 'mediator') {
      await renderMediator(arg, put, live);
    } else if (view === 'services') {
      if (!live) put(servicesView(null));
      put(servicesView(await state.chain.overview()));
      wireGraph();
    } else {
      put(`<p>Unknown view "${esc(view)}".</p>`);
    }
  } catch (e) {
    put(`<div class="error-box" data-testid="view-error">${esc(e.message)}</div>`);
  }
  wireInspectForm();
}

async function renderMediator(arg, put, live) {
  if (!arg) {
    put(`<h2>Mediator inspector</h2>${mediatorPicker(state.chain.mediators, null)}`);
    return;
  }
  if (!live) put('<p class="muted">Reading the Mediator…</p>');
  const m = await state.chain.mediator(arg, state.head);
  put(mediatorView(m, null, state.chain.mediators));
  const history = await state.chain.balanceHistory(m, state.head);
  put(mediatorView(m, history, state.chain.mediators));
}

function wireGraph() {
  for (const g of document.querySelectorAll('[data-testid="graph-edge"]')) {
    const open = () => { location.hash = `#/mediator/${g.dataset.mediator}`; };
    g.addEventListener('click', open);
    g.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') open(); });
  }
}

function wireInspectForm() {
  $('inspect-form')?.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const a = $('inspect-address').value.trim();
    if (a) location.hash = `#/mediator/${a}`;
  });
}

// The operations view polls paychand's admin API on its own timer, independent of the node.
// Its settings live in sessionStorage: the admin token is forgotten when the tab closes.
const ops = { cfg: null, summaries: null, timer: null, seq: 0 };

function opsConfig() {
  if (ops.cfg) return ops.cfg;
  let saved = {};
  try {
    saved = JSON.parse(sessionStorage.getItem(OPS_KEY) ?? '{}');
  } catch { /* storage off or bad: start empty */ }
  const q = new URLSearchParams(location.search);
  // Served by paychand at /visualizer/: its admin API is on the same origin.
  const sameOrigin = /\/visualizer\/?$/.test(location.pathname) ? location.origin : '';
  ops.cfg = { url: q.get('paychand') ?? saved.url ?? sameOrigin, token: saved.token ?? '', labelsText: q.get('labels') ?? saved.labelsText ?? '' };
  return ops.cfg;
}

/** Draws the view; `start` (re)starts the poll, ending any earlier loop. */
function renderOps(start) {
  const cfg = opsConfig();
  $('view').innerHTML = opsView(cfg, ops.summaries, Math.floor(Date.now() / 1000));
  $('ops-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    Object.assign(cfg, { url: $('ops-url').value.trim(), token: $('ops-token').value, labelsText: $('ops-labels').value });
    try {
      sessionStorage.setItem(OPS_KEY, JSON.stringify(cfg));
    } catch { /* the page still works for this visit */ }
    ops.summaries = null;
    pollOps(++ops.seq);
  });
  if (start && cfg.url && cfg.token) pollOps(++ops.seq);
}

async function pollOps(seq) {
  clearTimeout(ops.timer);
  ops.timer = null;
  if (seq !== ops.seq || route().view !== 'ops') return;
  const cfg = opsConfig();
  try {
    const snap = await new AdminClient(cfg.url, cfg.token).snapshot();
    if (seq !== ops.seq) return;
    ops.summaries = serviceSummaries(snap, { labels: parseLabels(cfg.labelsText), now: Math.floor(Date.now() / 1000) });
    cfg.status = `${snap.channels.length} channel(s), ${ops.summaries.length} account(s)`;
    showError('');
  } catch (e) {
    if (seq !== ops.seq) return;
    cfg.status = 'not connected';
    showError(e.message);
  }
  if (route().view !== 'ops') return;
  // Keep what the operator is typing: re-render only when the form has no focus.
  if (!document.activeElement?.matches?.('#ops-form input')) renderOps(false);
  ops.timer = setTimeout(() => pollOps(seq), OPS_POLL_MS);
}

async function loadOlder() {
  const btn = $('older');
  btn.disabled = true;
  btn.textContent = 'Scanning…';
  const page = await state.chain.blocksPage(state.next, PAGE_SIZE);
  state.blocks = [...state.blocks, ...page.blocks];
  state.next = page.next;
  state.fresh = new Set();
  render();
}

function main() {
  $('boot-note')?.remove();
  $('connect-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    connect($('node-url').value.trim() || DEFAULT_NODE);
  });
  window.addEventListener('hashchange', () => render());
  // Copy buttons next to shortened token ids.
  document.addEventListener('click', (ev) => {
    const b = ev.target.closest?.('button[data-copy]');
    if (!b) return;
    navigator.clipboard?.writeText(b.dataset.copy).then(() => { b.textContent = 'copied'; }, () => { b.textContent = 'copy failed'; });
  });
  markNav(route().view);
  connect(initialNodeUrl());
}

main();
