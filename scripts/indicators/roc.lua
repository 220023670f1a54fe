-- indicators/roc.lua: rate of change over n values, in percent (TA-Lib ROC).
--
--   local r = require("indicators.roc")(10)
--   local v = r:update(close)   -- nil for the first n values
--
-- roc = (x / x_n - 1) * 100, where x_n is the value n updates back; like TA-Lib,
-- 0 when x_n is 0. A ring of the last n values; O(1) per update; only data
-- fields, so it survives a hot reload in `state`.
local common = require "indicators.common"

local ROC = class("indicators.roc")

local function new(n)
  n = common.period(n, "roc")
  local buf = {}
  for i = 1, n do buf[i] = 0 end
  return setmetatable({ n = n, buf = buf, pos = 0, count = 0 }, ROC)
end

function ROC:update(x)
  common.value(x, "roc")
  local n, buf = self.n, self.buf
  local pos = self.pos % n + 1
  local count = self.count + 1
  local old = buf[pos]
  buf[pos] = x
  self.pos, self.count = pos, count
  if count <= n then return nil end
  local cur = 0
  if old ~= 0 then cur = (x / old - 1) * 100 end
  self.cur = cur
  return cur
end

-- The latest rate of change, or nil until n + 1 values have been seen.
function ROC:value()
  return self.cur
end

return new
