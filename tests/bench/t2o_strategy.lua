-- t2o_strategy.lua: the strategy bench_tick_to_order times, in the host and in a bare
-- LuaJIT state (the baseline, with buy and sell stubbed), from this same file.
--
-- on_trade(t) sends one order of 1 unit on every trade, alternating buy and sell per
-- symbol so positions stay within one unit. params.far = 0: immediate-or-cancel market
-- orders, which fill at the quote (the venue's fill path). params.far = P > 0: IOC
-- limits P % away from the trade price on the passive side, which the venue accepts and
-- cancels at once (no fill). Counts live in upvalues and `state` stays empty, so the
-- snapshot the host journals after each call that touched orders is the smallest one;
-- the totals are logged once, from on_stop.
strategy {
  name = "bench_t2o",
  symbols = { "AAA", "BBB" },
  params = { far = 0 },
}

local next_side = {}                 -- symbol -> 1 (buy next) or -1 (sell next)
local opts = { tif = "ioc" }         -- reused: no table per order
local trades, sent, refused = 0, 0, 0
local last_refusal = "none"

function on_trade(t)
  trades = trades + 1
  local side = next_side[t.symbol] or 1
  next_side[t.symbol] = -side
  local far = params.far
  if far > 0 then
    local px = t.price * (1 - side * far / 100)
    opts.limit = math.floor(px * 100 + 0.5) / 100   -- both symbols tick 0.01
  end
  local id, why
  if side > 0 then
    id, why = buy(t.symbol, 1, opts)
  else
    id, why = sell(t.symbol, 1, opts)
  end
  if id then
    sent = sent + 1
  else
    refused = refused + 1
    last_refusal = why
  end
end

function on_stop()
  log.info("bench_t2o totals trades=%d sent=%d refused=%d last_refusal=%s",
           trades, sent, refused, last_refusal)
end
