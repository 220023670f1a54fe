// bench_ws_client.mjs: N WebSocket clients in one Node process (the npm `ws` package),
// each subscribed to every event, measuring per-client lag (receive time minus the
// event's `ts`) for bench_ws.py, against the host's /ws or the baseline server.
//
// Usage: node bench_ws_client.mjs URL TOKEN CLIENTS WARMUP_S SECONDS [SUBSCRIBE_JSON]
// TOKEN "-" sends no Authorization header (the baseline server wants none).
//
// Each client subscribes (default {"op":"subscribe","types":[],"symbols":[]}: all),
// then for every event frame reads only "seq" and "ts" out of the raw bytes (no JSON
// parse: with 100 clients this process handles 100 frames per published event, and
// parsing them would make it the bottleneck sooner). Receive time is the wall clock
// with microseconds (performance.timeOrigin + performance.now()); the host stamps ts
// from its own wall clock on the same machine, so lag = receive - ts. After WARMUP_S
// it prints "measuring" and measures SECONDS, split into four quarters: per client and
// quarter a histogram of lag (buckets 2 % wide) and a count; per client the seq gaps
// (with everything subscribed, seqs must be consecutive) and how it closed (1008 is the
// host dropping a slow consumer). Then it prints "measured", closes every connection
// cleanly (at most 5 s), prints one JSON line and exits; it exits by itself
// WARMUP_S + SECONDS + 20 s after start whatever happens.
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

const [url, token, nArg, warmArg, secArg, subArg] = process.argv.slice(2);
const N = Number(nArg), WARMUP_MS = Number(warmArg) * 1000, MEASURE_MS = Number(secArg) * 1000;
const SUBSCRIBE = subArg || '{"op":"subscribe","types":[],"symbols":[]}';
const QUARTERS = 4;
const GROWTH = Math.log(1.02);
const NBUCKETS = 1200; // 1.02^1200 µs: far beyond any run

const nowUs = () => (performance.timeOrigin + performance.now()) * 1000;
const bucketOf = (us) => (us < 1 ? 0 : Math.min(NBUCKETS - 1, 1 + Math.floor(Math.log(us) / GROWTH)));
const bucketUpper = (b) => (b === 0 ? 1 : Math.exp(b * GROWTH));

// ts "2026-11-21T10:44:10.141620Z": the part up to the seconds changes once a second.
let tsPrefix = '', tsPrefixUs = 0;
function tsToUs(buf, at) {
  const prefix = buf.toString('latin1', at, at + 19);
  if (prefix !== tsPrefix) {
    tsPrefix = prefix;
    tsPrefixUs = Date.parse(prefix + 'Z') * 1000;
  }
  let frac = 0, digits = 0;
  for (let i = at + 20; buf[i] >= 48 && buf[i] <= 57; i++, digits++) frac = frac * 10 + buf[i] - 48;
  while (digits < 6) frac *= 10, digits++;
  while (digits > 6) frac = Math.floor(frac / 10), digits--;
  return tsPrefixUs + frac;
}

function seqOf(buf, at) {
  let v = 0;
  for (let i = at; buf[i] >= 48 && buf[i] <= 57; i++) v = v * 10 + buf[i] - 48;
  return v;
}

const SEQ = Buffer.from('"seq":'), TS = Buffer.from('"ts":"');
let t0 = 0; // start of the measured window (0 while warming up)
let ended = false;
const plannedT0 = nowUs() / 1000 + WARMUP_MS; // close times are relative to it

function newClient(i) {
  const c = {
    i, events: 0, gaps: 0, dup: 0, lastSeq: 0, firstSeq: 0, warmEvents: 0, negative: 0,
    hist: Array.from({ length: QUARTERS }, () => new Uint32Array(NBUCKETS)),
    counts: new Array(QUARTERS).fill(0), closed: null, error: null, subscribed: false,
  };
  const headers = token === '-' ? {} : { Authorization: `Bearer ${token}` };
  const ws = new WebSocket(url, { headers, perMessageDeflate: false });
  c.ws = ws;
  ws.on('open', () => ws.send(SUBSCRIBE));
  ws.on('message', (data, isBinary) => onFrame(c, data));
  ws.on('close', (code, reason) => { if (!ended) c.closed = { code, reason: String(reason), atMs: nowUs() / 1000 - plannedT0 }; });
  ws.on('error', (e) => { c.error = String(e.message || e); });
  return c;
}

