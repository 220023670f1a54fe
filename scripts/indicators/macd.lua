-- indicators/macd.lua: moving average convergence/divergence (TA-Lib MACD).
--
--   local m = require("indicators.macd")(12, 26, 9)   -- the defaults: macd()
--   local macd, signal, hist = m:update(close)         -- nil until warm
--
-- macd = ema(fast) - ema(slow); signal = ema(signal) of macd; hist = macd - signal.
-- Each EMA has k = 2 / (period + 1) and the update of ema.lua. Warm-up follows
-- TA-Lib exactly: both EMAs start at the slow-th value, the slow one seeded with
-- the mean of the first `slow` values and the fast one with the mean of the last
-- `fast` of those (not of the first `fast`); the signal EMA is seeded with the mean
-- of the first `signal` macd values. So the first output comes with value number
-- slow + signal - 1 (34 for the defaults), all three at once. Like TA-Lib, a slow
-- period below the fast one is swapped. signal = 1 gives signal = macd, hist = 0
-- (TA-Lib 0.6 gets that case wrong: its EMA lookback for period 1 is -1, so it
-- starts a bar early with an unset first macd). O(1) per update; only data
-- fields, so it survives a hot reload in `state`.
local common = require "indicators.common"

local MACD = class("indicators.macd")

local function new(fast, slow, signal)
  fast = common.period(fast == nil and 12 or fast, "macd")
  slow = common.period(slow == nil and 26 or slow, "macd")
  signal = common.period(signal == nil and 9 or signal, "macd")
  if slow < fast then fast, slow = slow, fast end
  return setmetatable({ fast = fast, slow = slow, signal = signal,
                        k_fast = 2 / (fast + 1), k_slow = 2 / (slow + 1),
                        k_signal = 2 / (signal + 1),
                        count = 0, sum_fast = 0, sum_slow = 0, sum_signal = 0 }, MACD)
end

-- Folds one macd value into the signal EMA; nil until `signal` macd values.
local function signal_update(self, m)
  local sig = self.sig
  if sig then return (m - sig) * self.k_signal + sig end
  self.sum_signal = self.sum_signal + m
  if self.count - self.slow + 1 < self.signal then return nil end
  return self.sum_signal / self.signal
end

function MACD:update(x)
  common.value(x, "macd")
  local count = self.count + 1
  self.count = count
  local ema_fast, ema_slow = self.ema_fast, self.ema_slow
  if ema_slow then
    ema_fast = (x - ema_fast) * self.k_fast + ema_fast
    ema_slow = (x - ema_slow) * self.k_slow + ema_slow
  else
    local slow = self.slow
    self.sum_slow = self.sum_slow + x
    if count > slow - self.fast then self.sum_fast = self.sum_fast + x end
    if count < slow then return nil end
    ema_fast, ema_slow = self.sum_fast / self.fast, self.sum_slow / slow
  end
  self.ema_fast, self.ema_slow = ema_fast, ema_slow
  local m = ema_fast - ema_slow
  local sig = signal_update(self, m)
  if sig == nil then return nil end
  self.sig, self.macd, self.hist = sig, m, m - sig
  return m, sig, m - sig
end

-- The latest macd, signal and hist, or nil until warm.
function MACD:value()
  return self.macd, self.sig, self.hist
end

return new
