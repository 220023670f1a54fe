// chart.js: the candle chart of one symbol (lightweight-charts, TradingView's attribution
// logo kept on), its timeframe picker and the watchlist that picks the symbol.
//
// Data flow: the bars come from GET /api/ohlcv/:symbol?tf= when the symbol, the timeframe
// or the store's epoch changes; after that, trades of the symbol (MARKET_DATA) grow the
// open bar and start new ones, and BAR events of the timeframe set closed bars exactly.
// When the page cannot take every tick (reduced mode, app.js) the newest bars are polled
// from /api/ohlcv instead. A bar is only ever updated at or after the newest one (or, for a closed bar we hold,
// as a historical update), so out-of-order or replayed events never throw. Fills of the
// symbol (any strategy, and manual orders) are drawn as arrows at their price, signals
// as dots above or below the bar; both are aligned to the bar that holds them.
import { createChart, createSeriesMarkers, CandlestickSeries, HistogramSeries, ColorType, CrosshairMode }
  from 'lightweight-charts';
import { useEffect, useRef, useState } from 'preact/hooks';
import { get, seg } from './api.js';
import * as fmt from './format.js';
import { signalSide, signalSymbol } from './store.js';
import { html, Panel } from './ui.js';

export const TIMEFRAMES = [['1s', 1], ['1m', 60], ['5m', 300], ['15m', 900], ['1h', 3600], ['1d', 86400]];
const TF_SECONDS = Object.fromEntries(TIMEFRAMES);

const UP = '#26a69a';
const DOWN = '#ef5350';
const SIGNAL = '#7e8cff';
const MAX_MARKERS = 300;
const LABELED_MARKERS = 6;

class CandleChart {
  constructor(el, onLegend) {
    this.onLegend = onLegend;
    this.chart = createChart(el, {
      autoSize: true,
      layout: {
        background: { type: ColorType.Solid, color: '#0d1117' },
        textColor: '#8b98a9',
        fontSize: 11,
        fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace',
        attributionLogo: true,
      },
      grid: { vertLines: { color: '#161d27' }, horzLines: { color: '#161d27' } },
      rightPriceScale: { borderColor: '#232c38' },
      timeScale: { borderColor: '#232c38', timeVisible: true, secondsVisible: true, rightOffset: 4, barSpacing: 8 },
      crosshair: { mode: CrosshairMode.Normal },
    });
    this.candles = this.chart.addSeries(CandlestickSeries, {
      upColor: UP, downColor: DOWN, wickUpColor: UP, wickDownColor: DOWN, borderVisible: false,
    });
    this.volume = this.chart.addSeries(HistogramSeries, {
      priceScaleId: 'vol', priceFormat: { type: 'volume' }, lastValueVisible: false, priceLineVisible: false,
    });
    this.chart.priceScale('vol').applyOptions({ scaleMargins: { top: 0.82, bottom: 0 } });
    this.markers = createSeriesMarkers(this.candles, []);
    this.bars = new Map(); // time -> bar we hold
    this.last = null; // the newest bar
    this.updates = 0;
    this.token = 0;
  }

  async load(symbol, tf) {
    const token = ++this.token;
    this.symbol = symbol;
    this.tf = tf;
    this.step = TF_SECONDS[tf];
    this.bars.clear();
    this.last = null;
    this.chart.applyOptions({ timeScale: { secondsVisible: this.step < 60 } });
    this.candles.setData([]);
    this.volume.setData([]);
    if (!symbol) return;
    const r = await get(`/api/ohlcv/${seg(symbol)}?tf=${seg(tf)}&limit=500`);
    if (token !== this.token || !r.ok) return;
    const bars = (r.data.bars || []).filter((b) => Number.isFinite(b.time)).sort((a, b) => a.time - b.time);
    const seen = new Set();
    const clean = bars.filter((b) => !seen.has(b.time) && seen.add(b.time));
    for (const b of clean) this.bars.set(b.time, { ...b });
    this.last = clean.length ? { ...clean[clean.length - 1] } : null;
    this.candles.setData(clean.map(candleOf));
    this.volume.setData(clean.map(volumeOf));
    this.legend();
  }

