-- breakout: channel breakout with an ATR bracket; long only, one position per symbol.
--
-- On every closed bar of `bar_tf` it keeps, per symbol, the highs of the last
-- `channel` bars and a Wilder ATR of `atr` bars. A close above the highest high of
-- the `channel` bars before it is a breakout. On a breakout, while flat with nothing
-- working in the symbol, it buys `qty` at market with a bracket: a take-profit limit
-- `take_profit` ATRs above the close and a stop-loss stop `stop_loss` ATRs below it,
-- each at least `min_ticks` ticks away and rounded to the tick grid. The host holds
-- the exits until the entry fills, sizes them to what filled, and cancels one when the
-- other fills (OCO); the position ends when one of them fills.
--
-- Params:  channel      bars in the channel (default 20)
--          atr          ATR period in bars (default 14)
--          take_profit  ATRs from the close to the take-profit limit (default 3)
--          stop_loss    ATRs from the close to the stop-loss stop (default 1.5)
--          min_ticks    least distance of an exit from the close, in ticks (default 2)
--          qty          shares per entry (default 10)
--          tick         price grid of the symbols (default 0.01)
-- Orders:  buy(symbol, qty, { take_profit = tp, stop_loss = sl, tif = "gtc",
--          tag = "breakout" }): a market entry whose exits are a sell limit at tp and a
--          sell stop at sl, both gtc. A long position with no exit working (an exit that
--          filled for part of an entry which then kept filling) is sold with
--          flatten(symbol) at the next bar. A refusal is logged (warn); the next
--          breakout tries again.
-- Signals: "breakout" { symbol, price, channel_high, atr, time } on every breakout bar
-- Log:     "sent id= side= qty= sym= type= tp= sl=", "exit id= role= parent= qty= px="
--          (an exit went out or was resized), "fill id= side= qty= sym= price= pos= t=",
--          "done id= status= role= sym= filled= reason= parent=" (an order ended), warns
--          "refused side= qty= sym= reason=" when the host refuses an order and
--          "unprotected sym= pos=" before "flatten sym= qty= orders=", and at on_stop the
--          account's fills and realized P&L.
-- State:   state.chan[symbol] = { n = channel, highs = ring of the last n highs,
--                                 next = slot, count = highs held, atr = indicator }
--          state.breakouts = breakouts seen since the strategy first started
-- A live change of channel or atr restarts that symbol's channel on its next bar.
local ind = require "indicators"
local olib = require "lib.orders"

local bar_tf = "1s"

strategy {
  name = "breakout",
  symbols = { "SPY" },
  bars = { bar_tf },
  params = { channel = 20, atr = 14, take_profit = 3, stop_loss = 1.5, min_ticks = 2,
             qty = 10, tick = 0.01 },
}

-- Nil when the params are usable, otherwise why not.
local function bad_params()
  local p = params
  for _, k in ipairs({ "channel", "atr" }) do
    local v = p[k]
    if type(v) ~= "number" or v < 1 or v > 100000 or v ~= math.floor(v) then
      return k .. " must be a whole number of bars from 1 to 100000"
    end
  end
  for _, k in ipairs({ "take_profit", "stop_loss", "min_ticks", "qty", "tick" }) do
    if type(p[k]) ~= "number" or not (p[k] > 0) then return k .. " must be a number above 0" end
  end
  return nil
end

local function to_tick(px)
  return olib.to_tick(px, params.tick)
end

local function new_channel()
  return { n = params.channel, highs = {}, next = 1, count = 0, atr = ind.atr(params.atr) }
end

-- Highest high in the channel, or nil until it holds `channel` bars.
local function channel_high(ch)
  if ch.count < ch.n then return nil end
  local hh = ch.highs[1]
  for i = 2, ch.n do
    if ch.highs[i] > hh then hh = ch.highs[i] end
  end
  return hh
end

