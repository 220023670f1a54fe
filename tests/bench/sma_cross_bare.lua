-- sma_cross_bare.lua: the bare LuaJIT baseline of bench_backtest.py (run by
-- bench_backtest_lua): strategies/sma_cross.lua's crossover over a tick CSV file in plain
-- Lua, with no host: what the same logic costs in LuaJIT when Lua also reads the file.
--
-- Returns run(file) -> totals { rows, bars, crossings, buys, sells, fills, realized }.
-- The file is the generic tick CSV of tools/gen_ticks (`time,symbol,price,size,...`,
-- time in epoch milliseconds, an optional header line). Each row is read with io.lines
-- and split with string.find/sub; time, symbol, price and size are converted with
-- tonumber. Per symbol a 1-second bar (epoch aligned [t, t + 1 s): open, high, low,
-- close = last trade price, volume) closes when a trade of a later second arrives, and
-- every open bar at the end. Per closed bar, sma_cross's on_bar: a fast (5) and slow
-- (20) SMA of the close with the real scripts/indicators/sma.lua; once both are warm the
-- side is above/below (equal keeps the previous side), and a change of side after the
-- first reading is a crossing. A buy crossing while flat buys QTY at the close, a sell
-- crossing while long sells it. bench_backtest_c.c does exactly this in C.
local ind = require "indicators"

local find, sub, tonumber, floor = string.find, string.sub, tonumber, math.floor

local FAST, SLOW, QTY = 5, 20, 10   -- sma_cross's default params
local BAR_MS = 1000                 -- 1-second bars

local function side_of(fast_v, slow_v)
  if fast_v > slow_v then return "above" end
  if fast_v < slow_v then return "below" end
  return nil
end

-- sma_cross's on_bar for the bar s has just closed.
local function on_bar(tot, s)
  tot.bars = tot.bars + 1
  local close = s.close
  local fast_v, slow_v = s.fast:update(close), s.slow:update(close)
  if not (fast_v and slow_v) then return end
  local side = side_of(fast_v, slow_v)
  if not side or side == s.side then return end
  local was = s.side
  s.side = side
  if not was then return end   -- first reading after warm-up
  tot.crossings = tot.crossings + 1
  if side == "above" then
    tot.buys = tot.buys + 1
    if s.pos == 0 then
      s.pos, s.entry = QTY, close
      tot.cash, tot.fills = tot.cash - QTY * close, tot.fills + 1
    end
  else
    tot.sells = tot.sells + 1
    if s.pos > 0 then
      tot.cash = tot.cash + s.pos * close
      tot.realized = tot.realized + s.pos * (close - s.entry)
      s.pos, tot.fills = 0, tot.fills + 1
    end
  end
end

local function new_symbol()
  return { period = -1, last = -1, open = 0, high = 0, low = 0, close = 0, volume = 0,
           fast = ind.sma(FAST), slow = ind.sma(SLOW), side = nil, pos = 0, entry = 0 }
end

local function bad(file, n, what)
  error(("%s:%d: %s"):format(file, n, what), 0)
end

-- One data row (line number n).
local function row(tot, syms, file, n, line)
  local c1 = find(line, ",", 1, true)
  local c2 = c1 and find(line, ",", c1 + 1, true)
  local c3 = c2 and find(line, ",", c2 + 1, true)
  if not c3 then bad(file, n, "at least 4 columns: time,symbol,price,size") end
  if c2 == c1 + 1 then bad(file, n, "a symbol") end
  local c4 = find(line, ",", c3 + 1, true)
  local t = tonumber(sub(line, 1, c1 - 1))
  local sym = sub(line, c1 + 1, c2 - 1)
  local px = tonumber(sub(line, c2 + 1, c3 - 1))
  local size = tonumber(sub(line, c3 + 1, c4 and c4 - 1 or -1))
  if not (t and px and size) or px <= 0 or size < 0 then
    bad(file, n, "a time, a price above 0 and a size")
  end
  local s = syms[sym]
  if not s then
    s = new_symbol()
    syms[sym] = s
  end
  if t < s.last then bad(file, n, "a time at or after the symbol's previous row's") end
  s.last = t
  local period = floor(t / BAR_MS)
  if period == s.period then
    if px > s.high then s.high = px end
    if px < s.low then s.low = px end
    s.close, s.volume = px, s.volume + size
    return
  end
  if s.period >= 0 then on_bar(tot, s) end
  s.period = period
  s.open, s.high, s.low, s.close, s.volume = px, px, px, px, size
end

return function(file)
  local tot = { rows = 0, bars = 0, crossings = 0, buys = 0, sells = 0, fills = 0,
                cash = 0, realized = 0 }
  local syms, order = {}, {}
  local f = assert(io.open(file, "r"))
  local n = 0
  for line in f:lines() do
    n = n + 1
    if n > 1 or find(line, "^%d") then   -- a first line not starting with a digit: header
      row(tot, syms, file, n, line)
      tot.rows = tot.rows + 1
    end
  end
  f:close()
  for sym in pairs(syms) do order[#order + 1] = sym end
  table.sort(order)                       -- close the open bars in a fixed order
  for i = 1, #order do
    local s = syms[order[i]]
    if s.period >= 0 then on_bar(tot, s) end
  end
  return tot
end
