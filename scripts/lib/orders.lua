-- lib/orders.lua: small helpers the example strategies share around their orders.
--
--   local orders_lib = require "lib.orders"
--   local buys, sells = orders_lib.working("AAPL")   -- quantities still working
--   local px = orders_lib.to_tick(101.2345, 0.01)     -- 101.23: on the price grid
--   function on_fill(f) orders_lib.log_fill(f) end   -- and log_done(o) in on_order
--   if orders_lib.ended[o.status] then ... end       -- FILLED, CANCELED, REJECTED, EXPIRED
--
-- Only functions and constants: nothing here is kept in `state`.
local M = {}

-- Quantities still working in symbol: to buy, to sell.
function M.working(symbol)
  local buys, sells = 0, 0
  for _, o in ipairs(orders(symbol)) do
    if o.side == "buy" then buys = buys + o.leaves else sells = sells + o.leaves end
  end
  return buys, sells
end

-- px rounded to the nearest multiple of tick.
function M.to_tick(px, tick)
  return math.floor(px / tick + 0.5) * tick
end

-- One parseable log line per fill (the example strategies' tests read them).
function M.log_fill(f)
  log.info("fill id=%d side=%s qty=%s sym=%s price=%.2f pos=%s t=%.6f", f.order_id, f.side,
           f.qty, f.symbol, f.price, position(f.symbol), f.time)
end

-- One parseable log line per order that ended (parent: "-" unless a bracket exit).
function M.log_done(o)
  log.info("done id=%d status=%s role=%s sym=%s filled=%s reason=%s parent=%s", o.id,
           o.status, o.role, o.symbol, o.filled, o.reason or "-", o.parent or "-")
end

-- The statuses an order ends in.
M.ended = { FILLED = true, CANCELED = true, REJECTED = true, EXPIRED = true }

return M
