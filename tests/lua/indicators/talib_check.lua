-- tests/lua/indicators/talib_check.lua: compares scripts/indicators/ with TA-Lib's
-- results in a fixture written by talib.mjs (run that, not this).
--
--   luajit talib_check.lua FIXTURE
--
-- The fixture holds bar series ("series NAME COUNT", then COUNT lines "o h l c")
-- and TA-Lib's results ("case INDICATOR SERIES BEGIDX NB NOUT ARGS...", then NB
-- lines of NOUT values, TA-Lib's output number k being for bar BEGIDX + k).
-- For each case a fresh indicator, made with ARGS in a sandbox-like environment
-- (sandbox.lua), is fed every bar (atr and stoch get high, low, close; the others
-- the close). It must return nil exactly before bar BEGIDX (for all bars when NB
-- is 0), NOUT numbers from then on, each within 1e-9 relative of TA-Lib's, or
-- 1e-12 absolute near zero.
--
-- One allowance: TA-Lib's STDDEV and BBANDS take the variance as T2/n - (T1/n)^2
-- from running sums of x and x^2 kept from the first bar on and never rebuilt,
-- which loses the digits of a variance that is small next to x^2 (a flat window,
-- cents on 10000; ours keeps sums about the window's mean, see moments.lua). So a
-- standard deviation there (a band: times its multiplier) may also differ by what
-- TA-Lib's rounding can account for: its variance is off by at most B, a
-- first-order bound accumulated along TA-Lib's own operations (variance_bounds),
-- so its deviation by at most B' / max(sd, sqrt(B')), B' = B + 1e-14 for its cut
-- to 0 below 1e-14. Values that needed this are counted and reported.
--
-- Prints per indicator the cases and values compared, the largest difference as a
-- share of the tolerance (allowance aside) and how many values needed the
-- allowance, then "N passed, M failed"; exits non-zero on any failure.

local fixture = assert(arg[1], "usage: luajit talib_check.lua FIXTURE")
local dir = (arg[0]:match("^(.*)[/\\]") or ".")
local new_sandbox = dofile(dir .. "/sandbox.lua")(dir .. "/../../..")
local ind = new_sandbox().require("indicators")

local REL, ABS = 1e-9, 1e-12
local abs, max, sqrt = math.abs, math.max, math.sqrt
local takes_bars = { atr = true, stoch = true }

