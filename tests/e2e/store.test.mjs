// store.test.mjs: the page's model (web/store.js) and formatting (web/format.js) under
// `node --test`, without a browser: events replayed over snapshots change nothing,
// orders never move back in time, fills are counted once, feeds stay capped, strategy
// events update the table, and numbers read as a trader expects.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';

const SRC = process.env.LUATRADE_SRC || process.cwd();
const { createStore, FEED_CAP, isWorking, symbolsOf, alertText } = await import(pathToFileURL(path.join(SRC, 'web', 'store.js')));
const fmt = await import(pathToFileURL(path.join(SRC, 'web', 'format.js')));
const { resumePoint } = await import(pathToFileURL(path.join(SRC, 'web', 'live.js')));

let seq = 0;
function ev(type, data, ts = '2026-11-21T10:00:00.000000Z') {
  return { seq: ++seq, type, ts, source: 'test', data };
}

const order = (id, status, updated, extra = {}) => ({
  id, status, updated, strategy: 's', symbol: 'AAPL', side: 'buy', qty: 10, filled: 0, ...extra,
});

test('an order never goes back to an older state when events repeat a snapshot', () => {
  const s = createStore();
  s.load.orders([order(1, 'FILLED', '2026-11-21T10:00:02.000000Z')]);
  s.apply(ev('ORDER_ACCEPTED', order(1, 'ACCEPTED', '2026-11-21T10:00:01.000000Z')));
  assert.equal(s.state.orders.get(1).status, 'FILLED');
  s.apply(ev('ORDER_ACCEPTED', order(2, 'ACCEPTED', '2026-11-21T10:00:03.000000Z')));
  assert.deepEqual([...s.state.orders.values()].filter(isWorking).map((o) => o.id), [2]);
  s.apply(ev('ORDER_CANCELED', order(2, 'CANCELED', '2026-11-21T10:00:04.000000Z')));
  assert.equal([...s.state.orders.values()].filter(isWorking).length, 0);
});

test('a fill is counted once, from the stream or the snapshot, and reaches the chart', () => {
  const s = createStore();
  const seen = [];
  s.onMarket((e) => seen.push(e));
  const filled = ev('ORDER_FILLED', order(3, 'FILLED', '2026-11-21T10:00:05.000000Z', {
    fill: { exec_id: 'x-1', symbol: 'AAPL', side: 'buy', price: 190.25, qty: 10, commission: 0.05, time: '2026-11-21T10:00:05.000000Z' },
  }));
  s.load.fills([filled]);
  s.apply(filled);
  assert.equal(s.state.fills.length, 1);
  assert.equal(s.state.fills[0].price, 190.25);
  assert.equal(seen.filter((e) => e.type === 'FILL').length, 1);
});

test('feeds stay capped and newest first', () => {
  const s = createStore();
  for (let i = 0; i < FEED_CAP + 50; i++) s.apply(ev('ALERT', { strategy: 's', severity: 'LOW', message: `m${i}` }));
  assert.equal(s.state.alerts.length, FEED_CAP);
  assert.equal(s.state.alerts[0].data.message, `m${FEED_CAP + 49}`);
  assert.ok(s.state.log.length <= FEED_CAP);
});

