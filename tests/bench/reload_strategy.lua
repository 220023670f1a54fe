-- reload_strategy.lua: the strategy bench_reload reloads, sized like a real one
-- (about 200 lines, several functions, four indicator modules through require, and a
-- `state` of a few hundred entries that every reload serializes and restores).
--
-- It is a plausible mean-reversion strategy with a volatility filter: per symbol an
-- EMA and a Bollinger-style band (SMA +/- k stddev) on 1s bars, an RSI to confirm,
-- a per-symbol price ladder of recent levels, and a small trade journal. It only
-- signals; the bench never feeds it events, it times loading and reloading.
local ind = require "indicators"
local common = require "indicators.common"
local sma = require "indicators.sma"
local stddev = require "indicators.stddev"

local floor, max, min, abs, fmt = math.floor, math.max, math.min, math.abs, string.format

strategy {
  name = "bench_reload",
  symbols = { "AAA", "BBB" },
  bars = { "1s", "1m" },
  params = {
    band_period = 20,
    band_k = 2.0,
    ema_period = 12,
    rsi_period = 14,
    rsi_low = 30,
    rsi_high = 70,
    ladder_levels = 100,
    journal_size = 50,
    cooldown_s = 5,
  },
}

local LADDER_STEP = 0.05

-- ---- helpers ------------------------------------------------------------------------

local function clamp(x, lo, hi)
  if x < lo then return lo end
  if x > hi then return hi end
  return x
end

local function round_to(x, step)
  return floor(x / step + 0.5) * step
end

local function check_params()
  local p = params
  if p.band_period < 2 or p.band_period > 1000 then
    return nil, "band_period must be from 2 to 1000"
  end
  if p.rsi_low >= p.rsi_high then
    return nil, fmt("rsi_low (%d) must be below rsi_high (%d)", p.rsi_low, p.rsi_high)
  end
  if p.ladder_levels < 1 or p.ladder_levels > 500 then
    return nil, "ladder_levels must be from 1 to 500"
  end
  return true
end

-- ---- per-symbol state ---------------------------------------------------------------

local function new_book(symbol, mid)
  local book = {
    symbol = symbol,
    mid = mid,
    band_mid = sma(params.band_period),
    band_dev = stddev(params.band_period),
    ema = ind.ema(params.ema_period),
    rsi = ind.rsi(params.rsi_period),
    ladder = {},
    last_signal = 0,
    position = 0,
  }
  local half = floor(params.ladder_levels / 2)
  for i = -half, params.ladder_levels - half - 1 do
    local px = round_to(mid + i * LADDER_STEP, 0.01)
    book.ladder[#book.ladder + 1] = { px = px, hits = 0, volume = 0 }
  end
  return book
end

local function book_for(symbol, price)
  local b = state.books[symbol]
  if not b then
    b = new_book(symbol, price or 100)
    state.books[symbol] = b
  end
  return b
end

local function ladder_index(book, px)
  local first = book.ladder[1].px
  local i = floor((px - first) / LADDER_STEP + 0.5) + 1
  return clamp(i, 1, #book.ladder)
end

local function record_trade(book, px, size)
  local lvl = book.ladder[ladder_index(book, px)]
  lvl.hits = lvl.hits + 1
  lvl.volume = lvl.volume + size
end

local function journal(entry)
  local j = state.journal
  j[#j + 1] = entry
  while #j > params.journal_size do table.remove(j, 1) end
end

-- ---- signals ------------------------------------------------------------------------

local function band(book, close)
  local m = book.band_mid:update(close)
  local d = book.band_dev:update(close)
  if not (m and d) then return nil end
  return m - params.band_k * d, m, m + params.band_k * d
end

local function decide(book, bar)
  local lo, mid, hi = band(book, bar.close)
  local e = book.ema:update(bar.close)
  local r = book.rsi:update(bar.close)
  if not (lo and e and r) then return nil end
  if bar.time - book.last_signal < params.cooldown_s then return nil end
  if bar.close < lo and r < params.rsi_low and book.position <= 0 then
    return "buy", { band = lo, mid = mid, ema = e, rsi = r }
  end
  if bar.close > hi and r > params.rsi_high and book.position >= 0 then
    return "sell", { band = hi, mid = mid, ema = e, rsi = r }
  end
  return nil
end

local function emit(book, side, why, bar)
  book.last_signal = bar.time
  book.position = book.position + (side == "buy" and 1 or -1)
  state.signals = state.signals + 1
  journal({ t = bar.time, symbol = book.symbol, side = side, px = bar.close,
            rsi = why.rsi, band = why.band })
  signal("revert", {
    symbol = book.symbol, side = side, price = bar.close,
    band = why.band, mid = why.mid, ema = why.ema, rsi = why.rsi,
  })
end

-- ---- callbacks ----------------------------------------------------------------------

function on_start()
  state.books = state.books or {}
  state.journal = state.journal or {}
  state.signals = state.signals or 0
  state.levels_seen = state.levels_seen or {}
  local ok, why = check_params()
  if not ok then error("bench_reload: " .. why) end
  for _, s in ipairs({ "AAA", "BBB" }) do book_for(s, s == "AAA" and 100 or 50) end
  for i = 1, 100 do
    state.levels_seen[i] = { n = i, px = 100 + i * LADDER_STEP, tag = "lvl" .. i }
  end
  for i = 1, params.journal_size do
    journal({ t = i, symbol = "AAA", side = i % 2 == 0 and "buy" or "sell", px = 100 + i / 10 })
  end
end

function on_trade(t)
  local book = book_for(t.symbol, t.price)
  common.value(t.price, "on_trade")
  book.mid = t.price
  record_trade(book, t.price, t.size)
end

function on_bar(bar)
  if bar.tf ~= "1s" then return end
  local book = book_for(bar.symbol, bar.close)
  local side, why = decide(book, bar)
  if side then emit(book, side, why, bar) end
end

local function summary()
  local books, levels = 0, 0
  for _, b in pairs(state.books or {}) do
    books = books + 1
    levels = levels + #b.ladder
  end
  return books, levels
end

function on_reload(old_version)
  local books, levels = summary()
  state.reloads = (state.reloads or 0) + 1
  local worst = 0
  for _, b in pairs(state.books) do worst = max(worst, abs(b.position)) end
  state.max_position = min(worst, 1000)
  if state.reloads % 1000 == 0 then
    log.info("bench_reload: %d reloads, %d books, %d levels", state.reloads, books, levels)
  end
end

function on_stop(reason)
  local books, levels = summary()
  log.info("bench_reload: stopped (%s): %d books, %d levels, %d signals",
           tostring(reason), books, levels, state.signals or 0)
end
