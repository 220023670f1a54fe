-- indicators/stoch.lua: slow stochastic oscillator (TA-Lib STOCH, both moving
-- averages SMA).
--
--   local s = require("indicators.stoch")(5, 3, 3)     -- the defaults: stoch()
--   local k, d = s:update(bar.high, bar.low, bar.close)   -- nil until warm
--
-- fast %K = 100 * (close - lowest low) / (highest high - lowest low) over the last
-- fastk bars (0 when the range is 0), computed as TA-Lib does, (close - low) /
-- ((high - low) / 100); slow %K is the mean of the last slowk fast %K values and
-- slow %D the mean of the last slowd slow %K values. Like TA-Lib both come out
-- together, from bar fastk + slowk + slowd - 2 on (bar 9 for the defaults).
-- The highest high and lowest low come from monotonic queues (indices and values,
-- in rings of fastk slots), the means from rings rebuilt when they wrap as in
-- sma.lua: O(1) amortized per update. Only data fields (the queues and rings are
-- plain tables), so it survives a hot reload in `state`.
local common = require "indicators.common"

local STOCH = class("indicators.stoch")

local function queue(n)
  return { idx = {}, val = {}, head = 1, len = 0, size = n }
end

local function ring(n)
  local buf = {}
  for i = 1, n do buf[i] = 0 end
  return { n = n, buf = buf, pos = 0, count = 0, sum = 0 }
end

local function new(fastk, slowk, slowd)
  fastk = common.period(fastk == nil and 5 or fastk, "stoch")
  slowk = common.period(slowk == nil and 3 or slowk, "stoch")
  slowd = common.period(slowd == nil and 3 or slowd, "stoch")
  return setmetatable({ n = fastk, count = 0, high = queue(fastk), low = queue(fastk),
                        slowk = ring(slowk), slowd = ring(slowd) }, STOCH)
end

-- Adds value x of bar i to queue q and returns the extreme of the last q.size bars:
-- the highest if is_max, else the lowest. The queue holds the bars that can still
-- become the extreme, oldest (and most extreme) first.
local function extreme(q, i, x, is_max)
  local idx, val, size, head, len = q.idx, q.val, q.size, q.head, q.len
  while len > 0 and idx[head] <= i - size do
    head, len = head % size + 1, len - 1
  end
  while len > 0 do
    local v = val[(head + len - 2) % size + 1]
    if (is_max and v > x) or (not is_max and v < x) then break end
    len = len - 1
  end
  local slot = (head + len - 1) % size + 1
  idx[slot], val[slot] = i, x
  q.head, q.len = head, len + 1
  return val[head]
end

-- Mean of the last r.n values given to ring r, or nil until it has seen r.n.
local function mean(r, x)
  local n, buf = r.n, r.buf
  local pos, count = r.pos % n + 1, r.count + 1
  local sum = r.sum + x
  if count > n then sum = sum - buf[pos] end
  buf[pos] = x
  if pos == n and count >= n then
    sum = 0
    for i = 1, n do sum = sum + buf[i] end
  end
  r.pos, r.count, r.sum = pos, count, sum
  if count < n then return nil end
  return sum / n
end

function STOCH:update(high, low, close)
  common.value(high, "stoch")
  common.value(low, "stoch")
  common.value(close, "stoch")
  local i = self.count + 1
  self.count = i
  local highest = extreme(self.high, i, high, true)
  local lowest = extreme(self.low, i, low, false)
  if i < self.n then return nil end
  local diff, fast_k = (highest - lowest) / 100, 0
  if diff ~= 0 then fast_k = (close - lowest) / diff end
  local slow_k = mean(self.slowk, fast_k)
  if slow_k == nil then return nil end
  local slow_d = mean(self.slowd, slow_k)
  if slow_d == nil then return nil end
  self.k, self.d = slow_k, slow_d
  return slow_k, slow_d
end

-- The latest slow %K and slow %D, or nil until warm.
function STOCH:value()
  return self.k, self.d
end

return new
