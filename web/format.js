// format.js: how numbers, times and money read on the page, and how an edited parameter
// is read back (parseParam). Pure functions, no DOM.
// Figures are shown in tabular digits and right-aligned by the style sheet; these
// functions only decide the text. Missing values (null, undefined, NaN) read "—".

const DASH = '\u2014';

function missing(v) {
  return v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v));
}

const fmtCache = new Map();
function nf(min, max) {
  const key = min * 100 + max;
  let f = fmtCache.get(key);
  if (!f) {
    f = new Intl.NumberFormat('en-US', { minimumFractionDigits: min, maximumFractionDigits: max });
    fmtCache.set(key, f);
  }
  return f;
}

// A price: at least 2 decimals, up to 6 when the value has them.
export function price(v) {
  if (missing(v)) return DASH;
  return nf(2, 6).format(v);
}

// Money in currency units, 2 decimals, thousands separators.
export function money(v) {
  if (missing(v)) return DASH;
  return nf(2, 2).format(v);
}

// Money with an explicit sign (P&L).
export function pnl(v) {
  if (missing(v)) return DASH;
  const s = nf(2, 2).format(Math.abs(v));
  return v > 0 ? '+' + s : v < 0 ? '\u2212' + s : s;
}

// The CSS class of a P&L figure: green above zero, red below.
export function pnlClass(v) {
  if (missing(v) || v === 0) return 'flat';
  return v > 0 ? 'up' : 'down';
}

// A quantity: whole numbers without decimals, fractions up to 8 places.
export function qty(v) {
  if (missing(v)) return DASH;
  return nf(0, 8).format(v);
}

// A plain count or figure with up to `dp` decimals.
export function num(v, dp = 0) {
  if (missing(v)) return DASH;
  return nf(0, dp).format(v);
}

export function percent(v, dp = 1) {
  if (missing(v)) return DASH;
  return nf(dp, dp).format(v * 100) + '%';
}

export function bytes(v) {
  if (missing(v)) return DASH;
  if (v < 1024) return v + ' B';
  if (v < 1024 * 1024) return nf(1, 1).format(v / 1024) + ' KiB';
  return nf(1, 1).format(v / 1024 / 1024) + ' MiB';
}

// Microseconds as "1.92 µs", "350 µs", "2.1 ms".
export function micros(v) {
  if (missing(v)) return DASH;
  if (v < 10) return nf(2, 2).format(v) + ' \u00b5s';
  if (v < 1000) return nf(0, 0).format(v) + ' \u00b5s';
  return nf(1, 1).format(v / 1000) + ' ms';
}

// Epoch milliseconds of an ISO-8601 time ("2026-11-21T07:39:00.123456Z"); NaN if bad.
// Date.parse takes at most milliseconds everywhere, so extra digits are cut first.
export function isoMs(iso) {
  if (typeof iso !== 'string') return NaN;
  return Date.parse(iso.replace(/(\.\d{3})\d+/, '$1'));
}

function pad(n, w = 2) {
  return String(n).padStart(w, '0');
}

// "07:39:00" in UTC (the host's clock and the chart are UTC).
export function time(iso) {
  const ms = isoMs(iso);
  if (!Number.isFinite(ms)) return DASH;
  const d = new Date(ms);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

// "07:39:00.123" in UTC.
export function timeMs(iso) {
  const ms = isoMs(iso);
  if (!Number.isFinite(ms)) return DASH;
  return time(iso) + '.' + pad(new Date(ms).getUTCMilliseconds(), 3);
}

// "12s ago", "3m ago", "2h ago" relative to nowMs.
export function ago(iso, nowMs = Date.now()) {
  const ms = isoMs(iso);
  if (!Number.isFinite(ms)) return DASH;
  const s = Math.max(0, Math.round((nowMs - ms) / 1000));
  if (s < 60) return s + 's ago';
  if (s < 3600) return Math.floor(s / 60) + 'm ago';
  if (s < 86400) return Math.floor(s / 3600) + 'h ago';
  return Math.floor(s / 86400) + 'd ago';
}

export function duration(seconds) {
  if (missing(seconds)) return DASH;
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

// A parameter value as text for display and for an edit box.
export function paramText(v) {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

// Parses the text of an edit box into the type of the current value, or throws.
export function parseParam(text, current) {
  if (typeof current === 'number') {
    const v = Number(String(text).trim());
    if (String(text).trim() === '' || !Number.isFinite(v)) throw new Error('a number');
    return v;
  }
  if (typeof current === 'boolean') return !!text;
  if (typeof current === 'string') return String(text);
  try {
    return JSON.parse(text);
  } catch {
    throw new Error('JSON');
  }
}
