// strategies.js: the strategies table: status, version, last reload and its result, the
// last error (file:line), counters, parameters edited in place, start/stop/reload.
//
// Actions go through REST and the reply (the strategy's new state) goes straight into the
// store; the STRATEGY_* events that follow say the same. A parameter keeps the type it
// has on the host: numbers are sent as numbers, booleans as booleans, text as text, and
// only the parameters that changed are sent (PATCH /api/strategies/:id/params).
import { useEffect, useState } from 'preact/hooks';
import { errorMessage, patch, post, seg } from './api.js';
import * as fmt from './format.js';
import { base, Empty, html, Num, Panel } from './ui.js';

function ParamEditor({ st, onDone, setNote }) {
  const names = Object.keys(st.params || {}).sort();
  const [draft, setDraft] = useState(() => Object.fromEntries(names.map((k) => [k, st.params[k]])));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');

  async function save(e) {
    e.preventDefault();
    const body = {};
    try {
      for (const k of names) {
        const cur = st.params[k];
        const v = typeof cur === 'boolean' ? !!draft[k] : fmt.parseParam(draft[k], cur);
        if (fmt.paramText(v) !== fmt.paramText(cur)) body[k] = v;
      }
    } catch (err) {
      setError(`not ${err.message}`);
      return;
    }
    if (!Object.keys(body).length) return onDone();
    setBusy(true);
    const r = await patch(`/api/strategies/${seg(st.id)}/params`, body);
    setBusy(false);
    if (!r.ok) return setError(errorMessage(r));
    setNote(`${st.id}: params saved`);
    onDone(r.data);
  }

  return html`<form class="params-edit" onSubmit=${save} aria-label=${'params of ' + st.id}>
    ${names.map((k) => {
      const cur = st.params[k];
      const input = typeof cur === 'boolean'
        ? html`<input type="checkbox" name=${k} checked=${!!draft[k]}
            onChange=${(e) => setDraft({ ...draft, [k]: e.currentTarget.checked })} />`
        : html`<input name=${k} value=${fmt.paramText(draft[k])} size=${Math.max(4, fmt.paramText(draft[k]).length + 1)}
            inputmode=${typeof cur === 'number' ? 'decimal' : 'text'}
            onInput=${(e) => setDraft({ ...draft, [k]: e.currentTarget.value })} />`;
      return html`<label key=${k} class="param">${k}${input}</label>`;
    })}
    <button type="submit" class="btn primary" disabled=${busy}>Save</button>
    <button type="button" class="btn" onClick=${() => onDone()}>Cancel</button>
    ${error ? html`<span class="error-text" role="alert">${error}</span>` : null}
  </form>`;
}

function Params({ st, editing, setEditing, store, setNote }) {
  if (editing)
    return html`<${ParamEditor} st=${st} setNote=${setNote} onDone=${(updated) => {
      if (updated) store.load.strategy(updated);
      setEditing(null);
    }} />`;
  const names = Object.keys(st.params || {}).sort();
  return html`<button class="params" title="edit parameters" onClick=${() => setEditing(st.id)}
      aria-label=${'edit params of ' + st.id}>
    ${names.length ? names.map((k) => html`<span key=${k} class="kv"><span class="muted">${k}</span>=${fmt.paramText(st.params[k])}</span>`)
      : html`<span class="muted">none</span>`}
  </button>`;
}

function Reload({ r }) {
  if (!r) return html`<span class="muted">never</span>`;
  return r.ok
    ? html`<span class="ok nowrap" title=${r.ts}>ok \u00b7 ${fmt.ago(r.ts)}</span>`
    : html`<span class="bad nowrap" title=${r.error}>failed \u00b7 ${fmt.ago(r.ts)}</span>`;
}

function Row({ st, store, editing, setEditing, setNote }) {
  const [busy, setBusy] = useState('');
  async function act(verb) {
    setBusy(verb);
    const r = await post(`/api/strategies/${seg(st.id)}/${verb}`);
    setBusy('');
    if (r.ok && r.data && r.data.id) store.load.strategy(r.data);
    setNote(r.ok ? `${st.id}: ${verb} ok` : `${st.id}: ${verb} failed: ${errorMessage(r)}`, !r.ok);
  }
  const running = st.status === 'RUNNING';
  return html`<tr data-strategy=${st.id}>
    <td><b>${st.id}</b><div class="muted small" title=${st.script}>${base(st.script)}</div></td>
    <td><span class=${'pill ' + String(st.status).toLowerCase()} data-testid="status">${st.status}</span></td>
    <td class="num" data-testid="version" title=${st.sha256 || ''}>v${st.version}</td>
    <td><${Reload} r=${st.last_reload} /></td>
    <td class="err-cell">${st.last_error ? html`<span class="bad" title=${st.last_error}>${st.last_error}</span>`
      : html`<span class="muted">\u2014</span>`}</td>
    <${Num} v=${st.calls} />
    <${Num} v=${st.errors} />
    <td class="num">${fmt.bytes(st.memory_bytes)}</td>
    <td class="params-cell"><${Params} st=${st} editing=${editing === st.id} setEditing=${setEditing}
      store=${store} setNote=${setNote} /></td>
    <td class="actions">
      ${running
        ? html`<button class="btn" disabled=${!!busy} onClick=${() => act('stop')}>Stop</button>`
        : html`<button class="btn" disabled=${!!busy} onClick=${() => act('start')}>Start</button>`}
      <button class="btn" disabled=${!!busy} onClick=${() => act('reload')}>Reload</button>
    </td>
  </tr>`;
}

export function StrategiesPanel({ store }) {
  const [editing, setEditing] = useState(null);
  const [note, setNoteText] = useState({ text: '', bad: false });
  const setNote = (text, bad = false) => setNoteText({ text, bad });
  useEffect(() => { // a note says what the last action did, for a while
    if (!note.text) return;
    const t = setTimeout(() => setNoteText({ text: '', bad: false }), note.bad ? 15000 : 5000);
    return () => clearTimeout(t);
  }, [note]);
  const list = [...store.state.strategies.values()].sort((a, b) => a.id.localeCompare(b.id));
  const right = note.text ? html`<span class=${note.bad ? 'bad' : 'muted'} role="status">${note.text}</span>` : null;
  return html`<${Panel} title="Strategies" area="strategies" count=${list.length} right=${right}>
    <div class="scroll"><table class="grid">
      <thead><tr>
        <th>Strategy</th><th>Status</th><th class="num">Ver</th><th>Last reload</th><th>Last error</th>
        <th class="num">Calls</th><th class="num">Errs</th><th class="num">Mem</th><th>Params</th><th></th>
      </tr></thead>
      <tbody>
        ${list.length ? list.map((st) => html`<${Row} key=${st.id} st=${st} store=${store} editing=${editing}
          setEditing=${setEditing} setNote=${setNote} />`) : html`<${Empty} cols=${10} text="no strategies" />`}
      </tbody>
    </table></div>
  <//>`;
}
