#!/usr/bin/env python3
"""test_strategies.py: the example strategies (strategies/*.lua) trading through the real
binary: sim feed, simulated clock (as fast as possible, deterministic), paper venue,
explicit risk limits, two simulated hours of 1s bars per run (well under a second each).

Each strategy logs what it does as `verb key=value ...` messages (sent, fill, done, exit,
refused, flatten; see the header of each script); the checks read those lines and the
host's own log: it trades, every order follows its params, positions stay within what
the strategy allows (long only, at most qty or max_position), breakout's brackets come as
OCO pairs that end with one exit FILLED and the other CANCELED, nothing is refused by the
risk check unless a test asks for it, and the same seed and config give the same fills.
Also: a hot reload over the signal-only versions' `state` (wall clock, a few seconds),
and config/default.lua's demo on the simulated clock."""
import datetime
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SRC, Host, Line, main  # noqa: E402

SECS = 7200  # simulated seconds per run (two hours); a run takes well under a second
START = datetime.datetime(2026, 1, 5, 15, 0, tzinfo=datetime.timezone.utc)  # sim default

SYMBOLS = """
    AAPL = { price = 190, vol = 0.3, tick = 0.01, spread = 1, max_lots = 20 },
    MSFT = { price = 410, vol = 0.25, tick = 0.01, spread = 1, max_lots = 20 },
    SPY  = { price = 520, vol = 0.2, tick = 0.01, spread = 1, max_lots = 20 },"""

# Tighter than the demo's, and all of them on: a strategy that misbehaves runs into one.
RISK = """
    max_order_qty = 50, max_order_notional = 30000, price_band_pct = 2,
    reference_max_age_s = 5, max_position = 50, max_gross_exposure = 100000,
    max_working_orders = 10, max_orders_per_s = 5, max_cancels_per_s = 5,
    duplicate_window_s = 0.5, daily_loss_limit = 5000, max_drawdown = 5000,
    stale_feed_s = 5,"""


def config(strategies, seed=7, risk=RISK, watch=False, clock="sim", rate=60):
    return f"""return {{
  seed = {seed},
  clock = "{clock}",
  feed = {{ rate = {rate}, trade_ratio = 0.5, symbols = {{ {SYMBOLS} }} }},
  strategies = {{ {strategies} }},
  account = {{ cash = 1000000 }},
  venue = {{ slippage_bps = 1, commission_per_share = 0.005, latency_ms = 0 }},
  journal = {{ enabled = true, sync = false }},
  risk = {{ {risk} }},
  reload = {{ watch = {"true" if watch else "false"} }},
  -- these tests are about trading, not CPU limits: the budget is wall time, and a
  -- sanitizer build on a loaded 2-core machine can be descheduled past 10 ms
  sandbox = {{ callback_ms = 2000 }},
}}
"""


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


def start(strategies, **kw):
    """Runs the host for SECS of simulated time in a scratch dir (its own var/) that links
    to the repository's scripts/ and strategies/; returns it after a clean exit."""
    d = tempfile.mkdtemp(prefix="luatrade-strat-")
    os.symlink(os.path.join(SRC, "strategies"), os.path.join(d, "strategies"))
    return finish(Host(config(strategies, **kw), args=["--for", f"{SECS}s"], cwd=d), SECS)


def finish(h, secs):
    """Waits for a clean exit at the end of the simulated run."""
    rc = h.wait_exit(timeout=60)
    expect(rc == 0, f"exit {rc}\n" + "\n".join(h.lines[-40:]))
    end = (START + datetime.timedelta(seconds=secs)).strftime("%Y-%m-%dT%H:%M:%S")
    expect(h.grep(rf"^{end}\S* INFO host stopped"), f"the run did not end at {end}")
    return h


class Ev:
    """One message a strategy logged: .verb (its first word), .kv (its key=value pairs)."""

    def __init__(self, msg, level):
        self.msg, self.level = msg, level
        self.verb = msg.split(" ", 1)[0]
        self.kv = Line(msg).kv

    def __getitem__(self, k):
        return self.kv[k]

    def num(self, k):
        return float(self.kv[k])

    def __repr__(self):
        return self.msg


_LOG = re.compile(r" (DEBUG|INFO|WARN|ERROR) strategy log id=(\S+) msg=")


def events(h, sid):
    out = []
    for line in h.lines:
        m = _LOG.search(line)
        if m and m.group(2) == sid:
            out.append(Ev(line.kv["msg"], m.group(1)))
    return out


