// store.js: the page's model of the host, fed by REST snapshots and the event stream.
// Pure data, no DOM and no network, so it runs under `node --test` as well as in the page.
//
// Two ways in:
//   - load.<kind>(payload): a REST snapshot replaces that part of the model
//     (strategies, orders, positions, portfolio, limits, alerts, denials, signals,
//     fills, log, stats, health), or adds to it (logs: the host's log tail).
//   - apply(event): one event of the stream ({"seq","type","ts","source","data"}).
// Events may repeat what a snapshot already holds (the stream resumes from a sequence
// number taken before the snapshots were fetched), so applying is idempotent: orders
// are keyed by id and only move forward in time, fills by exec id, feeds by seq.
//
// Two ways out:
//   - subscribe(fn): fn() after any change; the page re-renders at its own pace.
//   - onMarket(fn): fn(event) for MARKET_DATA, BAR, SIGNAL_GENERATED and fills, at once:
//     the chart draws those itself instead of re-rendering the page per tick.
// Lists kept for feeds are capped (newest first) so memory stays flat however long the
// page stays open.

export const FEED_CAP = 200;
const FILL_CAP = 500;
const LOG_CAP = 300;

// Every event type (DESIGN.md §4).
export const EVENT_TYPES = [
  'MARKET_DATA', 'BAR', 'SIGNAL_GENERATED', 'ORDER_SUBMITTED', 'ORDER_ACCEPTED', 'ORDER_REJECTED',
  'ORDER_FILLED', 'ORDER_CANCELED', 'ORDER_EXPIRED', 'POSITION_UPDATE', 'PORTFOLIO_UPDATE', 'RISK_CHECK',
  'RISK_ALERT', 'ALERT', 'STRATEGY_START', 'STRATEGY_STOP', 'STRATEGY_RELOAD', 'STRATEGY_ERROR',
  'KILL_SWITCH', 'CUSTOM',
];

export const LOG_TYPES = [
  'STRATEGY_START', 'STRATEGY_STOP', 'STRATEGY_RELOAD', 'STRATEGY_ERROR', 'KILL_SWITCH',
  'ALERT', 'RISK_ALERT', 'RISK_CHECK', 'ORDER_REJECTED', 'CUSTOM',
];

function emptyState() {
  return {
    health: null,
    portfolio: null,
    stats: null,
    limits: null, // {trading_state, kill, limits:[{name,value,used,utilization,scope}]}
    strategies: new Map(), // id -> STRATEGY
    touched: new Map(), // strategy id -> seq of the last STRATEGY_* event about it
    orders: new Map(), // id -> ORDER
    positions: new Map(), // "strategy|symbol" -> position
    markets: new Map(), // symbol -> {bid, ask, bid_size, ask_size, last, prev, size, ts}
    fills: [], // newest first: {exec_id, order_id, strategy, symbol, side, qty, price, commission, time}
    signals: [], // newest first: events
    denials: [], // newest first: RISK_CHECK events
    alerts: [], // newest first: ALERT and RISK_ALERT events
    log: [], // newest first: {seq, ts, level, source, text} (notable events)
    logLines: [], // newest first: {n, level, ts, text} (the host's log tail, GET /api/logs)
    logLast: 0, // the number of the newest log line held
    logsAvailable: false,
    killed: false,
    tradingState: '',
    lastSeq: 0,
    eventCount: 0, // events applied since the page loaded (the page's own rate figure)
  };
}

// A conflated trade (the page subscribes with conflate_ms) stands for several: the chart
// grows its bar's volume by their summed size, not by the last one's.
function asVolume(ev) {
  const d = ev.data;
  if (!d || d.kind !== 'trade' || d.size_sum === undefined) return ev;
  return { ...ev, data: { ...d, size: d.size_sum } };
}

// Prepends item to list unless an item with the same key is there; keeps cap items.
function pushFeed(list, item, key, cap = FEED_CAP) {
  const k = key(item);
  if (k !== undefined && list.some((x) => key(x) === k)) return list;
  list.unshift(item);
  if (list.length > cap) list.length = cap;
  return list;
}

