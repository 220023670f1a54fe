// feeds.js: the alerts feed (ALERT from strategies and alert rules, RISK_ALERT from the
// risk guardian), colored by severity, and the log tail: the host's notable events
// (strategy start/stop/reload/error, kill switch, alerts, denials, rejections) as lines.
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

export function LogPanel({ store }) {
  const list = store.state.log.slice(0, 150);
  return html`<${Panel} title="Log" area="log" count=${store.state.log.length}>
    <ul class="feed log">
      ${list.length ? list.map((x) => html`<li key=${x.seq} class=${'lvl-' + x.level} data-type=${x.type}>
        <span class="t muted">${fmt.timeMs(x.ts)}</span>
        <span class=${'lvl lvl-' + x.level}>${x.level.toUpperCase()}</span>
        <span class="msg">${x.text}</span>
      </li>`) : html`<li class="empty">nothing yet</li>`}
    </ul>
  <//>`;
}

