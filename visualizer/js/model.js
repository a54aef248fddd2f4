// Pure models built from decoded Mediator data: a Mediator's summary (state, money moved,
// requests redeemed) from its getters and events, the service graph, and the balance series for
// the chart. No DOM and no network, so node's test runner checks them directly.

/**
 * The state of a Mediator from its getters: 'terminated', 'terminating' (the consumer started the
 * termination), 'redeeming' (a redemption is in its grace period) or 'active'.
 */
export function mediatorState(g) {
  if (g.terminated) return 'terminated';
  if (BigInt(g.terminationStartedAt ?? 0) !== 0n) return 'terminating';
  if (BigInt(g.soonExpiringTokenId ?? 0) !== 0n) return 'redeeming';
  return 'active';
}

/**
 * Totals over a Mediator's decoded events (each { name, args: [{name, value}] }):
 * deposited, paid (wei moved from consumer to provider funds by redemptions), requests redeemed,
 * paid out to the provider, and counts per event name.
 */
export function eventTotals(events) {
  const t = { depositedWei: 0n, paidWei: 0n, requestsRedeemed: 0n, paidOutWei: 0n, redemptions: 0, counts: {} };
  for (const e of events) {
    const arg = (n) => BigInt(e.args.find((a) => a.name === n)?.value ?? 0);
    t.counts[e.name] = (t.counts[e.name] ?? 0) + 1;
    if (e.name === 'Deposited') t.depositedWei += arg('amount');
    if (e.name === 'TokenRedeemed') {
      t.paidWei += arg('amount');
      t.requestsRedeemed += arg('requestCount');
      t.redemptions += 1;
    }
    if (e.name === 'PaidOut') t.paidOutWei += arg('amount');
  }
  return t;
}

/**
 * The service graph: accounts as nodes, one edge per Mediator from consumer to provider.
 * `mediators` = [{ address, consumer, provider, state, paidWei, requestsRedeemed }].
 * Nodes are laid out on a circle of radius r around (cx, cy), in first-seen order.
 */
export function buildGraph(mediators, { cx = 400, cy = 260, r = 190, names = {} } = {}) {
  const ids = [];
  for (const m of mediators) {
    for (const a of [m.consumer, m.provider]) if (!ids.includes(a)) ids.push(a);
  }
  const nodes = ids.map((id, i) => {
    const angle = (2 * Math.PI * i) / Math.max(ids.length, 1) - Math.PI / 2;
    const roles = new Set();
    for (const m of mediators) {
      if (m.consumer === id) roles.add('consumer');
      if (m.provider === id) roles.add('provider');
    }
    return { id, label: names[id.toLowerCase()] ?? null, roles: [...roles], x: cx + r * Math.cos(angle), y: cy + r * Math.sin(angle) };
  });
  const edges = mediators.map((m) => ({
    id: m.address,
    from: m.consumer,
    to: m.provider,
    state: m.state,
    paidWei: BigInt(m.paidWei),
    requestsRedeemed: BigInt(m.requestsRedeemed),
  }));
  return { nodes, edges };
}

/**
 * Points of a step chart: `series` = [{ x, y }] (x ascending, y bigint or number) mapped into a
 * box of width w and height h with a margin; returns { path, xMin, xMax, yMin, yMax } where path is
 * an SVG path 'M x y H x V y ...'. A flat or single-point series is drawn as a horizontal line.
 */
export function stepPath(series, { w, h, margin = 0, xMin, xMax, yMin, yMax } = {}) {
  if (series.length === 0) return { path: '', xMin: 0, xMax: 0, yMin: 0, yMax: 0 };
  const ys = series.map((p) => Number(p.y));
  const x0 = xMin ?? series[0].x;
  const x1 = xMax ?? series[series.length - 1].x;
  const y0 = yMin ?? Math.min(...ys);
  const y1 = yMax ?? Math.max(...ys);
  const sx = (x) => margin + (x1 === x0 ? 0 : ((x - x0) / (x1 - x0)) * (w - 2 * margin));
  const sy = (y) => h - margin - (y1 === y0 ? (h - 2 * margin) / 2 : ((y - y0) / (y1 - y0)) * (h - 2 * margin));
  let path = `M${sx(series[0].x).toFixed(1)} ${sy(ys[0]).toFixed(1)}`;
  for (let i = 1; i < series.length; i++) {
    path += ` H${sx(series[i].x).toFixed(1)} V${sy(ys[i]).toFixed(1)}`;
  }
  path += ` H${sx(x1).toFixed(1)}`;
  return { path, xMin: x0, xMax: x1, yMin: y0, yMax: y1 };
}

/** A short, readable label for a bigint wei value in an axis: picks ETH, gwei or wei. */
export function compactWei(wei) {
  const v = BigInt(wei);
  const abs = v < 0n ? -v : v;
  if (abs >= 10n ** 15n) return `${(Number(v) / 1e18).toPrecision(9).replace(/\.?0+$/, '')} ETH`;
  if (abs >= 10n ** 6n) return `${(Number(v) / 1e9).toPrecision(9).replace(/\.?0+$/, '')} gwei`;
  return `${v} wei`;
}
