-- indicators/atr.lua: Wilder's average true range (TA-Lib ATR, no unstable period).
--
--   local a = require("indicators.atr")(14)
--   local v = a:update(bar.high, bar.low, bar.close)   -- nil for the first n bars
--
-- The true range of a bar is the largest of high - low, |prev_close - high| and
-- |prev_close - low|, so the first bar only supplies a close. The first ATR is the
-- plain mean of the first n true ranges (bar n + 1); each later one is Wilder's
-- smoothing, atr = (atr * (n - 1) + tr) / n, in TA-Lib's order of operations.
-- With n = 1 that is the true range itself, as in TA-Lib. O(1) per update; only
-- data fields, so it survives a hot reload in `state`.
local common = require "indicators.common"

local abs = math.abs

local ATR = class("indicators.atr")

local function new(n)
  n = common.period(n, "atr")
  return setmetatable({ n = n, count = 0, sum = 0 }, ATR)
end

function ATR:update(high, low, close)
  common.value(high, "atr")
  common.value(low, "atr")
  common.value(close, "atr")
  local prev = self.prev_close
  self.prev_close = close
  if prev == nil then return nil end
  local tr = high - low
  local v = abs(prev - high)
  if v > tr then tr = v end
  v = abs(prev - low)
  if v > tr then tr = v end
  local n, count = self.n, self.count + 1
  self.count = count
  local cur = self.cur
  if cur then
    cur = (cur * (n - 1) + tr) / n
  else
    self.sum = self.sum + tr
    if count < n then return nil end
    cur = self.sum / n
  end
  self.cur = cur
  return cur
end

-- The latest ATR, or nil until n true ranges (n + 1 bars) have been seen.
function ATR:value()
  return self.cur
end

return new
