-- config/default.lua: the demo. A simulated market for four symbols, the example
-- strategies, and defaults spelled out so they are easy to change.
-- Evaluated in a sandbox: plain Lua, no I/O; it returns one table.
return {
  seed = 42,                      -- seeds the sim feed and every sandbox's math.random
  mode = "paper",
  clock = "wall",                 -- "wall" (live) or "sim" (as fast as possible)

  feed = {
    kind = "sim",
    rate = 2000,                  -- events per second, all symbols together
    trade_ratio = 0.35,           -- share of events that are trades (the rest are quotes)
    symbols = {
      AAPL = { price = 190.00, vol = 0.30, drift = 0.05, tick = 0.01, spread = 1, max_lots = 5 },
      MSFT = { price = 410.00, vol = 0.25, drift = 0.04, tick = 0.01, spread = 2, max_lots = 5 },
      NVDA = { price = 880.00, vol = 0.55, drift = 0.10, tick = 0.01, spread = 3, max_lots = 3 },
      SPY  = { price = 520.00, vol = 0.15, drift = 0.03, tick = 0.01, spread = 1, max_lots = 10 },
    },
  },

  -- The strategies that rest limit orders (rsi_reversion's entries and exits, breakout's
  -- take-profit) each get a symbol of their own: the risk check refuses an order that
  -- would cross any of our resting orders, whichever strategy placed it (self_cross).
  strategies = {
    { script = "strategies/sma_cross.lua", symbols = { "AAPL", "MSFT" } },
    { script = "strategies/sma_cross.lua", id = "sma_fast_msft", symbols = { "MSFT" },
      params = { fast = 5, slow = 15 } },
    { script = "strategies/rsi_reversion.lua", symbols = { "SPY" } },
    { script = "strategies/breakout.lua", symbols = { "NVDA" } },
  },

  sandbox = {
    memory_mb = 64,               -- per strategy state
    callback_ms = 10,             -- CPU budget per event callback
    load_ms = 1000,               -- CPU budget for load, on_start, on_reload
    script_kb = 256,
    jit = "auto",                 -- JIT on when the start-up probe proves the watchdog stops it
    max_errors = 10,              -- this many errors within error_window fault a strategy
    error_window = "60s",
  },

  account = {
    cash = 1000000,               -- starting cash of the paper account (currency units)
    mark = "last",                -- value positions at the last trade ("mid": quote midpoint)
    session_end = "16:00",        -- day orders expire, and the trading day rolls, at this time
    tz = "America/New_York",
  },

  venue = {
    kind = "paper",               -- the simulated exchange (its book lives in var/)
    slippage_bps = 1,             -- market orders fill this much worse than the quote
    fill_on_touch = false,        -- resting limits fill when a trade prints through them
    latency_ms = 0,               -- delay between send and acknowledgement
    commission_per_share = 0.005,
    commission_bps = 0,
  },

  journal = { enabled = true, sync = true },  -- var/journal.wal, fdatasync'd per loop turn

  -- Pre-trade risk limits (0 = off), for every strategy together; a strategy entry may
  -- carry its own risk = { ... } with the same keys. Strategies cannot see or change them.
  risk = {
    max_order_qty = 1000,
    max_order_notional = 250000,
    price_band_pct = 5,           -- limit and stop prices within 5% of the reference price
    reference_max_age_s = 5,      -- an older reference price refuses the order (fail closed)
    max_position = 5000,          -- per symbol, counting working orders
    max_gross_exposure = 2000000,
    max_working_orders = 200,
    max_orders_per_s = 50,
    max_cancels_per_s = 100,
    duplicate_window_s = 0.5,
    daily_loss_limit = 20000,     -- day P&L below -20000: only risk-reducing orders
    max_drawdown = 40000,         -- HALTED at 1.5 x either limit (halt_ratio)
    stale_feed_s = 5,
    restricted = {},
    alerts = { low = 0.5, medium = 0.75, high = 0.9, critical = 1.0 },
    kill_flatten = false,         -- the kill switch (SIGUSR1) cancels; true also flattens
  },

  market = { history = 500 },     -- closed bars kept per symbol and timeframe
  log = { level = "info" },       -- add file = "luatrade.log" to also log under var/
  reload = { watch = true, debounce_ms = 50 },
}