def of(evs, verb):
    return [e for e in evs if e.verb == verb]


def host_problems(h):
    """Host log lines that mean a risk check, the order flow or a sandbox complained."""
    rx = re.compile(r"RISK_CHECK|denied|denials|trading state changed|kill switch|illegal|"
                    r"does not fit|unknown order|strategy error|dropped|faulted| (WARN|ERROR) ")
    mine = re.compile(r" strategy (log|alert) id=")  # strategies' own lines: checked apart
    return [l for l in h.lines if rx.search(l) and not mine.search(l)]


def host_totals(h):
    """The order manager's closing line: orders created and fills booked, every account."""
    lines = h.grep(r" INFO oms trading stopped ")
    expect(lines, "no 'trading stopped' line")
    return int(lines[-1].kv["orders"]), int(lines[-1].kv["fills"])


def orders_made(evs, exits_per_entry=0):
    """Orders a strategy's log accounts for: what it sent, what flatten sent, and the exits
    the host creates with each bracket entry."""
    sent = of(evs, "sent")
    return len(sent) * (1 + exits_per_entry) + sum(int(e["orders"]) for e in of(evs, "flatten"))


def check_totals(h, runs):
    """runs: [(events, exits per entry)] of every strategy in the host; the host's own
    order and fill counts must match what the strategies logged."""
    orders, fills = host_totals(h)
    expect(orders == sum(orders_made(e, x) for e, x in runs),
           f"host made {orders} orders, the strategies account for "
           f"{[orders_made(e, x) for e, x in runs]}")
    expect(fills == sum(len(of(e, "fill")) for e, _ in runs),
           f"host booked {fills} fills, the strategies logged "
           f"{[len(of(e, 'fill')) for e, _ in runs]}")


def check_common(h, sid):
    """What every strategy run must show; returns its events."""
    evs = events(h, sid)
    expect(evs, f"{sid} logged nothing:\n" + "\n".join(h.lines[-40:]))
    refused = [e for e in evs if e.verb == "refused" or e.level != "INFO"]
    expect(not refused, f"{sid}: orders refused: {refused[:5]}")
    rejected = [e for e in of(evs, "done") if e["status"] in ("REJECTED", "EXPIRED")]
    expect(not rejected, f"{sid}: {rejected[:5]}")
    expect(not host_problems(h), f"host log: {host_problems(h)[:5]}")
    fills = of(evs, "fill")
    for f in fills:
        expect(0 <= f.num("pos"), f"{sid} went short: {f}")
    # the strategy's own count agrees with its fill lines
    stop = [e for e in evs if "stopped" in e.msg and "fills=" in e.msg]
    expect(stop, f"{sid}: no stop line")
    expect(int(stop[-1]["fills"]) == len(fills),
           f"{sid}: portfolio says {stop[-1]['fills']} fills, the log {len(fills)}")
    sent_qty = {e["id"]: e.num("qty") for e in of(evs, "sent")}
    filled = {}
    for f in fills:
        filled[f["id"]] = filled.get(f["id"], 0) + f.num("qty")
    for oid, q in filled.items():
        if oid in sent_qty:
            expect(q <= sent_qty[oid] + 1e-9, f"{sid}: order {oid} filled {q} > {sent_qty[oid]}")
    return evs


def fill_seq(h, sid):
    return [e.msg for e in of(events(h, sid), "fill")]


# ---- sma_cross -------------------------------------------------------------------------

SMA = ('{ script = "strategies/sma_cross.lua", symbols = { "AAPL", "MSFT" }, '
       'params = { fast = 5, slow = 20, qty = 10 } }')


def test_sma_cross_trades_long_only_within_qty():
    h = start(SMA)
    evs = check_common(h, "sma_cross")
    check_totals(h, [(evs, 0)])
    fills, sent = of(evs, "fill"), of(evs, "sent")
    print(f"     sma_cross: {len(sent)} entries, {len(of(evs, 'flatten'))} exits, "
          f"{len(fills)} fills", flush=True)
    expect(len(sent) >= 20 and len(fills) >= 40, f"too few trades: {len(sent)} / {len(fills)}")
    expect(all(e["side"] == "buy" and e.num("qty") == 10 and e["type"] == "market" for e in sent),
           [e for e in sent if e.num("qty") != 10][:3])
    for f in fills:
        expect(f.num("pos") <= 10, f"more than qty held: {f}")
    # entries only when flat: the position before each entry's first fill is 0
    pos = {}
    seen = set()
    for e in evs:
        if e.verb == "fill":
            if e["side"] == "buy" and e["id"] not in seen:
                seen.add(e["id"])
                expect(pos.get(e["sym"], 0) == 0, f"entry {e['id']} while holding {pos}")
            pos[e["sym"]] = e.num("pos")
    expect({e["sym"] for e in sent} == {"AAPL", "MSFT"}, "both symbols trade")
    test_sma_cross_trades_long_only_within_qty.fills = fill_seq(h, "sma_cross")


