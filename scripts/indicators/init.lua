-- indicators: streaming technical indicators, one module per indicator.
--
--   local ind = require "indicators"
--   local s = ind.sma(20)            -- a constructor per indicator: ind.<name>(n)
--   local v = s:update(bar.close)    -- the new value, or nil until warm
--   s:value()                        -- the latest value, or nil until warm
--
--   ind.sma(n)  ind.ema(n)  ind.wma(n)  ind.rsi(n)  ind.roc(n)  ind.stddev(n)
--   ind.macd(fast, slow, signal)   12, 26, 9 by default; update(x) -> macd, signal, hist
--   ind.bbands(n, up, down)        20, 2, up by default; update(x) -> upper, mid, lower
--   ind.atr(n)                     update(high, low, close) -> atr
--   ind.stoch(fastk, slowk, slowd) 5, 3, 3 by default; update(high, low, close) -> k, d
--
-- Each matches TA-Lib (default compatibility, no unstable period), warm-up
-- included; tests/lua/indicators/ checks that against TA-Lib itself. Each object's
-- metatable is class("indicators.<name>") and its fields are plain data, so
-- objects kept in `state` keep working across hot reloads. Every constructor
-- raises on a period that is not an integer from 1 to 100000, and every update()
-- on a value that is not a finite number. Indicators returning several values
-- return nil (one nil) until all of them are warm.
return {
  sma = require "indicators.sma",
  ema = require "indicators.ema",
  wma = require "indicators.wma",
  rsi = require "indicators.rsi",
  roc = require "indicators.roc",
  stddev = require "indicators.stddev",
  macd = require "indicators.macd",
  bbands = require "indicators.bbands",
  atr = require "indicators.atr",
  stoch = require "indicators.stoch",
}
