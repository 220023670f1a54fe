-- indicators/rsi.lua: Wilder's relative strength index (TA-Lib RSI, default
-- compatibility, no unstable period).
--
--   local r = require("indicators.rsi")(14)
--   local v = r:update(close)   -- nil for the first n values, then 0..100
--
-- The first n changes are averaged plainly (avg_gain, avg_loss); each later
-- change is folded in with Wilder's smoothing, avg = (avg * (n - 1) + change) / n,
-- in the same order of operations as TA-Lib. Like TA-Lib, a window with no
-- movement at all (avg_gain + avg_loss below 1e-14) reads 0, not 50.
-- O(1) per update; only data fields, so it survives a hot reload in `state`.
local common = require "indicators.common"

local RSI = class("indicators.rsi")

local EPSILON = 1e-14   -- TA-Lib's TA_EPSILON

local function new(n)
  n = common.period(n, "rsi")
  return setmetatable({ n = n, count = 0, avg_gain = 0, avg_loss = 0 }, RSI)
end

function RSI:update(x)
  common.value(x, "rsi")
  local prev = self.prev
  self.prev = x
  if prev == nil then return nil end
  local n, diff = self.n, x - prev
  local changes = self.count + 1
  self.count = changes
  local gain, loss = self.avg_gain, self.avg_loss
  if changes > n then
    gain, loss = gain * (n - 1), loss * (n - 1)
  end
  if diff < 0 then loss = loss - diff else gain = gain + diff end
  if changes < n then
    self.avg_gain, self.avg_loss = gain, loss   -- still plain sums
    return nil
  end
  gain, loss = gain / n, loss / n
  self.avg_gain, self.avg_loss = gain, loss
  local total = gain + loss
  local cur = 0
  if total >= EPSILON then cur = 100 * (gain / total) end
  self.cur = cur
  return cur
end

-- The latest RSI, or nil until n changes (n + 1 values) have been seen.
function RSI:value()
  return self.cur
end

return new