def test_same_seed_same_fills():
    first = getattr(test_sma_cross_trades_long_only_within_qty, "fills", None)
    if first is None:
        first = fill_seq(start(SMA), "sma_cross")
    again = fill_seq(start(SMA), "sma_cross")
    expect(first, "no fills")
    expect(first == again, "fills differ between two runs of the same seed: first difference "
           + str(next(((a, b) for a, b in zip(first, again) if a != b), (len(first), len(again)))))
    other = fill_seq(start(SMA, seed=8), "sma_cross")
    expect(other != first, "another seed gave the same fills")


# ---- rsi_reversion ---------------------------------------------------------------------

def rsi_entry(max_position=30, extra="", risk=""):
    return ('{ script = "strategies/rsi_reversion.lua", symbols = { "AAPL", "SPY" }, '
            f'params = {{ qty = 10, max_position = {max_position} {extra} }} {risk} }}')


def check_rsi(h, qty, max_position):
    evs = check_common(h, "rsi_reversion")
    check_totals(h, [(evs, 0)])
    sent, fills = of(evs, "sent"), of(evs, "fill")
    entries = [e for e in sent if e["side"] == "buy"]
    exits = [e for e in sent if e["side"] == "sell"] + of(evs, "flatten")
    print(f"     rsi_reversion: {len(entries)} entries, {len(exits)} exits, {len(fills)} fills",
          flush=True)
    expect(len(entries) >= 10 and len(exits) >= 5 and len(fills) >= 20,
           f"too few trades: {len(entries)} entries, {len(exits)} exits, {len(fills)} fills")
    expect(all(e.num("qty") == qty and e["type"] == "limit" for e in entries), entries[:3])
    for f in fills:
        expect(f.num("pos") <= max_position, f"position over max_position: {f}")
    expect(max(f.num("pos") for f in fills) > qty, "entries never added up")
    return evs


def test_rsi_reversion_trades_within_max_position():
    h = start(rsi_entry(30))
    check_rsi(h, 10, 30)


def test_rsi_reversion_market_exits():
    h = start(rsi_entry(20, ', exit = "market"'))
    evs = check_rsi(h, 10, 20)
    expect(not [e for e in of(evs, "sent") if e["side"] == "sell"], "limit exits with exit=market")


def test_rsi_reversion_against_a_tighter_risk_limit():
    """The operator's max_position for this strategy (its entry's risk, 15) is below what
    the strategy would hold (40): its second entry in a symbol is refused with
    MAX_POSITION, logged as a warning, and the position stays within the limit."""
    h = start(rsi_entry(40, risk=", risk = { max_position = 15 }"))
    evs = events(h, "rsi_reversion")
    refused, fills = of(evs, "refused"), of(evs, "fill")
    print(f"     rsi_reversion: {len(refused)} entries refused, {len(fills)} fills", flush=True)
    expect(len(refused) >= 3, f"refusals logged: {refused}")
    expect(all(e["reason"] == "MAX_POSITION" and e.level == "WARN" for e in refused),
           refused[:5])
    expect(len(fills) >= 20, f"{len(fills)} fills")
    expect(max(f.num("pos") for f in fills) <= 15, "position passed the risk limit")
    expect(0 <= min(f.num("pos") for f in fills), "went short")
    # the host logged the same denials (at most 10 lines a second, the rest counted)
    denied = h.grep(r" INFO risk order denied ")
    unlogged = sum(int(l.kv["count"]) for l in h.grep(r"order denials not logged"))
    expect(len(denied) + unlogged == len(refused), f"host denied {len(denied)} + {unlogged}, "
           f"the strategy logged {len(refused)} refusals")
    expect(all(l.kv["reason"] == "MAX_POSITION" and l.kv["strategy"] == "rsi_reversion"
               for l in denied), denied[:3])
    problems = [l for l in host_problems(h) if " order denied " not in l]
    expect(not problems, f"host log: {problems[:5]}")
    check_totals(h, [(evs, 0)])


