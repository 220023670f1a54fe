// trading.js: positions (unrealized P&L follows the last trade), working orders with
// cancel, recent fills, and the manual order ticket.
//
// The ticket sends POST /api/orders; the host runs the same pre-trade risk checks as for
// a strategy's orders (strategy "manual"), and a refusal comes back as 409 risk_denied
// with its reason code, which the ticket shows as it is.
import { useState } from 'preact/hooks';
import { del, errorMessage, post, seg } from './api.js';
import * as fmt from './format.js';
import { isWorking } from './store.js';
import { Empty, html, Num, Panel, Side } from './ui.js';

export function PositionsPanel({ store }) {
  const list = [...store.state.positions.values()].sort(
    (a, b) => (b.qty !== 0) - (a.qty !== 0) || a.symbol.localeCompare(b.symbol) || a.strategy.localeCompare(b.strategy));
  const open = list.filter((p) => p.qty !== 0).length;
  return html`<${Panel} title="Positions" area="positions" count=${open}>
    <div class="scroll"><table class="grid">
      <thead><tr><th>Symbol</th><th>Strategy</th><th class="num">Qty</th><th class="num">Avg</th>
        <th class="num">Last</th><th class="num">Unrl P&L</th><th class="num">Real P&L</th></tr></thead>
      <tbody>
        ${list.length ? list.map((p) => html`<tr key=${p.strategy + '|' + p.symbol} class=${p.qty === 0 ? 'dim' : ''}>
          <td><b>${p.symbol}</b></td><td class="muted">${p.strategy}</td>
          <td class=${'num ' + fmt.pnlClass(p.qty)}>${fmt.qty(p.qty)}</td>
          <${Num} v=${p.avg_price} kind="price" /><${Num} v=${p.last} kind="price" />
          <${Num} v=${p.unrealized_pnl} kind="money" sign /><${Num} v=${p.realized_pnl} kind="money" sign />
        </tr>`) : html`<${Empty} cols=${7} text="no positions" />`}
      </tbody>
    </table></div>
  <//>`;
}

function CancelButton({ o, store }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  async function cancel() {
    setBusy(true);
    const r = await del(`/api/orders/${seg(o.id)}`);
    setBusy(false);
    if (r.ok && r.data && r.data.order) store.load.order(r.data.order);
    setError(r.ok ? '' : errorMessage(r));
  }
  return html`<button class="btn small" disabled=${busy} onClick=${cancel} title=${error || 'cancel this order'}
    aria-label=${'cancel order ' + o.id}>Cancel</button>${error ? html`<span class="bad small"> ${error}</span>` : null}`;
}

export function OrdersPanel({ store }) {
  const list = [...store.state.orders.values()].filter(isWorking).sort((a, b) => b.id - a.id);
  return html`<${Panel} title="Working orders" area="orders" count=${list.length}>
    <div class="scroll"><table class="grid">
      <thead><tr><th class="num">Id</th><th>Time</th><th>Strategy</th><th>Symbol</th><th>Side</th><th>Type</th>
        <th class="num">Qty</th><th class="num">Filled</th><th class="num">Price</th><th>Status</th><th></th></tr></thead>
      <tbody>
        ${list.length ? list.map((o) => html`<tr key=${o.id} data-order=${o.id}>
          <td class="num">${o.id}</td><td class="t">${fmt.time(o.created)}</td><td>${o.strategy}</td>
          <td><b>${o.symbol}</b></td><td><${Side} side=${o.side} /></td><td>${o.type}${o.role && o.role !== 'single' ? ' \u00b7 ' + o.role : ''}</td>
          <${Num} v=${o.qty} kind="qty" /><${Num} v=${o.filled} kind="qty" />
          <td class="num">${o.limit !== undefined ? fmt.price(o.limit) : o.stop !== undefined ? 'stop ' + fmt.price(o.stop) : 'mkt'}</td>
          <td><span class="pill">${o.status}</span></td>
          <td class="actions"><${CancelButton} o=${o} store=${store} /></td>
        </tr>`) : html`<${Empty} cols=${11} text="no working orders" />`}
      </tbody>
    </table></div>
  <//>`;
}

