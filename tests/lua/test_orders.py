#!/usr/bin/env python3
"""Orders from Lua through the real binary (DESIGN.md §6, §8): market, limit, cancel,
replace, brackets with OCO exits, on_order/on_fill order, argument errors versus refusals,
risk denials, the kill switch from SIGUSR1 (also while a strategy is stuck in a callback),
and ids and `state` that survive a restart."""
import os
import re
import signal

from harness import Host, Line, config, main


def msg_text(line):
    return line.kv["msg"]


def msg(line):
    """The key=value pairs inside a strategy log line's msg."""
    return Line(line.kv["msg"]).kv

# Logs every on_order and on_fill as one line each, so tests read the sequence.
TRACE = """
function on_order(o)
  log.info("ORDER id=%d status=%s filled=%s reason=%s role=%s", o.id, o.status, o.filled,
           o.reason or "-", o.role)
end
function on_fill(f)
  log.info("FILL order=%d qty=%s price=%s exec=%s", f.order_id, f.qty, f.price, f.exec_id)
end
"""


def events(h, order_id):
    """The ORDER/FILL lines of one order, in log order."""
    out = []
    for line in h.lines:
        m = re.search(r"(ORDER id|FILL order)=(\d+) (\S+)", line)
        if m and int(m.group(2)) == order_id:
            out.append(line)
    return out


def test_market_order_fills_with_callbacks_in_order():
    script = """strategy { name = "mkt", symbols = { "AAPL" } }
local sent
function on_quote(q)
  if sent then return end
  sent = assert(buy("AAPL", 30, { tag = "first" }))
  log.info("SENT id=%d", sent)
end
""" + TRACE + """
function on_timer() end
"""
    h = Host(config('{ script = "s/mkt.lua" }', rate=2000), {"s/mkt.lua": script})
    oid = int(msg(h.wait_for(r"SENT id="))["id"])
    h.wait_for(rf"ORDER id={oid} status=FILLED")
    h.stop()
    seq = events(h, oid)
    statuses = [msg(l)["status"] for l in seq if "ORDER id" in l]
    assert statuses[0] == "PENDING_NEW" and statuses[1] == "ACCEPTED", statuses
    assert statuses[-1] == "FILLED", statuses
    assert all(s in ("PARTIALLY_FILLED", "FILLED") for s in statuses[2:]), statuses
    fills = [l for l in seq if "FILL order" in l]
    assert abs(sum(float(msg(l)["qty"]) for l in fills) - 30) < 1e-9, fills
    # each fill is reported before the status change it causes
    for i, line in enumerate(seq):
        if "FILL order" in line:
            assert "ORDER id" in seq[i + 1], seq
    assert len({msg(l)["exec"] for l in fills}) == len(fills), "exec ids must be unique"


def test_bad_arguments_raise_and_refusals_return_reasons():
    script = """strategy { name = "args", symbols = { "AAPL" } }
local done
local function err(f, ...)
  local ok, e = pcall(f, ...)
  return ok and "no error" or tostring(e)
end
function on_quote(q)
  if done then return end
  done = true
  log.info("E1 %s", err(buy, 1, 10))
  log.info("E2 %s", err(buy, "AAPL", "ten"))
  log.info("E3 %s", err(buy, "AAPL", 10, { limt = 100 }))
  log.info("E4 %s", err(buy, "AAPL", 10, { tif = "forever" }))
  log.info("E5 %s", err(buy, "AAPL", 10, { limit = "high" }))
  log.info("E6 %s", err(buy, "AAPL", 10, { trail = 1, limit = 100 }))
  log.info("E7 %s", err(cancel, "x"))
  local r = {}
  for _, case in ipairs({
      { "AAPL", 0/0 }, { "AAPL", -5 }, { "AAPL", 0 }, { "AAPL", 1/0 }, { "ZZZZ", 1 },
      { "AAPL", 1, { limit = 190.001 } }, { "AAPL", 1, { limit = -1 } },
      { "AAPL", 101 }, { "AAPL", 1.5 } }) do
    local id, why = buy(case[1], case[2], case[3])
    r[#r + 1] = tostring(id) .. ":" .. tostring(why)
  end
  log.info("REFUSED %s", table.concat(r, " "))
  log.info("LEFT orders=%d", #orders())
  local ok, why = cancel(424242)
  log.info("CANCEL_UNKNOWN %s %s", tostring(ok), tostring(why))
end
"""
    h = Host(config('{ script = "s/args.lua" }', extra="risk = { max_order_qty = 100 },"),
             {"s/args.lua": script})
    left = h.wait_for(r"LEFT orders=")
    h.stop()
    text = {k: h.grep(rf'msg="{k} ')[0] for k in ("E1", "E2", "E3", "E4", "E5", "E6", "E7")}
    assert "bad argument #1 to 'buy'" in text["E1"], text["E1"]
    assert "bad argument #2 to 'buy'" in text["E2"], text["E2"]
    assert "'limt'" in text["E3"] and "unknown option" in text["E3"], text["E3"]
    assert "'tif'" in text["E4"], text["E4"]
    assert "'limit'" in text["E5"] and "number expected" in text["E5"], text["E5"]
    assert "trail" in text["E6"], text["E6"]
    assert "bad argument #1 to 'cancel'" in text["E7"], text["E7"]
    refused = msg_text(h.grep(r"REFUSED ")[0]).split("REFUSED ", 1)[1].split()
    want = ["BAD_QUANTITY", "BAD_QUANTITY", "BAD_QUANTITY", "BAD_QUANTITY", "UNKNOWN_SYMBOL",
            "BAD_PRICE", "BAD_PRICE", "MAX_ORDER_QTY", "BAD_QUANTITY"]
    assert [r.split(":")[0] for r in refused] == ["nil"] * len(want), refused
    assert [r.split(":")[1] for r in refused] == want, refused
    assert msg(left)["orders"] == "0", "a refused order was left behind"
    assert "UNKNOWN_ORDER" in h.grep(r"CANCEL_UNKNOWN")[0]
    denied = [l.kv for l in h.grep(r"INFO risk order denied ")]
    assert [d["reason"] for d in denied] == want, denied
    assert "exceeds" in denied[-2]["message"] and denied[-2]["symbol"] == "AAPL", denied[-2]


