// bench_ws_baseline.mjs: the baseline of bench_ws.py: a bare Node `ws` server that
// publishes the host's own event frames at the same rate and fans them out to its
// clients with the host's delivery policy, so host / baseline is the host's overhead.
//
// Usage: node bench_ws_baseline.mjs RATE SECONDS SAMPLE_FILE
// SAMPLE_FILE: JSON lines, events as the host sent them (GET /api/events); they are
// replayed in a loop with fresh seq and ts, keeping the host's key order, so a frame
// has the host's shape and about its size. Listens on 127.0.0.1 (free port), prints
// "listening port=N", serves SECONDS, prints "served frames=N dropped=N" and exits.
//
// Like the host: a client gets {"type":"hello",...}; after {"op":"subscribe",...} a
// {"type":"subscribed",...} and then every event from the newest on (no filter: the
// benchmark subscribes to everything). Pacing: a 1 ms timer publishes the events due
// since start (as the host's live feed does), all stamped with that turn's wall clock
// in microseconds; each event is serialized once into a Buffer kept in a ring of the
// host's size (131072). Fan-out after each publish: per client from its cursor, at
// most 1024 frames a turn, while its send queue (ws.bufferedAmount) is under 1 MiB; a
// client over the cap for 5 s, or whose cursor fell out of the ring, is closed 1008
// "slow consumer". Frames are sent with ws.send(buffer, { binary: false }), the socket
// corked around each client's batch (one writev per client and turn, like the host's
// bufferevent; uncorked, every frame is its own system call and the server tops out
// near 150,000 frames/s here). ws sets TCP_NODELAY on its sockets; the host does not
// (bench_ws.py BENCH_NODELAY=1 measures it with).
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { WebSocketServer } from 'ws';

const [rateArg, secArg, sampleFile] = process.argv.slice(2);
const RATE = Number(rateArg), SECONDS = Number(secArg);
const RING = 131072, MASK = RING - 1, BATCH = 1024, CAP = 1 << 20, STALL_MS = 5000;

// Each sample event as three text parts around its seq and ts.
const templates = readFileSync(sampleFile, 'utf8').split('\n').filter(Boolean).map((line) => {
  const e = JSON.parse(line);
  const rest = JSON.stringify({ source: e.source, data: e.data }).slice(1);
  return ['{"seq":', `,"type":${JSON.stringify(e.type)},"ts":"`, `",${rest}`];
});

const nowUs = () => (performance.timeOrigin + performance.now()) * 1000;
function iso(us) {
  const ms = Math.floor(us / 1000);
  return new Date(ms).toISOString().slice(0, 23) + String(Math.floor(us % 1000)).padStart(3, '0') + 'Z';
}

const ring = new Array(RING);
let head = 0; // events published; the event of seq s (1-based) sits at (s - 1) & MASK
let frames = 0, dropped = 0;
const clients = new Set();
const startUs = nowUs();

function publish() {
  const now = nowUs();
  const due = Math.floor(((now - startUs) * RATE) / 1e6);
  if (head >= due) return;
  const ts = iso(now);
  for (; head < due; head++) {
    const t = templates[head % templates.length];
    ring[head & MASK] = Buffer.from(t[0] + (head + 1) + t[1] + ts + t[2]);
  }
}

function drop(c) {
  dropped++;
  clients.delete(c);
  c.ws.close(1008, 'slow consumer');
}

// Returns true when the client stopped at the batch limit (more waiting).
function flushClient(c, nowMs) {
  if (head - c.cursor > RING) return drop(c), false;
  let n = 0;
  c.ws._socket.cork(); // one writev per client and turn, as the host's bufferevent does
  while (c.cursor < head && n < BATCH && c.ws.bufferedAmount < CAP) {
    c.ws.send(ring[c.cursor & MASK], { binary: false });
    c.cursor++, n++, frames++;
  }
  c.ws._socket.uncork();
  if (c.ws.bufferedAmount >= CAP) {
    c.stalledMs ||= nowMs;
    if (nowMs - c.stalledMs > STALL_MS) drop(c);
    return false;
  }
  c.stalledMs = 0;
  return n === BATCH;
}

let flushQueued = false;
function fanOut() {
  flushQueued = false;
  const nowMs = performance.now();
  let more = false;
  for (const c of clients) if (c.streaming) more = flushClient(c, nowMs) || more;
  if (more && !flushQueued) flushQueued = true, setImmediate(fanOut);
}

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false }, () => {
  console.log(`listening port=${wss.address().port}`);
});
wss.on('connection', (ws) => {
  const c = { ws, cursor: 0, streaming: false, stalledMs: 0 };
  ws.send(JSON.stringify({ type: 'hello', last: head, first: Math.max(1, head - RING + 1), first_other: 1 }));
  ws.on('message', () => {
    c.cursor = head;
    c.streaming = true;
    clients.add(c);
    ws.send(JSON.stringify({ type: 'subscribed', since: head, gap: false }));
  });
  ws.on('close', () => clients.delete(c));
  ws.on('error', () => clients.delete(c));
});

const timer = setInterval(() => {
  publish();
  fanOut();
}, 1);
setTimeout(() => {
  clearInterval(timer);
  console.log(`served frames=${frames} dropped=${dropped} published=${head}`);
  for (const c of wss.clients) c.terminate();
  wss.close();
  setTimeout(() => process.exit(0), 100);
}, SECONDS * 1000);
