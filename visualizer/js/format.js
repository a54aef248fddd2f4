// How values are shown on the page: amounts in ETH / gwei with the exact wei kept for hover and
// tests, long token ids shortened with the full value kept for hover and copying, compact times
// that fit one line, and round axis ticks for the charts. Pure functions: node's test runner checks them.

/** A bigint wei value as a short readable amount: "0.005 ETH", "14 gwei" or "900 wei" (up to 6 significant digits). */
export function amountText(wei) {
  const v = BigInt(wei ?? 0);
  const abs = v < 0n ? -v : v;
  const [unit, scale] = abs >= 10n ** 15n ? ['ETH', 18] : abs >= 10n ** 5n ? ['gwei', 9] : ['wei', 0];
  if (scale === 0) return `${v} wei`;
  return `${trimDecimal(v, scale, 6)} ${unit}`;
}

/** v / 10^scale as a decimal with at most `digits` significant digits, without trailing zeros. */
function trimDecimal(v, scale, digits) {
  const neg = v < 0n;
  const abs = neg ? -v : v;
  const s = abs.toString().padStart(scale + 1, '0');
  const intPart = s.slice(0, s.length - scale);
  let frac = s.slice(s.length - scale);
  const intDigits = intPart === '0' ? 0 : intPart.length;
  if (intDigits >= digits) frac = '';
  else {
    const lead = intPart === '0' ? frac.length - frac.replace(/^0+/, '').length : 0;
    frac = frac.slice(0, lead + digits - intDigits);
  }
  frac = frac.replace(/0+$/, '');
  return `${neg ? '-' : ''}${intPart}${frac ? `.${frac}` : ''}`;
}

/** A long decimal id (a 77-digit token id) as "123456…7890"; short ones are returned as they are. */
export function shortId(id, max = 14) {
  const s = String(id ?? '');
  return s.length <= max ? s : `${s.slice(0, 6)}…${s.slice(-4)}`;
}

/** Unix seconds as "2026-12-04 17:59:39" (UTC; the column says so), or "?" when unknown. */
export function shortTime(ts) {
  if (ts === null || ts === undefined) return '?';
  return new Date(Number(ts) * 1000).toISOString().replace('T', ' ').slice(0, 19);
}

/** A duration in seconds as "45 s", "12 min", "3 h 20 min" or "2 d 4 h"; negative means past ("ago"). */
export function duration(seconds) {
  const s = Math.abs(Math.round(seconds));
  let out;
  if (s < 120) out = `${s} s`;
  else if (s < 7200) out = `${Math.round(s / 60)} min`;
  else if (s < 172800) {
    const m = Math.round(s / 60); // rounded as a whole, so 86,399 s is "24 h 0 min", not "23 h 60 min"
    out = `${Math.floor(m / 60)} h ${m % 60} min`;
  } else {
    const h = Math.round(s / 3600);
    out = `${Math.floor(h / 24)} d ${h % 24} h`;
  }
  return seconds < 0 ? `${out} ago` : `in ${out}`;
}

/**
 * About `count` round tick values covering [lo, hi] (bigints or numbers, result bigints): steps of
 * 1, 2 or 5 times a power of ten, so the labels read well. A flat range gives the one value.
 */
export function niceTicks(lo, hi, count = 4) {
  const a = BigInt(lo);
  const b = BigInt(hi);
  if (b <= a) return [a];
  const raw = (b - a) / BigInt(Math.max(1, count));
  let pow = 1n;
  while (pow * 10n <= raw) pow *= 10n;
  const step = [1n, 2n, 5n, 10n].map((m) => m * pow).find((s) => s >= raw) ?? pow * 10n;
  const first = ((a + step - 1n) / step) * step - (a < 0n && (a % step) !== 0n ? step : 0n);
  const ticks = [];
  for (let t = first; t <= b; t += step) ticks.push(t);
  return ticks.length ? ticks : [a];
}