test('strategy events update the table: stop, start, reload, errors with file:line', () => {
  const s = createStore();
  s.load.strategies([{ id: 'a', status: 'RUNNING', version: 1, params: {}, last_reload: null, last_error: '', errors: 0 }]);
  s.apply(ev('STRATEGY_STOP', { strategy: 'a', version: 1, reason: 'api' }));
  assert.equal(s.state.strategies.get('a').status, 'STOPPED');
  s.apply(ev('STRATEGY_START', { strategy: 'a', version: 1 }));
  assert.equal(s.state.strategies.get('a').status, 'RUNNING');
  s.apply(ev('STRATEGY_RELOAD', { strategy: 'a', version: 2, old_version: 1, ms: 1.5, status: 'RUNNING' }));
  assert.equal(s.state.strategies.get('a').version, 2);
  assert.equal(s.state.strategies.get('a').status, 'RUNNING');
  assert.equal(s.state.strategies.get('a').last_reload.ok, true);
  s.apply(ev('STRATEGY_ERROR', { strategy: 'a', version: 2, phase: 'reload', message: 'unexpected symbol near x', file: 'a.lua', line: 7 }));
  assert.equal(s.state.strategies.get('a').last_error, 'a.lua:7: unexpected symbol near x');
  assert.equal(s.state.strategies.get('a').last_reload.ok, false);
  s.apply(ev('STRATEGY_STOP', { strategy: 'a', version: 2, reason: 'fault', detail: 'cpu budget in on_bar' }));
  assert.equal(s.state.strategies.get('a').status, 'FAULTED');
  assert.match(s.state.log[0].text, /FAULTED/);
  assert.equal(s.state.log[0].level, 'error');
});

test('a strategies reply older than an event does not undo it', () => {
  const s = createStore();
  s.load.strategies([{ id: 'a', status: 'RUNNING', version: 1 }]);
  const asOf = s.state.lastSeq; // the page sends GET /api/strategies here ...
  s.apply(ev('STRATEGY_STOP', { strategy: 'a', version: 1, reason: 'api' })); // ... an event overtakes it
  s.load.strategies([{ id: 'a', status: 'RUNNING', version: 1 }, { id: 'b', status: 'RUNNING', version: 1 }], asOf);
  assert.equal(s.state.strategies.get('a').status, 'STOPPED');
  assert.equal(s.state.strategies.get('b').status, 'RUNNING');
  s.load.strategies([{ id: 'a', status: 'RUNNING', version: 1 }], s.state.lastSeq); // a newer reply wins
  assert.equal(s.state.strategies.get('a').status, 'RUNNING');
  assert.equal(s.state.strategies.has('b'), false);
});

test('the kill switch and trading state follow their events', () => {
  const s = createStore();
  s.apply(ev('KILL_SWITCH', { active: true, reason: 'api' }));
  assert.equal(s.state.killed, true);
  s.apply(ev('KILL_SWITCH', { active: false, by: 'api' }));
  assert.equal(s.state.killed, false);
  s.apply(ev('RISK_ALERT', { severity: 'CRITICAL', limit: 'daily_loss_limit', strategy: null, state: 'HALTED', from: 'ACTIVE', reason: 'daily_loss_limit' }));
  assert.equal(s.state.tradingState, 'HALTED');
  assert.match(alertText(s.state.alerts[0]), /ACTIVE→HALTED/);
});

test('positions are marked to the last trade between updates', () => {
  const s = createStore();
  s.load.positions([{ symbol: 'AAPL', qty: 10, avg_price: 100, last: 100, unrealized_pnl: 0, realized_pnl: 0, strategy: 's' }]);
  s.apply(ev('MARKET_DATA', { kind: 'trade', symbol: 'AAPL', n: 1, price: 101.5, size: 5 }));
  const p = s.state.positions.get('s|AAPL');
  assert.equal(p.last, 101.5);
  assert.equal(p.unrealized_pnl, 15);
  s.apply(ev('POSITION_UPDATE', { symbol: 'AAPL', qty: 0, avg_price: null, mark: 101.5, unrealized: 0, realized: 15, strategy: 's' }));
  assert.equal(s.state.positions.get('s|AAPL').realized_pnl, 15);
  assert.deepEqual(symbolsOf(s.state), ['AAPL']);
});

test('a conflated trade grows the chart by the summed size of the trades it stands for', () => {
  const s = createStore();
  const seen = [];
  s.onMarket((e) => seen.push(e));
  s.apply(ev('MARKET_DATA', { kind: 'trade', symbol: 'AAPL', n: 9, price: 101.5, size: 5, conflated: 3, size_sum: 12 }));
  s.apply(ev('MARKET_DATA', { kind: 'trade', symbol: 'AAPL', n: 10, price: 101.6, size: 4 }));
  assert.deepEqual(seen.map((e) => e.data.size), [12, 4]);
  assert.equal(s.state.markets.get('AAPL').size, 4); // the last trade's own size
  assert.equal(s.state.markets.get('AAPL').last, 101.6);
});