def test_limit_rests_then_replace_and_cancel():
    script = """strategy { name = "lim", symbols = { "AAPL" } }
local id, step
function on_quote(q)
  if id then return end
  id = assert(buy("AAPL", 10, { limit = math.floor(q.bid * 0.9 * 100) / 100, tif = "gtc" }))
  log.info("SENT id=%d", id)
end
function on_order(o)
  log.info("ORDER id=%d status=%s limit=%s qty=%s reason=%s", o.id, o.status, o.limit, o.qty,
           o.reason or "-")
  if o.status == "ACCEPTED" and not step then
    step = "replaced"
    assert(replace(id, { qty = 5, limit = o.limit - 0.5 }))
  elseif o.status == "ACCEPTED" and step == "replaced" then
    step = "canceled"
    log.info("WORKING n=%d", #orders("AAPL"))
    assert(cancel(id))
  elseif o.status == "CANCELED" then
    local ok, why = cancel(id)
    log.info("AGAIN %s %s", tostring(ok), why)
  end
end
"""
    h = Host(config('{ script = "s/lim.lua" }'), {"s/lim.lua": script})
    oid = int(msg(h.wait_for(r"SENT id="))["id"])
    h.wait_for(r"AGAIN ")
    h.stop()
    seq = [msg(l) for l in h.grep(rf"ORDER id={oid} ")]
    assert [k["status"] for k in seq] == ["PENDING_NEW", "ACCEPTED", "ACCEPTED", "CANCELED"], seq
    assert float(seq[2]["qty"]) == 5 and float(seq[2]["limit"]) < float(seq[1]["limit"]), seq
    assert h.grep(r"WORKING n=1")
    assert "NOT_WORKING" in h.grep(r"AGAIN ")[0]


def test_bracket_exits_are_an_oco_pair():
    script = """strategy { name = "br", symbols = { "AAPL" } }
local id
function on_quote(q)
  if id then return end
  -- a tight bracket: one exit fills soon, and the other must then be canceled
  id = assert(buy("AAPL", 10, { take_profit = q.ask + 0.03, stop_loss = q.ask - 0.03,
                                tif = "gtc" }))
  log.info("SENT id=%d", id)
end
function on_order(o)
  log.info("ORDER id=%d status=%s role=%s reason=%s parent=%s", o.id, o.status, o.role,
           o.reason or "-", tostring(o.parent))
  if o.role ~= "entry" and (o.status == "CANCELED" or o.status == "FILLED") then
    log.info("EXIT %s %s pos=%s", o.role, o.status, position("AAPL"))
  end
end
"""
    h = Host(config('{ script = "s/br.lua" }', rate=4000,
                    extra="venue = { fill_on_touch = true },"),
             {"s/br.lua": script})
    oid = int(msg(h.wait_for(r"SENT id="))["id"])
    h.wait_for(r"EXIT ", timeout=60)
    second = h.wait_for(r"EXIT ", timeout=30)
    h.stop()
    exits = [msg(l) for l in h.grep(r"ORDER id=\d+ .*parent=" + str(oid))]
    done = {(k["role"], k["status"]) for k in exits if k["status"] in ("FILLED", "CANCELED")}
    roles = {r for r, _ in done}
    assert roles == {"take_profit", "stop_loss"}, done
    filled = [r for r, s in done if s == "FILLED"]
    canceled = [k for k in exits if k["status"] == "CANCELED"]
    assert len(filled) == 1 and len(canceled) == 1 and canceled[0]["reason"] == "OCO", exits
    assert float(msg(second)["pos"]) == 0 or "FILLED" in second, second