  // A trade of our symbol: grows the open bar, or opens the next one.
  trade(price, size, tsIso) {
    const ms = fmt.isoMs(tsIso);
    if (!Number.isFinite(ms) || !Number.isFinite(price)) return;
    const t = Math.floor(ms / 1000 / this.step) * this.step;
    let b = this.last;
    if (b && t < b.time) return; // older than what we show
    if (!b || t > b.time) b = { time: t, open: price, high: price, low: price, close: price, volume: 0 };
    else b = { ...b, high: Math.max(b.high, price), low: Math.min(b.low, price), close: price };
    b.volume = (b.volume || 0) + (Number.isFinite(size) ? size : 0);
    this.put(b, false);
  }

  // A BAR event of our symbol and timeframe: the host's own figures for that bar.
  bar(d) {
    this.barAt(Math.floor(fmt.isoMs(d.time) / 1000), d);
  }

  // A bar from GET /api/ohlcv (time in epoch seconds already).
  barAt(t, d) {
    if (!Number.isFinite(t)) return;
    const b = { time: t, open: d.open, high: d.high, low: d.low, close: d.close, volume: d.volume };
    if (!this.last || t >= this.last.time) this.put(b, false);
    else if (this.bars.has(t)) this.put(b, true);
  }

  put(b, historical) {
    try {
      this.candles.update(candleOf(b), historical);
      this.volume.update(volumeOf(b), historical);
    } catch {
      return; // the library refused an out-of-order point; the next bar carries on
    }
    this.bars.set(b.time, b);
    if (!historical) this.last = b;
    if (this.bars.size > 5000) this.bars.delete(this.bars.keys().next().value);
    this.updates++;
    this.legend();
  }

  legend() {
    this.onLegend({ bar: this.last, updates: this.updates, symbol: this.symbol, tf: this.tf });
  }

  // Fills and signals of our symbol as markers on the bars that hold them: fills as arrows
  // at their price, signals as dots above (sell) or below (buy) the bar. Only the newest
  // few carry text, so a busy chart stays readable.
  setMarkers(fills, signals) {
    if (!this.last || !this.symbol) return;
    const first = this.bars.size ? Math.min(...this.bars.keys()) : this.last.time;
    const align = (ms) => Math.floor(ms / 1000 / this.step) * this.step;
    const out = [];
    for (const f of fills) { // newest first
      if (f.symbol !== this.symbol || !Number.isFinite(f.price)) continue;
      const t = align(fmt.isoMs(f.time));
      if (!(t >= first)) continue;
      const buy = f.side === 'buy';
      out.push({
        time: t, position: buy ? 'atPriceBottom' : 'atPriceTop', price: f.price,
        shape: buy ? 'arrowUp' : 'arrowDown', color: buy ? UP : DOWN,
        text: `${buy ? 'B' : 'S'} ${fmt.qty(f.qty)}@${fmt.price(f.price)}`, at: f.seq ?? 0,
      });
      if (out.length >= MAX_MARKERS) break;
    }
    let nsig = 0;
    for (const ev of signals) { // newest first
      if (signalSymbol(ev) !== this.symbol) continue;
      const t = align(fmt.isoMs(ev.ts));
      if (!(t >= first)) continue;
      const side = signalSide(ev);
      out.push({
        time: t, position: side === 'sell' ? 'aboveBar' : 'belowBar', shape: 'circle', color: SIGNAL, size: 0.6,
        text: String(ev.data.name || 'signal') + (side ? ' ' + side : ''), at: ev.seq,
      });
      if (++nsig >= MAX_MARKERS) break;
    }
    out.sort((a, b) => b.at - a.at);
    out.forEach((m, i) => {
      if (i >= LABELED_MARKERS) delete m.text;
      delete m.at;
    });
    out.sort((a, b) => a.time - b.time);
    try {
      this.markers.setMarkers(out);
    } catch {
      /* a marker the library could not place; the next refresh tries again */
    }
  }

  destroy() {
    this.token++;
    this.chart.remove();
  }
}

function candleOf(b) {
  return { time: b.time, open: b.open, high: b.high, low: b.low, close: b.close };
}

function volumeOf(b) {
  return { time: b.time, value: b.volume || 0, color: b.close >= b.open ? 'rgba(38,166,154,0.45)' : 'rgba(239,83,80,0.45)' };
}

