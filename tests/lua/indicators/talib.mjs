// tests/lua/indicators/talib.mjs: every indicator in scripts/indicators/ against
// TA-Lib itself (the npm package `talib`, TA-Lib's C sources built by node-gyp).
//
//   node tests/lua/indicators/talib.mjs ~/.cache/luatrade/luajit/bin/luajit
//
// Generates OHLC random walks from fixed seeds (prices on a decimal grid; flat
// stretches; a 5000-bar walk; one shorter than some warm-ups), runs TA-Lib over
// them for a list of cases (indicator, our constructor's arguments, the same
// parameters spelled for TA-Lib), and writes series and results to a fixture in
// a fresh temporary directory. Then talib_check.lua, under the given LuaJIT,
// feeds the same bars to our indicators and compares (see there). The exit status
// is the checker's; the fixture is removed afterwards.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const luajit = process.argv[2];
if (!luajit) {
  console.error('usage: node talib.mjs LUAJIT');
  process.exit(2);
}
let talib;
try {
  talib = createRequire(import.meta.url)('talib');
} catch (e) {
  console.error(`cannot load the npm package talib (run tools/setup.sh): ${e.message}`);
  process.exit(1);
}

// Park-Miller minimal standard generator, as in run.lua: exact in doubles.
function generator(seed) {
  let s = seed;
  return () => { s = (16807 * s) % 2147483647; return s / 2147483647; };
}

// x rounded to a multiple of 1 / per: the double nearest to a short decimal.
const grid = (x, per) => Math.round(x * per) / per;

// A random walk of bars: each opens near the last close, moves by up to `step`,
// and its high and low stick out by up to `step / 2`, all on a grid of 1 / per
// and positive. flat(i) true makes bar i (1-based) the last close, with no range.
function walk(count, seed, level, step, per, flat = () => false) {
  const tick = 1 / per;
  const rnd = generator(seed);
  const bars = [];
  let close = level;
  for (let i = 1; i <= count; i++) {
    if (flat(i)) { bars.push([close, close, close, close]); continue; }
    const open = grid(Math.max(close + (rnd() - 0.5) * step / 4, tick), per);
    close = grid(Math.max(open + (rnd() - 0.5) * step, tick), per);
    const high = grid(Math.max(open, close) + rnd() * step / 2, per);
    const low = grid(Math.max(Math.min(open, close) - rnd() * step / 2, tick), per);
    bars.push([open, high, low, close]);
  }
  return bars;
}

const series = {
  walk: walk(5000, 12345, 100, 1, 100),
  flat: walk(1500, 99, 50, 0.8, 100, (i) => i <= 40 || (i > 300 && i <= 380) || (i > 900 && i <= 905)),
  cents: walk(2000, 777, 10000, 0.05, 100),
  penny: walk(1500, 4242, 1, 0.02, 10000),
  short: walk(30, 31337, 20, 0.5, 100),
};

// name: TA-Lib function, its inputs, its outputs in our order, our constructor's
// arguments -> TA-Lib's options (our defaults spelled out), and the cases to run.
const period = (p) => ({ optInTimePeriod: p });
const indicators = {
  sma: ['SMA', 'close', ['outReal'], period, [[2], [5], [20], [200]]],
  ema: ['EMA', 'close', ['outReal'], period, [[2], [10], [20], [50]]],
  wma: ['WMA', 'close', ['outReal'], period, [[2], [9], [30]]],
  rsi: ['RSI', 'close', ['outReal'], period, [[2], [14], [30]]],
  roc: ['ROC', 'close', ['outReal'], period, [[1], [10], [50]]],
  stddev: ['STDDEV', 'close', ['outReal'], (p) => ({ optInTimePeriod: p, optInNbDev: 1 }),
           [[2], [5], [20], [100]]],
  macd: ['MACD', 'close', ['outMACD', 'outMACDSignal', 'outMACDHist'],
         (f = 12, s = 26, g = 9) => ({ optInFastPeriod: f, optInSlowPeriod: s, optInSignalPeriod: g }),
         [[], [5, 35, 5], [26, 12, 9], [12, 26, 2], [3, 10, 16]]],
  bbands: ['BBANDS', 'close', ['outRealUpperBand', 'outRealMiddleBand', 'outRealLowerBand'],
           (n = 20, up = 2, dn = up) => ({ optInTimePeriod: n, optInNbDevUp: up, optInNbDevDn: dn,
                                           optInMAType: 0 }),
           [[], [5, 1], [10, 2.5, 1.5], [2, 1, 3]]],
  atr: ['ATR', 'hlc', ['outReal'], period, [[1], [2], [14], [30]]],
  stoch: ['STOCH', 'hlc', ['outSlowK', 'outSlowD'],
          (k = 5, sk = 3, sd = 3) => ({ optInFastK_Period: k, optInSlowK_Period: sk,
                                        optInSlowK_MAType: 0, optInSlowD_Period: sd,
                                        optInSlowD_MAType: 0 }),
          [[], [14, 3, 3], [5, 1, 1], [1, 1, 1], [9, 4, 2]]],
};

const lines = [];
for (const [name, bars] of Object.entries(series)) {
  lines.push(`series ${name} ${bars.length}`);
  for (const bar of bars) lines.push(bar.join(' '));
}
for (const [sname, bars] of Object.entries(series)) {
  const column = (j) => bars.map((b) => b[j]);
  const [high, low, close] = [column(1), column(2), column(3)];
  for (const [name, [fn, inputs, outs, options, cases]] of Object.entries(indicators)) {
    for (const args of cases) {
      const data = inputs === 'hlc' ? { high, low, close } : { inReal: close };
      const r = talib.execute({ name: fn, startIdx: 0, endIdx: bars.length - 1, ...data,
                                ...options(...args) });
      if (r.error) throw new Error(`TA-Lib ${fn} ${JSON.stringify(args)}: ${r.error}`);
      lines.push(`case ${name} ${sname} ${r.begIndex} ${r.nbElement} ${outs.length} ${args.join(' ')}`);
      for (let i = 0; i < r.nbElement; i++) lines.push(outs.map((o) => r.result[o][i]).join(' '));
    }
  }
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'luatrade-talib-'));
let status = 1;
try {
  const fixture = path.join(dir, 'talib.txt');
  fs.writeFileSync(fixture, lines.join('\n') + '\n');
  const r = spawnSync(luajit, [path.join(here, 'talib_check.lua'), fixture], { stdio: 'inherit' });
  if (r.error) console.error(`cannot run ${luajit}: ${r.error.message}`);
  status = r.status ?? 1;
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
process.exit(status);
