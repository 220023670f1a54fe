-- tests/lua/indicators/run.lua: checks scripts/indicators/ outside the host.
--
--   ~/.cache/luatrade/luajit/bin/luajit tests/lua/indicators/run.lua
--
-- The modules are loaded the way the sandbox loads them (sandbox.lua): each file
-- runs in an environment holding only the sandbox's libraries plus a `class` and
-- `require` shaped like the prelude's, and touching an unknown global is an error.
-- Values are checked against hand-computed cases, the published Wilder RSI
-- example, and plain non-streaming reference versions over a deterministic
-- pseudo-random series (1e-9 relative); talib.mjs checks every indicator against
-- TA-Lib itself. Argument checks, data-only fields and a hot reload (objects
-- copied data-only into a fresh sandbox) are checked for every indicator.
-- Prints "N passed, M failed" last; exits non-zero on failure.

local root = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
root = root .. "/../../.."

local new_sandbox = dofile(root .. "/tests/lua/indicators/sandbox.lua")(root)

local sbx, classes = new_sandbox()
local ind = sbx.require("indicators")

local passed, failed = 0, 0
local function check(ok, what)
  if ok then
    passed = passed + 1
  else
    failed = failed + 1
    print("FAIL " .. what)
  end
end

local function close_to(a, b, rel)
  if a == nil or b == nil then return a == b end
  rel = rel or 1e-9
  return math.abs(a - b) <= rel * math.max(math.abs(a), math.abs(b)) + 1e-300
end

-- Feeds xs to a fresh indicator; returns its outputs (false where nil).
local function run(make, n, xs)
  local obj, out = make(n), {}
  for i = 1, #xs do
    local v = obj:update(xs[i])
    if v == nil then out[i] = false else out[i] = v end
    if v ~= obj:value() then check(false, "update and value() disagree at " .. i) end
  end
  return out, obj
end

local function check_series(name, got, want, rel)
  local bad
  for i = 1, math.max(#got, #want) do
    local g, w = got[i], want[i]
    local ok
    if w == false or g == false then ok = g == w else ok = close_to(g, w, rel) end
    if not ok then bad = bad or i end
  end
  check(bad == nil, name .. (bad and (": first mismatch at " .. bad .. ": got "
        .. tostring(got[bad]) .. ", want " .. tostring(want[bad])) or ""))
end

-- Deterministic series: Park-Miller minimal standard generator (exact in doubles).
local function series(count, seed, level, step)
  local s, x, xs = seed, level, {}
  for i = 1, count do
    s = (16807 * s) % 2147483647
    x = x + (s / 2147483647 - 0.5) * step
    xs[i] = x
  end
  return xs
end

---------------------------------------------------------------- references
local function sma_ref(xs, n)
  local out = {}
  for i = 1, #xs do
    if i < n then out[i] = false else
      local s = 0
      for j = i - n + 1, i do s = s + xs[j] end
      out[i] = s / n
    end
  end
  return out
end

local function ema_ref(xs, n)
  local out, k, prev = {}, 2 / (n + 1), nil
  for i = 1, #xs do
    if i < n then out[i] = false
    elseif i == n then
      local s = 0
      for j = 1, n do s = s + xs[j] end
      prev = s / n
      out[i] = prev
    else
      prev = k * xs[i] + (1 - k) * prev
      out[i] = prev
    end
  end
  return out
end

-- Wilder: plain averages of the first n changes, then (avg*(n-1)+x)/n; 100-100/(1+RS).
local function rsi_ref(xs, n)
  local out, ag, al = { false }, 0, 0
  for i = 2, #xs do
    local d = xs[i] - xs[i - 1]
    local g, l = math.max(d, 0), math.max(-d, 0)
    if i - 1 < n then
      ag, al = ag + g, al + l
      out[i] = false
    else
      if i - 1 == n then ag, al = (ag + g) / n, (al + l) / n
      else ag, al = (ag * (n - 1) + g) / n, (al * (n - 1) + l) / n end
      if ag + al < 1e-14 then out[i] = 0
      elseif al == 0 then out[i] = 100
      else out[i] = 100 - 100 / (1 + ag / al) end
    end
  end
  return out
end

-- Two passes over deviations from the window's first value: exact differences for
-- values within a factor of two of it (Sterbenz), so this stays accurate when the
-- spread is tiny next to the level.
local function stddev_ref(xs, n)
  local out = {}
  for i = 1, #xs do
    if i < n then out[i] = false else
      local base, s = xs[i - n + 1], 0
      for j = i - n + 1, i do s = s + (xs[j] - base) end
      local mean, ss = s / n, 0
      for j = i - n + 1, i do ss = ss + ((xs[j] - base) - mean) ^ 2 end
      local var = ss / n
      out[i] = var < 1e-14 and 0 or math.sqrt(var)
    end
  end
  return out
end

---------------------------------------------------------------- hand-computed
local one_to_ten = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }
check_series("sma(3) of 1..10", run(ind.sma, 3, one_to_ten),
             { false, false, 2, 3, 4, 5, 6, 7, 8, 9 })
