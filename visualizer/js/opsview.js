// HTML of the operations view: the paychand connection form and, per service, its money (requests
// paid, unredeemed, earned, gas against earnings) and its channels with deadlines and alerts.

import { shortAddress } from './decode.js';
import { duration, shortTime } from './format.js';
import { gasShare } from './ops.js';
import { esc, tokenId, wei } from './views.js';

const ALERT_TEXT = { 'funds-low': 'funds low', 'timeout-near': 'timeout near', 'redemption-pending': 'redemption pending' };

const named = (addr, label) => (label
  ? `<span title="${esc(addr)}">${esc(label)}</span>`
  : `<span class="hash" title="${esc(addr)}">${esc(shortAddress(addr))}</span>`);

/** The form: paychand URL, admin token (a password field, kept for this tab only) and labels. */
export function opsForm(cfg) {
  return `<form id="ops-form" class="card ops-form" autocomplete="off">
    <label for="ops-url">paychand</label><input id="ops-url" type="url" size="28" value="${esc(cfg.url)}" placeholder="http://localhost:8080" spellcheck="false">
    <label for="ops-token">admin token</label><input id="ops-token" type="password" size="20" value="${esc(cfg.token)}" placeholder="contents of --admin-token-file FILE">
    <label for="ops-labels">labels</label><input id="ops-labels" size="30" value="${esc(cfg.labelsText)}" placeholder="0x…=search, 0x…=weather" spellcheck="false">
    <button id="ops-connect" type="submit">Watch</button>
    <span class="muted" data-testid="ops-status">${esc(cfg.status ?? '')}</span></form>`;
}

function deadlineHtml(c, now) {
  if (!c.nextDeadline) return '<span class="muted">none</span>';
  return `<span class="nowrap" title="${esc(shortTime(c.nextDeadline.at))} UTC">${esc(c.nextDeadline.what)} ${esc(duration(c.nextDeadline.at - now))}</span>`;
}

function channelRow(c, now) {
  return `<tr data-testid="ops-channel" data-mediator="${esc(c.mediator)}" data-role="${esc(c.role)}">
    <td data-label="Mediator"><a class="hash" href="#/mediator/${esc(c.mediator)}" title="${esc(c.mediator)}">${esc(shortAddress(c.mediator))}</a></td>
    <td data-label="role">${esc(c.role)}</td><td data-label="counterparty">${named(c.counterparty, c.counterpartyLabel)}</td>
    <td data-label="cost">${wei(c.costPerRequest)}</td>
    <td data-label="consumer funds">${c.consumerFunds === null || c.consumerFunds === undefined ? '<span class="muted">?</span>' : wei(c.consumerFunds)}</td>
    <td data-label="count">${esc(c.role === 'provider' ? (c.highestValidated ?? '-') : (c.highestIssued ?? '-'))}</td>
    <td data-label="unredeemed">${wei(c.unredeemedWei ?? 0)}</td>
    <td data-label="active token">${c.activeTokenId ? tokenId(c.activeTokenId) : '<span class="muted">-</span>'}</td>
    <td data-label="next deadline" data-testid="ops-deadline">${deadlineHtml(c, now)}</td>
    <td data-label="state"><span class="badge ${esc(c.state === 'open' ? 'active' : c.state)}">${esc(c.state)}</span></td>
    <td data-label="alerts" data-testid="ops-alerts">${c.alerts.map((a) => `<span class="alert ${esc(a)}" data-alert="${esc(a)}">${esc(ALERT_TEXT[a])}</span>`).join('')}</td></tr>`;
}

function serviceCard(s, now) {
  const share = gasShare(s.gasFeeWei, s.earnedWei);
  return `<div class="card" data-testid="ops-service" data-address="${esc(s.address)}">
    <h3 data-testid="ops-service-name">${named(s.address, s.label)} ${s.alerts ? `<span class="alert" data-testid="ops-alert-count">${esc(s.alerts)} alert(s)</span>` : ''}</h3>
    <dl class="kv">
      <dt>requests paid to it</dt><dd data-testid="ops-requests-to">${esc(s.requestsPaidTo)}</dd>
      <dt>requests it paid</dt><dd data-testid="ops-requests-by">${esc(s.requestsPaidBy)}</dd>
      <dt>unredeemed</dt><dd>${wei(s.unredeemedWei, 'ops-unredeemed')}</dd>
      <dt>earned</dt><dd>${wei(s.earnedWei, 'ops-earned')} <span class="muted">(redeemed ${wei(s.redeemedWei)}, paid out ${wei(s.paidOutWei)})</span></dd>
      <dt>gas paid</dt><dd>${wei(s.gasFeeWei, 'ops-gas')} <span class="muted" data-testid="ops-gas-share">= ${esc((share * 100).toFixed(1))} % of earned</span>
        <div class="gasbar" title="gas paid against earned"><span style="width:${(share * 100).toFixed(1)}%"></span></div></dd>
    </dl></div>`;
}

/** The view: form, a card per service, then every channel of the served accounts. */
export function opsView(cfg, summaries, now) {
  const head = `<h2>Operations <span class="muted" data-testid="ops-live">${summaries ? `live · ${esc(shortTime(now))} UTC` : ''}</span></h2>${opsForm(cfg)}`;
  if (!summaries) return `${head}<p class="muted">Enter the URL of a paychand and its admin token (paychand --admin-token-file FILE) and press Watch.</p>`;
  const rows = summaries.flatMap((s) => s.channels.map((c) => ({ s, c })));
  return `${head}<div class="services">${summaries.map((s) => serviceCard(s, now)).join('')}</div>
    <h3>Channels</h3><div class="table-scroll" data-testid="ops-channels-box"><table class="stacked" data-testid="ops-channels"><thead><tr><th>Mediator</th><th>role</th><th>counterparty</th><th>cost</th><th>consumer funds</th><th>count</th><th>unredeemed</th><th>active token</th><th>next deadline</th><th>state</th><th>alerts</th></tr></thead>
    <tbody>${rows.map(({ c }) => channelRow(c, now)).join('')}</tbody></table></div>
    <p class="muted">Alerts: funds low = the consumer's funds cover fewer than 100 requests; timeout near = a deadline within an hour; redemption pending = validated requests not redeemed yet.</p>`;
}
