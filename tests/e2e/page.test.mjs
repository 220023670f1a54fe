// page.test.mjs: the status page end to end (issue 4, "Tests"): the real host (sim feed,
// paper venue, a strategy that trades) and Debian's Chromium driven by playwright-core
// (never a downloaded browser). The tests run in order on one page, as a user would:
// log in with the link, watch prices move, stop and start the strategy, edit a param,
// edit the script on disk and see the new version, place and cancel an order, see a risk
// denial and alerts, trip and re-arm the kill switch, check the console stayed clean, take
// the screenshots (the CI artifacts), check the phone layout, and lose and regain the host.
// Every wait is on what the page shows (locators, page functions) with a deadline.
//
// Environment: LUATRADE_BIN, LUATRADE_SRC (see host.mjs), CHROMIUM (default
// /usr/bin/chromium), E2E_ARTIFACTS (default build/e2e-artifacts).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { BIN, Host, SRC } from './host.mjs';

const require = createRequire(path.join(SRC, 'package.json'));
const { chromium } = require('playwright-core');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = process.env.E2E_ARTIFACTS || path.join(SRC, 'build', 'e2e-artifacts');
const WAIT = 20000; // ms: the deadline of every wait on the page

const STRATEGY = `-- e2e_trader: trades MSFT back and forth so the page has fills, signals and alerts (AAPL is
-- left to the manual orders, which must never meet the strategy's in the self-cross check).
strategy {
  name = "e2e_trader",
  symbols = { "MSFT" },
  bars = { "1s" },
  params = { qty = 1, every = 2 },
}

function on_start()
  state.n = state.n or {}
  alert("LOW", "e2e_trader started <b>as text</b>")
end

function on_reload(old)
  alert("MEDIUM", "e2e_trader reloaded from v%d", old)
end

function on_bar(b)
  local n = (state.n[b.symbol] or 0) + 1
  state.n[b.symbol] = n
  if n % params.every ~= 0 then return end
  local side = position(b.symbol) > 0 and "sell" or "buy"
  local id, err
  if side == "buy" then id, err = buy(b.symbol, params.qty) else id, err = sell(b.symbol, params.qty) end
  signal("flip", { symbol = b.symbol, side = side, price = b.close })
  if not id then log.warn("refused %s", err) end
end
`;

const CONFIG = `return {
  seed = 7,
  clock = "wall",
  feed = { kind = "sim", rate = 400, trade_ratio = 0.5, symbols = {
    AAPL = { price = 190, vol = 0.3, tick = 0.01 },
    MSFT = { price = 410, vol = 0.25, tick = 0.01 },
  } },
  strategies = { { script = "strategies/e2e_trader.lua" } },
  risk = { max_order_qty = 100, price_band_pct = 5, max_orders_per_s = 50 },
  journal = { sync = false },
  reload = { watch = true, debounce_ms = 50 },
  http = { web = ${JSON.stringify(path.join(SRC, 'web'))} },
}
`;

const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

let host;
let browser;
let context;
let page;
const consoleErrors = []; // {text, url}
let outage = false; // while the host is away, failed requests are expected