check_series("sma(10) of 1..10", run(ind.sma, 10, one_to_ten),
             { false, false, false, false, false, false, false, false, false, 5.5 })
check_series("sma(1) is the input", run(ind.sma, 1, one_to_ten), one_to_ten)
-- k = 0.5, seed (1+2+3)/3 = 2, then (x - prev)/2 + prev: 3, 4, ...
check_series("ema(3) of 1..10", run(ind.ema, 3, one_to_ten),
             { false, false, 2, 3, 4, 5, 6, 7, 8, 9 })
-- k = 2/3, seed (2+4)/2 = 3, then 3 + (8-3)*2/3 = 19/3, then 19/3 + (1-19/3)*2/3 = 25/9
check_series("ema(2) of 2,4,8,1", run(ind.ema, 2, { 2, 4, 8, 1 }),
             { false, 3, 19 / 3, 25 / 9 }, 1e-15)
check_series("ema(1) is the input", run(ind.ema, 1, one_to_ten), one_to_ten)
check_series("stddev(8) of 2,4,4,4,5,5,7,9", run(ind.stddev, 8, { 2, 4, 4, 4, 5, 5, 7, 9 }),
             { false, false, false, false, false, false, false, 2 })
-- windows {1,3} {3,3} {3,7}: deviations 1, 0, 2
check_series("stddev(2) of 1,3,3,7", run(ind.stddev, 2, { 1, 3, 3, 7 }), { false, 1, 0, 2 })
check_series("stddev(1) is 0", run(ind.stddev, 1, { 5, -3, 8 }), { 0, 0, 0 })
-- up, down, up: gains 2+3 over 3 = 5/3, losses 1/3 -> 100 * 5/6
check_series("rsi(3) of 10,12,11,14", run(ind.rsi, 3, { 10, 12, 11, 14 }),
             { false, false, false, 250 / 3 }, 1e-15)
check_series("rsi(2) all up is 100", run(ind.rsi, 2, { 1, 2, 3, 4 }), { false, false, 100, 100 })
check_series("rsi(2) all down is 0", run(ind.rsi, 2, { 4, 3, 2, 1 }), { false, false, 0, 0 })
check_series("rsi(2) flat is 0 (TA-Lib)", run(ind.rsi, 2, { 5, 5, 5, 5 }), { false, false, 0, 0 })

-- weights 1, 2, 3 over 6: on 1..10 that is the last value minus 2/3
check_series("wma(3) of 1..10", run(ind.wma, 3, one_to_ten),
             { false, false, 7 / 3, 10 / 3, 13 / 3, 16 / 3, 19 / 3, 22 / 3, 25 / 3, 28 / 3 }, 1e-15)
check_series("wma(1) is the input", run(ind.wma, 1, one_to_ten), one_to_ten)
check_series("roc(2) of 100,110,121,110", run(ind.roc, 2, { 100, 110, 121, 110 }),
             { false, false, 21, 0 }, 1e-12)
check_series("roc(1) after a 0 is 0 (TA-Lib)", run(ind.roc, 1, { 0, 5, 10 }), { false, 0, 100 })

-- Feeds a list of argument lists to obj; returns the list of its result lists.
local function outputs(obj, inputs)
  local out = {}
  for i = 1, #inputs do out[i] = { obj:update(unpack(inputs[i])) } end
  return out
end
local function check_outputs(name, got, want)
  local bad
  for i = 1, #want do
    if #got[i] ~= #want[i] then bad = bad or i end
    for j = 1, #want[i] do
      if not close_to(got[i][j], want[i][j], 1e-12) then bad = bad or i end
    end
  end
  check(bad == nil, name .. (bad and (": first mismatch at " .. bad .. ": got "
        .. table.concat(got[bad], ", ")) or ""))