local function numbers(line)
  local t = {}
  for w in line:gmatch("%S+") do t[#t + 1] = assert(tonumber(w), "not a number: " .. w) end
  return t
end

-- Reads the fixture: series by name, and the cases in order.
local function load(file)
  local f = assert(io.open(file))
  local next_line = f:lines()
  local series, cases = {}, {}
  for line in next_line do
    local kind, rest = line:match("^(%S+) (.*)$")
    if kind == "series" then
      local name, count = rest:match("^(%S+) (%d+)$")
      local bars = {}
      for i = 1, tonumber(count) do bars[i] = numbers(next_line()) end
      series[name] = bars
    elseif kind == "case" then
      local name, sname, head = rest:match("^(%S+) (%S+) (.*)$")
      local h = numbers(head)
      local c = { name = name, series = sname, beg = h[1], nb = h[2], nout = h[3],
                  args = { unpack(h, 4) }, want = {} }
      for i = 1, c.nb do c.want[i] = numbers(next_line()) end
      cases[#cases + 1] = c
    else
      error("bad fixture line: " .. line)
    end
  end
  f:close()
  return series, cases
end

local series, cases = load(fixture)
local passed, failed = 0, 0
local stats, order = {}, {}

-- For each bar from n on, a bound on the error of the variance TA-Lib computes
-- over the closes of bars (INT_VAR, and BBANDS' stddev_using_precalc_ma with the
-- mean from INT_SMA: the same operations). U = 2^-52 is twice the rounding of one
-- operation, slack for the second-order terms left out.
local function variance_bounds(bars, n)
  local U = 2 ^ -52
  local t1, t2, e1, e2, bounds = 0, 0, 0, 0, {}
  for i = 1, #bars do
    local x = bars[i][4]
    t1, t2 = t1 + x, t2 + x * x
    e1, e2 = e1 + U * abs(t1), e2 + U * (x * x + abs(t2))
    if i >= n then
      local m1, m2 = t1 / n, t2 / n
      local em1, em2 = e1 / n + U * abs(m1), e2 / n + U * m2
      bounds[i] = em2 + 2 * abs(m1) * em1 + em1 * em1 + U * (m1 * m1 + abs(m2 - m1 * m1))
      local y = bars[i - n + 1][4]
      t1, t2 = t1 - y, t2 - y * y
      e1, e2 = e1 + U * abs(t1), e2 + U * (y * y + abs(t2))
    end
  end
  return bounds
end

-- The allowance for output j of case c (ours a, TA-Lib's w, all outputs of the
-- bar in got and want), given the variance bound b of the bar; 0 where none.
local function allowance(c, j, got, want, b)
  if c.name ~= "stddev" and c.name ~= "bbands" then return 0 end
  local d, sd, k = b + 1e-14, nil, 1
  if c.name == "stddev" then
    sd = max(got[1], want[1])
  else
    local up, down = c.args[2] or 2, c.args[3] or c.args[2] or 2
    if j == 2 then return 0 end
    k = j == 1 and up or down
    if k == 0 then return 0 end
    sd = max(abs(got[j] - got[2]), abs(want[j] - want[2])) / abs(k)
  end
  return abs(k) * d / max(sd, sqrt(d))
end

-- Runs one case, adding to the indicator's stats; returns nil or the first problem.
local function run(c, st)
  local bars = assert(series[c.series], "no series " .. c.series)
  local n = c.name == "stddev" and c.args[1] or c.name == "bbands" and (c.args[1] or 20)
  local bounds = n and variance_bounds(bars, n) or {}
  local obj = ind[c.name](unpack(c.args))
  for i = 1, #bars do
    local b, got = bars[i], nil
    if takes_bars[c.name] then got = { obj:update(b[2], b[3], b[4]) }
    else got = { obj:update(b[4]) } end
    local idx = i - 1
    if c.nb == 0 or idx < c.beg then
      if got[1] ~= nil then return ("a value at bar %d, TA-Lib's first is at %s"):format(
        idx, c.nb == 0 and "none" or tostring(c.beg)) end
    else
      if #got ~= c.nout then return ("%d values at bar %d, want %d"):format(#got, idx, c.nout) end
      local want = c.want[idx - c.beg + 1]
      for j = 1, c.nout do
        local a, w = got[j], want[j]
        local d, tol = abs(a - w), REL * max(abs(a), abs(w)) + ABS
        if d > tol then
          if d > tol + allowance(c, j, got, want, bounds[i] or 0) then
            return ("bar %d output %d: got %.17g, TA-Lib %.17g"):format(idx, j, a, w)
          end
          st.widened = st.widened + 1
        else
          st.worst = max(st.worst, d / tol)
        end
        st.values = st.values + 1
      end
    end
  end
  if c.nb > 0 and c.beg + c.nb ~= #bars then return "TA-Lib's results do not reach the last bar" end
  return nil
end

for _, c in ipairs(cases) do
  local st = stats[c.name]
  if not st then
    st = { cases = 0, values = 0, worst = 0, widened = 0 }
    stats[c.name] = st
    order[#order + 1] = c.name
  end
  st.cases = st.cases + 1
  local problem = run(c, st)
  if problem then
    failed = failed + 1
    print(("FAIL %s(%s) on %s: %s"):format(c.name, table.concat(c.args, ", "), c.series, problem))
  else
    passed = passed + 1
  end
end

for _, name in ipairs(order) do
  local st = stats[name]
  print(("%-7s %2d cases, %6d values compared, largest difference %.0e of the tolerance%s"):format(
    name, st.cases, st.values, st.worst,
    st.widened > 0 and (", %d only within TA-Lib's rounding bound"):format(st.widened) or ""))
end
print(("%d passed, %d failed"):format(passed, failed))
os.exit(failed == 0 and 0 or 1)
