// fast_feed.test.mjs: a feed faster than a browser can draw. The host drops the page as a
// slow consumer (close 1008) once; the page then says so, stops taking market data over
// the stream, samples prices and the chart's newest bars over REST, and stays connected
// (no second drop) with prices still moving. Waits are on page state, with deadlines.
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
let page;
const errors = [];

before(async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing`);
  host = new Host({ config: CONFIG });
  await host.start();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(30000);
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push('uncaught: ' + e.message));
});

after(async () => {
  if (browser) await browser.close();
  if (host) await host.stop();
});

const drops = () => host.lines.filter((l) => /ws slow consumer dropped/.test(l)).length;

test('a page dropped as a slow consumer switches to sampled market data and stays connected', async () => {
  await page.goto(host.login);
  await page.getByTestId('reduced').waitFor();
  await page.getByTestId('conn').filter({ hasText: 'LIVE' }).waitFor();
  const dropped = drops();
  assert.ok(dropped >= 1, 'the host never dropped the page');
  // prices keep moving from the samples: the chart's newest bar is updated several times
  const n = Number(await page.getByTestId('chart').getAttribute('data-updates'));
  await page.waitForFunction((x) => Number(document.querySelector('[data-testid="chart"]').dataset.updates) >= x + 3, n);
  const price = await page.locator('button.chip[data-symbol="AAPL"] .num').textContent();
  await page.waitForFunction((p) => document.querySelector('button.chip[data-symbol="AAPL"] .num').textContent !== p, price);
  assert.equal(drops(), dropped, 'the page was dropped again after switching to samples');
  assert.equal(await page.getByTestId('conn').textContent(), 'LIVE');
  assert.deepEqual(errors, []);
});
