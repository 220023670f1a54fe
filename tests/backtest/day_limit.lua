-- day_limit: on the second bar, a day limit far below the market (it can only expire);
-- logs every order change and the time each bar arrives.
strategy { name = "day_limit", symbols = { "TEST" }, bars = { "1m", "1d" }, params = { qty = 10 } }

local n = 0

function on_bar(bar)
  n = n + 1
  log.info("bar tf=%s open=%d now=%d", bar.tf, bar.time, now())
  if n == 2 and bar.tf == "1d" then buy(bar.symbol, params.qty, { limit = bar.close * 0.5, tif = "day" }) end
end

function on_order(o)
  log.info("order id=%d status=%s", o.id, o.status)
end
