// ws_harness.mjs: the real binary and WebSocket clients for tests/api/ws.test.mjs.
//
//   const host = await Host.start(config({ ws: 'ping = "1s"' }));
//   const c = await Client.open(host);          // the npm `ws` client, with the token
//   await c.send({ op: 'subscribe' }); const m = await c.next();
//   const r = await RawClient.open(host);        // a bare socket: frames by hand
//   await host.stop();
//
// Host starts `luatrade run config.lua --var var --listen 127.0.0.1:0` in a scratch
// directory and reads the port and token from its "http listening" log line. Every wait
// has a deadline and fails with what was seen; nothing sleeps when it can wait on an
// event. Environment: LUATRADE_BIN (default build/luatrade), LUATRADE_SRC (default cwd).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import WebSocket from 'ws';

const SRC = process.env.LUATRADE_SRC || process.cwd();
const BIN = process.env.LUATRADE_BIN || path.join(SRC, 'build', 'luatrade');

// A config: two simulated symbols at `rate` events/s, no HTTP rate limit (100 clients
// connect at once), and `ws` as the body of the ws = { } table. No strategy, or with
// signals: SIGNALS_LUA (Host.start's files puts it next to the config), which turns
// market data into a steady stream of non-market events.
export function config({ rate = 2000, ws = '', signals = false } = {}) {
  return `return {
  feed = { kind = "sim", rate = ${rate}, symbols = {
    AAPL = { price = 190, tick = 0.01, vol = 0.002 },
    MSFT = { price = 410, tick = 0.01, vol = 0.002 } } },
  journal = { sync = false },
  http = { rate = 0 },
  ws = { ${ws} },${signals ? '\n  strategies = { { script = "signals.lua" } },' : ''}
}
`;
}

// A strategy that emits a SIGNAL_GENERATED about every 5th trade of each symbol.
export const SIGNALS_LUA = `strategy { name = "signals", symbols = { "AAPL", "MSFT" } }
local n = 0
function on_trade(t)
  n = n + 1
  if n % 5 == 0 then signal("every5", { symbol = t.symbol, n = n }) end
end
`;

// Resolves when fn() returns a truthy value (checked on each call of poke()), rejects
// after ms with a description.
function deadline(ms, what) {
  let timer;
  const p = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what()}`)), ms);
  });
  return { p, clear: () => clearTimeout(timer) };
}

export class Host {
  // env: extra environment variables for the host; files: {name: text} written into its
  // directory first.
  static async start(cfg, { args = [], env = {}, files = {} } = {}) {
    const h = new Host(cfg, args, env, files);
    const m = await h.waitFor(/http listening url=(\S+) login=(\S+)/);
    h.port = Number(new URL(m[1]).port);
    h.token = new URL(m[2]).searchParams.get('token');
    await h.waitFor(/host ready/);
    return h;
  }

  constructor(cfg, args, env, files = {}) {
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'luatrade-ws-'));
    writeFileSync(path.join(this.dir, 'config.lua'), cfg);
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(this.dir, name), text);
    this.lines = [];
    this.waiters = new Set();
    this.proc = spawn(BIN, ['run', 'config.lua', '--var', 'var', '--listen', '127.0.0.1:0', ...args], {
      cwd: this.dir,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, sig) => resolve({ code, sig })));
    let partial = '';
    const onData = (d) => {
      partial += d.toString();
      const parts = partial.split('\n');
      partial = parts.pop();
      for (const line of parts) {
        this.lines.push(line);
        for (const w of this.waiters) w(line);
      }
    };
    this.proc.stdout.on('data', onData);
    this.proc.stderr.on('data', onData);
  }

  // The first log line (already written or still to come) matching re.
  waitFor(re, { ms = 30000 } = {}) {
    for (const line of this.lines) {
      const m = line.match(re);
      if (m) return Promise.resolve(m);
    }
    return this.waitLine((line) => line.match(re), ms, `${re}`);
  }

  // Until n log lines match re.
  async waitCount(re, n, { ms = 30000 } = {}) {
    let have = this.grep(re).length;
    if (have >= n) return;
    await this.waitLine((line) => re.test(line) && ++have >= n, ms, `${n} lines matching ${re}`);
  }

  // Calls test(line) on each new line until it returns a truthy value (resolved).
  waitLine(test, ms, what) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error(`timed out after ${ms} ms waiting for ${what}; last lines:\n${this.lines.slice(-10).join('\n')}`));
      }, ms);
      const w = (line) => {
        const r = test(line);
        if (!r) return;
        this.waiters.delete(w);
        clearTimeout(timer);
        resolve(r);
      };
      this.waiters.add(w);
    });
  }

  // Log lines matching re (so far).
  grep(re) {
    return this.lines.filter((l) => re.test(l));
  }

  alive() {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  // Resident memory in KiB (/proc/PID/status VmRSS).
  rssKiB() {
    const s = readFileSync(`/proc/${this.proc.pid}/status`, 'utf8');
    return Number(s.match(/VmRSS:\s+(\d+) kB/)[1]);
  }

  // 1 when the host ignores signal number sig (/proc/PID/status SigIgn).
  ignores(sig) {
    const s = readFileSync(`/proc/${this.proc.pid}/status`, 'utf8');
    return (BigInt('0x' + s.match(/SigIgn:\s+([0-9a-f]+)/)[1]) >> BigInt(sig - 1)) & 1n ? 1 : 0;
  }

  wsUrl(query = '') {
    return `ws://127.0.0.1:${this.port}/ws${query}`;
  }

  async stop() {
    if (this.alive()) this.proc.kill('SIGINT');
    const d = deadline(30000, () => 'the host to exit');
    const r = await Promise.race([this.exited, d.p]);
    d.clear();
    rmSync(this.dir, { recursive: true, force: true });
    return r;
  }
}

