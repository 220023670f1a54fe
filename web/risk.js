// risk.js: the kill switch (with a confirm step, and re-arm), the risk limits with their
// utilization, and the recent denials with their reason codes.
//
// Limits come from GET /api/limits (refreshed by the page every few seconds: usage moves
// with every order and price). The kill switch is POST /api/kill (blocks new orders and
// cancels working ones) and DELETE /api/kill to re-arm; the KILL_SWITCH event that
// follows updates every open page.
import { useEffect, useState } from 'preact/hooks';
import { del, errorMessage, post } from './api.js';
import * as fmt from './format.js';
import { Empty, html, Panel } from './ui.js';

export function KillSwitch({ store, refresh }) {
  const killed = store.state.killed;
  const [confirm, setConfirm] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');

  useEffect(() => {
    if (!confirm) return;
    const t = setTimeout(() => setConfirm(false), 8000); // an unanswered confirm goes away
    return () => clearTimeout(t);
  }, [confirm]);

  async function run(fn) {
    setBusy(true);
    const r = await fn();
    setBusy(false);
    setConfirm(false);
    setError(r.ok ? '' : errorMessage(r));
    if (r.ok) refresh();
  }

  if (killed)
    return html`<div class="kill">
      <span class="pill killed" data-testid="kill-state">KILLED</span>
      <button class="btn" disabled=${busy} onClick=${() => run(() => del('/api/kill'))}>Re-arm</button>
      ${error ? html`<span class="bad small">${error}</span>` : null}
    </div>`;
  if (confirm)
    return html`<div class="kill" role="alertdialog" aria-label="confirm kill switch">
      <span class="small">Cancel all orders and block trading?</span>
      <button class="btn danger" disabled=${busy} onClick=${() => run(() => post('/api/kill', {}))}>Confirm kill</button>
      <button class="btn" onClick=${() => setConfirm(false)}>Back</button>
    </div>`;
  return html`<div class="kill">
    <button class="btn danger" onClick=${() => setConfirm(true)} title="kill switch: cancel all orders, block new ones">Kill switch</button>
    ${error ? html`<span class="bad small">${error}</span>` : null}
  </div>`;
}

function utilClass(u) {
  if (u === null || u === undefined) return '';
  if (u >= 0.9) return 'crit';
  if (u >= 0.75) return 'high';
  if (u >= 0.5) return 'med';
  return 'low';
}

export function RiskPanel({ store }) {
  const l = store.state.limits;
  // Limits in force first (global, then per strategy), the most used on top; "off" last.
  const limits = (l && Array.isArray(l.limits) ? l.limits : []).slice().sort(
    (a, b) => !a.value - !b.value || (a.scope === 'global' ? 0 : 1) - (b.scope === 'global' ? 0 : 1)
      || String(a.scope).localeCompare(String(b.scope)) || (b.utilization ?? -1) - (a.utilization ?? -1));
  const state = store.state.tradingState || (l && l.trading_state) || '';
  const right = html`<span class=${'pill ' + String(state).toLowerCase()}>${state || '\u2014'}</span>`;
  return html`<${Panel} title="Risk limits" area="risk" right=${right}>
    <div class="scroll"><table class="grid limits">
      <thead><tr><th>Limit</th><th>Scope</th><th class="num">Used</th><th class="num">Max</th><th class="bar-col">Utilization</th></tr></thead>
      <tbody>
        ${limits.length ? limits.map((x) => {
          const u = x.utilization;
          const w = u === null || u === undefined ? 0 : Math.max(0, Math.min(1, u)) * 100;
          return html`<tr key=${x.scope + '/' + x.name} class=${x.value ? '' : 'dim'}>
            <td>${x.name}</td><td class="muted">${x.scope}</td>
            <td class="num">${fmt.num(x.used, 2)}</td><td class="num">${x.value ? fmt.num(x.value, 2) : 'off'}</td>
            <td class="bar-col"><div class="bar" title=${fmt.percent(u)}><div class=${'fill ' + utilClass(u)} style=${{ width: w + '%' }}></div>
              <span>${u === null || u === undefined ? '' : fmt.percent(u, 0)}</span></div></td>
          </tr>`;
        }) : html`<${Empty} cols=${5} text="no limits" />`}
      </tbody>
    </table></div>
  <//>`;
}

export function DenialsPanel({ store }) {
  const list = store.state.denials.slice(0, 100);
  return html`<${Panel} title="Risk denials" area="denials" count=${store.state.denials.length}>
    <div class="scroll"><table class="grid">
      <thead><tr><th>Time</th><th>Reason</th><th>Strategy</th><th>Order</th><th>Detail</th></tr></thead>
      <tbody>
        ${list.length ? list.map((ev) => {
          const d = ev.data || {};
          return html`<tr key=${ev.seq} data-reason=${d.reason}>
            <td class="t">${fmt.time(ev.ts)}</td><td><span class="code">${d.reason}</span></td>
            <td>${d.strategy}</td>
            <td class="nowrap">${d.side ? d.side.toUpperCase() : ''} ${fmt.qty(d.qty)} ${d.symbol || ''}${d.price ? ' @ ' + fmt.price(d.price) : ''}</td>
            <td class="muted clip" title=${d.message}>${d.message}</td>
          </tr>`;
        }) : html`<${Empty} cols=${5} text="no denials" />`}
      </tbody>
    </table></div>
  <//>`;
}
