-- rsi_reversion: flags RSI moves into oversold and overbought territory.
--
-- On every closed bar of `bar_tf` it updates a Wilder RSI of the close per
-- symbol. When the RSI crosses down through `low` it emits "oversold"; when it
-- crosses up through `high`, "overbought" (a mean-reversion trader would buy the
-- first and sell the second). Reaching `extreme` from either end (RSI at or below
-- extreme, or at or above 100 - extreme) also raises a MEDIUM alert, at most once
-- per symbol per `alert_every` seconds. Only signals and alerts: no orders.
--
-- Params:  period       RSI period in bars (default 14)
--          low, high    oversold / overbought thresholds (default 30, 70)
--          extreme      distance from 0 / 100 that raises an alert (default 10)
--          alert_every  seconds between alerts for one symbol (default 60)
-- Signals: "oversold" / "overbought" { symbol, rsi, threshold, price, time }
-- State:   state.rsi[symbol] = { rsi = indicator, close = last close }
--          state.last_alert[symbol] = time of the last alert
local ind = require "indicators"

local bar_tf = "1s"

strategy {
  name = "rsi_reversion",
  symbols = { "AAPL", "MSFT" },
  bars = { bar_tf },
  params = { period = 14, low = 30, high = 70, extreme = 10, alert_every = 60 },
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

function on_start()
  state.rsi = state.rsi or {}
  state.last_alert = state.last_alert or {}
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
  elseif before < params.high and rsi >= params.high and bar.close > prev_close then
    data.threshold = params.high
    signal("overbought", data)
  end
end

function on_reload(old_version)
  log.info("rsi_reversion: reloaded over version %d", old_version)
end
