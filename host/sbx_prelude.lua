-- sbx_prelude.lua: the Lua half of the sandbox (the C half is sbx.c and sbx_guard.c).
--
-- Runs once in every fresh sandbox, before any script, with host functions as its
-- arguments. Everything it needs is captured in locals first, so a script that
-- replaces globals later cannot change how these functions behave. It defines:
--   xpcall          handler called after unwinding, where the CPU budget applies
--   coroutine.wrap  on top of the host's depth-guarded coroutine.resume
--   table.sort      a merge sort in Lua: interruptible, no C->Lua comparator nesting
--   require         text modules found by the host loader, cached per sandbox
--   class(name)     named metatables, so objects kept in `state` keep their methods
--                   across a hot reload (the host re-attaches them by name)
--   pairs/ipairs    that see through the host's read-only proxies (params), and
--   rawget/rawset   that cannot be used to write into them
-- and returns a table of internals for the host.
local loadmodule, guarded_resume, readonly_backing = ...

local error, pcall, type, select, unpack, setmetatable, next, tostring, rawget, rawset =
  error, pcall, type, select, unpack, setmetatable, next, tostring, rawget, rawset
local co_create = coroutine.create
local raw_pairs, raw_ipairs = pairs, ipairs

local function pack(...)
  return { n = select("#", ...), ... }
end

-- LuaJIT calls an xpcall handler from inside the error unwinder with hooks still
-- disabled, so a looping handler could never be stopped. Calling it after the pcall
-- returns keeps it under the budget; without `debug` a handler cannot look at the
-- failed frames anyway, so nothing a script could observe is lost.
function xpcall(f, handler, ...)
  if type(handler) ~= "function" then
    error("bad argument #2 to 'xpcall' (function expected, got " .. type(handler) .. ")", 2)
  end
  local r = pack(pcall(f, ...))
  if r[1] then return unpack(r, 1, r.n) end
  local ok, v = pcall(handler, r[2])
  return false, v
end

coroutine.resume = guarded_resume
function coroutine.wrap(f)
  local co = co_create(f)
  return function(...)
    local r = pack(guarded_resume(co, ...))
    if r[1] then return unpack(r, 2, r.n) end
    error(r[2], 0)
  end
end

local function default_lt(a, b)
  return a < b
end

-- Merges src[lo..mid] and src[mid+1..hi] into dst[lo..hi].
local function merge(src, dst, lo, mid, hi, lt)
  local i, j = lo, mid + 1
  for k = lo, hi do
    if i <= mid and (j > hi or not lt(src[j], src[i])) then
      dst[k] = src[i]; i = i + 1
    else
      dst[k] = src[j]; j = j + 1
    end
  end
end

-- Bottom-up merge sort: insertion-sorted runs of 8, then merge passes that alternate
-- between t and a scratch array. Stable; O(n log n); no recursion.
function table.sort(t, lt)
  if type(t) ~= "table" then
    error("bad argument #1 to 'sort' (table expected, got " .. type(t) .. ")", 2)
  end
  if lt == nil then lt = default_lt
  elseif type(lt) ~= "function" then
    error("bad argument #2 to 'sort' (function expected, got " .. type(lt) .. ")", 2)
  end
  local n = #t
  for lo = 1, n, 8 do
    local hi = lo + 7
    if hi > n then hi = n end
    for i = lo + 1, hi do
      local v, j = t[i], i - 1
      while j >= lo and lt(v, t[j]) do t[j + 1] = t[j]; j = j - 1 end
      t[j + 1] = v
    end
  end
  local src, dst, width = t, {}, 8
  while width < n do
    for lo = 1, n, 2 * width do
      local mid, hi = lo + width - 1, lo + 2 * width - 1
      if hi > n then hi = n end
      if mid >= hi then
        for k = lo, hi do dst[k] = src[k] end
      else
        merge(src, dst, lo, mid, hi, lt)
      end
    end
    src, dst, width = dst, src, width * 2
  end
  if src ~= t then
    for k = 1, n do t[k] = src[k] end
  end
end

local loaded, loading = {}, {}
function require(name)
  if type(name) ~= "string" then
    error("bad argument #1 to 'require' (string expected, got " .. type(name) .. ")", 2)
  end
  local v = loaded[name]
  if v ~= nil then return v end
  if loading[name] then
    error("loop or previous error loading module '" .. name .. "'", 2)
  end
  local fn, path = loadmodule(name)
  loading[name] = true
  local r = fn(name, path)
  loading[name] = nil
  if r == nil then r = true end
  loaded[name] = r
  return r
end

local classes = {}
function class(name)
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

-- Makes sure the classes named in a state being restored exist in this sandbox,
-- loading the module of the same name when needed. Missing ones are left to the host.
local function ensure_classes(names)
  for i = 1, #names do
    local name = names[i]
    if not classes[name] then pcall(require, name) end
  end
end

-- Iterating a proxy must not hand out its backing table (the iterator state of a
-- plain `next` loop), so proxies are walked through closures.
function pairs(t)
  local b = readonly_backing[t]
  if not b then return raw_pairs(t) end
  local k
  return function()
    local v
    k, v = next(b, k)
    return k, v
  end
end

function ipairs(t)
  local b = readonly_backing[t]
  if not b then return raw_ipairs(t) end
  local i = 0
  return function()
    i = i + 1
    local v = b[i]
    if v ~= nil then return i, v end
  end
end

-- Raw access must not get around a read-only proxy either.
function _G.rawset(t, k, v)
  if readonly_backing[t] then error("attempt to modify a read-only table", 2) end
  return rawset(t, k, v)
end

function _G.rawget(t, k)
  local b = readonly_backing[t]
  if b then return rawget(b, k) end
  return rawget(t, k)
end

return { classes = classes, ensure_classes = ensure_classes }
