// ws.test.mjs: the WebSocket stream on /ws against the real binary (node --test).
//
// One host (2000 events/s) serves the protocol tests; hosts with their own config cover
// server pings, the client cap, the gap on resume, slow consumers (a fast feed and
// clients that never read: dropped with 1008 while host memory stays flat), and
// conflation (checked against a client that takes every event). Clients are
// the npm `ws` package, or a bare socket where a test needs frames `ws` would refuse to
// send (unmasked, invalid UTF-8, fragments with a ping in between).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, Host, OP, RawClient, SIGNALS_LUA, config, frame, hostNodelay } from './ws_harness.mjs';

// A hung test fails instead of blocking the suite.
const T = { timeout: 90000 };

// Every event after the first follows its predecessor with no gap and no duplicate.
function assertContiguous(events, from) {
  let want = from;
  for (const e of events) {
    assert.equal(e.seq, want, `expected seq ${want}, got ${e.seq}`);
    want++;
  }
}

describe('ws protocol', () => {
  let host;
  before(async () => {
    host = await Host.start(config());
  });
  after(async () => {
    const r = await host.stop();
    assert.equal(r.code, 0);
  });

  test('no token: 401; wrong token: 401; another origin: 403', T, async () => {
    await assert.rejects(Client.open(host, { token: null }), { status: 401 });
    await assert.rejects(Client.open(host, { token: 'x'.repeat(64) }), { status: 401 });
    await assert.rejects(Client.open(host, { origin: 'http://evil.example' }), { status: 403 });
    await assert.rejects(Client.open(host, { origin: `http://127.0.0.1:${host.port + 1}` }), { status: 403 });
  });

  test('the token as ?token= or as the login cookie; the page origin is allowed', T, async () => {
    const a = await Client.open(host, { token: null, query: `?token=${host.token}` });
    const b = await Client.open(host, { token: null, headers: { Cookie: `luatrade_token=${host.token}` } });
    const c = await Client.open(host, { origin: `http://127.0.0.1:${host.port}` });
    for (const x of [a, b, c]) {
      assert.equal((await x.next()).type, 'hello');
      await x.close();
    }
  });

  test('bad upgrade headers: 400', T, async () => {
    const base = {
      Host: `127.0.0.1:${host.port}`,
      Upgrade: 'websocket',
      Connection: 'Upgrade',
      'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
      Authorization: `Bearer ${host.token}`,
    };
    const cases = [
      { 'Sec-WebSocket-Version': '8' },
      { 'Sec-WebSocket-Key': 'short' },
      { Upgrade: 'h2c' },
      { Connection: 'keep-alive' },
    ];
    for (const change of cases) {
      const r = await RawClient.open(host, { headers: { ...base, ...change } });
      assert.equal(r.status, 400, JSON.stringify(change));
      r.destroy();
    }
    const ok = await RawClient.open(host, { headers: base });
    assert.equal(ok.status, 101);
    assert.match(ok.response, /Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/);
    ok.destroy();
  });

  test('hello, then the stream filtered by type and symbol', T, async () => {
    const c = await Client.open(host);
    const [hello, sub] = await c.subscribe({ types: ['MARKET_DATA'], symbols: ['AAPL'] });
    assert.equal(hello.type, 'hello');
    assert.ok(hello.last > 0 && hello.first >= 1 && hello.first_other >= 1);
    assert.deepEqual(sub, { type: 'subscribed', since: sub.since, gap: false });
    assert.ok(sub.since >= hello.last);
    const evs = await c.events(200);
    let prev = sub.since;
    for (const e of evs) {
      assert.equal(e.type, 'MARKET_DATA');
      assert.equal(e.data.symbol, 'AAPL');
      assert.ok(e.seq > prev);
      prev = e.seq;
      assert.match(e.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    }
    await c.close();

    // Bars of one symbol (1 s bars close every second).
    const b = await Client.open(host);
    await b.subscribe({ types: ['BAR'], symbols: ['MSFT'] });
    for (const e of await b.events(2)) {
      assert.equal(e.type, 'BAR');
      assert.equal(e.data.symbol, 'MSFT');
    }
    await b.close();

    // A symbol filter alone: events about other symbols never arrive.
    const s = await Client.open(host);
    await s.subscribe({ symbols: ['MSFT'] });
    for (const e of await s.events(300)) if (e.data.symbol !== undefined) assert.equal(e.data.symbol, 'MSFT');
    await s.close();
  });

  test('the host sets TCP_NODELAY on the upgraded socket', T, async (t) => {
    const c = await Client.open(host);
    await c.subscribe();
    const nodelay = hostNodelay(host, c.ws._socket.localPort);
    await c.close();
    if (nodelay === null) return t.skip('pidfd_getfd not permitted (needs ptrace rights over the host)');
    assert.equal(nodelay, 1);
  });

  test('errors keep the connection open; ping op; binary messages', T, async () => {
    const c = await Client.open(host);
    await c.next((m) => m.type === 'hello');
    const bads = ['not json', '{"op":"nope"}', '{"op":"subscribe","symbols":["ZZZZ"]}', '[1,2]',
      '{"op":"subscribe","conflate_ms":5}', '{"op":"subscribe","conflate_ms":"250"}'];
    for (const bad of bads) {
      c.send(bad);
      const m = await c.next();
      assert.equal(m.type, 'error', bad);
      assert.equal(typeof m.message, 'string');
    }
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    assert.match((await c.next()).message, /binary/);
    c.send({ op: 'ping' });
    assert.deepEqual(await c.next(), { type: 'pong' });
    await c.close();
  });

  test('resume after reconnect with since: no gap, no duplicate', T, async () => {
    const a = await Client.open(host);
    const [, sub] = await a.subscribe();
    const first = await a.events(500);
    assertContiguous(first, sub.since + 1);
    a.ws.terminate(); // mid-stream, as a dropped network would
    const last = first[first.length - 1].seq;

    const b = await Client.open(host);
    const [, sub2] = await b.subscribe({ since: last });
    assert.deepEqual(sub2, { type: 'subscribed', since: last, gap: false });
    assertContiguous(await b.events(500), last + 1);
    await b.close();

    // A resume point the host never reached (it restarted): a gap, from now on.
    const c = await Client.open(host);
    const [hello, sub3] = await c.subscribe({ since: 1e12 });
    assert.equal(sub3.gap, true);
    assert.ok(sub3.since >= hello.last);
    await c.close();
  });

  test('a re-subscribe changes the filter without losing the place', T, async () => {
    const c = await Client.open(host);
    const [, sub] = await c.subscribe({ types: ['MARKET_DATA'] });
    const evs = await c.events(50);
    c.send({ op: 'subscribe' });
    const sub2 = await c.next((m) => m.type === 'subscribed');
    assert.equal(sub2.gap, false);
    assert.ok(sub2.since >= evs[evs.length - 1].seq && sub2.since > sub.since);
    const all = await c.events(300);
    // Whatever arrived after the re-subscribe is contiguous from its since.
    const tail = all.filter((e) => e.seq > sub2.since);
    assertContiguous(tail, sub2.since + 1);
    await c.close();
  });

  test('a fragmented message, with a ping between its fragments', T, async () => {
    const r = await RawClient.open(host);
    assert.equal(r.status, 101);
    assert.equal((await r.json()).type, 'hello');
    // "é" (2 bytes) split across two fragments: UTF-8 is checked on the whole message.
    const msg = Buffer.from('{"op":"subscribe","types":["MARKET_DATA"],"note":"é"}');
    const cut = msg.indexOf(0xc3) + 1;
    r.write(frame(OP.TEXT, msg.subarray(0, 10), { fin: false }));
    r.write(frame(OP.PING, 'hi'));
    r.write(frame(OP.CONT, msg.subarray(10, cut), { fin: false }));
    r.write(frame(OP.CONT, msg.subarray(cut)));
    // The pong (wslay's) and the reply (ours) come next, in either order.
    const two = [await r.next(), await r.next()];
    const pong = two.find((f) => f.opcode === OP.PONG);
    assert.equal(pong.payload.toString(), 'hi');
    const reply = two.find((f) => f.opcode === OP.TEXT);
    assert.equal(JSON.parse(reply.payload.toString()).type, 'subscribed');
    const ev = await r.json((m) => m.seq !== undefined);
    assert.equal(ev.type, 'MARKET_DATA');
    r.write(frame(OP.CLOSE, Buffer.from([0x03, 0xe8])));
    const close = await r.closeFrame();
    assert.equal(close.code, 1000);
    await r.ended;
  });

  test('an unmasked client frame: close 1002', T, async () => {
    const r = await RawClient.open(host);
    await r.json();
    r.write(frame(OP.TEXT, '{"op":"ping"}', { mask: false }));
    assert.equal((await r.closeFrame()).code, 1002);
    await r.ended;
  });

  test('a message over the size limit: close 1009', T, async () => {
    const c = await Client.open(host);
    await c.next();
    c.send('x'.repeat(70 * 1024));
    assert.equal((await c.closed).code, 1009);
    // In fragments too: the total counts.
    const r = await RawClient.open(host);
    await r.json();
    const part = Buffer.alloc(40 * 1024, 0x20);
    r.write(frame(OP.TEXT, part, { fin: false }));
    r.write(frame(OP.CONT, part));
    assert.equal((await r.closeFrame()).code, 1009);
    r.destroy();
  });

  test('invalid UTF-8 in a text message: close 1007', T, async () => {
    const r = await RawClient.open(host);
    await r.json();
    r.write(frame(OP.TEXT, Buffer.from([0x7b, 0xff, 0xfe, 0x7d])));
    assert.equal((await r.closeFrame()).code, 1007);
    await r.ended;
  });

  test('abrupt disconnects mid-stream leave the host running', T, async () => {
    assert.equal(host.ignores(13), 1, 'SIGPIPE is ignored');
    const opened = host.grep(/ws closed/).length;
    // Sockets closed or reset while the host writes to them (rounds: without SIGPIPE
    // ignored, a write after the reset would end the host).
    for (let round = 0; round < 8; round++) {
      const clients = await Promise.all(Array.from({ length: 20 }, () => Client.open(host)));
      await Promise.all(clients.map((c) => c.subscribe()));
      await Promise.all(clients.map((c) => c.events(50)));
      for (const [i, c] of clients.entries()) {
        if (i % 2) c.ws._socket.resetAndDestroy();
        else c.ws.terminate();
      }
    }
    // Half a frame, then gone; an upgrade request cut off; a socket gone before 101.
    const r = await RawClient.open(host);
    r.write(frame(OP.TEXT, '{"op":"subscribe"}').subarray(0, 5));
    r.destroy();
    const half = new RawClient(host, true);
    await half.connected;
    half.write(`GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${host.port}\r\nUpgrade: websocket\r\n`);
    half.destroy();
    await host.waitCount(/ws closed/, opened + 161);
    assert.ok(host.alive());
    const c = await Client.open(host);
    await c.subscribe();
    assert.equal((await c.events(10)).length, 10);
    await c.close();
  });

  test('100 concurrent clients all receive every event', T, async () => {
    const clients = await Promise.all(Array.from({ length: 100 }, () => Client.open(host)));
    const subs = await Promise.all(clients.map((c) => c.subscribe()));
    const got = await Promise.all(clients.map((c) => c.events(400)));
    for (let i = 0; i < clients.length; i++) assertContiguous(got[i], subs[i][1].since + 1);
    // They all saw the same events: the seq ranges overlap and agree on content.
    const common = Math.max(...subs.map((s) => s[1].since)) + 1;
    const ref = new Map(got[0].map((e) => [e.seq, JSON.stringify(e)]));
    for (const evs of got) for (const e of evs) if (ref.has(e.seq) && e.seq >= common) assert.equal(JSON.stringify(e), ref.get(e.seq));
    await Promise.all(clients.map((c) => c.close()));
  });

  test('shutdown closes open sessions with 1001', T, async () => {
    const h = await Host.start(config());
    const c = await Client.open(h);
    await c.subscribe();
    await c.events(10);
    const r = await h.stop();
    assert.equal(r.code, 0);
    assert.equal((await c.closed).code, 1001);
  });
});

describe('ws pings and limits', () => {
  let host;
  before(async () => {
    host = await Host.start(config({ ws: 'ping = "200ms", pong_timeout = "1s", max_clients = 3' }));
  });
  after(async () => {
    assert.equal((await host.stop()).code, 0);
  });

  test('the server pings; a client that never answers is closed', T, async () => {
    const c = await Client.open(host); // `ws` answers pings by itself
    const r = await RawClient.open(host); // this one never sends a byte
    await r.next((f) => f.opcode === OP.PING, 5000);
    const close = await r.closeFrame(5000);
    assert.equal(close.code, 1001);
    assert.equal(close.reason, 'ping timeout');
    assert.ok(c.pings >= 2, `pings: ${c.pings}`);
    assert.equal(c.ws.readyState, c.ws.OPEN);
    await c.close();
    r.destroy();
  });

  test('past max_clients: 503', T, async () => {
    const cs = await Promise.all([0, 1, 2].map(() => Client.open(host)));
    await assert.rejects(Client.open(host), { status: 503 });
    await Promise.all(cs.map((c) => c.close()));
    const again = await Client.open(host);
    await again.close();
  });
});

describe('ws slow consumers', () => {
  test('a resume from before the log: gap, from the oldest held', T, async () => {
    // 1024 slots at 2000 events/s: the log turns over every half second.
    const host = await Host.start(config({ ws: 'history = 1024, history_other = 1024' }));
    try {
      // Read until the log has turned over (a new client's hello says so).
      const w = await Client.open(host);
      await w.subscribe();
      let hello;
      for (;;) {
        await w.events(500);
        const c = await Client.open(host);
        hello = await c.next();
        await c.close();
        if (hello.first > 1) break;
      }
      await w.close();

      const c = await Client.open(host);
      await c.next();
      c.send({ op: 'subscribe', since: 0 });
      const sub = await c.next((m) => m.type === 'subscribed');
      assert.equal(sub.gap, true);
      assert.ok(sub.since + 1 >= hello.first);
      assertContiguous(await c.events(100), sub.since + 1);
      // Without market data the other ring still reaches back to the start.
      const o = await Client.open(host);
      await o.next();
      o.send({ op: 'subscribe', types: ['BAR'], since: 0 });
      const osub = await o.next((m) => m.type === 'subscribed');
      assert.deepEqual(osub, { type: 'subscribed', since: 0, gap: false });
      await o.close();
      await c.close();
    } finally {
      assert.equal((await host.stop()).code, 0); // 0: no leak under ASan either
    }
  });

  test('a client the log has left behind is dropped with 1008', T, async () => {
    // A small log, a fast feed and no stall limit: the log turns over in 50 ms.
    const host = await Host.start(config({ rate: 20000, ws: 'history = 1024, queue = 65536, stall = "600s"' }));
    try {
      const r = await RawClient.open(host);
      await r.json((m) => m.type === 'hello');
      r.write(frame(OP.TEXT, '{"op":"subscribe"}'));
      await r.json((m) => m.type === 'subscribed');
      r.pause();
      const m = await host.waitFor(/ws slow consumer dropped peer=(\S+) why=(\S+)/);
      assert.equal(m[2], 'events_lost');
      r.resume();
      const close = await r.closeFrame(20000);
      assert.deepEqual([close.code, close.reason], [1008, 'slow consumer']);
      r.destroy();
    } finally {
      assert.equal((await host.stop()).code, 0); // 0: no leak under ASan either
    }
  });

  test('clients that never read are dropped with 1008; memory stays flat', T, async () => {
    // Under AddressSanitizer freed memory waits in a quarantine (RSS would measure that):
    // no quarantine for this host. A build without ASan ignores the variable.
    const asan = [process.env.ASAN_OPTIONS, 'quarantine_size_mb=0', 'thread_local_quarantine_size_kb=0'];
    const host = await Host.start(config({ rate: 20000, ws: 'queue = 262144, stall = "1s", history = 65536' }), {
      env: { ASAN_OPTIONS: asan.filter(Boolean).join(':') },
    });
    try {
      // Warm up: one reader over a full turn of the log, so every slot's JSON exists.
      const w = await Client.open(host);
      await w.subscribe();
      await w.events(70000, 60000);
      await w.close();
      const check = await Client.open(host);
      assert.ok((await check.next()).first > 1, 'the log has turned over');
      await check.close();
      const before = host.rssKiB();

      const slow = [];
      for (let i = 0; i < 10; i++) {
        const r = await RawClient.open(host);
        await r.json((m) => m.type === 'hello');
        r.write(frame(OP.TEXT, '{"op":"subscribe"}'));
        await r.json((m) => m.type === 'subscribed');
        r.pause();
        slow.push(r);
      }
      const fast = await Client.open(host);
      await fast.subscribe();
      let peak = before;
      const sample = setInterval(() => (peak = Math.max(peak, host.rssKiB())), 50);
      await host.waitCount(/ws slow consumer dropped/, 10, { ms: 60000 });
      assert.equal(host.grep(/why=queue_full/).length, 10);
      // The fast reader kept up through all of it.
      const evs = await fast.events(20000, 60000);
      assertContiguous(evs, evs[0].seq);
      clearInterval(sample);
      const grown = peak - before;
      console.log(`rss before=${before} KiB peak=${peak} KiB grown=${grown} KiB`);
      assert.ok(grown < 16 * 1024, `rss grew by ${grown} KiB`);

      // Each slow client, once it reads, finds the close frame after what was queued.
      for (const r of slow) {
        r.resume();
        const close = await r.closeFrame(20000);
        assert.equal(close.code, 1008);
        assert.equal(close.reason, 'slow consumer');
        r.destroy();
      }
      assert.equal(host.grep(/ws slow consumer dropped/).length, 10);
      assert.equal(fast.ws.readyState, fast.ws.OPEN);
      await fast.close();
    } finally {
      assert.equal((await host.stop()).code, 0); // 0: no leak under ASan either
    }
  });
});

// (symbol, kind) of a market event.
const keyOf = (e) => `${e.data.symbol}/${e.data.kind}`;

// Checks conflated ticks against the raw stream (every event, from the same since):
// each tick is the raw event of its seq plus "conflated" (and "size_sum" for a trade):
// the number (and summed size) of its key's raw events since that key's previous tick,
// or since `since` for its first.
function assertFolded(ticks, rawEvents, since) {
  const bySeq = new Map(rawEvents.map((e) => [e.seq, e]));
  const prev = new Map();
  for (const t of ticks) {
    const k = keyOf(t);
    const from = prev.get(k) ?? since;
    const folded = rawEvents.filter((e) => e.type === 'MARKET_DATA' && keyOf(e) === k && e.seq > from && e.seq <= t.seq);
    const { conflated, size_sum: sizeSum, ...data } = t.data;
    assert.deepEqual({ ...t, data }, bySeq.get(t.seq), `tick ${t.seq} is the raw event`);
    assert.equal(conflated, folded.length, `${k} at ${t.seq}: events folded since ${from}`);
    if (t.data.kind === 'trade') assert.equal(sizeSum, folded.reduce((a, e) => a + e.data.size, 0));
    else assert.equal(sizeSum, undefined);
    prev.set(k, t.seq);
  }
}

// Events from c until one with a seq >= seq.
async function eventsUpTo(c, seq) {
  const out = [];
  while (!out.length || out[out.length - 1].seq < seq) out.push((await c.events(1))[0]);
  return out;
}

describe('ws conflation', () => {
  let host;
  before(async () => {
    // 4000 events/s over two symbols (30 % trades), and a signal every 5th trade.
    host = await Host.start(config({ rate: 4000, signals: true }), { files: { 'signals.lua': SIGNALS_LUA } });
  });
  after(async () => {
    assert.equal((await host.stop()).code, 0);
  });

  test('market data: per round one tick per symbol and kind, the latest, folding counts and sizes', T, async () => {
    const raw = await Client.open(host);
    const [, rsub] = await raw.subscribe({ types: ['MARKET_DATA'] });
    const c = await Client.open(host);
    const arrived = new Map(); // seq -> when it arrived
    c.ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.seq) arrived.set(m.seq, performance.now());
    });
    const [, sub] = await c.subscribe({ types: ['MARKET_DATA'], since: rsub.since, conflate_ms: 250 });
    assert.deepEqual(sub, { type: 'subscribed', since: rsub.since, gap: false, conflate_ms: 250 });
    const t0 = performance.now();
    const ticks = await c.events(4 * 9);
    const elapsed = performance.now() - t0;
    const rawEvents = await eventsUpTo(raw, ticks[ticks.length - 1].seq);
    for (let i = 1; i < ticks.length; i++) assert.ok(ticks[i].seq > ticks[i - 1].seq);
    // A round's ticks arrive together, rounds 250 ms apart (the first may come at once
    // after subscribing, and be partial: the grid is the host clock's).
    const rounds = [[ticks[0]]];
    for (let i = 1; i < ticks.length; i++) {
      if (arrived.get(ticks[i].seq) - arrived.get(ticks[i - 1].seq) > 100) rounds.push([]);
      rounds[rounds.length - 1].push(ticks[i]);
    }
    // Per key at most one tick a round: ticks of a key no more often than rounds come.
    assert.ok(rounds.length >= 9, `${rounds.length} rounds`);
    assert.ok(elapsed >= 250 * (rounds.length - 2), `${rounds.length} rounds in ${elapsed} ms`);
    // Each key changes hundreds of times in 250 ms: every full round has all four.
    for (const [r, round] of rounds.slice(1, -1).entries()) {
      assert.equal(round.length, 4, `round ${r + 1}: ${round.map(keyOf)}`);
      assert.equal(new Set(round.map(keyOf)).size, 4, `round ${r + 1}: ${round.map(keyOf)}`);
      // The latest: no newer event of its key up to the end of its round.
      const end = round[3].seq;
      for (const t of round) {
        const newer = rawEvents.find((e) => keyOf(e) === keyOf(t) && e.seq > t.seq && e.seq <= end);
        assert.equal(newer, undefined, `round ${r + 1}: ${keyOf(t)} at ${t.seq} is not the latest`);
        assert.ok(t.data.conflated > 10, 'each tick folded many events');
      }
    }
    assertFolded(ticks, rawEvents, rsub.since);
    await c.close();
    await raw.close();
  });

  test('every other event arrives in full, in seq order; resume with since', T, async () => {
    const raw = await Client.open(host);
    const [, rsub] = await raw.subscribe();
    const a = await Client.open(host);
    await a.subscribe({ since: rsub.since, conflate_ms: 100 });
    const t0 = Date.now();
    const first = await a.events(400);
    a.ws.terminate(); // mid-stream
    const last = first[first.length - 1].seq;
    const b = await Client.open(host);
    const [, sub] = await b.subscribe({ since: last, conflate_ms: 100 });
    assert.deepEqual(sub, { type: 'subscribed', since: last, gap: false, conflate_ms: 100 });
    const second = await b.events(400);
    const elapsed = Date.now() - t0;
    const all = first.concat(second);
    for (let i = 1; i < all.length; i++) assert.ok(all[i].seq > all[i - 1].seq, `seq ${all[i].seq} after ${all[i - 1].seq}`);

    const upto = all[all.length - 1].seq;
    const rawEvents = (await eventsUpTo(raw, upto)).filter((e) => e.seq <= upto);
    const others = (evs) => evs.filter((e) => e.type !== 'MARKET_DATA');
    assert.deepEqual(others(all), others(rawEvents));
    assert.ok(others(all).length > 300, `${others(all).length} non-market events`);
    // Market data conflated: four keys, at most one tick each per 100 ms round.
    const ticks = all.filter((e) => e.type === 'MARKET_DATA');
    assert.ok(ticks.length <= 4 * (elapsed / 100 + 3), `${ticks.length} ticks in ${elapsed} ms`);
    assertFolded(ticks.filter((e) => e.seq <= last), rawEvents, rsub.since);
    // After the resume, counts start from since.
    assertFolded(ticks.filter((e) => e.seq > last), rawEvents, last);
    await b.close();
    await raw.close();
  });
});