end
-- true ranges 2, 3 (the high above the last close), 1 (the low below it), 9.5 (a gap)
local bars = { { 10, 8, 9 }, { 11, 9, 10 }, { 12, 9, 11 }, { 11, 10, 10.5 }, { 20, 19, 19.5 } }
check_outputs("atr(2) of five bars", outputs(ind.atr(2), bars),
              { {}, {}, { 2.5 }, { 1.75 }, { 5.625 } })
check_outputs("atr(1) is the true range", outputs(ind.atr(1), bars), { {}, { 2 }, { 3 }, { 1 }, { 9.5 } })
-- fast %K over 3 bars: (11 - 8) / (12 - 8), (10.5 - 9) / (12 - 9), (19.5 - 9) / (20 - 9)
check_outputs("stoch(3, 1, 1) of five bars", outputs(ind.stoch(3, 1, 1), bars),
              { {}, {}, { 75, 75 }, { 50, 50 }, { 1050 / 11, 1050 / 11 } })
check_outputs("stoch(3, 2, 2) of five bars", outputs(ind.stoch(3, 2, 2), bars),
              { {}, {}, {}, {}, { (50 + 1050 / 11) / 2, (62.5 + (50 + 1050 / 11) / 2) / 2 } })
check_outputs("stoch(2, 1, 1) with no range is 0", outputs(ind.stoch(2, 1, 1), { { 5, 5, 5 }, { 5, 5, 5 } }),
              { {}, { 0, 0 } })
-- On a straight line both EMAs lag by (1 - k) / k from their seeds on: 0.5 and 1.
check_outputs("macd(2, 3, 2) of 1..5", outputs(ind.macd(2, 3, 2), { { 1 }, { 2 }, { 3 }, { 4 }, { 5 } }),
              { {}, {}, {}, { 0.5, 0.5, 0 }, { 0.5, 0.5, 0 } })
-- TA-Lib seeds the fast EMA with the mean of the last 2 of the first 4 values: 4 - 3.
check_outputs("macd(2, 4, 1) seeds the fast EMA late", outputs(ind.macd(2, 4, 1), { { 4 }, { 0 }, { 0 }, { 8 } }),
              { {}, {}, {}, { 1, 1, 0 } })
check_outputs("bbands(2) of 1,3", outputs(ind.bbands(2), { { 1 }, { 3 } }), { {}, { 4, 2, 0 } })
check_outputs("bbands(2, 2, 1) of 1,3", outputs(ind.bbands(2, 2, 1), { { 1 }, { 3 } }), { {}, { 4, 2, 1 } })

-- Wilder's 14-period example from StockCharts' RSI spreadsheet (closes to 4
-- decimals; the RSI column as published, to 2 decimals).
local wilder_closes = {
  44.3389, 44.0902, 44.1497, 43.6124, 44.3278, 44.8264, 45.0955, 45.4245, 45.8433,
  46.0826, 45.8931, 46.0328, 45.6140, 46.2820, 46.2820, 46.0028, 46.0328, 46.4116,
  46.2222, 45.6439, 46.2122, 46.2521, 45.7137, 46.4515, 45.7835, 45.3548, 44.0288,
  44.1783, 44.2181, 44.5672, 43.4205, 42.6628, 43.1314 }
local wilder_rsi = {
  70.53, 66.32, 66.55, 69.41, 66.36, 57.97, 62.93, 63.26, 56.06, 62.38, 54.71, 50.42,
  39.99, 41.46, 41.87, 45.46, 37.30, 33.08, 37.77 }
do
  local got = run(ind.rsi, 14, wilder_closes)
  local bad
  for i = 1, #wilder_closes do
    local want = false
    if i > 14 then want = wilder_rsi[i - 14] end
    local g = got[i]
    local ok = (want == false and g == false)
               or (want ~= false and g ~= false and math.abs(g - want) < 0.005 + 1e-9)
    if not ok then bad = bad or i end
  end
  check(bad == nil, "rsi(14) on Wilder's published example" ..
        (bad and (" at " .. bad .. ": got " .. tostring(got[bad])) or ""))
end

