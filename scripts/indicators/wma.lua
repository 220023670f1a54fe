-- indicators/wma.lua: linearly weighted moving average of the last n values
-- (TA-Lib WMA): the newest value weighs n, the oldest 1, divided by n(n+1)/2.
--
--   local w = require("indicators.wma")(20)
--   local v = w:update(close)   -- nil for the first n-1 values
--
-- Keeps the plain sum of the window and, like TA-Lib, the weighted sum with the
-- newest weight not yet added (wsum): adding x*n gives the weighted sum, and
-- taking away the plain sum shifts every weight down by one for the next value.
-- As in sma.lua, both sums are rebuilt from the ring of the last n values when it
-- wraps, so rounding cannot build up over a long session: O(1) amortized.
-- Only data fields, so an object kept in `state` survives a hot reload.
local common = require "indicators.common"

local WMA = class("indicators.wma")

local function new(n)
  n = common.period(n, "wma")
  local buf = {}
  for i = 1, n do buf[i] = 0 end
  return setmetatable({ n = n, buf = buf, pos = 0, count = 0, sum = 0, wsum = 0 }, WMA)
end

-- Rebuilds sum and wsum over the full ring; pos (the newest) is about to wrap to 1.
local function rebuild(self)
  local n, buf = self.n, self.buf
  local sum, wsum = 0, 0
  for i = 1, n do
    sum = sum + buf[i]
    wsum = wsum + buf[i] * (i - 1)
  end
  self.sum, self.wsum = sum, wsum
end

function WMA:update(x)
  common.value(x, "wma")
  local n, buf = self.n, self.buf
  local pos = self.pos % n + 1
  local count = self.count + 1
  local sum = self.sum + x
  if count > n then sum = sum - buf[pos] end
  buf[pos] = x
  self.pos, self.count, self.sum = pos, count, sum
  if count < n then
    self.wsum = self.wsum + x * count
    return nil
  end
  local total = self.wsum + x * n
  if pos == n then rebuild(self) else self.wsum = total - sum end
  local cur = total / (n * (n + 1) / 2)
  self.cur = cur
  return cur
end

-- The latest average, or nil until n values have been seen.
function WMA:value()
  return self.cur
end

return new
