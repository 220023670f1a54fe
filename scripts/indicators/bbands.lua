-- indicators/bbands.lua: Bollinger bands (TA-Lib BBANDS with MA type SMA).
--
--   local b = require("indicators.bbands")(20, 2)      -- the defaults: bbands()
--   local upper, mid, lower = b:update(close)          -- nil for the first n-1 values
--   require("indicators.bbands")(20, 2, 1.5)          -- a different multiplier below
--
-- mid is the mean of the last n values, sd their population standard deviation;
-- upper = mid + up * sd, lower = mid - down * sd (TA-Lib's nbdevup and nbdevdn;
-- down defaults to up). Mean and variance come from moments.lua, as in stddev.lua,
-- with TA-Lib's rule that a variance below 1e-14 gives sd = 0. O(1) amortized per
-- update; only data fields, so it survives a hot reload in `state`.
local common = require "indicators.common"
local moments = require "indicators.moments"

local sqrt = math.sqrt

local BBANDS = class("indicators.bbands")

local EPSILON = 1e-14         -- TA-Lib's TA_EPSILON

local function new(n, up, down)
  n = common.period(n == nil and 20 or n, "bbands")
  up = common.number(up == nil and 2 or up, "bbands", "deviation multiplier")
  down = common.number(down == nil and up or down, "bbands", "deviation multiplier")
  return setmetatable(moments.init({ up = up, down = down }, n), BBANDS)
end

function BBANDS:update(x)
  common.value(x, "bbands")
  local mid, var = moments.push(self, x)
  if mid == nil then return nil end
  local sd = 0
  if var >= EPSILON then sd = sqrt(var) end
  local upper, lower = mid + sd * self.up, mid - sd * self.down
  self.upper, self.mid, self.lower = upper, mid, lower
  return upper, mid, lower
end

-- The latest upper, middle and lower band, or nil until n values have been seen.
function BBANDS:value()
  return self.upper, self.mid, self.lower
end

return new
