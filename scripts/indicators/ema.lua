-- indicators/ema.lua: exponential moving average (TA-Lib EMA, default compatibility).
--
--   local e = require("indicators.ema")(20)
--   local v = e:update(close)   -- nil for the first n-1 values
--
-- k = 2 / (n + 1). The n-th value yields the seed, the plain mean of the first n
-- values; after that ema = (x - ema) * k + ema, the same operations as TA-Lib.
-- O(1) per update; only data fields, so it survives a hot reload in `state`.
local common = require "indicators.common"

local EMA = class("indicators.ema")

local function new(n)
  n = common.period(n, "ema")
  return setmetatable({ n = n, k = 2 / (n + 1), count = 0, sum = 0 }, EMA)
end

function EMA:update(x)
  common.value(x, "ema")
  local count = self.count + 1
  self.count = count
  local cur = self.cur
  if cur then
    cur = (x - cur) * self.k + cur
  else
    self.sum = self.sum + x
    if count < self.n then return nil end
    cur = self.sum / self.n
  end
  self.cur = cur
  return cur
end

-- The latest average, or nil until n values have been seen.
function EMA:value()
  return self.cur
end

return new