// Newest first by seq, no duplicates, at most cap.
function mergeBySeq(list, events, cap = FEED_CAP) {
  const seen = new Map();
  for (const e of [...list, ...events]) if (e && e.seq !== undefined) seen.set(e.seq, e);
  return [...seen.values()].sort((a, b) => b.seq - a.seq).slice(0, cap);
}

function sevRank(s) {
  return { LOW: 1, MEDIUM: 2, HIGH: 3, CRITICAL: 4 }[s] || 0;
}

// The position shape the page shows, from REST ({unrealized_pnl, realized_pnl, last}) or
// from a POSITION_UPDATE ({unrealized, realized, mark}).
export function normalizePosition(p) {
  return {
    strategy: p.strategy ?? '',
    symbol: p.symbol,
    qty: p.qty,
    avg_price: p.avg_price ?? null,
    last: p.last ?? p.mark ?? null,
    unrealized_pnl: p.unrealized_pnl ?? p.unrealized ?? null,
    realized_pnl: p.realized_pnl ?? p.realized ?? null,
  };
}

// The portfolio shape the page shows, from REST or a PORTFOLIO_UPDATE (whose names differ).
export function normalizePortfolio(p, prev) {
  const out = { ...(prev || {}) };
  const pick = (k, ...alts) => {
    for (const a of [k, ...alts]) if (p[a] !== undefined) return (out[k] = p[a]);
  };
  pick('cash');
  pick('equity');
  pick('realized_pnl', 'realized');
  pick('unrealized_pnl', 'unrealized');
  pick('day_pnl');
  pick('trading_state');
  if (p.exposure) out.exposure = p.exposure;
  else if (p.gross_exposure !== undefined)
    out.exposure = { gross: p.gross_exposure, net: p.net_exposure };
  return out;
}

// "file:line: message" of a STRATEGY_ERROR's data.
export function errorText(d) {
  const msg = d.message || '';
  if (!d.file || msg.startsWith(d.file + ':')) return msg;
  return `${d.file}:${d.line}: ${msg}`;
}

// One line of text for the log feed, and its level.
export function describe(ev) {
  const d = ev.data || {};
  switch (ev.type) {
    case 'STRATEGY_START':
      return ['info', `${d.strategy} started v${d.version}`];
    case 'STRATEGY_STOP':
      return d.reason === 'fault'
        ? ['error', `${d.strategy} FAULTED v${d.version}: ${d.detail || ''}`]
        : ['info', `${d.strategy} stopped v${d.version} (${d.reason || 'stop'})`];
    case 'STRATEGY_RELOAD':
      return ['info', `${d.strategy} reloaded v${d.old_version}\u2192v${d.version}` +
        (d.ms !== undefined ? ` in ${Number(d.ms).toFixed(1)} ms` : '')];
    case 'STRATEGY_ERROR':
      return [d.fatal ? 'error' : 'warn', `${d.strategy} ${d.phase || 'error'}: ${errorText(d)}`];
    case 'KILL_SWITCH':
      return d.active
        ? ['error', `KILL SWITCH ENGAGED${d.reason ? ': ' + d.reason : ''}`]
        : ['warn', `kill switch re-armed${d.by ? ' by ' + d.by : ''}`];
    case 'ALERT':
      return [sevRank(d.severity) >= 3 ? 'error' : 'warn', `alert ${d.severity} ${d.strategy || ''}: ${d.message}`];
    case 'RISK_ALERT':
      return [sevRank(d.severity) >= 3 ? 'error' : 'warn', `risk ${d.severity}: ${alertText(ev)}`];
    case 'RISK_CHECK':
      return ['warn', `denied ${d.reason} ${d.strategy || ''}: ${d.message || ''}`];
    case 'ORDER_REJECTED':
      return ['warn', `order ${d.id} rejected ${d.strategy} ${d.side} ${d.qty} ${d.symbol}: ${d.reason || ''}`];
    default:
      return ['info', `${ev.type} ${JSON.stringify(d)}`];
  }
}