export function FillsPanel({ store }) {
  const list = store.state.fills.slice(0, 100);
  return html`<${Panel} title="Recent fills" area="fills" count=${store.state.fills.length}>
    <div class="scroll"><table class="grid">
      <thead><tr><th>Time</th><th>Strategy</th><th>Symbol</th><th>Side</th><th class="num">Qty</th>
        <th class="num">Price</th><th class="num">Comm</th><th class="num">Order</th></tr></thead>
      <tbody>
        ${list.length ? list.map((f) => html`<tr key=${f.exec_id}>
          <td class="t">${fmt.time(f.time)}</td><td>${f.strategy}</td><td><b>${f.symbol}</b></td>
          <td><${Side} side=${f.side} /></td><${Num} v=${f.qty} kind="qty" /><${Num} v=${f.price} kind="price" />
          <${Num} v=${f.commission} kind="money" /><td class="num muted">${f.order_id}</td>
        </tr>`) : html`<${Empty} cols=${8} text="no fills yet" />`}
      </tbody>
    </table></div>
  <//>`;
}

export function OrderTicket({ store, symbols, symbol }) {
  const [form, setForm] = useState({ symbol: '', side: 'buy', qty: '1', limit: '', tif: 'day' });
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState(null); // {ok, text}
  const sym = form.symbol || symbol || symbols[0] || '';
  const m = store.state.markets.get(sym) || {};
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });

  async function submit(e) {
    e.preventDefault();
    const qty = Number(form.qty);
    if (!sym || !(qty > 0)) return setResult({ ok: false, text: 'symbol and a quantity above 0 needed' });
    const body = { symbol: sym, side: form.side, qty };
    if (String(form.limit).trim() !== '') {
      const limit = Number(form.limit);
      if (!Number.isFinite(limit)) return setResult({ ok: false, text: 'the limit price is not a number' });
      body.limit = limit;
    }
    if (form.tif) body.tif = form.tif;
    setBusy(true);
    const r = await post('/api/orders', body);
    setBusy(false);
    if (r.ok && r.data && r.data.order) {
      const o = r.data.order;
      store.load.order(o);
      setResult({ ok: true, text: `order ${o.id} ${o.status}: ${o.side} ${fmt.qty(o.qty)} ${o.symbol}` +
        (o.limit !== undefined ? ` @ ${fmt.price(o.limit)}` : ' at market') });
    } else if (r.error && r.error.code === 'risk_denied') {
      setResult({ ok: false, denied: true, text: `Denied ${r.error.reason || ''}: ${r.error.message || ''}` });
    } else {
      setResult({ ok: false, text: errorMessage(r) });
    }
  }

  return html`<${Panel} title="Order ticket" area="ticket">
    <form class="ticket" onSubmit=${submit} aria-label="order ticket">
      <label>Symbol<select name="symbol" value=${sym} onChange=${set('symbol')}>
        ${symbols.map((s) => html`<option key=${s} value=${s}>${s}</option>`)}
      </select></label>
      <div class="seg sides" role="group" aria-label="side">
        <button type="button" class=${form.side === 'buy' ? 'on buy' : ''} aria-pressed=${form.side === 'buy'}
          onClick=${() => setForm({ ...form, side: 'buy' })}>Buy</button>
        <button type="button" class=${form.side === 'sell' ? 'on sell' : ''} aria-pressed=${form.side === 'sell'}
          onClick=${() => setForm({ ...form, side: 'sell' })}>Sell</button>
      </div>
      <label>Qty<input name="qty" inputmode="decimal" value=${form.qty} onInput=${set('qty')} /></label>
      <label>Limit<input name="limit" inputmode="decimal" placeholder="market" value=${form.limit} onInput=${set('limit')} /></label>
      <label>TIF<select name="tif" value=${form.tif} onChange=${set('tif')}>
        ${['day', 'gtc', 'ioc', 'fok'].map((t) => html`<option key=${t} value=${t}>${t}</option>`)}
      </select></label>
      <div class="quote"><span class="muted">bid</span> <b class="num down">${fmt.price(m.bid)}</b>
        <span class="muted">ask</span> <b class="num up">${fmt.price(m.ask)}</b></div>
      <button type="submit" class=${'btn wide ' + (form.side === 'buy' ? 'buy' : 'sell')} disabled=${busy}>
        ${form.side === 'buy' ? 'Buy' : 'Sell'} ${sym}
      </button>
      ${result ? html`<div class=${'ticket-result ' + (result.ok ? 'ok' : 'bad')} role="status"
        data-testid="ticket-result">${result.text}</div>` : null}
    </form>
  <//>`;
}
