-- rsi_reversion: buys RSI dips into oversold, sells out when RSI reaches overbought.
--
-- On every closed bar of `bar_tf` it updates a Wilder RSI of the close per
-- symbol. When the RSI crosses down through `low` it emits "oversold" and buys `qty`
-- with a limit at that bar's close, as long as the position stays within
-- `max_position`; when it crosses up through `high` it emits "overbought" and sells
-- the whole position. Reaching `extreme` from either end (RSI at or below extreme,
-- or at or above 100 - extreme) also raises a MEDIUM alert, at most once per symbol
-- per `alert_every` seconds.
--
-- Params:  period       RSI period in bars (default 14)
--          low, high    oversold / overbought thresholds (default 30, 70)
--          extreme      distance from 0 / 100 that raises an alert (default 10)
--          alert_every  seconds between alerts for one symbol (default 60)
--          qty          shares per entry (default 10)
--          max_position most shares held in one symbol (default 30): entries add up
--          exit         "limit" (default): sell at a limit at the close; "market": flatten
--          order_ttl    seconds an entry or a limit exit may work (default 30); then it
--                       is canceled, and after a limit exit the position sold at market
--          tick         price grid of the symbols (default 0.01); limits are rounded to it
-- Orders:  one order of its own works per symbol at a time. Oversold: buy(symbol, qty,
--          { limit = close, tif = "day", tag = "rsi_entry" }), unless an order works
--          in the symbol or position + qty would pass max_position. Overbought while
--          long: sell(symbol, position, { limit = close, tif = "day", tag = "rsi_exit" }),
--          or flatten(symbol) when exit = "market"; a limit exit still working moves
--          to the new close (replace). An entry still working at an overbought crossing
--          is canceled first and the position sold once it has ended (an order that
--          crosses our own resting one is refused). A refusal is logged (warn) and not
--          retried until the next crossing.
-- Signals: "oversold" / "overbought" { symbol, rsi, threshold, price, time }
-- Log:     "sent id= side= qty= sym= type= limit=", "replace id= limit=", "flatten sym=
--          qty= orders=", "fill id= side= qty= sym= price= pos= t=", "done id= status=
--          role= sym= filled= reason= parent=" (an order ended), a warn "refused side= qty= sym=
--          reason=" when the host refuses an order (or "cancel id= refused: reason"), and
--          at on_stop the account's fills and realized P&L.
-- State:   state.rsi[symbol] = { rsi = indicator, close = last close }
--          state.last_alert[symbol] = time of the last alert
--          state.working[symbol] = { id = order id, kind = "entry" | "exit", time = sent,
--                                    after = "exit" | "flatten" (once canceled), px }
local ind = require "indicators"
local olib = require "lib.orders"

local bar_tf = "1s"

strategy {
  name = "rsi_reversion",
  symbols = { "AAPL", "MSFT" },
  bars = { bar_tf },
  params = { period = 14, low = 30, high = 70, extreme = 10, alert_every = 60,
             qty = 10, max_position = 30, exit = "limit", order_ttl = 30, tick = 0.01 },
}

-- Nil when the params are usable, otherwise why not.
local function bad_params()
  local p = params
  if type(p.period) ~= "number" or p.period < 1 or p.period > 100000
     or p.period ~= math.floor(p.period) then
    return "period must be a whole number of bars from 1 to 100000"
  end
  if not (0 < p.low and p.low < p.high and p.high < 100) then
    return ("need 0 < low (%s) < high (%s) < 100"):format(tostring(p.low), tostring(p.high))
  end
  if type(p.extreme) ~= "number" or type(p.alert_every) ~= "number" then
    return "extreme and alert_every must be numbers"
  end
  if not (p.qty > 0 and p.max_position >= p.qty) then
    return ("need 0 < qty (%s) <= max_position (%s)"):format(tostring(p.qty),
                                                             tostring(p.max_position))
  end
  if p.exit ~= "limit" and p.exit ~= "market" then
    return ("exit must be \"limit\" or \"market\", not %q"):format(tostring(p.exit))
  end
  if not (p.order_ttl > 0 and p.tick > 0) then return "order_ttl and tick must be above 0" end
  return nil
end

-- Only called on a bar that moved: a flat window reads 0 (see below), not extreme.
local function maybe_alert(bar, rsi)
  local extreme = params.extreme
  if rsi > extreme and rsi < 100 - extreme then return end
  local last = state.last_alert[bar.symbol]
  if last and bar.time - last < params.alert_every then return end
  state.last_alert[bar.symbol] = bar.time
  alert("MEDIUM", "%s RSI(%d) at %.1f, close %.2f", bar.symbol, params.period, rsi, bar.close)
end

-- ---- orders ---------------------------------------------------------------------------

local function to_tick(px)
  return olib.to_tick(px, params.tick)
end

local working = olib.working -- quantities still working in a symbol: to buy, to sell

-- Sends a limit order and remembers it as the symbol's working order.
local function send(side, symbol, qty, px, kind)
  local place = side == "buy" and buy or sell
  local id, why = place(symbol, qty, { limit = px, tif = "day", tag = "rsi_" .. kind })
  if not id then
    log.warn("refused side=%s qty=%s sym=%s reason=%s", side, qty, symbol, why)
    return
  end
  state.working[symbol] = { id = id, kind = kind, time = now() }
  log.info("sent id=%d side=%s qty=%s sym=%s type=limit limit=%.2f", id, side, qty, symbol, px)
