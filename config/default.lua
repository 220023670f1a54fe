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

  strategies = {
    { script = "strategies/sma_cross.lua", symbols = { "AAPL", "MSFT" } },
    { script = "strategies/sma_cross.lua", id = "sma_fast_nvda", symbols = { "NVDA" },
      params = { fast = 5, slow = 15 } },
    { script = "strategies/rsi_reversion.lua", symbols = { "SPY", "AAPL" } },
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

  market = { history = 500 },     -- closed bars kept per symbol and timeframe
  log = { level = "info" },       -- add file = "luatrade.log" to also log under var/
  reload = { watch = true, debounce_ms = 50 },
}