# ---- breakout -------------------------------------------------------------------------

BRK = ('{ script = "strategies/breakout.lua", symbols = { "SPY", "MSFT" }, '
       'params = { channel = 20, atr = 14, take_profit = 3, stop_loss = 1.5, qty = 10 } }')


def test_breakout_brackets_are_oco_pairs():
    h = start(BRK)
    evs = check_common(h, "breakout")
    check_totals(h, [(evs, 2)])
    sent, fills = of(evs, "sent"), of(evs, "fill")
    expect(not [e for e in evs if e.verb == "unprotected"], "a position was left without exits")
    expect(all(e.num("qty") == 10 and e.num("tp") > e.num("sl") for e in sent), sent[:3])
    entries = {e["id"]: e for e in sent}
    # the exits of each entry, from their "exit" and "done" lines
    exits = {}
    for e in evs:
        if e.verb in ("exit", "done") and e.kv.get("parent", "-") != "-":
            ex = exits.setdefault(e["parent"], {}).setdefault(e["id"], {"role": e["role"]})
            if e.verb == "done":
                ex["status"] = e["status"]
    entry_filled = {f["id"] for f in fills if f["id"] in entries}
    pairs = 0
    for oid in entries:
        xs = exits.get(oid, {})
        if oid not in entry_filled:
            expect(all(x.get("status") == "CANCELED" for x in xs.values()),
                   f"exits of unfilled entry {oid}: {xs}")
            continue
        roles = sorted(x["role"] for x in xs.values())
        expect(roles == ["stop_loss", "take_profit"], f"entry {oid} exits: {xs}")
        ends = sorted(x.get("status", "working") for x in xs.values())
        expect(ends in (["CANCELED", "FILLED"], ["working", "working"]),
               f"entry {oid} exits ended {ends}")
        pairs += ends == ["CANCELED", "FILLED"]
    # one position per symbol: an entry goes out only after the last one's exits ended
    open_entry = {}
    done = {e["id"] for e in of(evs, "done")}
    for e in evs:
        if e.verb == "sent":
            prev = open_entry.get(e["sym"])
            if prev and prev in entry_filled:
                expect(all(x in done for x in exits.get(prev, {})),
                       f"entry {e['id']} while {prev}'s exits still worked")
            open_entry[e["sym"]] = e["id"]
    for f in fills:
        expect(f.num("pos") <= 10, f"more than qty held: {f}")
    print(f"     breakout: {len(sent)} entries, {pairs} closed by an exit, {len(fills)} fills",
          flush=True)
    expect(len(sent) >= 10 and pairs >= 8 and len(fills) >= 20,
           f"too few trades: {len(sent)} entries, {pairs} closed, {len(fills)} fills")
    stops = {x["role"] for xs in exits.values() for x in xs.values() if x.get("status") == "FILLED"}
    expect(stops == {"take_profit", "stop_loss"}, f"exits that filled: {stops}")


# ---- reloading over the signal-only versions ----------------------------------------------

# Stand-ins for the versions before these traded: the same ids and `state` layout
# (sma_cross: pairs, crossings; rsi_reversion: rsi, last_alert), no orders.
OLD_SMA = """local ind = require "indicators"
strategy { name = "sma_cross", symbols = { "AAPL", "MSFT" }, bars = { "1s" },
           params = { fast = 5, slow = 20 } }
function on_start() state.pairs = state.pairs or {} state.crossings = state.crossings or 0 end
function on_bar(bar)
  local p = state.pairs[bar.symbol] or { fast = ind.sma(params.fast), slow = ind.sma(params.slow) }
  state.pairs[bar.symbol] = p
  local f, s = p.fast:update(bar.close), p.slow:update(bar.close)
  if not (f and s) then return end
  local side = f > s and "above" or f < s and "below" or p.side
  if p.side and side ~= p.side then
    state.crossings = state.crossings + 1
    if state.crossings == 1 then log.info("old sma_cross crossed") end
  end
  p.side = side
end
"""
OLD_RSI = """local ind = require "indicators"
strategy { name = "rsi_reversion", symbols = { "SPY" }, bars = { "1s" },
           params = { period = 14, low = 30, high = 70, extreme = 10, alert_every = 60 } }
function on_start() state.rsi = state.rsi or {} state.last_alert = state.last_alert or {} end
function on_bar(bar)
  local e = state.rsi[bar.symbol] or { rsi = ind.rsi(params.period) }
  state.rsi[bar.symbol] = e
  e.rsi:update(bar.close)
  e.close = bar.close
  if e.rsi:value() and not state.said then state.said = true log.info("old rsi warm") end
end
"""


