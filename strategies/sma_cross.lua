-- sma_cross: fast/slow simple moving average crossover, one pair per symbol.
--
-- On every closed bar of `bar_tf` it updates a fast and a slow SMA of the close.
-- When the fast average moves from below the slow one to above it, that is a
-- "buy" crossing; from above to below, a "sell" crossing. Only signals: no orders.
--
-- Params:  fast  bars in the fast average (default 5)
--          slow  bars in the slow average (default 20; must be more than fast)
-- Signals: "cross" { symbol, side = "buy" | "sell", fast, slow, price, time }
-- State:   state.pairs[symbol] = { fast = sma, slow = sma, side = "above" | "below" }
--          state.crossings     = crossings seen since the strategy first started
-- A live change of fast or slow restarts the averages of each symbol on its next
-- bar; the first bar of a symbol warms the averages from history() when it can.
local ind = require "indicators"

local bar_tf = "1s"   -- 1s bars so the demo feed produces crossings within minutes

strategy {
  name = "sma_cross",
  symbols = { "AAPL", "MSFT" },
  bars = { bar_tf },
  params = { fast = 5, slow = 20 },
}

-- The periods to use, or nil and a reason when the params make no sense.
local function periods()
  local fast, slow = params.fast, params.slow
  if type(fast) ~= "number" or type(slow) ~= "number" or fast < 1 or slow < 1
     or fast ~= math.floor(fast) or slow ~= math.floor(slow) then
    return nil, nil, "fast and slow must be whole numbers of bars"
  end
  if slow > 5000 then
    return nil, nil, "slow must be at most 5000 bars (what history() can return)"
  end
  if fast >= slow then
    return nil, nil, ("fast (%d) must be less than slow (%d)"):format(fast, slow)
  end
  return fast, slow
end

local function side_of(fast_v, slow_v)
  if fast_v > slow_v then return "above" end
  if fast_v < slow_v then return "below" end
  return nil   -- equal: keep the previous side, so touching is not a crossing
end

-- A new pair of averages for a symbol, warmed with the closed bars before `bar`.
local function new_pair(symbol, fast, slow, before)
  local pair = { fast = ind.sma(fast), slow = ind.sma(slow) }
  local bars = history(symbol, bar_tf, slow)
  for i = 1, #bars do
    local b = bars[i]
    if b.time < before then
      local f, s = pair.fast:update(b.close), pair.slow:update(b.close)
      if f and s then pair.side = side_of(f, s) or pair.side end
    end
  end
  return pair
end

function on_start()
  state.pairs = state.pairs or {}
  state.crossings = state.crossings or 0
  local fast, slow, why = periods()
  if not fast then error("sma_cross: " .. why) end
  log.info("sma_cross: fast=%d slow=%d on %s bars, %d crossings so far",
           fast, slow, bar_tf, state.crossings)
end

function on_bar(bar)
  if bar.tf ~= bar_tf then return end
  local fast, slow, why = periods()
  if not fast then
    if state.bad_params ~= why then log.warn("sma_cross: idle: %s", why) end
    state.bad_params = why
    return
  end
  state.bad_params = nil

  local pair = state.pairs[bar.symbol]
  if not pair or pair.fast.n ~= fast or pair.slow.n ~= slow then
    pair = new_pair(bar.symbol, fast, slow, bar.time)
    state.pairs[bar.symbol] = pair
  end
  local fast_v, slow_v = pair.fast:update(bar.close), pair.slow:update(bar.close)
  if not (fast_v and slow_v) then return end

  local side = side_of(fast_v, slow_v)
  if not side or side == pair.side then return end
  local was = pair.side
  pair.side = side
  if not was then return end   -- first reading after warm-up: a position, not a crossing

  state.crossings = state.crossings + 1
  signal("cross", {
    symbol = bar.symbol,
    side = side == "above" and "buy" or "sell",
    fast = fast_v,
    slow = slow_v,
    price = bar.close,
    time = bar.time,
  })
end

function on_reload(old_version)
  local symbols = 0
  for _ in pairs(state.pairs or {}) do symbols = symbols + 1 end
  log.info("sma_cross: reloaded over version %d; %d crossings so far, %d symbols tracked",
           old_version, state.crossings or 0, symbols)
end

function on_stop(reason)
  log.info("sma_cross: stopped (%s) after %d crossings", tostring(reason), state.crossings or 0)
end
