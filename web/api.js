// api.js: the REST calls of the page (docs/api.md). Same-origin fetch: the login link
// left an HttpOnly cookie that authenticates every call, so no token is ever handled by
// script. Every call resolves (never throws) to
//   {ok, status, data, error: {code, message, reason?}}
// with status 0 and code "network" when the host could not be reached.

export async function api(method, path, body) {
  const init = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    return { ok: false, status: 0, data: null, error: { code: 'network', message: 'host unreachable' } };
  }
  let data = null;
  const type = res.headers.get('Content-Type') || '';
  if (res.status !== 204 && type.includes('json')) {
    try {
      data = await res.json();
    } catch {
      data = null;
    }
  }
  if (res.ok) return { ok: true, status: res.status, data, error: null };
  const error = (data && data.error) || { code: 'http_' + res.status, message: res.statusText };
  return { ok: false, status: res.status, data, error };
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body);
export const patch = (path, body) => api('PATCH', path, body);
export const del = (path) => api('DELETE', path);

// "/api/strategies/" + an id from the host, safely inside a path.
export function seg(s) {
  return encodeURIComponent(String(s));
}

// Human text of a failed call: "MAX_ORDER_QTY: qty 5000 over max_order_qty 1000".
export function errorMessage(r) {
  if (!r || r.ok) return '';
  const e = r.error || {};
  const head = e.reason || e.code || 'error';
  return e.message ? `${head}: ${e.message}` : head;
}