end

-- Sells the whole position: a limit at px, or at market (exit = "market" or px nil).
-- Only called with nothing of ours working in the symbol: flatten's market sale would
-- cross our own resting bid, and a sale on top of a working one would not pass as
-- reducing the position.
local function sell_out(symbol, px)
  local held = position(symbol)
  if held <= 0 then return end
  if px and params.exit == "limit" then return send("sell", symbol, held, px, "exit") end
  local n, why = flatten(symbol)
  if not n then
    log.warn("refused side=sell qty=%s sym=%s reason=%s", held, symbol, why)
    return
  end
  log.info("flatten sym=%s qty=%s orders=%d", symbol, held, n)
end

-- What to do once the symbol's working order w has ended.
local function follow_up(symbol, w)
  if w.after == "exit" then sell_out(symbol, w.px)
  elseif w.after == "flatten" then sell_out(symbol, nil) end
end

-- Cancels the symbol's working order; `after` ("exit" at px, or "flatten") runs once
-- it has ended (on_order).
local function cancel_then(symbol, after, px)
  local w = state.working[symbol]
  if not w.after then w.after, w.px = after, px end
  local ok, why = cancel(w.id)
  if ok then return end
  log.warn("cancel id=%d refused: %s", w.id, why)
  if why == "UNKNOWN_ORDER" or why == "NOT_WORKING" then
    -- it ended unseen (before a restart, with state from the journal): move on
    state.working[symbol] = nil
    follow_up(symbol, w)
  end
end

local function enter(bar)
  local symbol = bar.symbol
  if state.working[symbol] then return end   -- one order at a time
  local buys, sells = working(symbol)
  if buys > 0 or sells > 0 then return end   -- flatten's sale, or an order from a restart
  if position(symbol) + params.qty > params.max_position then return end
  send("buy", symbol, params.qty, to_tick(bar.close), "entry")
end

local function exit(bar)
  local symbol = bar.symbol
  local w, px = state.working[symbol], to_tick(bar.close)
  if w and w.kind == "entry" then return cancel_then(symbol, "exit", px) end
  if w and w.kind == "exit" then             -- still working: follow the price
    if w.after then return end               -- already being canceled
    local ok, why = replace(w.id, { limit = px })
    if ok then log.info("replace id=%d limit=%.2f", w.id, px)
    else log.warn("replace id=%d refused: %s", w.id, why) end
    return
  end
  local buys, sells = working(symbol)
  if buys > 0 or sells > 0 then return end
  sell_out(symbol, px)
end

-- An order that worked for order_ttl: an entry is canceled, a limit exit is canceled
-- and the position sold at market.
local function expire(symbol)
  local w = state.working[symbol]
  if not w or now() - w.time < params.order_ttl then return end
  w.time = now()   -- asked once per order_ttl, not on every bar
  cancel_then(symbol, w.kind == "exit" and "flatten" or nil)
end

-- ---- callbacks ------------------------------------------------------------------------

function on_start()
  state.rsi = state.rsi or {}
  state.last_alert = state.last_alert or {}
  state.working = state.working or {}
  local why = bad_params()
  if why then error("rsi_reversion: " .. why) end
end

function on_bar(bar)
  if bar.tf ~= bar_tf then return end
  local why = bad_params()
  if why then
    if state.bad_params ~= why then log.warn("rsi_reversion: idle: %s", why) end
    state.bad_params = why
    return
  end
  state.bad_params = nil
  expire(bar.symbol)

  local entry = state.rsi[bar.symbol]
  if not entry or entry.rsi.n ~= params.period then
    entry = { rsi = ind.rsi(params.period) }
    state.rsi[bar.symbol] = entry
  end
  local before = entry.rsi:value()
  local rsi = entry.rsi:update(bar.close)
  local prev_close = entry.close
  entry.close = bar.close
  -- Only bars that moved count. An RSI crossing needs a move in its direction on
  -- that bar anyway, and this drops TA-Lib's reading of 0 for a window with no
  -- movement at all, which a long run of unchanged closes would otherwise turn
  -- into a false "oversold" (and an alert).
  if not rsi or bar.close == prev_close then return end
  maybe_alert(bar, rsi)
  if not before then return end

  local data = { symbol = bar.symbol, rsi = rsi, price = bar.close, time = bar.time }
  if before > params.low and rsi <= params.low and bar.close < prev_close then
    data.threshold = params.low
    signal("oversold", data)
    enter(bar)
  elseif before < params.high and rsi >= params.high and bar.close > prev_close then
    data.threshold = params.high
    signal("overbought", data)
    exit(bar)
  end
end

function on_fill(f)
  olib.log_fill(f)
end

local ended = olib.ended

function on_order(o)
  if not ended[o.status] then return end
  olib.log_done(o)
  local w = state.working[o.symbol]
  if not (w and w.id == o.id) then return end
  state.working[o.symbol] = nil
  follow_up(o.symbol, w)
end

function on_reload(old_version)
  state.working = state.working or {}   -- absent in states saved by signal-only versions
  log.info("rsi_reversion: reloaded over version %d", old_version)
end

function on_stop(reason)
  local pf = portfolio()
  log.info("rsi_reversion: stopped (%s); fills=%d realized=%.2f", tostring(reason), pf.fills,
           pf.realized)
end
