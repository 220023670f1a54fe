#!/usr/bin/env python3
"""Crash recovery (DESIGN.md §8; shared/notes C1): the host is killed with SIGKILL at random
points of a busy order flow, 50 times (some of them in the middle of a hot reload), and
restarted on the same var/ directory each time. After every restart:

  I1  every order the strategy saw acknowledged, and every fill it saw, is in the journal;
  I3  no exec id is booked twice, and recovery finds positions and cash equal to the
      paper venue's (the host logs a HALTED "disagrees with the venue" line otherwise);
  I4  no order id is journaled twice, and no intent is ever resent (an intent the venue
      never got is canceled as NOT_SENT);
  and the strategy's `state` comes back: it counts every one of its orders that reached
  the venue (only intents of a torn, uncommitted last group may be missing, and those are
  canceled as NOT_SENT, a cancel the strategy then sees).

The journal is read here independently of the host (its format is in host/journal.h)."""
import json
import os
import random
import re
import signal
import struct

from harness import Host, Line, config, main


def msg(line):
    return Line(line.kv["msg"]).kv

TRIALS = int(os.environ.get("LUATRADE_CRASH_TRIALS", "50"))

# Sends a stream of market, limit and bracket orders and cancels; counts in `state` what it
# sent, and logs every acknowledgement and fill it is told about.
CHURN = """
strategy { name = "churn", symbols = { "AAPL", "MSFT" } }
-- VERSION 1
function on_start()
  state.sent = state.sent or 0
  log.info("START sent=%d", state.sent)
end
local function send(q, opts)
  local side = math.random() < 0.5 and buy or sell
  local id = side(q.symbol, math.random(1, 5), opts)
  if id then state.sent = state.sent + 1 end
  return id
end
function on_quote(q)
  local r = math.random()
  if r < 0.25 then
    send(q)
  elseif r < 0.45 then
    send(q, { limit = math.floor(q.bid * 100 - math.random(0, 5)) / 100, tif = "gtc" })
  elseif r < 0.55 then
    send(q, { take_profit = q.ask + 0.05, stop_loss = q.ask - 0.05, tif = "gtc",
              limit = q.ask })
  elseif r < 0.75 then
    local w = orders(q.symbol)
    if #w > 0 then cancel(w[math.random(#w)].id) end
  end
end
function on_order(o)
  if o.status == "ACCEPTED" then log.info("ACK id=%d", o.id) end
  if o.reason == "NOT_SENT" then log.info("NOT_SENT_SEEN id=%d", o.id) end
end
function on_fill(f)
  log.info("SAWFILL exec=%s", f.exec_id)
end
"""

CONFIG_EXTRA = """
  account = { cash = 1000000 },
  sandbox = { callback_ms = 2000 },  -- a wall-time budget: no CPU faults on a loaded machine
  venue = { fill_on_touch = true },
  risk = { max_order_qty = 0, max_orders_per_s = 0, price_band_pct = 0, max_position = 0,
           max_gross_exposure = 0, max_working_orders = 0, daily_loss_limit = 0,
           max_drawdown = 0, duplicate_window_s = 0, max_order_notional = 0 },
"""


