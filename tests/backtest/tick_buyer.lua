-- tick_buyer: logs every trade it sees and buys once, at market, on the first one.
strategy { name = "tick_buyer", params = { qty = 1 } }

local bought = false

function on_trade(t)
  log.info("seen %s %s", t.symbol, t.price)
  if not bought then
    bought = true
    buy(t.symbol, params.qty)
  end
end

function on_fill(f)
  log.info("bought %s price=%s", f.symbol, f.price)
end
