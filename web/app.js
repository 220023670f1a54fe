// app.js: the status page's entry point: the model, the link to the host, the layout.
//
// Start-up and every reconnect follow one path (live.js): the WebSocket opens, the host
// says hello with its newest sequence number, and the page decides where the stream
// resumes. The first time, after a host restart (the newest seq went backwards) or after
// a gap (the host no longer holds the events the page missed), the page forgets what it
// knew, loads every REST snapshot and resumes after the hello's seq; otherwise it resumes
// after the last event it saw, losing nothing. Figures that move without events (limits'
// utilization, equity, the host's rates and latencies) are polled while the link is up,
// and never while it is down (a closed host must not fill the console with failed
// requests). The page re-renders at most five times a second; the chart draws ticks
// itself (chart.js).
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { get, seg } from './api.js';
import { ChartPanel } from './chart.js';
import { AlertsPanel, LogPanel } from './feeds.js';
import * as fmt from './format.js';
import { connectLive, resumePoint } from './live.js';
import { DenialsPanel, KillSwitch, RiskPanel } from './risk.js';
import { createStore, EVENT_TYPES, LOG_TYPES, symbolsOf } from './store.js';
import { StrategiesPanel } from './strategies.js';
import { FillsPanel, OrdersPanel, OrderTicket, PositionsPanel } from './trading.js';
import { html } from './ui.js';

const RENDER_MS = 200;
const POLL_MS = 2000;

const store = createStore();
let conn = { state: 'connecting', attempt: 0 };
let authProblem = '';
let loadedOnce = false;
// Reduced mode: the host dropped the page as a slow consumer (its feed is faster than a
// browser can draw), so the page stops taking market data over the stream and samples
// prices and the chart's newest bars over REST once a second instead.
let reduced = false;
let chartView = { symbol: '', tf: '1m' }; // what the chart shows, for the reduced mode's polls

function loadIf(r, fn) {
  if (r.ok && r.data) fn(r.data);
  return r;
}

// Every snapshot the page shows; resolves when all arrived (rejects if the host is gone).
async function loadSnapshots() {
  const L = store.load;
  const logTypes = LOG_TYPES.join(',');
  const rs = await Promise.all([
    get('/health').then((r) => loadIf(r, L.health)),
    get('/api/strategies').then((r) => loadIf(r, (d) => L.strategies(d.strategies || []))),
    get('/api/orders?status=all&limit=300').then((r) => loadIf(r, (d) => L.orders(d.orders || []))),
    get('/api/positions').then((r) => loadIf(r, (d) => L.positions(d.positions || []))),
    get('/api/portfolio').then((r) => loadIf(r, L.portfolio)),
    get('/api/limits').then((r) => loadIf(r, L.limits)),
    get('/api/alerts?limit=100').then((r) => loadIf(r, (d) => L.alerts(d.alerts || []))),
    get('/api/risk-checks?limit=100').then((r) => loadIf(r, (d) => L.denials(d.risk_checks || []))),
    get('/api/signals?limit=200').then((r) => loadIf(r, (d) => L.signals(d.signals || []))),
    get('/api/events?types=ORDER_FILLED&limit=300').then((r) => loadIf(r, (d) => L.fills(d.events || []))),
    get(`/api/events?types=${logTypes}&limit=150`).then((r) => loadIf(r, (d) => L.log(d.events || []))),
    get('/api/stats').then((r) => loadIf(r, L.stats)),
    get('/api/logs?limit=200').then((r) => loadIf(r, L.logs)),
  ]);
  if (rs.some((r) => r.status === 0)) throw new Error('host unreachable');
  const unauth = rs.find((r) => r.status === 401);
  authProblem = unauth ? 'Not signed in: open the login link the host printed at start (…/login?token=…).' : '';
  loadedOnce = true;
}

// force: poll although the link is not (yet) live: right before the stream resumes.
async function poll(force = false) {
  if (conn.state !== 'live' && !force) return;
  const L = store.load;
  await Promise.all([
    get('/api/portfolio').then((r) => loadIf(r, L.portfolio)),
    get('/api/limits').then((r) => loadIf(r, L.limits)),
    get('/api/stats').then((r) => loadIf(r, L.stats)),
    store.state.logsAvailable &&
      get(`/api/logs?since=${store.state.logLast}&limit=500`).then((r) => loadIf(r, L.logs)),
  ]);
}

async function pollMarket() {
  if (!reduced || conn.state !== 'live') return;
  const L = store.load;
  const { symbol, tf } = chartView;
  await Promise.all([
    ...symbolsOf(store.state).map((sym) => get(`/api/market-data/${seg(sym)}`).then((r) => loadIf(r, L.quote))),
    symbol && get(`/api/ohlcv/${seg(symbol)}?tf=${seg(tf)}&limit=3`).then((r) => loadIf(r, L.bars)),
  ]);
}

