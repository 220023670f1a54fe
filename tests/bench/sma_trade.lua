-- sma_trade.lua: the strategy bench_dispatch times, in the host and in a bare LuaJIT
-- state (the baseline), from this same file.
--
-- on_trade(t) updates a fast and a slow SMA (scripts/indicators/sma.lua) of t.price
-- per symbol and counts crossings in an upvalue. It never calls signal() or any other
-- host API inside the timed loop; the totals are logged once, from on_stop, so the
-- bench can check both runs saw the same events and the same crossings.
local sma = require "indicators.sma"

strategy {
  name = "bench_sma_trade",
  symbols = { "AAA", "BBB" },
}

local FAST, SLOW = 10, 40

local pairs_by_symbol = {}
local crossings, trades = 0, 0

function on_trade(t)
  trades = trades + 1
  local p = pairs_by_symbol[t.symbol]
  if not p then
    p = { fast = sma(FAST), slow = sma(SLOW), side = 0 }
    pairs_by_symbol[t.symbol] = p
  end
  local f, s = p.fast:update(t.price), p.slow:update(t.price)
  if not (f and s) then return end
  local side = f > s and 1 or f < s and -1 or p.side
  if side ~= p.side then
    if p.side ~= 0 then crossings = crossings + 1 end
    p.side = side
  end
end

function on_stop()
  log.info("bench_sma_trade totals trades=%d crossings=%d", trades, crossings)
end
