-- sma_cross: fast/slow simple moving average crossover, one pair per symbol, long only.
--
-- On every closed bar of timeframe `tf` it updates a fast and a slow SMA of the close.
-- When the fast average moves from below the slow one to above it, that is a
-- "buy" crossing; from above to below, a "sell" crossing. A buy crossing while flat
-- buys `qty` at market; a sell crossing while long sells the position at market.
--
-- Params:  fast  bars in the fast average (default 5)
--          slow  bars in the slow average (default 20; must be more than fast)
--          qty   shares to buy on a buy crossing (default 10)
--          tf    the bars it trades: "1s" (the default, so the demo feed crosses within
--                minutes), "1m", "5m", "15m", "1h" or "1d" (daily files in a backtest:
--                --param tf=1d)
-- Orders:  buy crossing, flat and nothing working in the symbol: buy(symbol, qty),
--          market, tag "sma_cross". Sell crossing while long: flatten(symbol), a market
--          sale of the position. An entry still working at a sell crossing is canceled
--          first and what it bought sold once the cancel is confirmed (on_order), unless
--          a buy crossing came in between. Never short, never more than qty: no entry
--          while holding a position or while any order of the symbol works. A refusal
--          is logged (warn) and the crossing passes; the next one tries again.
-- Signals: "cross" { symbol, side = "buy" | "sell", fast, slow, price, time }
-- Log:     "sent id= side= qty= sym= type=", "flatten sym= qty= orders=", "fill id= side=
--          qty= sym= price= pos= t=", "done id= status= role= sym= filled= reason= parent=" (an
--          order ended), a warn "refused side= qty= sym= reason=" when the host refuses
--          an order, and at on_stop the account's fills and realized P&L.
-- State:   state.pairs[symbol] = { fast = sma, slow = sma, side = "above" | "below" }
--          state.crossings     = crossings seen since the strategy first started
--          state.exit_after[symbol] = true while an entry is being canceled to go flat
-- A live change of fast, slow or tf restarts the averages of each symbol on its next
-- bar; the first bar of a symbol warms the averages from history() when it can.
local ind = require "indicators"
local olib = require "lib.orders"

local timeframes = { ["1s"] = true, ["1m"] = true, ["5m"] = true, ["15m"] = true,
                     ["1h"] = true, ["1d"] = true }

strategy {
  name = "sma_cross",
  symbols = { "AAPL", "MSFT" },
  bars = { "1s", "1m", "5m", "15m", "1h", "1d" },   -- on_bar keeps those of params.tf
  params = { fast = 5, slow = 20, qty = 10, tf = "1s" },
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
  if type(params.qty) ~= "number" or not (params.qty > 0) then
    return nil, nil, "qty must be a number above 0"
  end
  if not timeframes[params.tf] then
    return nil, nil, ("tf must be one of 1s, 1m, 5m, 15m, 1h, 1d (got %s)"):format(tostring(params.tf))
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
  local pair = { fast = ind.sma(fast), slow = ind.sma(slow), tf = params.tf }
  local bars = history(symbol, params.tf, slow)
  for i = 1, #bars do
    local b = bars[i]
    if b.time < before then
      local f, s = pair.fast:update(b.close), pair.slow:update(b.close)
      if f and s then pair.side = side_of(f, s) or pair.side end
    end
  end
  return pair
end

-- ---- orders ---------------------------------------------------------------------------

local working = olib.working -- quantities still working in a symbol: to buy, to sell

local function enter(symbol)
  state.exit_after[symbol] = nil             -- a buy crossing undoes a pending exit
  if position(symbol) ~= 0 then return end
  local buys, sells = working(symbol)
  if buys > 0 or sells > 0 then return end   -- an entry or an exit is still on its way
  local id, why = buy(symbol, params.qty, { tag = "sma_cross" })
  if not id then
    log.warn("refused side=buy qty=%s sym=%s reason=%s", params.qty, symbol, why)
    return
  end
  log.info("sent id=%d side=buy qty=%s sym=%s type=market", id, params.qty, symbol)
end

-- Sells what is held in symbol at market, unless a sale is already working.
local function go_flat(symbol)
  local held = position(symbol)
  if held <= 0 then return end
  local n, why = flatten(symbol)
  if not n then
    log.warn("refused side=sell qty=%s sym=%s reason=%s", held, symbol, why)
    return
  end
  log.info("flatten sym=%s qty=%s orders=%d", symbol, held, n)
end

local function leave(symbol)
  local buys, sells = working(symbol)
  if sells > 0 then return end               -- already selling out
  if buys > 0 then                           -- the entry still works: stop it first
    state.exit_after[symbol] = true
    cancel_all(symbol)
    return
  end
  go_flat(symbol)
end

-- ---- callbacks ------------------------------------------------------------------------

function on_start()
  state.pairs = state.pairs or {}
  state.crossings = state.crossings or 0
  state.exit_after = state.exit_after or {}
  local fast, slow, why = periods()
  if not fast then error("sma_cross: " .. why) end
  log.info("sma_cross: fast=%d slow=%d qty=%s on %s bars, %d crossings so far",
           fast, slow, params.qty, params.tf, state.crossings)
end

function on_bar(bar)
  if bar.tf ~= params.tf then return end
  local fast, slow, why = periods()
  if not fast then
    if state.bad_params ~= why then log.warn("sma_cross: idle: %s", why) end
    state.bad_params = why
    return
  end
  state.bad_params = nil

  local pair = state.pairs[bar.symbol]
  if not pair or pair.fast.n ~= fast or pair.slow.n ~= slow or pair.tf ~= params.tf then
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
  if side == "above" then enter(bar.symbol) else leave(bar.symbol) end
end

function on_fill(f)
  olib.log_fill(f)
end

local ended = olib.ended

function on_order(o)
  if not ended[o.status] then return end
  olib.log_done(o)
  -- an entry canceled at a sell crossing has ended: sell whatever it bought
  if o.side == "buy" and state.exit_after[o.symbol] then
    local buys = working(o.symbol)
    if buys == 0 then
      state.exit_after[o.symbol] = nil
      go_flat(o.symbol)
    end
  end
end

function on_reload(old_version)
  state.exit_after = state.exit_after or {}   -- absent in states saved by signal-only versions
  local symbols = 0
  for _ in pairs(state.pairs or {}) do symbols = symbols + 1 end
  log.info("sma_cross: reloaded over version %d; %d crossings so far, %d symbols tracked",
           old_version, state.crossings or 0, symbols)
end

function on_stop(reason)
  local pf = portfolio()
  log.info("sma_cross: stopped (%s) after %d crossings; fills=%d realized=%.2f",
           tostring(reason), state.crossings or 0, pf.fills, pf.realized)
end