async function pollSlow() {
  if (conn.state !== 'live') return;
  const L = store.load;
  const asOf = store.state.lastSeq; // events after this one win over the reply
  await Promise.all([
    get('/health').then((r) => loadIf(r, L.health)),
    get('/api/strategies').then((r) => loadIf(r, (d) => L.strategies(d.strategies || [], asOf))),
  ]);
}

// A strategy the page has not seen (created by someone else) is fetched whole.
const fetching = new Set();
function watchStrategies(ev) {
  if (!ev.type.startsWith('STRATEGY_')) return;
  const id = ev.data && ev.data.strategy;
  if (!id || store.state.strategies.has(id) || fetching.has(id)) return;
  fetching.add(id);
  get(`/api/strategies/${seg(id)}`).then((r) => {
    fetching.delete(id);
    loadIf(r, store.load.strategy);
  });
}

// Where the stream resumes after this hello (see the comment at the top).
async function onHello(hello) {
  const r = resumePoint(hello, loadedOnce ? store.state.lastSeq : null, reduced);
  if (r.reload) {
    if (loadedOnce) store.reset();
    await loadSnapshots();
  } else {
    poll(true);
  }
  return r.since;
}

function startLive(setConn) {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return connectLive({
    url: `${proto}//${location.host}/ws`,
    onHello,
    onEvent(ev) {
      store.apply(ev);
      watchStrategies(ev);
    },
    types: () => (reduced ? EVENT_TYPES.filter((t) => t !== 'MARKET_DATA') : []),
    onSlow() {
      reduced = true;
    },
    onGap() {
      store.reset();
      loadSnapshots().catch(() => {});
    },
    onState(c) {
      conn = c;
      setConn(c);
      if (c.state === 'down' && c.attempt >= 2) {
        // Is it the host, or our credentials? /health needs no token.
        get('/api/strategies').then((r) => {
          if (r.status === 401) authProblem = 'Not signed in: open the login link the host printed at start (…/login?token=…).';
        });
      }
    },
  });
}

// Re-renders at most every RENDER_MS while the store changes.
function useStoreTick() {
  const [, setTick] = useState(0);
  useEffect(() => {
    let timer = null;
    let last = 0;
    const off = store.subscribe(() => {
      if (timer) return;
      // then the next frame: a hidden tab does not render at all
      timer = setTimeout(() => requestAnimationFrame(() => {
        timer = null;
        last = Date.now();
        setTick((t) => t + 1);
      }), Math.max(0, RENDER_MS - (Date.now() - last)));
    });
    const clock = setInterval(() => setTick((t) => t + 1), 1000); // "ago" texts, countdowns
    return () => {
      off();
      clearTimeout(timer);
      clearInterval(clock);
    };
  }, []);
}

// Events per second as seen by the page, over the last few seconds.
function useClientRate() {
  const [rate, setRate] = useState(null);
  useEffect(() => {
    let prev = { n: store.state.eventCount, t: Date.now() };
    const id = setInterval(() => {
      const now = { n: store.state.eventCount, t: Date.now() };
      if (now.n >= prev.n) setRate(((now.n - prev.n) * 1000) / (now.t - prev.t));
      prev = now;
    }, 2000);
    return () => clearInterval(id);
  }, []);
  return rate;
}

function Figure({ label, children, cls = '', testid, title }) {
  return html`<div class="fig" title=${title}><span class="label">${label}</span><span class=${'value ' + cls} data-testid=${testid}>${children}</span></div>`;
}