def seen(h, pattern, timeout=30.0):
    """The first line matching pattern, whether or not a wait already went past it."""
    rx = re.compile(pattern)
    deadline = time.monotonic() + timeout
    while True:
        for line in list(h.lines):
            if rx.search(line):
                return line
        h.wait_for(r"", timeout=max(0.01, deadline - time.monotonic()))


def test_reload_over_signal_only_state():
    """A running signal-only version is replaced by the trading one (hot reload): the new
    version takes over its `state` (crossings counted, indicators warm) and trades. On
    the wall clock, with short periods so it takes seconds: a simulated run does not
    watch files while it runs (see the report of this branch)."""
    d = tempfile.mkdtemp(prefix="luatrade-strat-")
    entries = ('{ script = "s/sma_cross.lua", symbols = { "AAPL", "MSFT" }, '
               '  params = { fast = 2, slow = 4 } }, '
               '{ script = "s/rsi_reversion.lua", symbols = { "SPY" }, '
               '  params = { period = 2, low = 45, high = 55 } }')
    h = Host(config(entries, watch=True, clock="wall", rate=1000),
             files={"s/sma_cross.lua": OLD_SMA, "s/rsi_reversion.lua": OLD_RSI}, cwd=d)
    h.wait_for(r"old rsi warm")  # 3 bars
    h.wait_for(r"old sma_cross crossed")  # 5 bars or more
    for name in ("sma_cross", "rsi_reversion"):
        with open(os.path.join(SRC, "strategies", name + ".lua")) as f:
            h.write(f"s/{name}.lua", f.read())
    # the two reloads may come in either order: wait until each line has been seen
    line = seen(h, r"sma_cross: reloaded over version 1; \d+ crossings so far")
    expect(int(re.search(r"(\d+) crossings", line).group(1)) >= 1, line)
    seen(h, r"rsi_reversion: reloaded over version 1")
    seen(h, r"strategy reloaded id=sma_cross version=2")
    seen(h, r"strategy reloaded id=rsi_reversion version=2")
    for sid in ("sma_cross", "rsi_reversion"):
        seen(h, rf"strategy log id={sid} msg=\"fill id=", timeout=60)
    expect(h.stop() == 0, "exit code")
    expect(not host_problems(h), f"host log: {host_problems(h)[:5]}")
    for sid in ("sma_cross", "rsi_reversion"):
        bad = [e for e in events(h, sid) if e.level != "INFO"]
        expect(not bad, f"{sid}: {bad[:5]}")


# ---- the demo ---------------------------------------------------------------------------

def test_demo_config_trades_without_refusals():
    """config/default.lua as shipped, on the simulated clock (and without fdatasync) for
    20 minutes: every instance trades, and none has an order refused: the strategies that
    rest limits have symbols of their own, so no order crosses another one's."""
    with open(os.path.join(SRC, "config", "default.lua")) as f:
        text = f.read()
    for old, new in (('clock = "wall"', 'clock = "sim"'), ("sync = true", "sync = false"),
                     ("watch = true", "watch = false")):
        expect(old in text, f"config/default.lua no longer has {old}")
        text = text.replace(old, new)
    d = tempfile.mkdtemp(prefix="luatrade-demo-")
    os.symlink(os.path.join(SRC, "strategies"), os.path.join(d, "strategies"))
    h = finish(Host(text, args=["--for", "1200s"], cwd=d), 1200)
    counts, runs = {}, []
    for sid in ("sma_cross", "sma_fast_msft", "rsi_reversion", "breakout"):
        evs = check_common(h, sid)
        counts[sid] = len(of(evs, "fill"))
        runs.append((evs, 2 if sid == "breakout" else 0))
    check_totals(h, runs)
    print(f"     demo fills in 20 minutes: {counts}", flush=True)
    expect(all(n >= 5 for n in counts.values()), counts)


if __name__ == "__main__":
    main([
        test_sma_cross_trades_long_only_within_qty,
        test_same_seed_same_fills,
        test_rsi_reversion_trades_within_max_position,
        test_rsi_reversion_market_exits,
        test_rsi_reversion_against_a_tighter_risk_limit,
        test_breakout_brackets_are_oco_pairs,
        test_reload_over_signal_only_state,
        test_demo_config_trades_without_refusals,
    ])
