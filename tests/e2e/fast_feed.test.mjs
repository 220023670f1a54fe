// fast_feed.test.mjs: a feed faster than a browser can draw (100,000 events/s). The page
// takes market data conflated (the latest quote and trade per symbol every 250 ms,
// docs/websocket.md), so it stays live on the full stream: never dropped, no reduced
// mode, prices moving. If the host drops it as a slow consumer anyway (close 1008, forced
// here by routing the page's first WebSocket), the page says so, stops taking market
// data over the stream, samples prices and the chart's newest bars over REST, and stays
// connected with prices still moving. Waits are on page state, with deadlines.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Host, SRC } from './host.mjs';

const require = createRequire(path.join(SRC, 'package.json'));
const { chromium } = require('playwright-core');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

const CONFIG = `return {
  feed = { kind = "sim", rate = 100000, trade_ratio = 0.5, symbols = {
    AAPL = { price = 190, vol = 0.3, tick = 0.01 },
    MSFT = { price = 410, vol = 0.25, tick = 0.01 },
  } },
  journal = { sync = false },
  http = { web = ${JSON.stringify(path.join(SRC, 'web'))} },
}
`;

let host;
let browser;

before(async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing`);
  host = new Host({ config: CONFIG });
  await host.start();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run'],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (host) await host.stop();
});

async function newPage(errors) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(30000);
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push('uncaught: ' + e.message));
  return page;
}

// The chart's newest bar is updated several times and the AAPL price changes.
async function pricesMove(page) {
  const n = Number(await page.getByTestId('chart').getAttribute('data-updates'));
  await page.waitForFunction((x) => Number(document.querySelector('[data-testid="chart"]').dataset.updates) >= x + 3, n);
  const price = await page.locator('button.chip[data-symbol="AAPL"] .num').textContent();
  await page.waitForFunction((p) => document.querySelector('button.chip[data-symbol="AAPL"] .num').textContent !== p, price);
}

const drops = () => host.lines.filter((l) => /ws slow consumer dropped/.test(l)).length;

test('the page takes market data conflated and stays live on the full stream', async () => {
  const errors = [];
  const page = await newPage(errors);
  const subscribes = [];
  page.on('websocket', (ws) => ws.on('framesent', (f) => /"op":"subscribe"/.test(f.payload) && subscribes.push(JSON.parse(f.payload))));
  const dropped = drops();
  await page.goto(host.login);
  await page.getByTestId('conn').filter({ hasText: 'LIVE' }).waitFor();
  await pricesMove(page);
  await pricesMove(page);
  assert.equal(subscribes[0].conflate_ms, 250);
  assert.deepEqual(subscribes[0].types, []); // everything, market data included
  assert.equal(drops(), dropped, 'the host dropped the page');
  assert.equal(await page.getByTestId('reduced').count(), 0);
  assert.equal(await page.getByTestId('conn').textContent(), 'LIVE');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a page dropped as a slow consumer anyway switches to sampled market data and stays connected', async () => {
  const errors = [];
  const page = await newPage(errors);
  // The first connection is closed as the host closes a slow consumer, once the page has
  // had some market data (it learns the symbols from it).
  let connections = 0;
  await page.routeWebSocket(/\/ws$/, (ws) => {
    const server = ws.connectToServer();
    if (connections++ > 0) return;
    let ticks = 0;
    server.onMessage((m) => {
      if (ticks > 20) return;
      ws.send(m);
      if (/"type":"MARKET_DATA"/.test(m) && ++ticks > 20) ws.close({ code: 1008, reason: 'slow consumer' });
    });
  });
  await page.goto(host.login);
  await page.getByTestId('reduced').waitFor();
  await page.getByTestId('conn').filter({ hasText: 'LIVE' }).waitFor();
  assert.equal(connections, 2);
  // prices keep moving from the samples
  await pricesMove(page);
  assert.equal(connections, 2, 'dropped again after switching to samples');
  assert.equal(await page.getByTestId('conn').textContent(), 'LIVE');
  assert.deepEqual(errors, []);
  await page.close();
});
