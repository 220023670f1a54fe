-- tests/lua/indicators/run.lua: checks scripts/indicators/ outside the host.
--
--   ~/.cache/luatrade/luajit/bin/luajit tests/lua/indicators/run.lua
--
-- The modules are loaded the way the sandbox loads them: each file runs in an
-- environment holding only the sandbox's libraries plus a `class` and `require`
-- shaped like the prelude's (named metatables; modules cached per "sandbox"), and
-- writing a global is an error. Values are checked against hand-computed cases,
-- the published Wilder RSI example, and plain non-streaming reference versions
-- over a deterministic pseudo-random series (1e-9 relative). A hot reload is
-- simulated by copying objects data-only into a fresh sandbox.
-- Prints "N passed, M failed" last; exits non-zero on failure.

local root = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
root = root .. "/../../.."

-- A fresh "sandbox": its own class registry and module cache.
local function new_sandbox()
  local classes, loaded = {}, {}
  local env = {}
  for _, k in ipairs({ "assert", "error", "ipairs", "next", "pairs", "pcall", "select",
                       "setmetatable", "getmetatable", "rawget", "rawset", "rawequal",
                       "tonumber", "tostring", "type", "unpack", "xpcall" }) do
    env[k] = _G[k]
  end
  env.string, env.table, env.math, env.bit = string, table, math, bit
  env._G = env
  function env.class(name)
    if type(name) ~= "string" or name == "" then
      error("bad argument #1 to 'class' (non-empty string expected)", 2)
    end
    local mt = classes[name]
    if mt then return mt end
    mt = { __class = name }
    mt.__index = mt
    classes[name] = mt
    return mt
  end
  function env.require(name)
    local v = loaded[name]
    if v ~= nil then return v end
    local rel = name:gsub("%.", "/")
    local fn = loadfile(root .. "/scripts/" .. rel .. ".lua")
             or loadfile(root .. "/scripts/" .. rel .. "/init.lua")
    if not fn then error("module '" .. name .. "' not found", 2) end
    setfenv(fn, env)
    local r = fn(name)
    if r == nil then r = true end
    loaded[name] = r
    return r
  end
  setmetatable(env, {
    __newindex = function(_, k) error("global written: " .. tostring(k), 2) end,
    __index = function(_, k) error("global read: " .. tostring(k), 2) end,
  })
  return env, classes
end

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

---------------------------------------------------------------- warm-up
for name, warm in pairs({ sma = 5, ema = 5, stddev = 5, rsi = 6 }) do
  local obj = ind[name](5)
  check(obj:value() == nil, name .. ": value() nil before any update")
  for i = 1, warm - 1 do
    check(obj:update(i * 1.5) == nil and obj:value() == nil, name .. ": nil at update " .. i)
  end
  check(type(obj:update(2)) == "number", name .. ": a number at update " .. warm)
end

---------------------------------------------------------------- argument checks
local this_file = "run%.lua:%d+:"
for name, make in pairs(ind) do
  for _, bad in ipairs({ 0, -1, 1.5, "10", false, 100001, 0 / 0, 1 / 0 }) do
    -- not a tail call, so the caller's frame (and its line) is still there
    local ok, msg = pcall(function() local o = make(bad); return o end)
    check(not ok and type(msg) == "string" and msg:find(this_file) and msg:find(name .. ": period must be an integer"),
          ("%s(%s) raises at the caller: %s"):format(name, tostring(bad), tostring(msg)))
  end
  local ok, msg = pcall(function() return make() end)
  check(not ok and msg:find("got nil"), name .. "() without a period raises")
  check(pcall(make, 100000), name .. "(100000) is accepted")
  local obj = make(3)
  for _, bad in ipairs({ "1", 0 / 0, 1 / 0, -1 / 0, {} }) do
    local ok2, msg2 = pcall(function() local v = obj:update(bad); return v end)
    check(not ok2 and msg2:find(this_file) and msg2:find(name .. ":update: value must be a finite number"),
          ("%s:update(%s) raises at the caller: %s"):format(name, tostring(bad), tostring(msg2)))
  end
  local ok3 = pcall(function() return obj:update() end)
  check(not ok3, name .. ":update() without a value raises")
  check(obj.count == 0 and obj:value() == nil, name .. ": a refused value leaves the object untouched")
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
  for i = 1, 7 do obj:update(i * i) end
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
  for i = 1, 150 do for _, obj in pairs(old) do obj:update(xs[i]) end end

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
      local a, b = obj:update(xs[i]), moved[name]:update(xs[i])
      if a ~= b then check(false, ("%s diverges after reload at %d"):format(name, i)) end
    end
  end
  for name in pairs(old) do
    check(old[name]:value() == moved[name]:value() and moved[name]:value() ~= nil,
          name .. ": same value after a simulated reload")
  end
end

print(("%d passed, %d failed"):format(passed, failed))
os.exit(failed == 0 and 0 or 1)