before(async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (tools/setup.sh)`);
  assert.ok(fs.existsSync(path.join(path.dirname(BIN), 'www', 'vendor', 'preact.js')),
    `${path.dirname(BIN)}/www/vendor is empty: build the web_vendor target (npm ci, cmake --build)`);
  host = new Host({ config: CONFIG, files: { 'strategies/e2e_trader.lua': STRATEGY } });
  await host.start();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push({ text: m.text(), url: m.location().url, outage });
  });
  page.on('pageerror', (e) => consoleErrors.push({ text: 'uncaught: ' + e.message, url: '', outage: false }));
});

after(async () => {
  if (browser) await browser.close();
  if (host) {
    const rc = await host.stop();
    if (rc !== 0) console.log(host.tail());
  }
});

// A test of the page: on failure, a screenshot of what the page showed goes to the
// artifacts (failed-<test>.png) beside the error.
function check(name, fn) {
  test(name, async () => {
    try {
      await fn();
    } catch (e) {
      if (page) {
        fs.mkdirSync(ARTIFACTS, { recursive: true });
        const file = path.join(ARTIFACTS, `failed-${name.replace(/\W+/g, '-').slice(0, 60)}.png`);
        await page.screenshot({ path: file, fullPage: true }).catch(() => {});
        console.log(`screenshot of the failure: ${file}`);
      }
      throw e;
    }
  });
}

// The rows and cells tests look at.
const strategyRow = () => page.locator('tr[data-strategy="e2e_trader"]');
const statusOf = () => strategyRow().getByTestId('status');
const versionOf = () => strategyRow().getByTestId('version');
const exact = (s) => new RegExp(`^\\s*${s}\\s*$`);

async function waitText(locator, text) {
  await locator.filter({ hasText: text }).first().waitFor({ state: 'visible' });
}

async function submitTicket({ symbol, side, qty, limit }) {
  const t = page.getByRole('form', { name: 'order ticket' });
  await t.locator('select[name=symbol]').selectOption(symbol);
  await t.getByRole('button', { name: side === 'buy' ? 'Buy' : 'Sell', exact: true }).click();
  await t.locator('input[name=qty]').fill(String(qty));
  await t.locator('input[name=limit]').fill(limit === undefined ? '' : String(limit));
  const before = await page.evaluate(() => document.querySelector('[data-testid="ticket-result"]')?.textContent ?? null);
  await t.locator('button[type=submit]').click();
  // the reply replaces the result line
  await page.waitForFunction((prev) => {
    const el = document.querySelector('[data-testid="ticket-result"]');
    return el && el.textContent !== prev;
  }, before);
  return page.getByTestId('ticket-result').textContent();
}

check('without the cookie the page says how to sign in', async () => {
  const other = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const p = await other.newPage();
    await p.goto(host.url + '/');
    await p.getByRole('alert').filter({ hasText: 'Not signed in' }).waitFor({ timeout: WAIT });
  } finally {
    await other.close();
  }
});

check('the login link sets the cookie and leaves no token in the address', async () => {
  await page.goto(host.login);
  await page.waitForURL((u) => u.pathname === '/' && !u.search);
  assert.equal(page.url(), host.url + '/');
  assert.ok(!page.url().includes(host.token));
  const cookie = (await context.cookies()).find((c) => c.name === 'luatrade_token');
  assert.ok(cookie, 'no luatrade_token cookie');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  await waitText(page.getByTestId('conn'), 'LIVE');
  await waitText(statusOf(), exact('RUNNING'));
});

check('prices move on the chart, in the timeframe picked', async () => {
  await page.locator('.chart-box canvas').first().waitFor();
  await page.locator('button.chip[data-symbol="MSFT"]').click();
  await page.getByRole('group', { name: 'timeframe' }).getByRole('button', { name: '1s', exact: true }).click();
  await waitText(page.getByLabel('last bar'), 'MSFT');
  await waitText(page.getByLabel('last bar'), '1s');
  const updates = async () => Number(await page.getByTestId('chart').getAttribute('data-updates'));
  const first = await updates();
  const close = await page.getByTestId('legend-close').textContent();
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid="chart"]').dataset.updates) >= n + 5, first);
  await page.waitForFunction((c) => document.querySelector('[data-testid="legend-close"]').textContent !== c, close);
});

check('the strategy stops and starts from the page', async () => {
  await strategyRow().getByRole('button', { name: 'Stop' }).click();
  await waitText(statusOf(), exact('STOPPED'));
  assert.equal((await host.api('GET', '/api/strategies/e2e_trader')).data.status, 'STOPPED');
  await strategyRow().getByRole('button', { name: 'Start' }).click();
  await waitText(statusOf(), exact('RUNNING'));
  assert.equal((await host.api('GET', '/api/strategies/e2e_trader')).data.status, 'RUNNING');
});

check('a parameter is edited in place', async () => {
  await page.getByRole('button', { name: 'edit params of e2e_trader' }).click();
  const form = page.getByRole('form', { name: 'params of e2e_trader' });
  await form.locator('input[name=qty]').fill('2');
  await form.getByRole('button', { name: 'Save' }).click();
  await form.waitFor({ state: 'detached' });
  await waitText(page.getByRole('button', { name: 'edit params of e2e_trader' }), 'qty=2');
  assert.equal((await host.api('GET', '/api/strategies/e2e_trader')).data.params.qty, 2);
});

check('editing the script on disk reloads it and the page shows the new version', async () => {
  const before = Number((await versionOf().textContent()).replace(/\D/g, ''));
  fs.appendFileSync(host.path('strategies/e2e_trader.lua'), '\n-- edited by the e2e test\n');
  await waitText(versionOf(), exact(`v${before + 1}`));
  await waitText(strategyRow(), /ok ·/);
  assert.match(await statusOf().textContent(), exact('RUNNING'));
  await strategyRow().getByRole('button', { name: 'Stop' }).waitFor();
});

check('a broken edit shows the failed reload with file:line; the fix takes over', async () => {
  const before = Number((await versionOf().textContent()).replace(/\D/g, ''));
  host.write('strategies/e2e_trader.lua', STRATEGY.replace('function on_start()', 'function on_start(\n'));
  await waitText(strategyRow(), /failed ·/);
  await waitText(strategyRow().locator('td.err-cell'), /e2e_trader\.lua:\d+:/);
  assert.match(await versionOf().textContent(), exact(`v${before}`)); // the old version runs on
  host.write('strategies/e2e_trader.lua', STRATEGY + '\n-- fixed\n');
  await waitText(versionOf(), exact(`v${before + 1}`));
  await waitText(strategyRow(), /ok ·/);
});

check('a manual order is placed and canceled', async () => {
  const md = (await host.api('GET', '/api/market-data/AAPL')).data;
  const ref = md.quote ? md.quote.bid : md.trade.price;
  const limit = (Math.floor(ref * 0.98 * 100) / 100).toFixed(2); // rests below the market
  const text = await submitTicket({ symbol: 'AAPL', side: 'buy', qty: 1, limit });
  const m = /order (\d+) (ACCEPTED|PENDING_NEW)/.exec(text);
  assert.ok(m, `the ticket said: ${text}`);
  const row = page.locator(`tr[data-order="${m[1]}"]`);
  await row.waitFor();
  await row.getByRole('button', { name: `cancel order ${m[1]}` }).click();
  await row.waitFor({ state: 'detached' });
  const o = (await host.api('GET', '/api/orders?status=all&limit=500')).data.orders.find((x) => String(x.id) === m[1]);
  assert.equal(o.status, 'CANCELED');
});

check('a risk denial shows its reason, in the ticket and among the denials', async () => {
  const text = await submitTicket({ symbol: 'MSFT', side: 'buy', qty: 5000 });
  assert.match(text, /Denied MAX_ORDER_QTY/);
  await page.locator('[data-panel="denials"] tr[data-reason="MAX_ORDER_QTY"]').first().waitFor();
});

check('alerts appear in the feed; strategy text stays text', async () => {
  // on_start (after the restart above) and on_reload raise alerts
  await waitText(page.locator('[data-panel="alerts"] li'), 'e2e_trader reloaded from v');
  await waitText(page.locator('[data-panel="alerts"] li'), 'e2e_trader started <b>as text</b>');
  assert.equal(await page.locator('[data-panel="alerts"] b').count(), 0, 'markup from a strategy was rendered');
});

check('the kill switch trips with a confirm, and re-arms', async () => {
  await page.getByRole('button', { name: 'Kill switch' }).click();
  await page.getByRole('button', { name: 'Confirm kill' }).click();
  await waitText(page.getByTestId('kill-state'), 'KILLED');
  assert.equal((await host.api('GET', '/api/limits')).data.kill, true);
  const text = await submitTicket({ symbol: 'MSFT', side: 'buy', qty: 1 });
  assert.match(text, /Denied KILL_SWITCH/);
  await page.getByRole('button', { name: 'Re-arm' }).click();
  await page.getByRole('button', { name: 'Kill switch' }).waitFor();
  assert.equal((await host.api('GET', '/api/limits')).data.kill, false);
});

check('fills and signals of the strategy reach the page', async () => {
  await page.locator('[data-panel="fills"] tbody tr:not(.empty)').first().waitFor();
  await waitText(page.locator('[data-panel="log"] li'), 'e2e_trader');
});

check('no console errors', async () => {
  // The 409 replies to the denied orders above are the only failed requests expected.
  const unexpected = consoleErrors.filter((e) => !(/status of 409/.test(e.text) && e.url.endsWith('/api/orders')));
  assert.deepEqual(unexpected, []);
});

check('screenshots; the phone-width layout has no horizontal overflow', async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const desktop = path.join(ARTIFACTS, 'page-1280x800.png');
  await page.screenshot({ path: desktop });
  await page.screenshot({ path: path.join(ARTIFACTS, 'page-full.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForFunction(() => window.innerWidth === 390);
  const [scroll, client] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
  assert.ok(scroll <= client, `the page scrolls sideways at phone width: ${scroll} > ${client}`);
  await page.screenshot({ path: path.join(ARTIFACTS, 'page-phone.png'), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 800 });
  console.log(`screenshots: ${ARTIFACTS}/page-1280x800.png, page-full.png, page-phone.png`);
});

check('the host going away shows the banner; its return reconnects the page', async () => {
  outage = true;
  const port = host.port;
  assert.equal(await host.stop(), 0);
  await page.getByTestId('banner').waitFor();
  await waitText(page.getByTestId('conn'), /OFFLINE|CONNECTING/);
  await host.start(`127.0.0.1:${port}`);
  await waitText(page.getByTestId('conn'), 'LIVE');
  await page.getByTestId('banner').waitFor({ state: 'detached' });
  outage = false;
  const n = Number(await page.getByTestId('chart').getAttribute('data-updates'));
  await page.waitForFunction((x) => Number(document.querySelector('[data-testid="chart"]').dataset.updates) > x + 3, n);
  await waitText(statusOf(), exact('RUNNING'));
  const late = consoleErrors.filter((e) => !e.outage);
  assert.deepEqual(late.filter((e) => !(/status of 409/.test(e.text) && e.url.endsWith('/api/orders'))), []);
});
