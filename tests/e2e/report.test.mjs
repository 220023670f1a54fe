// report.test.mjs: a backtest's report.html opened in Debian's Chromium (playwright-core,
// never a downloaded browser) straight from the file, with the network blocked: the page
// must be whole on its own (issue 6: "a self-contained page ... that opens offline").
//
// The report is the unit test's generated sample (`test_backtest_report --sample DIR`:
// 3,000 daily samples, two symbols, 1,400 fills making 700 round trips, tags, a script
// path and a denial message holding <script> elements). Checked: no request leaves the
// page (every non-file URL is aborted and recorded, and the page lists no resource),
// no script runs (no dialog, no <script> element) and the console stays clean, every
// chart is drawn at a non-zero size with its lines and fill markers, and the tables hold
// their rows (the first 500 trades and "200 more in trades.csv"), with the markup in
// outside strings shown as text. A screenshot goes to E2E_ARTIFACTS/report.png.
//
// Environment: REPORT_SAMPLE (default build/tests/test_backtest_report), LUATRADE_SRC
// (default the current directory), CHROMIUM (default /usr/bin/chromium), E2E_ARTIFACTS
// (default build/e2e-artifacts).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';

const SRC = path.resolve(process.env.LUATRADE_SRC || process.cwd());
const SAMPLE = path.resolve(process.env.REPORT_SAMPLE || path.join(SRC, 'build', 'tests', 'test_backtest_report'));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = process.env.E2E_ARTIFACTS || path.join(SRC, 'build', 'e2e-artifacts');
const require = createRequire(path.join(SRC, 'package.json'));
const { chromium } = require('playwright-core');

const TRADES = 700; // the sample's round trips
const HTML_ROWS = 500; // BT_HTML_ROWS

let dir;
let browser;
let page;
const requests = []; // every URL the page asked for
const blocked = []; // the non-file ones, aborted
const problems = []; // console errors, page errors, dialogs

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'luatrade-report-'));
  execFileSync(SAMPLE, ['--sample', dir], { stdio: 'inherit' });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:')) return route.continue();
    blocked.push(url);
    return route.abort();
  });
  page = await context.newPage();
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('dialog', (d) => { problems.push(`dialog: ${d.message()}`); d.dismiss(); });
  await page.goto(pathToFileURL(path.join(dir, 'report.html')).href, { waitUntil: 'load' });
});

after(async () => {
  await browser?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('nothing leaves the page and nothing runs', async () => {
  const reportUrl = pathToFileURL(path.join(dir, 'report.html')).href;
  assert.deepEqual(requests, [reportUrl]);
  assert.deepEqual(blocked, []);
  assert.equal(await page.evaluate(() => performance.getEntriesByType('resource').length), 0);
  assert.equal(await page.evaluate(() => document.scripts.length), 0);
  assert.equal(await page.evaluate(() => document.querySelectorAll('[src],[href],link,iframe,object,embed').length), 0);
  assert.deepEqual(problems, []);
});

test('every chart is drawn at a non-zero size', async () => {
  const charts = await page.$$eval('svg.chart', (svgs) => svgs.map((svg) => {
    const r = svg.getBoundingClientRect();
    const lines = [...svg.querySelectorAll('path')].map((p) => {
      const b = p.getBBox();
      return { cls: p.getAttribute('class'), w: b.width, h: b.height };
    });
    return { id: svg.id, w: r.width, h: r.height, lines };
  }));
  assert.deepEqual(charts.map((c) => c.id), ['equity-chart', 'drawdown-chart', 'price-chart-0', 'price-chart-1']);
  for (const c of charts) {
    assert.ok(c.w > 600 && c.h > 100, `${c.id} is ${c.w} x ${c.h}`);
    const main = c.lines[0];
    assert.ok(main.w > 500 && main.h > 50, `${c.id}'s ${main.cls} is ${main.w} x ${main.h}`);
  }
  // AAPL traded: both marker paths drawn; BTC-USD did not: empty ones
  const [aaplBuys, aaplSells] = charts[2].lines.slice(1);
  assert.equal(aaplBuys.cls, 'buys');
  assert.equal(aaplSells.cls, 'sells');
  assert.ok(aaplBuys.w > 500 && aaplSells.w > 500, JSON.stringify(charts[2].lines));
  assert.deepEqual(charts[3].lines.slice(1).map((l) => l.w), [0, 0]);
  // the labels are on the page, not clipped away
  assert.ok((await page.locator('#equity-chart .axis-x text').count()) === 5);
  assert.equal(await page.locator('#prices figcaption').allTextContents().then((t) => t.join(',')), 'AAPL,BTC-USD');
});

test('the tables hold their rows, outside markup as text', async () => {
  const summary = await page.$$eval('#summary-table tr', (rows) =>
    Object.fromEntries(rows.map((r) => [r.querySelector('th').textContent, r.querySelector('td').textContent])));
  assert.equal(summary.Script, 'strategies/<script>sample</script>.lua');
  assert.equal(summary.Trades, `${TRADES} (${summary.Trades.match(/\((\d+) won/)[1]} won)`);
  for (const k of ['Period', 'Win rate', 'Total return', 'CAGR', 'Sharpe', 'Sortino', 'Max drawdown',
    'Profit factor', 'Exposure', 'Commissions']) assert.ok(summary[k], `summary ${k}`);
  assert.equal(summary.Commissions, '1400.00');
  assert.equal(await page.locator('h1 code').textContent(), 'strategies/<script>sample</script>.lua');

  assert.equal(await page.locator('#trades-table tbody tr').count(), HTML_ROWS);
  assert.equal(await page.locator('#trades .more').textContent(), `${TRADES - HTML_ROWS} more in trades.csv`);
  const first = await page.locator('#trades-table tbody tr').first().locator('td').allTextContents();
  assert.equal(first[0], '1');
  assert.equal(first[1], 'AAPL');
  assert.equal(first[2], 'long');

  assert.deepEqual(await page.locator('#denials-by-reason tbody tr').allTextContents(), ['MAX_POSITION1', 'PRICE_BAND1']);
  assert.equal(await page.locator('#denials-table tbody tr').count(), 2);
  const message = await page.locator('#denials-table tbody tr').first().locator('td').last().textContent();
  assert.equal(message, '<script>alert(1)</script>');
  assert.deepEqual(await page.locator('#orders-by-status tbody tr').allTextContents(), ['FILLED1400']);
});

test('screenshot', async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, 'report.png'), fullPage: true });
});