// The chart itself: created once, fed by the store's market listeners.
function CandleBox({ store, symbol, tf }) {
  const box = useRef(null);
  const chart = useRef(null);
  const [legend, setLegend] = useState({ bar: null, updates: 0 });

  useEffect(() => {
    let pending = null;
    let latest = null;
    const onLegend = (l) => {
      latest = l;
      if (!pending) pending = setTimeout(() => { pending = null; setLegend({ ...latest }); }, 150);
    };
    chart.current = new CandleChart(box.current, onLegend);
    return () => {
      clearTimeout(pending);
      chart.current.destroy();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    const c = chart.current;
    let markTimer = null;
    const refreshMarkers = () => {
      markTimer = null;
      c.setMarkers(store.state.fills, store.state.signals);
    };
    const dirty = () => {
      if (!markTimer) markTimer = setTimeout(refreshMarkers, 300);
    };
    c.load(symbol, tf).then(refreshMarkers);
    const off = store.onMarket((ev) => {
      if (ev.type === 'MARKET_DATA') {
        const d = ev.data;
        if (d.kind === 'trade' && d.symbol === symbol) c.trade(d.price, d.size, ev.ts);
      } else if (ev.type === 'BAR') {
        const d = ev.data;
        if (d.symbol === symbol && d.tf === tf) c.bar(d);
      } else if (ev.type === 'OHLCV') {
        const d = ev.data;
        if (d.symbol === symbol && d.tf === tf) for (const b of d.bars || []) c.barAt(b.time, b);
      } else if (ev.type === 'FILL' ? ev.fill.symbol === symbol : signalSymbol(ev) === symbol) {
        dirty();
      }
    });
    return () => {
      off();
      clearTimeout(markTimer);
    };
  }, [symbol, tf, store.epoch]);

  const b = legend.bar;
  const cls = b ? (b.close >= b.open ? 'up' : 'down') : '';
  return html`<div class="chart-wrap">
    <div class="legend" aria-label="last bar">
      <b>${symbol || '\u2014'}</b><span class="muted">${tf} \u00b7 UTC</span>
      <span>O <i class=${cls}>${fmt.price(b?.open)}</i></span>
      <span>H <i class=${cls}>${fmt.price(b?.high)}</i></span>
      <span>L <i class=${cls}>${fmt.price(b?.low)}</i></span>
      <span>C <i class=${cls} data-testid="legend-close">${fmt.price(b?.close)}</i></span>
      <span>V <i>${fmt.qty(b?.volume)}</i></span>
    </div>
    <div class="chart-box" ref=${box} data-testid="chart" data-updates=${legend.updates}></div>
  </div>`;
}

// Symbols with their last price, ticking green or red; a click picks the chart's symbol.
function Watchlist({ markets, symbols, symbol, setSymbol }) {
  return html`<div class="watch" role="tablist" aria-label="symbols">
    ${symbols.map((s) => {
      const m = markets.get(s) || {};
      const dir = m.prev === undefined || m.last === m.prev ? '' : m.last > m.prev ? 'up' : 'down';
      return html`<button key=${s} role="tab" aria-selected=${s === symbol} class=${'chip' + (s === symbol ? ' on' : '')}
        onClick=${() => setSymbol(s)} data-symbol=${s}>
        <b>${s}</b><span class=${'num ' + dir}>${fmt.price(m.last)}</span>
        <small class="muted">${fmt.price(m.bid)} / ${fmt.price(m.ask)}</small>
      </button>`;
    })}
  </div>`;
}

export function ChartPanel({ store, symbols, symbol, setSymbol, tf, setTf }) {
  const tools = html`<div class="seg" role="group" aria-label="timeframe">
    ${TIMEFRAMES.map(([name]) => html`<button key=${name} class=${name === tf ? 'on' : ''} aria-pressed=${name === tf}
      onClick=${() => setTf(name)}>${name}</button>`)}
  </div>`;
  return html`<${Panel} title="Market" area="chart" right=${tools}>
    <${Watchlist} markets=${store.state.markets} symbols=${symbols} symbol=${symbol} setSymbol=${setSymbol} />
    <${CandleBox} store=${store} symbol=${symbol} tf=${tf} />
  <//>`;
}
