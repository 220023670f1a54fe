-- replay_probe: a strategy that trades often and in every way a replay must reproduce:
-- limit entries placed on trades (filled later by trades through them), market exits,
-- cancels from a timer, and a log line for every order change and fill (the test
-- compares these lines between the live run and its replay).
strategy {
  name = "probe",
  symbols = { "AAPL", "MSFT" },
  params = { every_n = 40, qty = 5 },
  every = "250ms",
}

local seen = {}

function on_trade(t)
  local n = (seen[t.symbol] or 0) + 1
  seen[t.symbol] = n
  if n % params.every_n ~= 0 then return end
  local held = position(t.symbol)
  if held == 0 then
    if #orders(t.symbol) == 0 then buy(t.symbol, params.qty, { limit = t.price, tag = "entry" }) end
  else
    flatten(t.symbol)
  end
end

function on_timer(name)
  for _, o in ipairs(orders()) do
    if o.tag == "entry" then cancel(o.id) end
  end
end

function on_order(o)
  log.info("order id=%d sym=%s side=%s qty=%s limit=%s status=%s filled=%s", o.id, o.symbol,
           o.side, o.qty, tostring(o.limit), o.status, o.filled)
end

function on_fill(f)
  log.info("fill id=%d sym=%s side=%s qty=%s price=%s", f.order_id, f.symbol, f.side,
           f.qty, f.price)
end
