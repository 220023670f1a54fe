// ui.js: what every panel of the page shares: the `html` template tag (htm bound to
// preact's h: text in templates is always escaped, and the page never sets innerHTML, so
// strings from strategies can never become markup), the Panel frame, figure cells.
import { h } from 'preact';
import htm from 'htm';
import * as fmt from './format.js';

export const html = htm.bind(h);

// A titled box of the dashboard grid. `area` names its grid area (style.css).
export function Panel({ title, area, right, children, count }) {
  return html`<section class="panel" style=${{ gridArea: area }} aria-label=${title} data-panel=${area}>
    <header class="panel-head">
      <h2>${title}${count !== undefined ? html` <span class="count">${count}</span>` : null}</h2>
      <div class="panel-tools">${right}</div>
    </header>
    <div class="panel-body">${children}</div>
  </section>`;
}

// A right-aligned figure cell; kind picks the formatter; pnl adds green/red.
export function Num({ v, kind = 'num', dp, sign }) {
  const text = kind === 'price' ? fmt.price(v)
    : kind === 'money' ? (sign ? fmt.pnl(v) : fmt.money(v))
    : kind === 'qty' ? fmt.qty(v)
    : kind === 'pct' ? fmt.percent(v, dp ?? 1)
    : fmt.num(v, dp ?? 0);
  const cls = 'num' + (sign ? ' ' + fmt.pnlClass(v) : '');
  return html`<td class=${cls}>${text}</td>`;
}

export function Side({ side }) {
  const s = String(side || '').toLowerCase();
  return html`<span class=${'side ' + (s === 'buy' ? 'up' : s === 'sell' ? 'down' : '')}>${s.toUpperCase()}</span>`;
}

export function Empty({ cols, text }) {
  return html`<tr class="empty"><td colspan=${cols}>${text}</td></tr>`;
}

// The short name of a script path: "strategies/sma_cross.lua" -> "sma_cross.lua".
export function base(path) {
  const s = String(path || '');
  return s.slice(s.lastIndexOf('/') + 1);
}