def test_kill_switch_from_sigusr1_cancels_and_latches():
    script = """strategy { name = "k", symbols = { "AAPL" } }
local n = 0
function on_quote(q)
  if n >= 3 then
    if not state.refused then
      local id, why = buy("AAPL", 1, { limit = math.floor(q.bid * 0.9 * 100) / 100 })
      if not id then state.refused = why; log.info("REFUSED %s", why) end
    end
    return
  end
  n = n + 1
  assert(buy("AAPL", 1, { limit = math.floor(q.bid * 0.9 * 100) / 100 - n / 100, tif = "gtc" }))
  if n == 3 then log.info("RESTING") end
end
function on_order(o)
  if o.status == "CANCELED" then log.info("CANCELED id=%d reason=%s", o.id, o.reason) end
end
"""
    h = Host(config('{ script = "s/k.lua" }'), {"s/k.lua": script})
    h.wait_for(r"RESTING")
    h.proc.send_signal(signal.SIGUSR1)
    for _ in range(3):
        assert msg(h.wait_for(r"CANCELED id="))["reason"] == "KILL_SWITCH"
    # the refusal may come before the cancels: the signal handler's flag refuses orders
    # at once, the loop cancels a moment later
    if not h.grep(r"REFUSED KILL_SWITCH"):
        h.wait_for(r"REFUSED KILL_SWITCH")
    h.stop()
    # latched across a restart until re-armed
    h2 = Host(config('{ script = "s/k.lua" }'), {"s/k.lua": script}, cwd=h.dir)
    h2.wait_for(r"kill switch engaged")
    h2.stop()


def test_kill_switch_reaches_a_stuck_strategy():
    script = """strategy { name = "stuck", symbols = { "AAPL" } }
local done
function on_quote(q)
  if done then return end
  done = true
  log.info("LOOPING")
  local px = math.floor(q.bid * 0.5 * 100) / 100
  local t0, sent = os.clock(), 0
  while os.clock() - t0 < 8 do       -- a long callback: the loop thread is busy here
    local id, why = buy("AAPL", 1, { limit = px, tif = "gtc" })
    if not id then log.info("REFUSED %s after=%d", why, sent) return end
    sent = sent + 1
    local x = 0 for i = 1, 200000 do x = x + i end
  end
  log.info("NEVER_REFUSED sent=%d", sent)
end
"""
    h = Host(config('{ script = "s/stuck.lua" }',
                    extra='sandbox = { callback_ms = 20000, load_ms = 20000 },'),
             {"s/stuck.lua": script})
    h.wait_for(r"LOOPING")
    h.proc.send_signal(signal.SIGUSR1)
    line = h.wait_for(r"REFUSED|NEVER_REFUSED", timeout=30)
    assert "REFUSED KILL_SWITCH" in line, line
    h.wait_for(r"kill switch engaged")
    h.stop()


def test_ids_and_state_survive_a_restart():
    script = """strategy { name = "r", symbols = { "AAPL" } }
local sent = 0
function on_quote(q)
  if sent >= 3 then return end
  sent = sent + 1
  local id = assert(buy("AAPL", 1))
  state.ids = state.ids or {}
  state.ids[#state.ids + 1] = id
  log.info("SENT id=%d total=%d", id, #state.ids)
end
function on_start() log.info("START ids=%d", state.ids and #state.ids or 0) end
"""
    files = {"s/r.lua": script}
    h = Host(config('{ script = "s/r.lua" }'), files)
    first = [int(msg(h.wait_for(r"SENT id="))["id"]) for _ in range(3)]
    h.stop()
    h2 = Host(config('{ script = "s/r.lua" }'), files, cwd=h.dir)
    assert msg(h2.wait_for(r"START ids="))["ids"] == "3"
    again = [int(msg(h2.wait_for(r"SENT id="))["id"]) for _ in range(3)]
    h2.stop()
    assert h2.grep(r"recovered from the journal"), "no recovery line"
    assert min(again) > max(first), (first, again)
    assert not os.path.exists(os.path.join(h.dir, "var", "journal.wal.kill"))


