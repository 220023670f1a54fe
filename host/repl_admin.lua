-- repl_admin.lua: the console's admin helpers (docs/console.md), run once in each
-- session's admin sandbox by repl_admin.c.
--
-- Every helper that reads or changes the host is a REST call (docs/api.md) made by the
-- host between two steps of the chunk: the chunk runs in a coroutine, a helper yields
-- the request, the host runs the route (http_call_local: the same handler, the same
-- risk checks and audit record as over HTTP) with no Lua call in progress, and resumes
-- the chunk with the reply. So the console has no second implementation of reload,
-- kill or orders, and no host function ever calls back into Lua.
--
-- Arguments from the host: emit (appends a line to the reply), attach, tail (session
-- state, in C), and the table `host` where this chunk leaves the driver.
local emit, attach_c, tail_c, host = ...
local create, resume, yield, running, status =
  coroutine.create, coroutine.resume, coroutine.yield, coroutine.running, coroutine.status
local format, byte, gsub, concat, select, tostring, type, pairs, error, unpack =
  string.format, string.byte, string.gsub, table.concat, select, tostring, type, pairs, error,
  unpack

local REQUEST = {} -- what a helper yields: only the driver knows it
local chunk_co     -- the coroutine running the current chunk

-- One REST call. Returns the decoded reply; raises "code: message" on an error status,
-- at the caller's line (level 3: the helper's caller; so helpers never tail-call api:
-- `return (api(...))`, or the caller's frame would be gone).
local function api(method, path, body)
  if running() ~= chunk_co then
    error("console helpers cannot run inside a coroutine or a callback", 3)
  end
  local st, reply = yield(REQUEST, method, path, body)
  if st >= 400 then
    local e = type(reply) == "table" and reply.error or {}
    local msg = (e.code or ("HTTP " .. st)) .. ": " .. tostring(e.message or "")
    if e.reason and e.reason ~= e.message then msg = msg .. " (" .. e.reason .. ")" end
    error(msg, 3)
  end
  return reply
end

local function enc(s)
  return (gsub(tostring(s), "[^%w%-%._~]", function(c) return format("%%%02X", byte(c)) end))
end

local function need(v, what, fn)
  if v == nil then error(fn .. ": " .. what .. " is required", 3) end
  return v
end

function print(...)
  local t = {}
  for i = 1, select("#", ...) do t[i] = tostring((select(i, ...))) end
  emit(concat(t, "\t"))
end

-- strategies --------------------------------------------------------------------------
function strategies() return api("GET", "/api/strategies").strategies end
function strategy(name)
  return (api("GET", "/api/strategies/" .. enc(need(name, "a strategy id", "strategy"))))
end
local function action(verb)
  return function(name)
    return (api("POST", "/api/strategies/" .. enc(need(name, "a strategy id", verb)) .. "/" .. verb))
  end
end
start, stop, reload = action("start"), action("stop"), action("reload")
function params(name, values)
  local path = "/api/strategies/" .. enc(need(name, "a strategy id", "params"))
  if values == nil then return api("GET", path).params end
  if type(values) ~= "table" then error("params: expected a table {name = value}", 2) end
  return api("PATCH", path .. "/params", values).params
end

-- portfolio and orders ----------------------------------------------------------------
function positions() return api("GET", "/api/positions").positions end
function orders(which)
  return api("GET", "/api/orders?status=" .. (which == "all" and "all" or "working")).orders
end
function portfolio() return (api("GET", "/api/portfolio")) end

local function order(side)
  return function(symbol, qty, opts)
    local fn = side
    local body = {symbol = need(symbol, "a symbol", fn), side = side, qty = need(qty, "a quantity", fn)}
    if type(opts) == "number" then
      body.limit = opts
    elseif type(opts) == "table" then
      for k, v in pairs(opts) do body[k] = v end
    elseif opts ~= nil then
      error(fn .. ": the third argument is a limit price or a table of options", 2)
    end
    return api("POST", "/api/orders", body).order
  end
end
buy, sell = order("buy"), order("sell")
function cancel(id) return api("DELETE", "/api/orders/" .. enc(need(id, "an order id", "cancel"))).order end

-- risk ----------------------------------------------------------------------------------
function limits() return (api("GET", "/api/limits")) end
function set_limit(name, value, strategy_id)
  local path = "/api/limits" .. (strategy_id and ("?strategy=" .. enc(strategy_id)) or "")
  local body = {[need(name, "a limit name", "set_limit")] = need(value, "a value", "set_limit")}
  return (api("PUT", path, body))
end
function kill(flatten)
  return (api("POST", "/api/kill", flatten and {flatten = true} or nil))
end
function rearm() return (api("DELETE", "/api/kill")) end
function alerts(n) return api("GET", "/api/alerts?limit=" .. (tonumber(n) or 20)).alerts end

-- market data and events ----------------------------------------------------------------
function events(n, types)
  local q = "/api/events?limit=" .. (tonumber(n) or 20)
  if types then q = q .. "&types=" .. enc(types) end
  return api("GET", q).events
end
function quote(sym) return (api("GET", "/api/market-data/" .. enc(need(sym, "a symbol", "quote")))) end
function bars(sym, tf, n)
  local q = "/api/ohlcv/" .. enc(need(sym, "a symbol", "bars")) .. "?tf=" .. enc(tf or "1m")
  return api("GET", q .. "&limit=" .. (tonumber(n) or 20)).bars
end

-- the session ---------------------------------------------------------------------------
function attach(name) return attach_c(need(name, "a strategy id", "attach")) end
function detach() return "not attached" end
function tail(filter) return tail_c(filter) end
function api_call(method, path, body) return (api(method, path, body)) end

local help_text = [[
Helpers (each one is a REST call: docs/api.md has the fields):
  strategies()               every strategy: status, version, last reload, errors
  strategy(id)               one strategy
  start(id) stop(id) reload(id)
  params(id)                 current parameters;  params(id, {k = v}) sets them
  positions()  orders()  orders("all")  portfolio()
  buy(sym, qty[, limit | {limit=, stop=, tif=, take_profit=, stop_loss=, tag=}])
  sell(...)  cancel(order_id)      manual orders, through the risk checks
  limits()  set_limit(name, value[, strategy_id])
  kill([flatten])  rearm()   the kill switch
  alerts(n)  events(n[, "TYPE,TYPE"])  quote(sym)  bars(sym, tf, n)
  attach(id)                 evaluate inside that strategy's sandbox (state, params,
                             its functions; its CPU budget applies); detach() returns
  tail([types | {types=, symbols=, logs=}])   stream log lines and events until Ctrl-C
  api_call(method, path[, body])   any REST route
Expressions print their value (1+1); statements run (x = 5).]]
function help() emit(help_text) end

-- The driver (called by the host): start(f) or continue(status, reply). Returns
-- "call", method, path, body when a helper asks for a REST call; "done", results...
-- when the chunk finished; "error", message when it raised.
local function step(ok, ...)
  if not ok then
    local e = ...
    if type(e) ~= "string" then e = "(error object is a " .. type(e) .. " value)" end
    return "error", e
  end
  if (...) == REQUEST then return "call", select(2, ...) end
  if status(chunk_co) ~= "dead" then
    return "error", "console: the chunk yielded outside a coroutine"
  end
  return "done", ...
end

host.start = function(f)
  chunk_co = create(f)
  return step(resume(chunk_co))
end
host.continue = function(st, reply) return step(resume(chunk_co, st, reply)) end
