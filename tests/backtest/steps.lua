-- steps: buys qty at the first bar and sells it at the third (a hand-computable run).
strategy { name = "steps", symbols = { "TEST" }, bars = { "1d" }, params = { qty = 10 } }

local n = 0

function on_bar(bar)
  n = n + 1
  if n == 1 then buy(bar.symbol, params.qty) end
  if n == 3 then sell(bar.symbol, params.qty) end
  signal("bar", { n = n, close = bar.close, mode = mode })
end