def read_journal(path):
    """Records of a journal file: [(type, seq, payload bytes)], complete ones only."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"LTJRNL01", f"{path}: not a journal"
    out, off = [], 16
    while off + 13 <= len(data):
        length, rtype, seq = struct.unpack_from("<IBQ", data, off)
        if length == rtype == seq == 0:  # the zeros reserved past the last record
            break
        end = off + 13 + length + 4
        if end > len(data):
            break
        out.append((chr(rtype), seq, data[off + 13:off + 13 + length]))
        off = end
    return out


def check(var, acked, seen_fills, started_sent):
    recs = read_journal(os.path.join(var, "journal.wal"))
    orders, statuses, execs = {}, {}, []
    for rtype, _, payload in recs:
        if rtype == "O":
            o = json.loads(payload)
            assert o["id"] not in orders, f"order {o['id']} journaled twice"
            orders[o["id"]] = o
        elif rtype == "S":
            s = json.loads(payload)
            statuses.setdefault(s["id"], []).append(s)
        elif rtype == "F":
            execs.append(json.loads(payload)["x"])
    assert len(execs) == len(set(execs)), "an exec id was booked twice"
    missing = acked - set(orders)
    assert not missing, f"acknowledged orders lost: {sorted(missing)[:5]}"
    lost = seen_fills - set(execs)
    assert not lost, f"fills the strategy saw are not in the journal: {sorted(lost)[:5]}"
    # the strategy's `state` remembers every order that reached the venue: an intent is
    # sent only after the group commit that also holds the snapshot counting it. It may
    # remember fewer than the journal holds only by intents that never left (a kill can
    # tear the last, uncommitted group between an intent and its snapshot); those are
    # canceled as NOT_SENT, never resent
    own = [o for o in orders.values() if o["st"] == "churn" and o["role"] in (0, 1)]
    not_sent = {i for i, ss in statuses.items() if any(s["r"] == "NOT_SENT" for s in ss)}
    reached = [o for o in own if o["id"] not in not_sent]
    assert len(reached) <= started_sent <= len(own), (
        f"state.sent={started_sent}, but {len(reached)} of the strategy's orders reached the "
        f"venue and {len(own)} are journaled")
    return len(orders), len(execs), len(not_sent)


def test_sigkill_at_random_points_loses_nothing():
    rng = random.Random(int(os.environ.get("LUATRADE_CRASH_SEED", "7")))
    files = {"s/churn.lua": CHURN}
    cfg = config('{ script = "s/churn.lua" }', rate=4000, extra=CONFIG_EXTRA)
    h = Host(cfg, files)
    workdir = h.dir
    var = os.path.join(workdir, "var")
    acked, seen = set(), set()
    totals = (0, 0, 0)
    reloads = 0
    not_sent_seen = 0
    for trial in range(TRIALS):
        if trial:
            h = Host(cfg, files, cwd=workdir)
        start = h.wait_for(r"START sent=", timeout=60)
        problems = h.grep(r"disagrees with the venue")
        assert not problems, f"trial {trial}: {problems}"
        if trial:
            totals = check(var, acked, seen, int(msg(start)["sent"]))
        # let it trade for a random number of acknowledgements, sometimes reloading the
        # script first (and sometimes killing before the reload is done)
        if rng.random() < 0.3:
            reloads += 1
            h.write("s/churn.lua", CHURN.replace("VERSION 1", f"VERSION {trial + 2}"))
            files["s/churn.lua"] = CHURN.replace("VERSION 1", f"VERSION {trial + 2}")
            if rng.random() < 0.5:
                h.wait_for(r"strategy reloaded", timeout=30)
        for _ in range(rng.randint(1, 40)):
            h.wait_for(r"ACK id=|SAWFILL", timeout=30)
        h.proc.send_signal(signal.SIGKILL)
        h.proc.wait(timeout=30)
        h._reader.join(timeout=5)
        not_sent_seen += len(h.grep(r"NOT_SENT_SEEN"))
        for line in h.lines:
            m = re.search(r"ACK id=(\d+)", line)
            if m:
                acked.add(int(m.group(1)))
            m = re.search(r'SAWFILL exec=([^\s"]+)', line)
            if m:
                seen.add(m.group(1))
    h = Host(cfg, files, cwd=workdir)
    start = h.wait_for(r"START sent=", timeout=60)
    assert not h.grep(r"disagrees with the venue")
    totals = check(var, acked, seen, int(msg(start)["sent"]))
    h.stop()
    assert totals[0] > 100 and totals[1] > 50, f"too little order flow to mean anything: {totals}"
    not_sent_seen += len(h.grep(r"NOT_SENT_SEEN"))
    assert not_sent_seen == totals[2], (
        f"{totals[2]} intents canceled as NOT_SENT but the strategy saw {not_sent_seen}")
    assert reloads >= 5, reloads
    print(f"    {TRIALS} kills, {reloads} during reloads: {totals[0]} orders, "
          f"{totals[1]} fills, {totals[2]} intents never sent, {len(acked)} acks checked",
          flush=True)


if __name__ == "__main__":
    main([test_sigkill_at_random_points_loses_nothing])
