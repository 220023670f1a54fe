-- indicators: streaming technical indicators, one module per indicator.
--
--   local ind = require "indicators"
--   local s = ind.sma(20)            -- a constructor per indicator: ind.<name>(n)
--   local v = s:update(bar.close)    -- the new value, or nil until warm
--   s:value()                        -- the latest value, or nil until warm
--
-- Each object's metatable is class("indicators.<name>") and its fields are plain
-- data, so objects kept in `state` keep working across hot reloads. Every
-- constructor raises on a period that is not an integer from 1 to 100000, and
-- every update() on a value that is not a finite number.
return {
  sma = require "indicators.sma",
  ema = require "indicators.ema",
  rsi = require "indicators.rsi",
  stddev = require "indicators.stddev",
}