// TCP_NODELAY (1 or 0) on the host's end of the connection whose client port is
// clientPort, read by borrowing the host's socket (pidfd_getfd, Linux 5.6): null when
// not permitted (it needs ptrace rights over the host, e.g. root).
const NODELAY_PY = `
import ctypes, os, socket, sys
pid, port = int(sys.argv[1]), int(sys.argv[2])
inodes = set()
with open(f"/proc/{pid}/net/tcp") as f:
    for line in f.readlines()[1:]:
        p = line.split()
        if int(p[2].split(":")[1], 16) == port:
            inodes.add(p[9])
libc = ctypes.CDLL(None, use_errno=True)
pidfd = os.pidfd_open(pid)
for fd in os.listdir(f"/proc/{pid}/fd"):
    try:
        link = os.readlink(f"/proc/{pid}/fd/{fd}")
    except OSError:
        continue
    if link.startswith("socket:[") and link[8:-1] in inodes:
        mine = libc.syscall(438, pidfd, int(fd), 0)  # pidfd_getfd
        if mine < 0:
            print("null")
            sys.exit(0)
        s = socket.socket(fileno=mine)
        print(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        s.detach()
        os.close(mine)
        sys.exit(0)
sys.exit("no such connection")
`;

export function hostNodelay(host, clientPort) {
  const out = execFileSync('python3', ['-c', NODELAY_PY, String(host.proc.pid), String(clientPort)]);
  return JSON.parse(out.toString());
}

// A queue of things that arrive (messages, events) with deadline-bound waits.
class Inbox {
  constructor(what) {
    this.items = [];
    this.waiter = null;
    this.what = what;
  }

  push(x) {
    this.items.push(x);
    if (this.waiter) this.waiter();
  }

  // The next item matching pred (items before it that do not match are dropped).
  async next(pred = () => true, ms = 10000) {
    const d = deadline(ms, () => `${this.what} (have ${this.items.length} unread)`);
    try {
      for (;;) {
        while (this.items.length) {
          const x = this.items.shift();
          if (pred(x)) return x;
        }
        await Promise.race([d.p, new Promise((resolve) => (this.waiter = resolve))]);
        this.waiter = null;
      }
    } finally {
      d.clear();
    }
  }
}

// The npm `ws` client; messages parsed as JSON into an inbox.
export class Client {
  // opts: token (default the host's; null: none), origin, headers, query.
  static open(host, { token = host.token, origin, headers = {}, query = '' } = {}) {
    const h = { ...headers };
    if (token) h.Authorization = `Bearer ${token}`;
    const ws = new WebSocket(host.wsUrl(query), { headers: h, origin, perMessageDeflate: false });
    const c = new Client(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(c));
      ws.once('unexpected-response', (req, res) => {
        const e = new Error(`upgrade refused: ${res.statusCode}`);
        e.status = res.statusCode;
        res.resume();
        reject(e);
      });
      ws.once('error', reject);
    });
  }

  constructor(ws) {
    this.ws = ws;
    this.inbox = new Inbox('a WebSocket message');
    this.pings = 0;
    ws.on('message', (data, isBinary) => this.inbox.push(JSON.parse(data.toString())));
    ws.on('ping', () => this.pings++);
    ws.on('error', () => {});
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  send(obj) {
    this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
  }

  next(pred, ms) {
    return this.inbox.next(pred, ms);
  }

  // hello, then subscribe with opts; returns [hello, subscribed].
  async subscribe(opts = {}) {
    const hello = await this.next((m) => m.type === 'hello');
    this.send({ op: 'subscribe', ...opts });
    const sub = await this.next((m) => m.type === 'subscribed' || m.type === 'error');
    return [hello, sub];
  }

  // The next n events (messages with a seq).
  async events(n, ms = 20000) {
    const out = [];
    while (out.length < n) out.push(await this.next((m) => m.seq !== undefined, ms));
    return out;
  }

  close() {
    this.ws.close();
    return this.closed;
  }
}