def test_flatten_with_orders_working():
    """flatten cancels the strategy's working orders and sends the closing order at once:
    orders being canceled no longer count against it (no REDUCING_ONLY / SELF_CROSS)."""
    script = """strategy { name = "fl", symbols = { "AAPL" } }
local step
function on_quote(q)
  if not step then
    step = "buying"
    assert(buy("AAPL", 10))
  elseif step == "long" then
    step = "resting"
    assert(sell("AAPL", 5, { limit = math.floor(q.ask * 1.04 * 100) / 100, tif = "gtc" }))
    assert(buy("AAPL", 5, { limit = math.floor(q.bid * 0.96 * 100) / 100, tif = "gtc" }))
  elseif step == "resting" and #orders() == 2 then
    step = "flattening"
    local n, why = flatten("AAPL")
    log.info("FLATTEN n=%s why=%s", tostring(n), tostring(why))
  end
end
function on_order(o)
  if step == "buying" and o.status == "FILLED" then step = "long" end
  if step == "flattening" and o.status == "FILLED" and position("AAPL") == 0 then
    log.info("FLAT working=%d", #orders())
  end
end
"""
    h = Host(config('{ script = "s/fl.lua" }', extra="risk = { max_position = 15 },"),
             {"s/fl.lua": script})
    line = msg(h.wait_for(r"FLATTEN n="))
    assert line["n"] == "1", line
    flat = msg(h.wait_for(r"FLAT working="))
    h.stop()
    assert flat["working"] == "0", flat


def test_trading_window_is_enforced_by_risk():
    script = """strategy { name = "win", symbols = { "AAPL" },
                 window = { "09:30", "16:00", tz = "America/New_York" } }
local ok, last
function on_quote(q)
  local id, why = buy("AAPL", 1, { limit = math.floor(q.bid * 0.97 * 100) / 100, tif = "gtc" })
  if id then ok = os.date("!%H:%M:%S", now()) end
  if not id and why ~= last then
    last = why
    log.info("REFUSED why=%s at=%s last_ok=%s", why, os.date("!%H:%M:%S", now()), tostring(ok))
  end
end
"""
    # 15:59:50 in New York is 20:59:50 UTC; the window closes at 16:00
    h = Host(config('{ script = "s/win.lua" }', clock="sim", rate=50,
                    extra='start = "2026-01-05T20:59:50Z", journal = { sync = false },'
                          ' sandbox = { callback_ms = 2000 },'),  # ASan on a busy machine
             {"s/win.lua": script}, args=["--for", "30s"])
    refused = msg(h.wait_for(r"REFUSED why="))
    assert h.wait_exit() == 0
    assert refused["why"] == "OUTSIDE_WINDOW", refused
    assert refused["at"] == "21:00:00", refused
    assert refused["last_ok"].startswith("20:59:5"), refused


def test_day_orders_expire_at_the_session_end():
    script = """strategy { name = "day", symbols = { "AAPL" } }
local id
function on_quote(q)
  if id then return end
  id = assert(buy("AAPL", 1, { limit = math.floor(q.bid * 0.95 * 100) / 100 }))
  local gtc = assert(buy("AAPL", 1, { limit = math.floor(q.bid * 0.95 * 100) / 100 - 0.01,
                                tif = "gtc" }))
  log.info("SENT id=%d gtc=%d at=%s", id, gtc, os.date("!%H:%M:%S", now()))
end
function on_order(o)
  if o.status == "EXPIRED" then
    log.info("EXPIRED id=%d reason=%s at=%s left=%d", o.id, o.reason, os.date("!%H:%M:%S", now()),
             #orders())
  end
end
"""
    # 15:59 in New York (EST, UTC-5) is 20:59 UTC; the session ends at 16:00
    h = Host(config('{ script = "s/day.lua" }', clock="sim",
                    extra='start = "2026-01-05T20:59:00Z", journal = { sync = false },'),
             {"s/day.lua": script}, args=["--for", "5m"])
    sent = msg(h.wait_for(r"SENT id="))
    exp = msg(h.wait_for(r"EXPIRED id="))
    assert h.wait_exit() == 0
    assert exp["id"] == sent["id"] and exp["reason"] == "DAY_END", exp
    assert exp["at"] == "21:00:00", exp
    assert exp["left"] == "1", "the gtc order must still be working"
    assert len(h.grep(r"EXPIRED id=")) == 1


if __name__ == "__main__":
    main([
        test_market_order_fills_with_callbacks_in_order,
        test_bad_arguments_raise_and_refusals_return_reasons,
        test_limit_rests_then_replace_and_cancel,
        test_bracket_exits_are_an_oco_pair,
        test_kill_switch_from_sigusr1_cancels_and_latches,
        test_kill_switch_reaches_a_stuck_strategy,
        test_ids_and_state_survive_a_restart,
        test_day_orders_expire_at_the_session_end,
        test_flatten_with_orders_working,
        test_trading_window_is_enforced_by_risk,
    ])