---------------------------------------------------------------- references, 500 values
local walks = {
  { "walk near 100", series(500, 12345, 100, 1) },
  { "cents on 10000", series(500, 777, 10000, 0.02) },   -- small spread, high level
  { "around zero", series(500, 4242, 0, 10) },
}
do  -- a walk with flat stretches: zero changes and zero spread inside the window
  local xs = series(500, 99, 50, 2)
  for i = 200, 260 do xs[i] = xs[199] end
  walks[#walks + 1] = { "walk with a flat stretch", xs }
end
for _, w in ipairs(walks) do
  local label, xs = w[1], w[2]
  for _, n in ipairs({ 1, 2, 5, 14, 20, 50, 200 }) do
    check_series(("sma(%d) %s"):format(n, label), run(ind.sma, n, xs), sma_ref(xs, n))
    check_series(("ema(%d) %s"):format(n, label), run(ind.ema, n, xs), ema_ref(xs, n))
    check_series(("rsi(%d) %s"):format(n, label), run(ind.rsi, n, xs), rsi_ref(xs, n))
    check_series(("stddev(%d) %s"):format(n, label), run(ind.stddev, n, xs), stddev_ref(xs, n))
  end
end

do  -- a long run: no drift in the running sums after a million updates
  local s, obj_sma, obj_sd = 1, ind.sma(30), ind.stddev(30)
  local tail = {}
  for i = 1, 1000000 do
    s = (16807 * s) % 2147483647
    local x = 100 + (s / 2147483647 - 0.5) * 0.1
    obj_sma:update(x)
    obj_sd:update(x)
    if i > 1000000 - 30 then tail[#tail + 1] = x end
  end
  check(close_to(obj_sma:value(), sma_ref(tail, 30)[30]), "sma(30) after 1e6 updates")
  check(close_to(obj_sd:value(), stddev_ref(tail, 30)[30]), "stddev(30) after 1e6 updates")
end

---------------------------------------------------------------- every indicator
-- How the checks below feed each indicator: atr and stoch take high, low, close
-- (a bar around x); the others one value. macd, bbands and stoch have default
-- periods, the others need one.
local takes_bars = { atr = true, stoch = true }
local has_defaults = { macd = true, bbands = true, stoch = true }
local function feed(name, obj, x)
  if takes_bars[name] then return obj:update(x + 1, x - 1.5, x) end
  return obj:update(x)
end

local function same(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do if a[i] ~= b[i] then return false end end
  return true
end

---------------------------------------------------------------- warm-up
-- The number of updates until the first value, with these periods.
local warm_ups = {
  { "sma", { 5 }, 5 }, { "ema", { 5 }, 5 }, { "wma", { 5 }, 5 }, { "stddev", { 5 }, 5 },
  { "rsi", { 5 }, 6 }, { "roc", { 5 }, 6 }, { "atr", { 5 }, 6 },
  { "bbands", { 5 }, 5 }, { "bbands", {}, 20 },
  { "macd", { 3, 5, 2 }, 6 }, { "macd", { 5, 3, 2 }, 6 }, { "macd", {}, 34 },
  { "stoch", { 4, 2, 3 }, 7 }, { "stoch", {}, 9 }, { "stoch", { 1, 1, 1 }, 1 },
}
for _, w in ipairs(warm_ups) do
  local name, args, warm = w[1], w[2], w[3]
  local what = ("%s(%s)"):format(name, table.concat(args, ", "))
  local obj = ind[name](unpack(args))
  check(obj:value() == nil, what .. ": value() nil before any update")
  for i = 1, warm - 1 do
    check(feed(name, obj, i * 1.5) == nil and obj:value() == nil, what .. ": nil at update " .. i)
  end
  local out = { feed(name, obj, 2) }
  check(type(out[1]) == "number" and same(out, { obj:value() }),
        what .. ": a number at update " .. warm .. " and value() returns it")
end

---------------------------------------------------------------- argument checks
local this_file = "run%.lua:%d+:"
local function raises_here(f, text)
  local ok, msg = pcall(f)
  return not ok and type(msg) == "string" and msg:find(this_file) ~= nil
         and msg:find(text, 1, true) ~= nil, tostring(msg)
end
for name, make in pairs(ind) do
  for _, bad in ipairs({ 0, -1, 1.5, "10", false, 100001, 0 / 0, 1 / 0 }) do
    -- not a tail call, so the caller's frame (and its line) is still there
    local ok, msg = raises_here(function() local o = make(bad); return o end,
                                name .. ": period must be an integer")
    check(ok, ("%s(%s) raises at the caller: %s"):format(name, tostring(bad), msg))
  end
  if has_defaults[name] then
    check(pcall(make), name .. "() takes its default periods")
  else
    local ok, msg = pcall(function() return make() end)
    check(not ok and msg:find("got nil"), name .. "() without a period raises")
  end
  check(pcall(make, 100000), name .. "(100000) is accepted")
  local obj = make(3)
  for _, bad in ipairs({ "1", 0 / 0, 1 / 0, -1 / 0, {} }) do
    local args = { bad }
    if takes_bars[name] then args = { 2, 1, bad } end
    local ok, msg = raises_here(function() local v = obj:update(unpack(args)); return v end,
                                name .. ":update: value must be a finite number")
    check(ok, ("%s:update(%s) raises at the caller: %s"):format(name, tostring(bad), msg))
  end
  local ok3 = pcall(function() return obj:update() end)
  check(not ok3, name .. ":update() without a value raises")
  check(obj.count == 0 and obj:value() == nil, name .. ": a refused value leaves the object untouched")
end
-- the other periods and the band multipliers
for _, c in ipairs({ { "macd", { 12, 0, 9 }, "macd: period" }, { "macd", { 12, 26, 1.5 }, "macd: period" },
                     { "stoch", { 5, 0 }, "stoch: period" }, { "stoch", { 5, 3, "3" }, "stoch: period" },
                     { "bbands", { 20, "2" }, "bbands: deviation multiplier must be a finite number" },
                     { "bbands", { 20, 2, 0 / 0 }, "bbands: deviation multiplier must be a finite number" } }) do
  local name, args = c[1], c[2]
  local ok, msg = raises_here(function() local o = ind[name](unpack(args)); return o end, c[3])
  check(ok, ("%s with bad argument raises at the caller: %s"):format(name, msg))
end

---------------------------------------------------------------- data only
-- What the host's serializer accepts: tables of strings, numbers and booleans, the
-- object's own metatable being a class (named), nothing else with a metatable.
local function data_only(v, depth)
  local t = type(v)
  if t == "number" or t == "string" or t == "boolean" then return true end
  if t ~= "table" or (depth > 0 and getmetatable(v) ~= nil) then return false end
  for k, x in pairs(v) do
    if (type(k) ~= "string" and type(k) ~= "number") or not data_only(x, depth + 1) then
      return false
    end
  end
  return true
end

local function copy_data(v)
  if type(v) ~= "table" then return v end
  local c = {}
  for k, x in pairs(v) do c[k] = copy_data(x) end
  return c
end

for name, make in pairs(ind) do
  local obj = make(4)
  for i = 1, 12 do feed(name, obj, i * i) end
  local mt = getmetatable(obj)
  check(mt == sbx.class("indicators." .. name) and mt.__class == "indicators." .. name,
        name .. ": metatable is class('indicators." .. name .. "')")
  check(data_only(obj, 0), name .. ": fields are data only")
  for k, v in pairs(obj) do
    check(type(v) ~= "function", name .. ": function field " .. tostring(k))
  end
  if obj.buf then check(#obj.buf == obj.n, name .. ": ring buffer is a full array") end
end

---------------------------------------------------------------- hot reload
-- Copy objects out data-only, then into a fresh sandbox: the class is re-attached by
-- requiring the module of the class's name, as the host does. Both copies must then
-- go on producing the same values.
do
  local xs = series(300, 31337, 100, 1)
  local old = {}
  for name, make in pairs(ind) do old[name] = make(14) end
  for i = 1, 150 do for name, obj in pairs(old) do feed(name, obj, xs[i]) end end

  local sbx2, classes2 = new_sandbox()
  local moved = {}
  for name, obj in pairs(old) do
    local cls = getmetatable(obj).__class
    sbx2.require(cls)
    check(classes2[cls] ~= nil and classes2[cls] ~= classes[cls],
          name .. ": requiring " .. cls .. " defines the class in a new sandbox")
    moved[name] = setmetatable(copy_data(obj), classes2[cls])
  end
  for i = 151, 300 do
    for name, obj in pairs(old) do
      local a, b = { feed(name, obj, xs[i]) }, { feed(name, moved[name], xs[i]) }
      if not same(a, b) then check(false, ("%s diverges after reload at %d"):format(name, i)) end
    end
  end
  for name in pairs(old) do
    check(same({ old[name]:value() }, { moved[name]:value() }) and moved[name]:value() ~= nil,
          name .. ": same value after a simulated reload")
  end
end

print(("%d passed, %d failed"):format(passed, failed))
os.exit(failed == 0 and 0 or 1)