describe('ws conflation under a fast feed', () => {
  test('at 50,000 events/s a slow conflated client keeps up; a slow raw one is dropped', T, async () => {
    const host = await Host.start(config({ rate: 50000, ws: 'queue = 262144, stall = "1s"' }));
    try {
      const open = async (sub) => {
        const r = await RawClient.open(host);
        await r.json((m) => m.type === 'hello');
        r.write(frame(OP.TEXT, JSON.stringify({ op: 'subscribe', ...sub })));
        await r.json((m) => m.type === 'subscribed');
        r.throttle(256 * 1024); // 256 KB/s: a twentieth of the raw stream
        return r;
      };
      const slowRaw = await open({});
      const slowConflated = await open({ conflate_ms: 100 });
      const m = await host.waitFor(/ws slow consumer dropped peer=(\S+) why=(\S+)/);
      assert.equal(m[1], `127.0.0.1:${slowRaw.sock.localPort}`);
      // Three more seconds: the conflated client still gets recent market data.
      const until = Date.now() + 3000;
      let tick;
      while (Date.now() < until) tick = await slowConflated.json((x) => x.type === 'MARKET_DATA');
      const lagMs = Date.now() - Date.parse(tick.ts);
      assert.ok(lagMs < 1000, `the conflated client is ${lagMs} ms behind`);
      assert.ok(tick.data.conflated > 1);
      assert.equal(host.grep(/ws slow consumer dropped/).length, 1);
      slowRaw.destroy();
      slowConflated.destroy();
    } finally {
      assert.equal((await host.stop()).code, 0);
    }
  });
});