local function push_high(ch, high)
  ch.highs[ch.next] = high
  ch.next = ch.next % ch.n + 1
  if ch.count < ch.n then ch.count = ch.count + 1 end
end

-- ---- orders ---------------------------------------------------------------------------

local working = olib.working -- quantities still working in a symbol: to buy, to sell

local function enter(symbol, close, atr)
  if position(symbol) ~= 0 then return end
  local buys, sells = working(symbol)
  if buys > 0 or sells > 0 then return end   -- an entry or its exits are still working
  local tick = params.tick
  local px = to_tick(close)
  local tp = to_tick(px + math.max(params.take_profit * atr, params.min_ticks * tick))
  local sl = to_tick(px - math.max(params.stop_loss * atr, params.min_ticks * tick))
  if sl <= 0 then return end
  local id, why = buy(symbol, params.qty, { take_profit = tp, stop_loss = sl, tif = "gtc",
                                            tag = "breakout" })
  if not id then
    log.warn("refused side=buy qty=%s sym=%s reason=%s", params.qty, symbol, why)
    return
  end
  log.info("sent id=%d side=buy qty=%s sym=%s type=market tp=%.2f sl=%.2f", id, params.qty,
           symbol, tp, sl)
end

-- A long position must have an exit working; sell one that has none.
local function protect(symbol)
  local held = position(symbol)
  if held == 0 then return end
  local _, sells = working(symbol)
  if held > 0 and sells > 0 then return end
  log.warn("unprotected sym=%s pos=%s: flattening", symbol, held)
  local n, why = flatten(symbol)
  if not n then
    log.warn("refused side=sell qty=%s sym=%s reason=%s", held, symbol, why)
    return
  end
  log.info("flatten sym=%s qty=%s orders=%d", symbol, held, n)
end

-- ---- callbacks ------------------------------------------------------------------------

function on_start()
  state.chan = state.chan or {}
  state.breakouts = state.breakouts or 0
  local why = bad_params()
  if why then error("breakout: " .. why) end
  log.info("breakout: channel=%d atr=%d tp=%sx sl=%sx qty=%s on %s bars", params.channel,
           params.atr, params.take_profit, params.stop_loss, params.qty, bar_tf)
end

function on_bar(bar)
  if bar.tf ~= bar_tf then return end
  local why = bad_params()
  if why then
    if state.bad_params ~= why then log.warn("breakout: idle: %s", why) end
    state.bad_params = why
    return
  end
  state.bad_params = nil

  local ch = state.chan[bar.symbol]
  if not ch or ch.n ~= params.channel or ch.atr.n ~= params.atr then
    ch = new_channel()
    state.chan[bar.symbol] = ch
  end
  protect(bar.symbol)
  local atr = ch.atr:update(bar.high, bar.low, bar.close)
  local hh = channel_high(ch)
  push_high(ch, bar.high)
  if not (atr and hh) or bar.close <= hh then return end

  state.breakouts = state.breakouts + 1
  signal("breakout", { symbol = bar.symbol, price = bar.close, channel_high = hh, atr = atr,
                       time = bar.time })
  enter(bar.symbol, bar.close, atr)
end

function on_fill(f)
  olib.log_fill(f)
end

local ended = olib.ended

function on_order(o)
  if ended[o.status] then
    olib.log_done(o)
  elseif o.role ~= "entry" and o.role ~= "single" and o.status == "ACCEPTED" then
    log.info("exit id=%d role=%s parent=%s qty=%s px=%.2f", o.id, o.role, o.parent, o.qty,
             o.limit or o.stop)
  end
end

function on_reload(old_version)
  state.chan = state.chan or {}
  state.breakouts = state.breakouts or 0
  log.info("breakout: reloaded over version %d; %d breakouts so far", old_version,
           state.breakouts)
end

function on_stop(reason)
  local pf = portfolio()
  log.info("breakout: stopped (%s); fills=%d realized=%.2f", tostring(reason), pf.fills,
           pf.realized)
end
