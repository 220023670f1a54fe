-- indicators/sma.lua: simple moving average of the last n values (TA-Lib SMA).
--
--   local sma = require "indicators.sma"
--   local s = sma(20)
--   local v = s:update(close)   -- nil for the first n-1 values, then the mean
--
-- A ring buffer of the last n values and their running sum. The sum is rebuilt
-- from the buffer each time the ring wraps, so rounding error cannot build up
-- over a long session; that makes update O(1) amortized (O(n) once per n calls).
-- Only data fields, so an object kept in `state` survives a hot reload.
local common = require "indicators.common"

local SMA = class("indicators.sma")

local function new(n)
  n = common.period(n, "sma")
  local buf = {}
  for i = 1, n do buf[i] = 0 end
  return setmetatable({ n = n, buf = buf, pos = 0, count = 0, sum = 0 }, SMA)
end

function SMA:update(x)
  common.value(x, "sma")
  local n, buf = self.n, self.buf
  local pos = self.pos % n + 1
  local count = self.count + 1
  if count > n then
    self.sum = self.sum + x - buf[pos]
  else
    self.sum = self.sum + x
  end
  buf[pos] = x
  self.pos, self.count = pos, count
  if count < n then return nil end
  if pos == n then
    local sum = 0
    for i = 1, n do sum = sum + buf[i] end
    self.sum = sum
  end
  self.cur = self.sum / n
  return self.cur
end

-- The latest average, or nil until n values have been seen.
function SMA:value()
  return self.cur
end

return new