test('the portfolio reads the same from REST and from PORTFOLIO_UPDATE', () => {
  const s = createStore();
  s.load.portfolio({ cash: 1, equity: 2, realized_pnl: 3, unrealized_pnl: 4, day_pnl: 5, exposure: { gross: 6, net: 7 }, trading_state: 'ACTIVE' });
  s.apply(ev('PORTFOLIO_UPDATE', { cash: 10, equity: 20, realized: 30, unrealized: 40, day_pnl: 50, gross_exposure: 60, net_exposure: 70 }));
  assert.deepEqual(s.state.portfolio, { cash: 10, equity: 20, realized_pnl: 30, unrealized_pnl: 40, day_pnl: 50,
    exposure: { gross: 60, net: 70 }, trading_state: 'ACTIVE' });
});

test('reset forgets everything and bumps the epoch', () => {
  const s = createStore();
  s.apply(ev('ALERT', { severity: 'LOW', message: 'x' }));
  const e = s.epoch;
  s.reset();
  assert.equal(s.state.alerts.length, 0);
  assert.equal(s.state.lastSeq, 0);
  assert.equal(s.epoch, e + 1);
});

test('figures read as a trader expects', () => {
  assert.equal(fmt.price(190.2), '190.20');
  assert.equal(fmt.price(0.123456), '0.123456');
  assert.equal(fmt.money(1234567.891), '1,234,567.89');
  assert.equal(fmt.pnl(12.5), '+12.50');
  assert.equal(fmt.pnl(-12.5), '\u221212.50');
  assert.equal(fmt.pnlClass(-1), 'down');
  assert.equal(fmt.pnlClass(1), 'up');
  assert.equal(fmt.qty(10), '10');
  assert.equal(fmt.micros(1.92), '1.92 \u00b5s');
  assert.equal(fmt.micros(2500), '2.5 ms');
  assert.equal(fmt.time('2026-11-21T07:39:00.123456Z'), '07:39:00');
  assert.equal(fmt.timeMs('2026-11-21T07:39:00.123456Z'), '07:39:00.123');
  assert.equal(fmt.price(null), '\u2014');
});

test('a parameter keeps its type when edited', () => {
  assert.equal(fmt.parseParam('12', 5), 12);
  assert.throws(() => fmt.parseParam('abc', 5));
  assert.throws(() => fmt.parseParam('', 5));
  assert.equal(fmt.parseParam('x', 'y'), 'x');
  assert.deepEqual(fmt.parseParam('[1,2]', [0]), [1, 2]);
});

test('the stream resumes after the last event seen, or the page reloads', () => {
  // first connection: load snapshots, then the events after the hello
  assert.deepEqual(resumePoint({ last: 500, first: 1, first_other: 1 }, null), { reload: true, since: 500 });
  assert.deepEqual(resumePoint({ last: 500, first: 1, first_other: 1 }, 0), { reload: true, since: 500 });
  // reconnect, nothing lost: resume after our last event
  assert.deepEqual(resumePoint({ last: 900, first: 100, first_other: 1 }, 700), { reload: false, since: 700 });
  assert.deepEqual(resumePoint({ last: 700, first: 100, first_other: 1 }, 700), { reload: false, since: 700 });
  // the host restarted: its numbering is behind ours
  assert.deepEqual(resumePoint({ last: 40, first: 1, first_other: 1 }, 700), { reload: true, since: 40 });
  // the events we missed fell out of the ring
  assert.deepEqual(resumePoint({ last: 9000, first: 800, first_other: 1 }, 700), { reload: true, since: 9000 });
  // ... but not out of the ring without market data, which a reduced page reads
  assert.deepEqual(resumePoint({ last: 9000, first: 800, first_other: 1 }, 700, true), { reload: false, since: 700 });
});