function onFrame(c, buf) {
  if (buf[2] !== 0x73) { // not {"seq":...: hello, subscribed, pong or error
    if (buf.includes('"subscribed"')) c.subscribed = true;
    return;
  }
  const seq = seqOf(buf, SEQ.length + 1);
  if (c.lastSeq && seq !== c.lastSeq + 1) {
    if (seq <= c.lastSeq) c.dup++;
    else c.gaps += seq - c.lastSeq - 1;
  }
  c.lastSeq = seq;
  if (!t0) { c.warmEvents++; return; }
  const now = nowUs();
  const el = now / 1000 - t0;
  if (el >= MEASURE_MS) return;
  if (!c.firstSeq) c.firstSeq = seq;
  const t = buf.indexOf(TS, SEQ.length + 1);
  let lag = now - tsToUs(buf, t + TS.length);
  if (lag < 0) { c.negative++; lag = 0; }
  const q = Math.min(QUARTERS - 1, Math.floor((el * QUARTERS) / MEASURE_MS));
  c.hist[q][bucketOf(lag)]++;
  c.counts[q]++;
  c.events++;
  c.lastMeasuredSeq = seq;
}

function quantile(hists, n, q) {
  if (!n) return null;
  const want = q * n;
  let acc = 0;
  for (let b = 0; b < NBUCKETS; b++) {
    for (const h of hists) acc += h[b];
    if (acc >= want) return bucketUpper(b) / 1000; // ms
  }
  return null;
}

function report(c) {
  const total = c.counts.reduce((a, b) => a + b, 0);
  const qs = c.hist.map((h, k) => ({ n: c.counts[k], p50_ms: quantile([h], c.counts[k], 0.5), p99_ms: quantile([h], c.counts[k], 0.99) }));
  return {
    i: c.i, events: c.events, events_per_s: c.events / (MEASURE_MS / 1000),
    published_per_s: c.firstSeq ? (c.lastMeasuredSeq - c.firstSeq + 1) / (MEASURE_MS / 1000) : 0,
    p50_ms: quantile(c.hist, total, 0.5), p99_ms: quantile(c.hist, total, 0.99), max_ms: quantile(c.hist, total, 1),
    quarters: qs, gaps: c.gaps, dup: c.dup, negative: c.negative, warm_events: c.warmEvents,
    subscribed: c.subscribed, closed: c.closed, error: c.error,
  };
}

const clients = Array.from({ length: N }, (_, i) => newClient(i));
const cpu0 = { v: null, t: 0 };
setTimeout(() => {
  t0 = nowUs() / 1000;
  cpu0.v = process.cpuUsage();
  cpu0.t = performance.now();
  console.log('measuring');
}, WARMUP_MS);
setTimeout(() => {
  ended = true;
  const cpu = process.cpuUsage(cpu0.v);
  const wall = performance.now() - cpu0.t;
  const clock_skew_ms = Date.now() - (performance.timeOrigin + performance.now());
  console.log('measured');
  // a clean close, then the report once the server closed them all (at most 5 s): a
  // client that just exits with unread data makes the kernel reset the connection
  const done = () => {
    console.log(JSON.stringify({
      clients: clients.map(report),
      client_cpu_pct: (100 * (cpu.user + cpu.system)) / 1000 / wall,
      clock_skew_ms,
    }));
    process.exit(0);
  };
  let open = 0;
  for (const c of clients) {
    if (c.ws.readyState !== WebSocket.OPEN) continue;
    open++;
    c.ws.on('close', () => { if (--open === 0) done(); });
    c.ws.close(1000);
  }
  if (open === 0) done();
  setTimeout(done, 5000);
}, WARMUP_MS + MEASURE_MS + 50);
setTimeout(() => process.exit(3), WARMUP_MS + MEASURE_MS + 20000).unref();
