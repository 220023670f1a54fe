-- bench_http_trade.lua: the trading strategy bench_http.py and bench_ws.mjs run in the
-- host while they load its HTTP server and WebSocket fan-out.
--
-- on_trade(t) updates a fast and a slow SMA of t.price per symbol (the real
-- scripts/indicators/sma.lua, as tests/bench/sma_trade.lua does) on every trade, and
-- trades the crossings: above means a target position of +qty, below -qty; on a
-- change it sends one market order for the difference to its current position (no
-- order while one of the symbol's orders still works). So the loop carries the Lua
-- call per trade and a steady stream of orders, fills and portfolio updates, which is
-- what /api/portfolio and the WebSocket clients then report. At 200,000 events/s
-- (70,000 trades/s over four symbols) the defaults give about 150 orders/s and 250
-- fills/s; fast = 50, slow = 400, qty = 10 give about 1,700 orders/s and 11,000 fills/s
-- (quotes are 1-10 lots, so an order of 20 takes several partial fills).
local sma = require "indicators.sma"

strategy {
  name = "bench_http_trade",
  symbols = { "AAPL", "MSFT", "NVDA", "SPY" },
  params = { fast = 500, slow = 5000, qty = 2 },
}

local DONE = { FILLED = true, CANCELED = true, REJECTED = true, EXPIRED = true }

local books = {}
local sent, crossings = 0, 0

local function book_of(sym)
  local b = books[sym]
  if not b then
    b = { fast = sma(params.fast), slow = sma(params.slow), side = 0, order = nil }
    books[sym] = b
  end
  return b
end

function on_trade(t)
  local b = book_of(t.symbol)
  local f, s = b.fast:update(t.price), b.slow:update(t.price)
  if not (f and s) then return end
  local side = f > s and 1 or f < s and -1 or b.side
  if side == b.side then return end
  b.side = side
  crossings = crossings + 1
  if b.order then return end
  local diff = side * params.qty - position(t.symbol)
  local id
  if diff > 0 then
    id = buy(t.symbol, diff)
  elseif diff < 0 then
    id = sell(t.symbol, -diff)
  end
  if id then
    b.order = id
    sent = sent + 1
  end
end

function on_order(o)
  local b = books[o.symbol]
  if b and b.order == o.id and DONE[o.status] then b.order = nil end
end

function on_stop()
  log.info("bench_http_trade totals crossings=%d orders=%d", crossings, sent)
end