function Header({ c, clientRate }) {
  const s = store.state;
  const p = s.portfolio || {};
  const st = s.stats || {};
  const t2o = st.tick_to_order_us || {};
  const lag = st.loop_lag_ms || {};
  const h = s.health || {};
  const connText = c.state === 'live' ? 'LIVE' : c.state === 'connecting' ? 'CONNECTING' : 'OFFLINE';
  const trading = s.tradingState || p.trading_state || '';
  return html`<header class="top">
    <div class="brand"><b>luatrade</b><span class="muted">${h.mode || ''}</span></div>
    <span class=${'pill conn-' + c.state} data-testid="conn" title=${c.reason || ''}>${connText}</span>
    <span class=${'pill ' + String(trading).toLowerCase()} data-testid="trading-state" title="trading state">${trading || '\u2014'}</span>
    <div class="figs">
      <${Figure} label="Equity" testid="equity">${fmt.money(p.equity)}<//>
      <${Figure} label="Day P&L" cls=${fmt.pnlClass(p.day_pnl)} testid="day-pnl">${fmt.pnl(p.day_pnl)}<//>
      <${Figure} label="Unrealized" cls=${fmt.pnlClass(p.unrealized_pnl)}>${fmt.pnl(p.unrealized_pnl)}<//>
      <${Figure} label="Realized" cls=${fmt.pnlClass(p.realized_pnl)}>${fmt.pnl(p.realized_pnl)}<//>
      <${Figure} label="Events/s" testid="event-rate">${fmt.num(st.events_per_s ?? clientRate, 0)}<//>
      <${Figure} label="Tick\u2192order p50 / p99" testid="t2o"
        title=${t2o.count !== undefined ? `${t2o.count} orders sent from a tick in the window` : ''}>${fmt.micros(t2o.p50)} / ${fmt.micros(t2o.p99)}<//>
      <${Figure} label="Loop lag p99" cls=${lag.p99 > 50 ? 'down' : ''}>${lag.p99 === undefined ? '\u2014' : fmt.num(lag.p99, 1) + ' ms'}<//>
      <${Figure} label="Uptime">${fmt.duration(h.uptime_s + (Date.now() - h.loaded_ms) / 1000)}<//>
    </div>
    <${KillSwitch} store=${store} refresh=${poll} />
  </header>`;
}

function Banner({ c }) {
  if (authProblem) return html`<div class="banner bad" role="alert">${authProblem}</div>`;
  if (reduced && (c.state === 'live' || /slow consumer/.test(c.reason || '')))
    return html`<div class="banner note" role="status" data-testid="reduced">
      The host's market data is faster than this page can draw: prices and the chart are sampled once a second.
      Every other event still arrives live. Reload the page to try the full stream again.
    </div>`;
  if (c.state === 'live' || (c.state === 'connecting' && c.attempt === 0)) return null;
  const secs = c.retryAt ? Math.max(0, Math.ceil((c.retryAt - Date.now()) / 1000)) : 0;
  return html`<div class="banner" role="alert" data-testid="banner">
    <b>Host unreachable</b> \u2014 ${c.reason || 'connection lost'}.
    ${c.state === 'down' ? ` Reconnecting in ${secs}s (attempt ${c.attempt}).` : ' Reconnecting\u2026'}
    The figures below are as of the last update.
  </div>`;
}

function App() {
  useStoreTick();
  const clientRate = useClientRate();
  const [c, setConn] = useState(conn);
  const [symbol, setSymbolState] = useState(() => localStorage.getItem('luatrade.symbol') || '');
  const [tf, setTfState] = useState(() => localStorage.getItem('luatrade.tf') || '1m');

  useEffect(() => {
    const live = startLive(setConn);
    const fast = setInterval(poll, POLL_MS);
    const market = setInterval(pollMarket, POLL_MS / 2);
    const slow = setInterval(pollSlow, 5 * POLL_MS);
    return () => {
      live.stop();
      clearInterval(fast);
      clearInterval(market);
      clearInterval(slow);
    };
  }, []);

  const symbols = symbolsOf(store.state);
  const sym = symbols.includes(symbol) ? symbol : symbols[0] || '';
  const setSymbol = (s) => {
    localStorage.setItem('luatrade.symbol', s);
    setSymbolState(s);
  };
  chartView = { symbol: sym, tf };
  const setTf = (t) => {
    localStorage.setItem('luatrade.tf', t);
    setTfState(t);
  };

  return html`<div class=${'app conn-' + c.state}>
    <${Header} c=${c} clientRate=${clientRate} />
    <${Banner} c=${c} />
    <main class="dash">
      <${ChartPanel} store=${store} symbols=${symbols} symbol=${sym} setSymbol=${setSymbol} tf=${tf} setTf=${setTf} />
      <${OrderTicket} store=${store} symbols=${symbols} symbol=${sym} />
      <${PositionsPanel} store=${store} />
      <${StrategiesPanel} store=${store} />
      <${RiskPanel} store=${store} />
      <${OrdersPanel} store=${store} />
      <${FillsPanel} store=${store} />
      <${AlertsPanel} store=${store} />
      <${DenialsPanel} store=${store} />
      <${LogPanel} store=${store} />
    </main>
    <footer class="foot">
      <span>luatrade status page \u00b7 times in UTC</span>
      <span>Charts: TradingView Lightweight Charts\u2122, Copyright (c) 2026 TradingView, Inc.,${' '}
        <a href="https://www.tradingview.com/" target="_blank" rel="noopener noreferrer">tradingview.com</a> (Apache-2.0; NOTICE)</span>
    </footer>
  </div>`;
}

render(html`<${App} />`, document.getElementById('app'));
