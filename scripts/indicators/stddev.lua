-- indicators/stddev.lua: population standard deviation of the last n values
-- (TA-Lib STDDEV with nbdev = 1).
--
--   local sd = require("indicators.stddev")(20)
--   local v = sd:update(close)   -- nil for the first n-1 values
--
-- The variance comes from moments.lua: running sums about a shift near the
-- window's mean, rebuilt when the ring wraps or their rounding could show, so it
-- stays accurate when the spread is tiny next to the level (TA-Lib's raw sums of
-- x and x^2 do not). Like TA-Lib, a variance below 1e-14 reads as 0. O(1)
-- amortized per update; only data fields, so it survives a hot reload in `state`.
local common = require "indicators.common"
local moments = require "indicators.moments"

local sqrt = math.sqrt

local STDDEV = class("indicators.stddev")

local EPSILON = 1e-14         -- TA-Lib's TA_EPSILON

local function new(n)
  n = common.period(n, "stddev")
  return setmetatable(moments.init({}, n), STDDEV)
end

function STDDEV:update(x)
  common.value(x, "stddev")
  local _, var = moments.push(self, x)
  if var == nil then return nil end
  local cur = 0
  if var >= EPSILON then cur = sqrt(var) end
  self.cur = cur
  return cur
end

-- The latest standard deviation, or nil until n values have been seen.
function STDDEV:value()
  return self.cur
end

return new