// --- raw frames ---

export const OP = { CONT: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 };

// A client frame: masked unless mask is false.
export function frame(opcode, payload, { fin = true, mask = true } = {}) {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const len = data.length;
  const head = [(fin ? 0x80 : 0) | opcode];
  const m = mask ? 0x80 : 0;
  if (len < 126) head.push(m | len);
  else if (len < 65536) head.push(m | 126, len >> 8, len & 0xff);
  else {
    head.push(m | 127);
    for (let i = 7; i >= 0; i--) head.push(Number((BigInt(len) >> BigInt(8 * i)) & 0xffn));
  }
  if (!mask) return Buffer.concat([Buffer.from(head), data]);
  const key = crypto.randomBytes(4);
  const body = Buffer.alloc(len);
  for (let i = 0; i < len; i++) body[i] = data[i] ^ key[i & 3];
  return Buffer.concat([Buffer.from(head), key, body]);
}

// A bare TCP client: does the upgrade by hand, then parses server frames into an inbox
// ({fin, opcode, payload}); the close frame adds code and reason.
export class RawClient {
  static async open(host, { headers, request, read = true } = {}) {
    const r = new RawClient(host, read);
    await r.connected;
    const key = crypto.randomBytes(16).toString('base64');
    const h = headers || {
      Host: `127.0.0.1:${host.port}`,
      Upgrade: 'websocket',
      Connection: 'Upgrade',
      'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': key,
      Authorization: `Bearer ${host.token}`,
    };
    const lines = Object.entries(h).map(([k, v]) => `${k}: ${v}`);
    r.sock.write(request || `GET /ws HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
    const d = deadline(10000, () => 'the upgrade response');
    r.response = await Promise.race([r.head, d.p, r.ended.then(() => Promise.reject(new Error('connection closed before the upgrade response')))]);
    d.clear();
    r.status = Number(r.response.split(' ')[1]);
    r.key = key;
    return r;
  }

  constructor(host, read) {
    this.sock = net.connect(host.port, '127.0.0.1');
    this.connected = new Promise((resolve, reject) => {
      this.sock.once('connect', resolve);
      this.sock.once('error', reject);
    });
    this.sock.on('error', () => {});
    this.buf = Buffer.alloc(0);
    this.frames = new Inbox('a frame');
    this.bytes = 0;
    this.ended = new Promise((resolve) => this.sock.on('close', resolve));
    let gotHead;
    this.head = new Promise((resolve) => (gotHead = resolve));
    this.sock.on('data', (d) => {
      this.bytes += d.length;
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      if (gotHead) {
        const end = this.buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = this.buf.subarray(0, end).toString();
        this.buf = this.buf.subarray(end + 4);
        gotHead(head);
        gotHead = null;
      }
      this.parse();
    });
    if (!read) this.sock.pause();
  }

  parse() {
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      let len = b[1] & 0x7f;
      let off = 2;
      if (b[1] & 0x80) throw new Error('server frame is masked');
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        off = 10;
      }
      if (b.length < off + len) return;
      const f = { fin: !!(b[0] & 0x80), opcode: b[0] & 0x0f, payload: b.subarray(off, off + len) };
      if (f.opcode === OP.CLOSE && len >= 2) {
        f.code = f.payload.readUInt16BE(0);
        f.reason = f.payload.subarray(2).toString();
      }
      this.buf = b.subarray(off + len);
      this.frames.push(f);
    }
  }

  write(buf) {
    this.sock.write(buf);
  }

  next(pred, ms) {
    return this.frames.next(pred, ms);
  }

  // The next text message, parsed.
  async json(pred = () => true, ms) {
    const f = await this.next((f) => f.opcode === OP.TEXT && pred(JSON.parse(f.payload.toString())), ms);
    return JSON.parse(f.payload.toString());
  }

  closeFrame(ms) {
    return this.next((f) => f.opcode === OP.CLOSE, ms);
  }

  pause() {
    this.sock.pause();
  }

  // From now on reads about bytesPerSec (a slow consumer): after each 50 ms window's
  // share the socket pauses until the next window (one read can take up to 64 KiB).
  throttle(bytesPerSec) {
    const share = bytesPerSec / 20;
    let used = 0;
    this.sock.on('data', (d) => {
      used += d.length;
      if (used >= share) this.sock.pause();
    });
    this.throttled = setInterval(() => {
      used = 0;
      this.sock.resume();
    }, 50);
  }

  resume() {
    this.sock.resume();
  }

  destroy() {
    clearInterval(this.throttled);
    this.sock.destroy();
  }
}
