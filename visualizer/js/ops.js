// The operations view's data: a read-only client of paychand's admin API (docs/protocol.md, admin
// routes) authorized by the operator's admin token, and the pure summary per service (requests
// paid, unredeemed value, earned, gas) with the alerts of each channel. No service key ever
// reaches the page: the admin token only reads.

/** A channel's consumer funds under this many requests' worth raise "funds low". */
export const FUNDS_LOW_REQUESTS = 100n;
/** A deadline closer than this (seconds) raises "timeout near". */
export const TIMEOUT_NEAR_S = 3600;
const PAGE = 1000;

export class AdminError extends Error {}

/** GETs of paychand's /admin routes with `Authorization: Bearer <token>`. */
export class AdminClient {
  constructor(url, token) {
    this.url = String(url).replace(/\/+$/, '');
    this.token = token;
  }

  async get(path) {
    let res;
    try {
      res = await fetch(`${this.url}${path}`, { headers: { Authorization: `Bearer ${this.token}`, Accept: 'application/json' } });
    } catch (e) {
      throw new AdminError(`Cannot reach paychand at ${this.url}: ${e.message}`);
    }
    let body = null;
    try {
      body = await res.json();
    } catch { /* not JSON: reported below */ }
    if (!res.ok) {
      const why = body?.error?.message ?? body?.message ?? `HTTP ${res.status}`;
      const code = body?.error?.code ?? body?.code;
      throw new AdminError(`paychand refused ${path}: ${why}${code !== undefined ? ` (code ${code})` : ''}${res.status === 401 || res.status === 403 ? ' - check the admin token' : ''}`);
    }
    if (!body) throw new AdminError(`paychand answered ${path} with something that is not JSON`);
    return body;
  }

  /** Accounts, every channel (all pages) and the recent transactions. */
  async snapshot() {
    const [accounts, transactions] = await Promise.all([this.get('/admin/accounts'), this.get('/admin/transactions?limit=100')]);
    const channels = [];
    for (let offset = 0; ; offset += PAGE) {
      const page = await this.get(`/admin/channels?offset=${offset}&limit=${PAGE}`);
      channels.push(...(page.channels ?? []));
      if (!page.channels?.length || offset + PAGE >= page.total) break;
    }
    return { accounts: accounts.accounts ?? {}, channels, transactions: transactions.transactions ?? [] };
  }
}

/** "0xabc=search, 0xdef=weather" (or newline-separated) as a map lower-cased address -> label. */
export function parseLabels(text) {
  const map = {};
  for (const part of String(text ?? '').split(/[,\n]/)) {
    const m = /^\s*(0x[0-9a-fA-F]{40})\s*[=:]\s*(.+?)\s*$/.exec(part);
    if (m) map[m[1].toLowerCase()] = m[2];
  }
  return map;
}

const big = (v) => (v === null || v === undefined ? null : BigInt(v));

/** The alerts of one channel at unix time `now`: 'funds-low', 'timeout-near', 'redemption-pending'. */
export function channelAlerts(c, now) {
  const alerts = [];
  if (c.state === 'terminated') return alerts;
  const funds = big(c.consumerFunds);
  if (funds !== null && funds < big(c.costPerRequest ?? 0) * FUNDS_LOW_REQUESTS) alerts.push('funds-low');
  if (c.nextDeadline && c.nextDeadline.at - now <= TIMEOUT_NEAR_S) alerts.push('timeout-near');
  if (c.role === 'provider' && big(c.unredeemedWei ?? 0) > 0n) alerts.push('redemption-pending');
  return alerts;
}

/**
 * One summary per account paychand serves (from /admin/accounts, plus any account seen only in
 * channels): label (paychand's `label`, else the operator's map, else null), requests paid to it
 * (provider role, highest validated counts) and by it (consumer role, highest issued), unredeemed
 * wei, earned / redeemed / paid-out / gas wei, and its channels with their alerts, soonest deadline first.
 */
export function serviceSummaries({ accounts, channels }, { labels = {}, now }) {
  const byAccount = new Map();
  const entry = (addr) => {
    const key = addr.toLowerCase();
    if (!byAccount.has(key)) {
      const a = Object.entries(accounts).find(([k]) => k.toLowerCase() === key)?.[1] ?? {};
      byAccount.set(key, {
        address: addr, label: a.label ?? labels[key] ?? null,
        requestsPaidTo: 0n, requestsPaidBy: 0n, unredeemedWei: 0n,
        earnedWei: big(a.earnedWei) ?? 0n, redeemedWei: big(a.redeemedWei) ?? 0n, paidOutWei: big(a.paidOutWei) ?? 0n,
        spentWei: big(a.spentWei) ?? 0n, gasFeeWei: big(a.gasFeeWei) ?? 0n, transactions: a.transactions ?? 0,
        channels: [], alerts: 0,
      });
    }
    return byAccount.get(key);
  };
  for (const addr of Object.keys(accounts)) entry(addr);
  for (const c of channels) {
    const s = entry(c.account);
    if (c.role === 'provider') {
      s.requestsPaidTo += big(c.highestValidated ?? 0);
      s.unredeemedWei += big(c.unredeemedWei ?? 0);
    } else {
      s.requestsPaidBy += big(c.highestIssued ?? 0);
    }
    const alerts = channelAlerts(c, now);
    s.alerts += alerts.length;
    s.channels.push({ ...c, alerts, counterpartyLabel: labelOf(c.counterparty, accounts, labels) });
  }
  for (const s of byAccount.values()) {
    s.channels.sort((x, y) => (x.nextDeadline?.at ?? Infinity) - (y.nextDeadline?.at ?? Infinity));
  }
  return [...byAccount.values()];
}

function labelOf(addr, accounts, labels) {
  if (!addr) return null;
  const key = addr.toLowerCase();
  return Object.entries(accounts).find(([k]) => k.toLowerCase() === key)?.[1]?.label ?? labels[key] ?? null;
}

/** Gas paid as a share of what was earned, 0..1 (1 when nothing was earned but gas was paid). */
export function gasShare(gasFeeWei, earnedWei) {
  if (earnedWei <= 0n) return gasFeeWei > 0n ? 1 : 0;
  const r = Number((gasFeeWei * 10000n) / earnedWei) / 10000;
  return Math.min(1, r);
}