// The message of an alert feed entry (ALERT or RISK_ALERT).
export function alertText(ev) {
  const d = ev.data || {};
  if (ev.type === 'ALERT') return d.message || '';
  if (d.state) return `trading ${d.from || '?'}\u2192${d.state}${d.reason ? ': ' + d.reason : ''}`;
  const who = d.strategy ? ` (${d.strategy})` : '';
  if (d.utilization !== undefined)
    return `${d.limit} at ${Math.round(d.utilization * 100)}%: ${d.value} of ${d.max}${who}`;
  return `${d.limit || 'risk'}${who}`;
}

export function createStore() {
  let s = emptyState();
  const subs = new Set();
  const marketSubs = new Set();
  let epoch = 0; // bumped by reset(): the chart reloads its bars

  function changed() {
    for (const fn of subs) fn();
  }
  function market(ev) {
    for (const fn of marketSubs) fn(ev);
  }

  function addLog(ev) {
    const [level, text] = describe(ev);
    pushFeed(s.log, { seq: ev.seq, ts: ev.ts, level, source: ev.source, text, type: ev.type },
      (x) => x.seq);
  }

  function putOrder(o) {
    const old = s.orders.get(o.id);
    if (old && old.updated && o.updated && o.updated < old.updated) return;
    s.orders.set(o.id, o);
    // Final orders are kept for the fills' context, but not for ever.
    if (s.orders.size > 1000) {
      for (const [id, x] of s.orders) {
        if (!isWorking(x)) s.orders.delete(id);
        if (s.orders.size <= 800) break;
      }
    }
  }

  function putFill(f) {
    pushFeed(s.fills, f, (x) => x.exec_id, FILL_CAP);
  }

  function fillOf(ev) {
    const o = ev.data || {};
    const f = o.fill || {};
    return {
      exec_id: f.exec_id ?? `${o.id}:${ev.seq}`,
      order_id: o.id,
      strategy: o.strategy,
      symbol: f.symbol ?? o.symbol,
      side: f.side ?? o.side,
      qty: f.qty,
      price: f.price,
      commission: f.commission,
      time: f.time ?? ev.ts,
      seq: ev.seq,
    };
  }

  function strategyEvent(ev) {
    const d = ev.data || {};
    s.touched.set(d.strategy, ev.seq);
    const st = s.strategies.get(d.strategy);
    if (!st) return; // the page fetches the new instance (see app.js)
    const next = { ...st };
    if (d.version !== undefined) next.version = d.version;
    if (d.sha256) next.sha256 = d.sha256;
    switch (ev.type) {
      case 'STRATEGY_START':
        next.status = 'RUNNING';
        break;
      case 'STRATEGY_STOP':
        next.status = d.reason === 'fault' ? 'FAULTED' : 'STOPPED';
        if (d.reason === 'fault' && d.detail) next.last_error = d.detail;
        break;
      case 'STRATEGY_RELOAD':
        next.last_reload = { ts: ev.ts, ok: true, error: '' };
        if (d.status) next.status = String(d.status);
        break;
      case 'STRATEGY_ERROR':
        next.last_error = errorText(d);
        next.errors = (st.errors || 0) + 1;
        if (d.phase === 'reload') next.last_reload = { ts: ev.ts, ok: false, error: errorText(d) };
        break;
    }
    s.strategies.set(d.strategy, next);
  }

  function marketData(ev) {
    const d = ev.data || {};
    if (!d.symbol) return;
    const m = s.markets.get(d.symbol) || { symbol: d.symbol };
    if (d.kind === 'quote') {
      m.bid = d.bid;
      m.ask = d.ask;
      m.bid_size = d.bid_size;
      m.ask_size = d.ask_size;
    } else {
      if (m.last !== undefined && m.last !== d.price) m.prev = m.last;
      m.last = d.price;
      m.size = d.size;
      markPositions(d.symbol, d.price);
    }
    m.ts = ev.ts;
    s.markets.set(d.symbol, m);
  }

  // Unrealized P&L follows the last trade between the host's position updates.
  function markPositions(symbol, px) {
    for (const p of s.positions.values()) {
      if (p.symbol !== symbol || !p.qty || p.avg_price === null) continue;
      p.last = px;
      p.unrealized_pnl = (px - p.avg_price) * p.qty;
    }
  }

  function apply(ev) {
    if (!ev || typeof ev.type !== 'string') return;
    if (typeof ev.seq === 'number' && ev.seq > s.lastSeq) s.lastSeq = ev.seq;
    s.eventCount++;
    const d = ev.data || {};
    switch (ev.type) {
      case 'MARKET_DATA':
        marketData(ev);
        market(asVolume(ev));
        break;
      case 'BAR':
        market(ev);
        return; // nothing else on the page shows bars
      case 'SIGNAL_GENERATED':
        pushFeed(s.signals, ev, (x) => x.seq);
        market(ev);
        break;
      case 'ORDER_SUBMITTED':
      case 'ORDER_ACCEPTED':
      case 'ORDER_CANCELED':
      case 'ORDER_EXPIRED':
        putOrder(d);
        break;
      case 'ORDER_REJECTED':
        putOrder(d);
        addLog(ev);
        break;
      case 'ORDER_FILLED': {
        putOrder(d);
        const f = fillOf(ev);
        putFill(f);
        market({ type: 'FILL', fill: f });
        break;
      }
      case 'POSITION_UPDATE': {
        const p = normalizePosition(d);
        s.positions.set(`${p.strategy}|${p.symbol}`, p);
        break;
      }
      case 'PORTFOLIO_UPDATE':
        s.portfolio = normalizePortfolio(d, s.portfolio);
        break;
      case 'RISK_CHECK':
        pushFeed(s.denials, ev, (x) => x.seq);
        addLog(ev);
        break;
      case 'RISK_ALERT':
        if (d.state && !d.strategy) s.tradingState = d.state;
      // fall through
      case 'ALERT':
        pushFeed(s.alerts, ev, (x) => x.seq);
        addLog(ev);
        break;
      case 'KILL_SWITCH':
        s.killed = !!d.active;
        addLog(ev);
        break;
      case 'STRATEGY_START':
      case 'STRATEGY_STOP':
      case 'STRATEGY_RELOAD':
      case 'STRATEGY_ERROR':
        strategyEvent(ev);
        addLog(ev);
        break;
      default:
        addLog(ev);
    }
    changed();
  }

  const load = {
    health(h) {
      s.health = { ...h, loaded_ms: Date.now() };
      if (h.trading_state) s.tradingState = h.trading_state;
      if (h.kill !== undefined) s.killed = !!h.kill;
      changed();
    },
    // asOf: the last event seq when the request was sent; a strategy an event changed
    // since then keeps what the event said (the reply is older).
    strategies(list, asOf = Infinity) {
      const next = new Map();
      for (const x of list) {
        const old = s.strategies.get(x.id);
        next.set(x.id, old && (s.touched.get(x.id) || 0) > asOf ? old : x);
      }
      s.strategies = next;
      changed();
    },
    strategy(st) {
      s.strategies.set(st.id, st);
      changed();
    },
    orders(list) {
      for (const o of list) putOrder(o);
      changed();
    },
    order(o) {
      putOrder(o);
      changed();
    },
    positions(list) {
      s.positions = new Map(list.map((p) => {
        const n = normalizePosition(p);
        return [`${n.strategy}|${n.symbol}`, n];
      }));
      changed();
    },
    portfolio(p) {
      s.portfolio = normalizePortfolio(p, s.portfolio);
      if (p.trading_state) s.tradingState = p.trading_state;
      changed();
    },
    limits(l) {
      s.limits = l;
      if (l.trading_state) s.tradingState = l.trading_state;
      if (l.kill !== undefined) s.killed = !!l.kill;
      changed();
    },
    stats(st) {
      s.stats = st;
      changed();
    },
    // GET /api/market-data/:symbol: the sampled prices when the page does not take every
    // tick (reduced mode, app.js).
    quote(md) {
      const m = s.markets.get(md.symbol) || { symbol: md.symbol };
      if (md.quote) Object.assign(m, { bid: md.quote.bid, ask: md.quote.ask,
        bid_size: md.quote.bid_size, ask_size: md.quote.ask_size });
      if (md.trade) {
        if (m.last !== undefined && m.last !== md.trade.price) m.prev = m.last;
        Object.assign(m, { last: md.trade.price, size: md.trade.size });
        markPositions(md.symbol, md.trade.price);
      }
      s.markets.set(md.symbol, m);
      changed();
    },
    // GET /api/ohlcv: the newest bars of the chart's symbol, in reduced mode.
    bars(reply) {
      market({ type: 'OHLCV', data: reply });
    },
    alerts(events) {
      s.alerts = mergeBySeq(s.alerts, events);
      changed();
    },
    denials(events) {
      s.denials = mergeBySeq(s.denials, events);
      changed();
    },
    signals(events) {
      s.signals = mergeBySeq(s.signals, events);
      changed();
    },
    fills(events) {
      // ORDER_FILLED events from /api/events
      for (const ev of [...events].sort((a, b) => a.seq - b.seq)) putFill(fillOf(ev));
      s.fills.sort((a, b) => (b.seq ?? 0) - (a.seq ?? 0));
      changed();
    },
    // GET /api/logs?since=logLast: {"lines":[{n, level, line}], "last"}. A line reads
    // "TIME LEVEL module message key=value ...".
    logs(reply) {
      s.logsAvailable = true;
      const fresh = (reply.lines || []).filter((l) => l.n > s.logLast).sort((a, b) => b.n - a.n);
      if (!fresh.length) return;
      const parsed = fresh.map((l) => {
        const m = /^(\S+) (\S+) (.*)$/.exec(l.line || '');
        return { n: l.n, level: String(l.level || '').toLowerCase(), ts: m ? m[1] : '', text: m ? m[3] : l.line };
      });
      s.logLines = parsed.concat(s.logLines).slice(0, LOG_CAP);
      s.logLast = Math.max(s.logLast, reply.last || 0, fresh[0].n);
      changed();
    },
    log(events) {
      for (const ev of [...events].sort((a, b) => a.seq - b.seq)) addLog(ev);
      s.log.sort((a, b) => b.seq - a.seq);
      changed();
    },
  };

  return {
    get state() {
      return s;
    },
    get epoch() {
      return epoch;
    },
    apply,
    load,
    // Forgets everything (the host restarted, or the stream lost events).
    reset() {
      const keepStats = s.stats;
      s = emptyState();
      s.stats = keepStats;
      epoch++;
      changed();
    },
    subscribe(fn) {
      subs.add(fn);
      return () => subs.delete(fn);
    },
    onMarket(fn) {
      marketSubs.add(fn);
      return () => marketSubs.delete(fn);
    },
  };
}

export function isWorking(o) {
  return o.status === 'PENDING_NEW' || o.status === 'ACCEPTED' || o.status === 'PARTIALLY_FILLED';
}

// Symbols the page knows of: from market data, strategies and positions, sorted.
export function symbolsOf(s) {
  const set = new Set(s.markets.keys());
  for (const st of s.strategies.values()) for (const sym of st.symbols || []) set.add(sym);
  for (const p of s.positions.values()) set.add(p.symbol);
  return [...set].filter(Boolean).sort();
}

// The signal's symbol: the signal's own data names it, by convention.
export function signalSymbol(ev) {
  const d = ev.data || {};
  return (d.data && d.data.symbol) || d.symbol || null;
}

// The side of a signal, when it says ("buy"/"sell"/"long"/"short").
export function signalSide(ev) {
  const d = (ev.data && ev.data.data) || {};
  const side = String(d.side || d.direction || '').toLowerCase();
  if (side === 'buy' || side === 'long') return 'buy';
  if (side === 'sell' || side === 'short') return 'sell';
  return null;
}
