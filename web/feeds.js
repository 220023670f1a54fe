// feeds.js: the alerts feed (ALERT from strategies and alert rules, RISK_ALERT from the
// risk guardian), colored by severity, and the log tail: the host's log lines
// (GET /api/logs, polled by app.js), or, from a host without that route, its notable
// events (strategy start/stop/reload/error, kill switch, alerts, denials, rejections).
import { useState } from 'preact/hooks';
import * as fmt from './format.js';
import { alertText } from './store.js';
import { html, Panel } from './ui.js';

export function AlertsPanel({ store }) {
  const list = store.state.alerts.slice(0, 100);
  return html`<${Panel} title="Alerts" area="alerts" count=${store.state.alerts.length}>
    <ul class="feed">
      ${list.length ? list.map((ev) => {
        const d = ev.data || {};
        const sev = String(d.severity || 'LOW').toUpperCase();
        return html`<li key=${ev.seq} class=${'alert alert-' + sev.toLowerCase()} data-type=${ev.type}>
          <span class="t muted">${fmt.time(ev.ts)}</span>
          <span class=${'sev sev-' + sev.toLowerCase()}>${sev}</span>
          <span class="muted">${ev.type === 'ALERT' ? d.strategy || ev.source : 'risk'}</span>
          <span class="msg">${alertText(ev)}</span>
        </li>`;
      }) : html`<li class="empty">no alerts</li>`}
    </ul>
  <//>`;
}

// The host's own log lines when it serves them (GET /api/logs), else the notable events.
export function LogPanel({ store }) {
  const [min, setMin] = useState('info');
  const st = store.state;
  const rank = { debug: 0, info: 1, warn: 2, error: 3 };
  const lines = st.logsAvailable
    ? st.logLines.filter((x) => (rank[x.level] ?? 1) >= rank[min]).slice(0, 200)
      .map((x) => ({ key: 'n' + x.n, ts: x.ts, level: x.level, text: x.text }))
    : st.log.filter((x) => (rank[x.level] ?? 1) >= rank[min]).slice(0, 200)
      .map((x) => ({ key: 's' + x.seq, ts: x.ts, level: x.level, text: x.text, type: x.type }));
  const tools = html`<div class="seg" role="group" aria-label="log level">
    ${['info', 'warn', 'error'].map((l) => html`<button key=${l} class=${l === min ? 'on' : ''} aria-pressed=${l === min}
      onClick=${() => setMin(l)}>${l === 'info' ? 'all' : l + '+'}</button>`)}
  </div>`;
  return html`<${Panel} title="Log" area="log" right=${tools}>
    <ul class="feed log">
      ${lines.length ? lines.map((x) => html`<li key=${x.key} class=${'lvl-' + x.level} data-type=${x.type}>
        <span class="t muted">${fmt.timeMs(x.ts)}</span>
        <span class=${'lvl lvl-' + x.level}>${x.level.toUpperCase()}</span>
        <span class="msg">${x.text}</span>
      </li>`) : html`<li class="empty">nothing yet</li>`}
    </ul>
  <//>`;
}
