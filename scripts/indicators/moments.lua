-- indicators/moments.lua: mean and population variance of the last n values,
-- kept in the fields of an indicator object (stddev and bbands use it).
--
--   moments.init(obj, n)              -- adds the fields below to obj
--   local mean, var = moments.push(obj, x)   -- nil until n values, then both
--
-- Running sums of x and x^2 over a ring of the last n values, but about a shift
-- k near the window's mean (s1 = sum(x - k), s2 = sum((x - k)^2)): raw sums of
-- prices near 100 moving by cents cancel away most of their digits, shifted ones
-- do not. Each push also tracks a bound on the rounding error of s1 and s2; the
-- sums are rebuilt from the ring, with k moved to the mean, when the ring wraps
-- and whenever that bound could reach 1e-10 of the variance (the variance fell
-- sharply inside the window). So push is O(1) amortized, O(n) in the rebuilds.
-- The fields are plain data: n, buf, pos, count, k, s1, s2, err1, err2.
local abs = math.abs

local U = 4 * 2 ^ -53         -- rounding per operation, with slack
local REBUILD_AT = 1e-10      -- rebuild when the error bound reaches this share of the variance
local EPSILON = 1e-14         -- below this a variance is 0 anyway (TA-Lib's TA_EPSILON)

local function init(self, n)
  local buf = {}
  for i = 1, n do buf[i] = 0 end
  self.n, self.buf, self.pos, self.count = n, buf, 0, 0
  self.k, self.s1, self.s2, self.err1, self.err2 = 0, 0, 0, 0, 0
  return self
end

-- Recomputes the sums over the filled part of the ring about its own mean.
local function rebuild(self)
  local buf, m = self.buf, self.count < self.n and self.count or self.n
  local sum = 0
  for i = 1, m do sum = sum + (buf[i] - self.k) end
  local k = self.k + sum / m
  local s1, s2, a1 = 0, 0, 0
  for i = 1, m do
    local d = buf[i] - k
    s1, s2, a1 = s1 + d, s2 + d * d, a1 + abs(d)
  end
  self.k, self.s1, self.s2 = k, s1, s2
  self.err1, self.err2 = U * m * a1, U * m * s2
end

-- Variance over the filled part of the ring, and a bound on its rounding error.
local function variance(self)
  local m = self.count < self.n and self.count or self.n
  local mean, sq = self.s1 / m, self.s2 / m
  return sq - mean * mean, (self.err2 + 2 * abs(mean) * self.err1) / m + U * (sq + mean * mean)
end

local function push(self, x)
  local n, buf, k = self.n, self.buf, self.k
  local pos = self.pos % n + 1
  local count = self.count + 1
  local d = x - k
  local s1, s2 = self.s1 + d, self.s2 + d * d
  local err1, err2 = self.err1 + U * (abs(s1) + abs(d)), self.err2 + U * (s2 + d * d)
  if count > n then
    local od = buf[pos] - k
    s1, s2 = s1 - od, s2 - od * od
    err1, err2 = err1 + U * (abs(s1) + abs(od)), err2 + U * (abs(s2) + od * od)
  end
  buf[pos] = x
  self.pos, self.count = pos, count
  self.s1, self.s2, self.err1, self.err2 = s1, s2, err1, err2
  if count < n then return nil end
  if pos == n then rebuild(self) end
  local var, bound = variance(self)
  if bound > REBUILD_AT * var and var + bound >= EPSILON then
    rebuild(self)
    var = variance(self)
  end
  return self.k + self.s1 / n, var
end

return { init = init, push = push }
