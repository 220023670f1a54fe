// live.js: the WebSocket link to the host's event stream (/ws, docs/websocket.md), with
// reconnection.
//
// States: "connecting" (socket opening, or hello received and the page loading its
// snapshots) -> "live" (subscribed; events flow) -> "down" (closed; a retry is
// scheduled after a backoff of 0.5 s doubling to 10 s, with jitter) -> "connecting" ...
// On every hello the page decides where the stream resumes: onHello(hello) returns a
// promise of the sequence number to resume after ("since"); the host then sends each
// event with a greater seq, in order, without duplicates. A "subscribed" reply with
// gap=true means events were lost in between; onGap() lets the page reload snapshots.
// A link that stays silent for 35 s (the host pings every 15 s, and the page sends an
// application ping every 10 s) is treated as dead and closed. The event types asked for
// come from types() at each subscribe; market data comes conflated (conflateMs, 250 ms:
// the latest quote and trade of each symbol four times a second, every other event in
// full; docs/websocket.md), so a feed of any rate costs the page a few dozen ticks a
// second. A close 1008 ("slow consumer": the page could not keep up even so) is reported
// to onSlow before the retry, so the page can ask for less.

const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 10000];
const PING_MS = 10000;
const SILENCE_MS = 35000;
export const CONFLATE_MS = 250;

export function connectLive({ url, onHello, onEvent, onGap, onState, onSlow, types, conflateMs = CONFLATE_MS }) {
  let ws = null;
  let attempt = 0;
  let retryTimer = null;
  let pingTimer = null;
  let lastHeard = 0;
  let stopped = false;

  function setState(state, extra = {}) {
    onState({ state, attempt, ...extra });
  }

  function schedule(reason) {
    clearInterval(pingTimer);
    if (stopped) return;
    const base = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)];
    const delay = Math.round(base * (1 + Math.random() * 0.2));
    attempt++;
    setState('down', { reason, retryAt: Date.now() + delay });
    retryTimer = setTimeout(open, delay);
  }

  function open() {
    retryTimer = null;
    setState('connecting');
    let sock;
    try {
      sock = new WebSocket(url);
    } catch {
      schedule('cannot open the WebSocket');
      return;
    }
    ws = sock;
    let closed = false;
    const close = (reason) => {
      if (closed) return;
      closed = true;
      if (ws === sock) ws = null;
      try {
        sock.close();
      } catch {
        /* already closing */
      }
      schedule(reason);
    };
    sock.onopen = () => {
      lastHeard = Date.now();
      clearInterval(pingTimer);
      pingTimer = setInterval(() => {
        if (Date.now() - lastHeard > SILENCE_MS) close('no reply from the host');
        else if (sock.readyState === WebSocket.OPEN) sock.send('{"op":"ping"}');
      }, PING_MS);
    };
    sock.onclose = (e) => {
      if (e.code === 1008 && onSlow) onSlow(e.reason);
      close(e.reason || (e.code === 1006 ? 'connection lost' : `closed (${e.code})`));
    };
    sock.onerror = () => {}; // onclose follows with the reason
    sock.onmessage = (m) => {
      lastHeard = Date.now();
      let msg;
      try {
        msg = JSON.parse(m.data);
      } catch {
        return;
      }
      if (msg.type === 'hello') {
        Promise.resolve(onHello(msg)).then(
          (since) => {
            if (closed || sock.readyState !== WebSocket.OPEN) return;
            const sub = { op: 'subscribe', types: types ? types() : [], symbols: [], conflate_ms: conflateMs };
            if (since !== undefined && since !== null) sub.since = since;
            sock.send(JSON.stringify(sub));
          },
          () => close('loading the page data failed'),
        );
      } else if (msg.type === 'subscribed') {
        attempt = 0;
        setState('live');
        if (msg.gap) onGap(msg);
      } else if (msg.type === 'pong' || msg.type === 'error') {
        /* keepalive; errors concern requests the page did not make */
      } else if (msg.seq !== undefined) {
        onEvent(msg);
      }
    };
  }

  open();
  return {
    stop() {
      stopped = true;
      clearTimeout(retryTimer);
      clearInterval(pingTimer);
      if (ws) ws.close();
    },
    // Retry now instead of waiting for the backoff.
    retryNow() {
      if (retryTimer) {
        clearTimeout(retryTimer);
        open();
      }
    },
  };
}

// Where the stream resumes after a hello, and whether the page must reload its snapshots
// first. lastSeq: the last event the page applied (null or 0: none, so load everything).
// reduced: the page reads without MARKET_DATA, whose ring (first_other) reaches further
// back. A newest seq below ours means the host restarted (numbering began again); a
// first seq past ours + 1 means events the page missed are gone.
export function resumePoint(hello, lastSeq, reduced = false) {
  const last = Math.max(hello.last || 0, 0);
  if (!lastSeq) return { reload: true, since: last };
  const first = reduced ? hello.first_other ?? hello.first : hello.first;
  if (last < lastSeq || first > lastSeq + 1) return { reload: true, since: last };
  return { reload: false, since: lastSeq };
}
