// HTML for each view of the page, built from the data of chain.js. Functions return strings
// (every value from the chain goes through esc()); app.js puts them into the document.

import { describeCall, formatWei, shortAddress } from './decode.js';
import { amountText, niceTicks, shortId, shortTime } from './format.js';
import { buildGraph, compactWei, stepPath } from './model.js';

export function esc(v) {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

export const time = (ts) => (ts === null || ts === undefined ? '?' : `${new Date(ts * 1000).toISOString().replace('T', ' ').slice(0, 19)} UTC`);
const blockLink = (n) => `<a href="#/block/${esc(n)}">#${esc(n)}</a>`;
const txLink = (h, label) => `<a class="hash" href="#/tx/${esc(h)}">${esc(label ?? `${h.slice(0, 12)}…`)}</a>`;
const mediatorLink = (a, label) => `<a class="hash" href="#/mediator/${esc(a)}">${esc(label ?? shortAddress(a))}</a>`;
const addr = (a) => `<span class="hash" title="${esc(a)}">${esc(a)}</span>`;
/** Wei shown as ETH / gwei; the exact wei is in the tooltip and in data-wei (for tests and scripts). */
export const wei = (v, testid) => {
  const exact = BigInt(v ?? 0).toString();
  return `<span class="amount" title="${esc(exact)} wei" data-wei="${esc(exact)}"${testid ? ` data-testid="${esc(testid)}"` : ''}>${esc(amountText(exact))}</span>`;
};
/** A token id, shortened when long; hover shows it all and the button copies it. */
export const tokenId = (id, testid) => {
  const full = String(id ?? '');
  const short = shortId(full);
  return `<span class="mono tokenid" title="${esc(full)}" data-full="${esc(full)}"${testid ? ` data-testid="${esc(testid)}"` : ''}>${esc(short)}</span>${
    short !== full ? `<button type="button" class="copy" data-copy="${esc(full)}" title="copy the full token id">copy</button>` : ''}`;
};
/** A time on one line (UTC), the full ISO form on hover. */
const when = (ts) => `<time class="nowrap" title="${esc(time(ts))}">${esc(shortTime(ts))}</time>`;
const badge = (text, cls) => `<span class="badge ${esc(cls)}">${esc(text)}</span>`;

/** Which decoded events of a list tx matter for its one-line label. */
function txLabel(tx) {
  let label = describeCall(tx.call, tx.value);
  const redeemed = tx.events?.find((e) => e?.name === 'TokenRedeemed');
  if (redeemed) label += ` = ${formatWei(redeemed.args.find((a) => a.name === 'amount').value)}`;
  return label;
}

export function blocksView(state) {
  if (!state.blocks) return '<p class="muted">Scanning the chain…</p>';
  const rows = state.blocks.map((b) => `
    <tr data-testid="block-row" data-block="${esc(b.number)}" class="${state.fresh.has(b.number) ? 'new' : ''}">
      <td>${blockLink(b.number)}</td>
      <td>${when(b.timestamp)}</td>
      <td>${b.txs.map((tx) => `<div class="txline" data-testid="block-tx">${txLink(tx.hash)}
        ${mediatorLink(tx.to)} <span data-testid="tx-label">${esc(txLabel(tx))}</span>
        ${tx.failed ? badge('failed', 'failed') : ''}</div>`).join('')}</td>
    </tr>`).join('');
  const more = state.next >= 0
    ? `<button id="older" data-testid="older">Older blocks</button> <span class="muted">scanned back to block ${esc(state.next + 1)}</span>`
    : '<span class="muted">reached the genesis block</span>';
  return `
    <h2>Blocks with Mediator transactions <span class="muted" data-testid="live">live · head ${blockLink(state.head)}</span></h2>
    <p class="muted">${esc(state.chain.mediators.size)} Mediator(s) known. New blocks appear at the top as they are mined.</p>
    ${state.blocks.length ? `<table data-testid="blocks"><thead><tr><th>block</th><th>time</th><th>Mediator transactions</th></tr></thead><tbody>${rows}</tbody></table>`
      : '<p data-testid="no-blocks">No Mediator transactions in the scanned blocks yet.</p>'}
    <div class="pager">${more}</div>`;
}

function argsTable(args, testid) {
  if (!args?.length) return '<span class="muted">no parameters</span>';
  return `<table class="args"${testid ? ` data-testid="${esc(testid)}"` : ''}>${args.map((a) => `
    <tr><th>${esc(a.name)}</th><td class="muted">${esc(a.type)}</td><td class="mono" data-arg="${esc(a.name)}" data-value="${esc(rawArg(a))}">${argValue(a)}</td></tr>`).join('')}</table>`;
}

const rawArg = (a) => (Array.isArray(a.value) ? JSON.stringify(a.value) : String(a.value));
const AMOUNT_ARG = /amount|funds|payout|cost|value/i;

/** An argument's cell: wei amounts as ETH / gwei, token ids shortened, the rest as decoded. */
function argValue(a) {
  if (/^u?int/.test(a.type) && AMOUNT_ARG.test(a.name)) return wei(a.value);
  if (/^u?int/.test(a.type) && /tokenid/i.test(a.name)) return tokenId(a.value);
  return esc(rawArg(a));
}

function eventsHtml(events) {
  if (!events.length) return '<p class="muted">no events</p>';
  return events.map((e) => `<div class="event" data-testid="event" data-event="${esc(e.decoded?.name ?? 'unknown')}">
    <b>${esc(e.decoded?.name ?? 'undecoded log')}</b> <span class="muted">from</span> ${mediatorLink(e.address)}
    ${e.decoded ? argsTable(e.decoded.args) : `<div class="mono muted">${esc(e.topics[0])}</div>`}</div>`).join('');
}

export function errorHtml(err) {
  if (!err) return '';
  const title = err.code !== null && err.code !== undefined
    ? `${esc(err.name)}: code <b data-testid="error-code">${esc(err.code)}</b> - <span data-testid="error-meaning">${esc(err.meaning)}</span>`
    : `<span data-testid="error-meaning">${esc(err.name ? `${err.name}: ` : '')}${esc(err.meaning)}</span>`;
  const extra = (err.args ?? []).slice(1);
  return `<div class="error-box" data-testid="tx-error">Reverted with ${title}${extra.length ? argsTable(extra) : ''}</div>`;
}

function txCard(tx, open) {
  const status = tx.status === 'success' ? badge('success', 'ok') : badge(tx.status, 'failed');
  return `<div class="card" data-testid="tx" data-hash="${esc(tx.hash)}">
    <dl class="kv">
      <dt>transaction</dt><dd>${txLink(tx.hash, tx.hash)} ${status} ${tx.mediatorTx ? badge('Mediator', 'active') : ''}</dd>
      <dt>from</dt><dd>${addr(tx.from)}</dd>
      <dt>to</dt><dd>${tx.to ? (tx.mediatorTx ? mediatorLink(tx.to, tx.to) : addr(tx.to)) : `contract creation → ${tx.created ? (tx.mediatorTx ? mediatorLink(tx.created, tx.created) : addr(tx.created)) : '?'}`}</dd>
      <dt>value</dt><dd>${wei(tx.value)}</dd>
      <dt>gas used</dt><dd data-testid="gas-used">${esc(tx.gasUsed ?? '?')}${tx.gasPrice ? ` <span class="muted">at ${esc(compactWei(tx.gasPrice))}/gas</span>` : ''}</dd>
      ${tx.blockNumber !== null ? `<dt>block</dt><dd>${blockLink(tx.blockNumber)}${tx.timestamp ? ` · ${esc(time(tx.timestamp))}` : ''}</dd>` : ''}
      <dt>call</dt><dd data-testid="tx-call">${tx.call ? `<b data-testid="call-name">${esc(tx.call.name)}</b> <span class="muted mono">${esc(tx.call.signature)}</span>${argsTable(tx.call.args, 'call-args')}` : '<span class="muted">not a Mediator call</span>'}</dd>
    </dl>
    ${errorHtml(tx.error)}
    ${open || tx.mediatorTx ? `<h3>Events</h3>${eventsHtml(tx.events)}` : ''}
  </div>`;
}

export function blockView(b) {
  if (!b) return '<p>No such block.</p>';
  return `<h2>Block ${esc(b.number)}</h2>
    <div class="card"><dl class="kv" data-testid="block-details">
      <dt>hash</dt><dd class="hash">${esc(b.hash)}</dd>
      <dt>number</dt><dd>${esc(b.number)}</dd>
      <dt>time</dt><dd>${esc(time(b.timestamp))}</dd>
      <dt>parent</dt><dd>${b.number > 0 ? `<a class="hash" href="#/block/${esc(b.number - 1)}">${esc(b.parentHash)}</a>` : esc(b.parentHash)}</dd>
      <dt>gas used</dt><dd>${esc(b.gasUsed)} of ${esc(b.gasLimit)}</dd>
      ${b.baseFee !== null ? `<dt>base fee</dt><dd>${esc(compactWei(b.baseFee))}</dd>` : ''}
      <dt>transactions</dt><dd>${esc(b.txs.length)}</dd>
    </dl></div>
    ${b.txs.map((tx) => txCard(tx, false)).join('')}`;
}

export function txView(tx) {
  if (!tx) return '<p>No such transaction.</p>';
  return `<h2>Transaction</h2>${txCard(tx, true)}`;
}

const stateBadge = (s) => `<span class="badge ${esc(s)}" data-testid="mediator-state">${esc(s)}</span>`;

function tokenHtml(g, now) {
  const soon = BigInt(g.soonExpiringTokenId);
  const until = Number(g.soonExpiringTokenIdTimeout);
  const grace = soon === 0n ? '<span class="muted">none (no redemption in progress)</span>'
    : `${tokenId(soon)} - grace period ${until > now ? `ends ${esc(time(until))} (in ${esc(until - now)} s)` : `ended ${esc(time(until))}: ready to redeem`}`;
  return `<dl class="kv">
    <dt>active token id</dt><dd>${tokenId(g.activeTokenId, 'active-token')}${BigInt(g.activeTokenId) === 0n ? ' <span class="muted">(final token taken into redemption)</span>' : ''}</dd>
    <dt>soon-expiring token id</dt><dd data-testid="soon-expiring-token">${grace}</dd></dl>`;
}

function terminationHtml(g, now) {
  if (g.terminated) return '<span data-testid="termination">terminated</span>';
  const started = Number(g.terminationStartedAt);
  if (!started) return '<span data-testid="termination">not started</span>';
  const at = started + Number(g.terminationTimeout);
  return `<span data-testid="termination">started ${esc(time(started))}; the consumer can finalize ${at > now ? `from ${esc(time(at))} (in ${esc(at - now)} s)` : 'now'}</span>`;
}

export function mediatorView(m, history, known) {
  const g = m.getters;
  const now = Math.floor(Date.now() / 1000);
  const t = m.totals;
  return `<h2>Mediator <span class="hash">${esc(m.address)}</span> ${stateBadge(m.state)}</h2>
  <div class="grid">
    <div class="card"><h3>Parties</h3><dl class="kv">
      <dt>consumer</dt><dd data-testid="consumer">${addr(g.serviceConsumer)}</dd>
      <dt>provider</dt><dd data-testid="provider">${addr(g.serviceProvider)}</dd></dl>
      <h3>Terms</h3><dl class="kv">
      <dt>cost per request</dt><dd data-testid="cost">${wei(g.costPerRequest)}</dd>
      <dt>termination timeout</dt><dd>${esc(g.terminationTimeout)} s</dd>
      <dt>redemption timeout</dt><dd>${esc(g.tokenRedemptionTimeout)} s</dd></dl></div>
    <div class="card"><h3>Funds</h3><dl class="kv">
      <dt>consumer funds</dt><dd>${wei(g.serviceConsumerFunds, 'consumer-funds')}</dd>
      <dt>provider funds</dt><dd>${wei(g.serviceProviderFunds, 'provider-funds')}</dd>
      <dt>ether held</dt><dd>${wei(m.balance, 'mediator-balance')}</dd>
      <dt>deposited in total</dt><dd>${wei(t.depositedWei)}</dd>
      <dt>paid by redemptions</dt><dd>${wei(t.paidWei, 'paid')}</dd>
      <dt>requests redeemed</dt><dd data-testid="requests-redeemed">${esc(t.requestsRedeemed)}</dd>
      <dt>paid out to provider</dt><dd>${wei(t.paidOutWei)}</dd></dl></div>
    <div class="card"><h3>Tokens</h3>${tokenHtml(g, now)}
      <h3>Termination</h3>${terminationHtml(g, now)}</div>
  </div>
  <div class="card chart" data-testid="balance-chart"><h3>Balances over time</h3>${chartHtml(history)}</div>
  <div class="card"><h3>Event timeline</h3>${timelineHtml(m.events)}</div>
  ${mediatorPicker(known, m.address)}`;
}

function timelineHtml(events) {
  if (!events.length) return '<p class="muted">no events</p>';
  return `<div class="table-scroll"><table class="timeline" data-testid="timeline"><thead><tr><th>time (UTC)</th><th>block</th><th>event</th><th>details</th><th>tx</th></tr></thead><tbody>
    ${events.map((e) => `<tr data-testid="timeline-event" data-event="${esc(e.name)}"><td data-testid="event-time">${when(e.timestamp)}</td><td>${blockLink(e.blockNumber)}</td>
      <td><b>${esc(e.name)}</b></td><td>${argsTable(e.args)}</td><td>${txLink(e.txHash)}</td></tr>`).join('')}
  </tbody></table></div>`;
}

// Each party's ether balance with the gas it paid for this Mediator's transactions added back, so
// that a line moves only with money moved through the Mediator; the gas has its own panel.
const SERIES = [
  { key: 'consumer', label: 'consumer balance, gas excluded', lines: [['consumerNet', '#1f6feb']] },
  { key: 'provider', label: 'provider balance, gas excluded', lines: [['providerNet', '#1a7f37']] },
  { key: 'mediator', label: 'Mediator (ether held)', lines: [['mediator', '#bf3989']] },
  { key: 'gas', label: 'gas paid: consumer, provider', lines: [['consumerGas', '#1f6feb'], ['providerGas', '#1a7f37']] },
];
const CHART = { w: 900, h: 110, left: 190, right: 14, gap: 34 };

/** One panel: title, y ticks with their labels and grid lines, x ticks with block numbers, the lines. */
function chartPanel(s, pts, i, xMin, xMax) {
  const { w, h, left, right, gap } = CHART;
  const values = pts.flatMap((p) => s.lines.map(([k]) => p[k]));
  const lo = values.reduce((m, v) => (v < m ? v : m), values[0]);
  const hi = values.reduce((m, v) => (v > m ? v : m), values[0]);
  const yt = niceTicks(lo, hi, 3);
  const yMin = Number(yt[0] < lo ? yt[0] : lo);
  const yMax = Number(hi > yt[yt.length - 1] ? hi : yt[yt.length - 1]);
  const box = { w: w - left - right, h, margin: 10, xMin, xMax, yMin, yMax };
  const sy = (v) => (yMax === yMin ? h / 2 : h - box.margin - ((Number(v) - yMin) / (yMax - yMin)) * (h - 2 * box.margin));
  const sx = (x) => left + box.margin + ((x - xMin) / (xMax - xMin)) * (box.w - 2 * box.margin);
  // Balances of ~10000 ETH moving by finneys: when the labels collide, the others are offsets from the first.
  const full = yt.map((t) => amountText(t));
  const labels = new Set(full).size === full.length ? full : full.map((l, j) => (j === 0 ? l : `+${amountText(yt[j] - yt[0])}`));
  const yTicks = yt.map((t, j) => `<g class="tick y"><line class="grid" x1="${left}" x2="${w - right}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}"/>
    <text x="${left - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end">${esc(labels[j])}</text></g>`).join('');
  const xTicks = niceTicks(xMin, xMax, 6).map((b) => `<g class="tick x"><line class="axis" x1="${sx(Number(b)).toFixed(1)}" x2="${sx(Number(b)).toFixed(1)}" y1="${h}" y2="${h + 4}"/>
    <text x="${sx(Number(b)).toFixed(1)}" y="${h + 15}" text-anchor="middle">${esc(b)}</text></g>`).join('');
  const paths = s.lines.map(([k, color]) => {
    const { path } = stepPath(pts.map((p) => ({ x: p.block, y: p[k] })), box);
    return `<g transform="translate(${left} 0)"><path class="series" data-line="${k}" stroke="${color}" d="${path}"/></g>`;
  }).join('');
  return `<g transform="translate(0 ${16 + i * (h + gap)})" data-series="${s.key}">
    <text class="label" x="${left}" y="-5" style="fill:${s.lines[0][1]}">${esc(s.label)}</text>
    ${yTicks}<line class="axis" x1="${left}" y1="0" x2="${left}" y2="${h}"/><line class="axis" x1="${left}" y1="${h}" x2="${w - right}" y2="${h}"/>
    ${xTicks}${paths}</g>`;
}

/** Four small step charts sharing the block axis, each with its own scale and ticks. */
function chartHtml(history) {
  if (!history) return '<p class="muted">loading…</p>';
  const pts = history.points;
  const note = history.error ? `<p class="muted">Some historical balances are missing (the node may not keep old state): ${esc(history.error)}</p>` : '';
  if (pts.length === 0) return `${note}<p class="muted">no balance data</p>`;
  const xMin = pts[0].block;
  const xMax = Math.max(pts[pts.length - 1].block, xMin + 1);
  const panels = SERIES.map((s, i) => chartPanel(s, pts, i, xMin, xMax)).join('');
  const height = 16 + SERIES.length * (CHART.h + CHART.gap);
  return `${note}<svg viewBox="0 0 ${CHART.w} ${height}" role="img" aria-label="balances of consumer, provider and Mediator, and the gas they paid, by block">
    ${panels}<text x="${CHART.w - CHART.right}" y="${height - 2}" text-anchor="end">block</text></svg>
    <p class="muted">Measured at every block with an event of this Mediator and at the head (${esc(pts.length)} points). The balances have the gas each party paid for this Mediator's transactions added back; the last panel shows that gas, summed over time.</p>`;
}

export function mediatorPicker(known, current) {
  const list = [...known.values()].map((m) => `<li>${mediatorLink(m.address, m.address)} <span class="muted">${esc(shortAddress(m.consumer))} → ${esc(shortAddress(m.provider))}, created in block ${esc(m.createdBlock)}</span>${m.address === current ? ' (shown)' : ''}</li>`).join('');
  return `<div class="card"><h3>Inspect a Mediator</h3>
    <form id="inspect-form"><input id="inspect-address" size="44" placeholder="0x… Mediator address" spellcheck="false"> <button>Inspect</button></form>
    ${list ? `<ul data-testid="mediator-list">${list}</ul>` : '<p class="muted">No Mediators found on this chain yet.</p>'}</div>`;
}

/** The service graph: accounts as nodes, Mediators as labelled arrows consumer → provider. */
export function servicesView(overview) {
  if (!overview) return '<p class="muted">Reading the Mediators…</p>';
  if (overview.length === 0) return '<h2>Services</h2><p data-testid="no-services">No Mediators on this chain yet.</p>';
  const { nodes, edges } = buildGraph(overview);
  const pos = new Map(nodes.map((n) => [n.id, n]));
  const pairCount = new Map();
  const edgeSvg = edges.map((e) => {
    const a = pos.get(e.from);
    const b = pos.get(e.to);
    const key = [e.from, e.to].sort().join();
    const k = pairCount.get(key) ?? 0;
    pairCount.set(key, k + 1);
    // Parallel edges of one pair bend apart; the arrow stops at the node's rim.
    const bend = 40 + 50 * k;
    const dx = b.x - a.x; const dy = b.y - a.y; const len = Math.hypot(dx, dy) || 1;
    const mx = (a.x + b.x) / 2 - (dy / len) * bend; const my = (a.y + b.y) / 2 + (dx / len) * bend;
    const ex = b.x - ((b.x - mx) / Math.hypot(b.x - mx, b.y - my)) * 34;
    const ey = b.y - ((b.y - my) / Math.hypot(b.x - mx, b.y - my)) * 34;
    const lx = (a.x + 2 * mx + b.x) / 4; const ly = (a.y + 2 * my + b.y) / 4;
    return `<g class="edge ${esc(e.state)}" data-testid="graph-edge" data-mediator="${esc(e.id)}" tabindex="0" role="link">
      <title>Mediator ${esc(e.id)}: open the inspector</title>
      <path d="M${a.x.toFixed(1)} ${a.y.toFixed(1)} Q${mx.toFixed(1)} ${my.toFixed(1)} ${ex.toFixed(1)} ${ey.toFixed(1)}" marker-end="url(#arrow-${esc(e.state)})"/>
      <path class="hit" d="M${a.x.toFixed(1)} ${a.y.toFixed(1)} Q${mx.toFixed(1)} ${my.toFixed(1)} ${ex.toFixed(1)} ${ey.toFixed(1)}"/>
      <text x="${lx.toFixed(1)}" y="${(ly - 6).toFixed(1)}">${esc(compactWei(e.paidWei))} paid · ${esc(e.requestsRedeemed)} requests</text>
      <text x="${lx.toFixed(1)}" y="${(ly + 9).toFixed(1)}">${esc(e.state)} · ${esc(shortAddress(e.id))}</text></g>`;
  }).join('');
  const nodeSvg = nodes.map((n) => `<g class="node" data-testid="graph-node" data-address="${esc(n.id)}">
    <title>${esc(n.id)}</title><circle cx="${n.x.toFixed(1)}" cy="${n.y.toFixed(1)}" r="30"/>
    <text x="${n.x.toFixed(1)}" y="${(n.y + 4).toFixed(1)}">${esc(shortAddress(n.id))}</text>
    <text x="${n.x.toFixed(1)}" y="${(n.y + 46).toFixed(1)}" class="muted">${esc(n.roles.join(' & '))}</text></g>`).join('');
  const markers = ['active', 'terminated', 'terminating', 'redeeming'].map((s) => {
    const color = { active: '#1a7f37', terminated: '#b9bec6', terminating: '#9a6700', redeeming: '#9a6700' }[s];
    return `<marker id="arrow-${s}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="${color}"/></marker>`;
  }).join('');
  const rows = edges.map((e) => `<tr data-testid="edge-row" data-mediator="${esc(e.id)}">
    <td class="hash">${esc(e.from)}</td><td class="hash">${esc(e.to)}</td><td>${mediatorLink(e.id, e.id)}</td>
    <td>${wei(e.paidWei, 'edge-paid')}</td><td data-testid="edge-requests">${esc(e.requestsRedeemed)}</td><td>${stateBadge(e.state)}</td></tr>`).join('');
  return `<h2>Services and their payment channels</h2>
    <p class="muted legend">Each circle is an account (a service); each arrow a Mediator from consumer to provider, labelled with the wei paid by redemptions, the requests redeemed and its state. Click an arrow to inspect it.</p>
    <div class="graph"><svg viewBox="0 0 800 520" data-testid="graph"><defs>${markers}</defs>${edgeSvg}${nodeSvg}</svg></div>
    <h3>Channels</h3><table data-testid="edges"><thead><tr><th>consumer</th><th>provider</th><th>Mediator</th><th>paid</th><th>requests redeemed</th><th>state</th></tr></thead><tbody>${rows}</tbody></table>`;
}
