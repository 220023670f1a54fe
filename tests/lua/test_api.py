#!/usr/bin/env python3
"""test_api.py: the Lua API a strategy sees (DESIGN.md §6), observed through log lines on
the simulated clock: strategy{} validation, quote/last/history, on_bar routing, timers,
signals and alerts between strategies, log rate limiting, params, state, mode and
strategy_id, os.time/os.date, refusal of non-finite values, and per-symbol sequence
numbers. Each test writes one or two small strategies and runs the host for a stretch of
simulated time (--for)."""
import datetime
import os
import re
import sys
import zoneinfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Host, main  # noqa: E402

START = "2026-01-05T15:00:00Z"  # the host's default simulated start
START_S = 1767625200


def cfg(strategies, rate=200, start=None, extra=""):
    """A sim-clock config with AAPL and MSFT; strategies is a list of (file, id or None)."""
    entries = ", ".join(f'{{ script = "{f}"' + (f', id = "{i}"' if i else "") + " }"
                        for f, i in strategies)
    return f"""return {{
  clock = "sim",
  {f'start = "{start}",' if start else ""}
  feed = {{ rate = {rate}, trade_ratio = 0.5, symbols = {{
    AAPL = {{ price = 190, vol = 0.3, tick = 0.01 }},
    MSFT = {{ price = 410, vol = 0.25, tick = 0.01 }},
  }} }},
  strategies = {{ {entries} }},
  {extra}
}}
"""


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


def run_host(files, strategies=None, secs=10, rate=200, start=None, extra="", args=()):
    """Runs the host for secs of simulated time; returns it after exit (rc in .rc)."""
    strategies = strategies or [(f, None) for f in files]
    h = Host(cfg(strategies, rate, start, extra), files=files, args=["--for", f"{secs}s", *args])
    h.rc = h.wait_exit()
    return h


def msgs(h, sid):
    """The messages strategy sid logged (log.* and print), in order."""
    return [l.kv["msg"] for l in h.lines if re.search(rf"strategy log id={re.escape(sid)} ", l)]


def fields(h, sid, prefix):
    """Messages of sid starting with `prefix ` split into words after the prefix."""
    return [m.split()[1:] for m in msgs(h, sid) if m.split()[:1] == [prefix]]


def log_tail(h):
    return "\n".join(h.lines[-40:])


def expect_ok(h):
    expect(h.rc == 0, f"exit {h.rc}\n{log_tail(h)}")
    expect(not h.grep(r"strategy error|faulted"), "unexpected strategy error:\n" + log_tail(h))


# ---- strategy{} -----------------------------------------------------------------------

def test_declaration_errors_refuse_to_start():
    cases = [
        ("strategy { nope = 1 }", "unknown field 'nope'"),
        ('strategy { symbols = { "aapl!" } }', "symbols[1]"),
        ('strategy { symbols = "AAPL" }', "symbols must be a list"),
        ('strategy { symbols = { "AAPL", "AAPL" } }', "listed twice"),
        ('strategy { symbols = { "ZZZZ" } }', "unknown symbol 'ZZZZ'"),
        ('strategy { bars = { "7m" } }', "bars[1] '7m'"),
        ('strategy { bars = "1m" }', "bars must be a list"),
        ("strategy { params = 5 }", "params must be a table"),
        ("strategy { params = { x = {} } }", "params.x"),
        ("strategy { params = { x = 0/0 } }", "params.x must be a finite number"),
        ('strategy { every = "soon" }', "every must be a duration of at least 1ms"),
        ("strategy { every = 0 }", "every must be a duration of at least 1ms"),
        ("strategy { every = 0/0 }", "every must be a duration of at least 1ms"),
        ('strategy { window = { "09:30", "16:00", tz = "Mars/Olympus" } }', "window.tz"),
        ('strategy { window = { "9:30", "16:00" } }', "window[1]"),
        ('strategy { window = { "09:30", "25:00" } }', "window[2]"),
        ("strategy { capital = 0 }", "capital must be a positive number"),
        ("strategy { capital = -5 }", "capital must be a positive number"),
        ("strategy { capital = 0/0 }", "capital must be a positive number"),
        ("strategy { capital = 1/0 }", "capital must be a positive number"),
        ("strategy {}\nstrategy {}", "only once"),
        ("local x = 1", "never calls strategy{"),
    ]
    for text, needle in cases:
        h = run_host({"d.lua": text + "\nfunction on_start() log.info('started') end\n"}, secs=1)
        expect(h.rc == 2, f"{text!r}: exit {h.rc}, want 2\n{log_tail(h)}")
        msg = [l for l in h.lines if l.startswith("luatrade: ")]
        expect(msg and needle in msg[0], f"{text!r}: want {needle!r} in {msg}")
        expect(not h.grep(r"strategy started"), f"{text!r}: a strategy started")


def test_good_declaration_starts():
    h = run_host({"d.lua": """
strategy { name = "ok-1.x", symbols = { "AAPL" }, bars = { "1s", "1m" }, every = 1.5,
           params = { a = 1, b = "s", c = true },
           window = { "09:30", "16:00", tz = "America/New_York" }, capital = 100000 }
function on_start() log.info("started %s", strategy_id) end
"""}, secs=1)
    expect_ok(h)
    expect(msgs(h, "ok-1.x") == ["started ok-1.x"], log_tail(h))


# ---- market queries -------------------------------------------------------------------

def test_quote_and_last():
    h = run_host({"q.lua": """
strategy { symbols = { "AAPL" }, every = "5s" }
function on_start()
  local q, t = quote("AAPL"), last("AAPL")
  log.info("before %s %s", tostring(q), tostring(t))
end
function on_timer()
  local q, t = quote("AAPL"), last("AAPL")
  log.info("quote %s %s %s %s %s %s %s", q.symbol, q.bid, q.ask, q.bid_size, q.time, q.seq, q.n)
  log.info("last %s %s %s %s %s %s", t.symbol, t.price, t.size, t.time, t.seq, t.n)
  local uq, ut = quote("ZZZZ"), last("ZZZZ")
  log.info("unknown %s %s", tostring(uq), tostring(ut))
end
"""}, secs=10)
    expect_ok(h)
    expect(fields(h, "q", "before") == [["nil", "nil"]], "quote/last before any data")
    quotes, lasts = fields(h, "q", "quote"), fields(h, "q", "last")
    expect(len(quotes) == 2 and len(lasts) == 2, log_tail(h))
    for (sym, bid, ask, bsz, t, seq, n), when in zip(quotes, (START_S + 5, START_S + 10)):
        expect(sym == "AAPL" and 0 < float(bid) < float(ask), quotes)
        expect(float(bsz) > 0 and when - 1 < float(t) <= when, quotes)
        expect(int(seq) > 0 and int(n) > 0, quotes)
    for sym, px, size, t, seq, n in lasts:
        expect(sym == "AAPL" and float(px) > 0 and float(size) > 0, lasts)
    expect(fields(h, "q", "unknown") == [["nil", "nil"]] * 2, "unknown symbol not nil")


def test_history():
    h = run_host({"hist.lua": """
strategy { symbols = { "AAPL" }, every = "150s" }
local function try(...)
  local ok, err = pcall(history, ...)
  log.info("bad %s %s", tostring(ok), tostring(err))
end
function on_timer()
  local t = now()
  local bars = history("AAPL", "1m", 5)
  log.info("n1m %d", #bars)
  for i, b in ipairs(bars) do
    log.info("bar %s %s %s %s %s %s %s", b.symbol, b.tf, b.time, b.open, b.high, b.low, b.close)
  end
  log.info("n1s %d", #history("AAPL", "1s", 10))
  log.info("all1s %d", #history("AAPL", "1s", 5000))
  log.info("default %d", #history("AAPL", "1s"))
  log.info("unknown %d", #history("ZZZZ", "1m", 5))
  try("AAPL", "7m", 5)
  try("AAPL", "1m", 0/0)
  try("AAPL", "1m", 1/0)
  try("AAPL", "1m", -1/0)
  try("AAPL", "1m", 0)
  try("AAPL", "1m", -3)
  try("AAPL", "1m", 2.5)
end
"""}, secs=300)
    expect_ok(h)
    expect([m for m in msgs(h, "hist") if m.startswith("n1m")] == ["n1m 2", "n1m 5"],
           msgs(h, "hist"))
    bars = fields(h, "hist", "bar")
    first, second = bars[:2], bars[2:]
    expect(len(second) == 5, bars)
    for group, at in ((first, START_S + 150), (second, START_S + 300)):
        times = [float(b[2]) for b in group]
        expect(times == sorted(times) and len(set(times)) == len(times), f"not oldest first: {times}")
        expect(all(t + 60 <= at for t in times), f"an open bar was returned: {times} at {at}")
        expect(all(b[0] == "AAPL" and b[1] == "1m" for b in group), group)
        for b in group:
            o, hi, lo, c = map(float, b[3:])
            expect(lo <= min(o, c) and hi >= max(o, c), b)
    expect(times[-1] == START_S + 240, f"the last closed 1m bar should open at +240: {times}")
    expect(fields(h, "hist", "n1s") == [["10"], ["10"]], "1s count bound")
    expect(fields(h, "hist", "all1s") == [["150"], ["300"]], fields(h, "hist", "all1s"))
    expect(fields(h, "hist", "default") == [["100"], ["100"]], "default count is 100")
    expect(fields(h, "hist", "unknown") == [["0"], ["0"]], "unknown symbol: empty table")
    bad = fields(h, "hist", "bad")
    expect(len(bad) == 14 and all(b[0] == "false" for b in bad), bad)


def test_on_bar_only_declared_timeframes_and_symbols():
    h = run_host({
        "bars.lua": """
strategy { symbols = { "AAPL" }, bars = { "1s", "1m" } }
function on_bar(b) log.info("bar %s %s %s", b.symbol, b.tf, b.time) end
""",
        "nobars.lua": """
strategy { symbols = { "AAPL", "MSFT" } }
function on_bar(b) log.info("bar %s %s", b.symbol, b.tf) end
"""}, secs=125)
    expect_ok(h)
    bars = fields(h, "bars", "bar")
    expect({b[0] for b in bars} == {"AAPL"}, "a bar of an undeclared symbol")
    by_tf = {}
    for b in bars:
        by_tf.setdefault(b[1], []).append(float(b[2]))
    expect(set(by_tf) == {"1s", "1m"}, f"timeframes delivered: {set(by_tf)}")
    expect(by_tf["1m"] == [START_S, START_S + 60], by_tf["1m"])
    expect(124 <= len(by_tf["1s"]) <= 125, f"{len(by_tf['1s'])} 1s bars in 125 s")
    expect(fields(h, "nobars", "bar") == [], "bars delivered to a strategy that declared none")


# ---- timers ---------------------------------------------------------------------------

def test_every_declaration_fires_on_timer_every():
    h = run_host({"ev.lua": """
strategy { symbols = { "AAPL" }, every = "10s" }
function on_timer(name) log.info("timer %s %s", name, now()) end
"""}, secs=60)
    expect_ok(h)
    ticks = fields(h, "ev", "timer")
    expect([t[0] for t in ticks] == ["every"] * 6, ticks)
    expect([float(t[1]) for t in ticks] == [START_S + 10 * i for i in range(1, 7)], ticks)


def test_timer_every_after_cancel():
    h = run_host({"tm.lua": """
strategy { symbols = { "AAPL" } }
local counts = {}
function on_start()
  timer.every("5s", "e")
  timer.after(3, "a")
  timer.every(2, "c")
  timer.after("1s", "replaced")
  timer.after("7s", "replaced")   -- the same name replaces the first
  log.info("cancel-unknown %s", tostring(timer.cancel("nosuch")))
end
function on_timer(name)
  counts[name] = (counts[name] or 0) + 1
  log.info("fire %s %s", name, now())
  if name == "e" and counts.e == 3 then log.info("cancel-c %s", tostring(timer.cancel("c"))) end
end
"""}, secs=60)
    expect_ok(h)
    fires = {}
    for name, t in fields(h, "tm", "fire"):
        fires.setdefault(name, []).append(float(t) - START_S)
    expect(fires.get("e") == [5.0 * i for i in range(1, 13)], fires.get("e"))
    expect(fires.get("a") == [3.0], fires.get("a"))
    expect(fires.get("c") == [2.0 * i for i in range(1, 8)], f"c after cancel at 15 s: {fires.get('c')}")
    expect(fires.get("replaced") == [7.0], fires.get("replaced"))
    expect(fields(h, "tm", "cancel-c") == [["true"]], "cancel of a live timer")
    expect(fields(h, "tm", "cancel-unknown") == [["false"]], "cancel of an unknown timer")


def test_timer_at_in_a_time_zone():
    start = "2026-07-06T18:00:00Z"
    h = run_host({"at.lua": """
strategy { symbols = { "AAPL" } }
function on_start()
  timer.at("15:30", "ny", "America/New_York")
  timer.at("20:00", "utc")
  timer.at("17:00", "past", "UTC")   -- already past today: fires tomorrow
end
function on_timer(name) log.info("fire %s %s", name, now()) end
"""}, secs=26 * 3600, rate=1, start=start)
    expect_ok(h)
    ny = zoneinfo.ZoneInfo("America/New_York")
    utc = datetime.timezone.utc

    def inst(day, hh, mm, tz):
        return datetime.datetime(2026, 7, day, hh, mm, tzinfo=tz).timestamp()

    want = {
        "ny": [inst(6, 15, 30, ny), inst(7, 15, 30, ny)],
        "utc": [inst(6, 20, 0, utc), inst(7, 20, 0, utc)],
        "past": [inst(7, 17, 0, utc)],
    }
    got = {}
    for name, t in fields(h, "at", "fire"):
        got.setdefault(name, []).append(float(t))
    expect(got == want, f"got {got}\nwant {want}")


def test_timer_argument_errors():
    h = run_host({"te.lua": """
strategy { symbols = { "AAPL" } }
local function try(what, f, ...)
  local ok, err = pcall(f, ...)
  log.info("try %s %s %s", what, tostring(ok), tostring(err))
end
function on_start()
  try("every-nan", timer.every, 0/0, "t")
  try("every-zero", timer.every, 0, "t")
  try("every-neg", timer.every, -1, "t")
  try("every-inf", timer.every, 1/0, "t")
  try("after-inf", timer.after, 1/0, "t")
  try("after-nan", timer.after, 0/0, "t")
  try("after-noname", timer.after, 1)
  try("after-emptyname", timer.after, 1, "")
  try("at-bad", timer.at, "25:00", "t")
  try("at-badtz", timer.at, "10:00", "t", "Mars/Olympus")
  try("every-sub-ms", timer.every, "500us", "t")
  try("after-sub-ms", timer.after, 0.0001, "t")
end
function on_timer(name) log.info("fired %s", name) end
"""}, secs=5)
    expect_ok(h)
    tries = fields(h, "te", "try")
    expect(len(tries) == 12, tries)
    for t in tries:
        expect(t[1] == "false", f"{t[0]} was accepted: {t}")
    expect(fields(h, "te", "fired") == [], "a refused timer fired")


# ---- signals, alerts, events ----------------------------------------------------------

SENDER = """
strategy { symbols = { "AAPL" }, bars = { "1s" } }
function on_bar(b)
  state.bars = (state.bars or 0) + 1
  if state.bars == 2 then
    signal("ping", { v = 1.5, s = "x_y", flag = true, list = { 1, 2, 3 }, nested = { k = { "deep" } } })
  end
end
function on_event(e) log.info("own-event %s", e.type) end
"""

RECEIVER = """
strategy { symbols = { "MSFT" } }
function on_event(e)
  local d = e.data
  log.info("event %s %s %s %s %s", e.type, e.source, d.name, d.strategy, tostring(e.seq))
  local p = d.data
  log.info("data %s %s %s %d %s %s %s %s", tostring(p.v), p.s, tostring(p.flag), #p.list,
           tostring(p.list[1]), tostring(p.list[3]), p.nested.k[1], type(e.time))
end
"""


def test_signal_reaches_other_strategies_not_its_own():
    h = run_host({"sender.lua": SENDER, "receiver.lua": RECEIVER}, secs=5)
    expect_ok(h)
    sig = h.grep(r"strategy signal id=sender name=ping")
    expect(len(sig) == 1, "signal line")
    ev = fields(h, "receiver", "event")
    expect(len(ev) == 1, f"on_event calls: {ev}")
    expect(ev[0][:4] == ["SIGNAL_GENERATED", "strategy:sender", "ping", "sender"], ev)
    expect(fields(h, "receiver", "data") == [["1.5", "x_y", "true", "3", "1", "3", "deep", "number"]],
           fields(h, "receiver", "data"))
    expect(fields(h, "sender", "own-event") == [], "the sender got its own signal")


TIMER_SENDER = """
strategy { symbols = { "AAPL" }, every = "1s" }
function on_timer() signal("ping", { v = 1 }) end
"""


def test_signal_from_on_timer_reaches_other_strategies():
    # A signal sent from on_timer (outside any bus dispatch) runs the receiver's on_event
    # from inside the sender's call: the watchdog's "calls never nest" assertion aborts.
    h = run_host({"sender.lua": TIMER_SENDER, "receiver.lua": RECEIVER}, secs=3)
    expect(h.rc == 0, f"exit {h.rc}\n{log_tail(h)}")
    expect(len(fields(h, "receiver", "event")) == 3, log_tail(h))


def test_alert_from_on_start_reaches_other_strategies():
    # Same cause as above, from on_start: the alert is dispatched inside the call.
    h = run_host({
        "listener.lua": """
strategy { symbols = { "MSFT" } }
function on_alert(a) log.info("alert %s %s", a.data.severity, a.data.message) end
""",
        "alerter.lua": """
strategy { symbols = { "AAPL" } }
function on_start() alert("LOW", "hello") end
"""}, secs=2)
    expect(h.rc == 0, f"exit {h.rc}\n{log_tail(h)}")
    expect(fields(h, "listener", "alert") == [["LOW", "hello"]], log_tail(h))


def test_alerts():
    h = run_host({
        "alerter.lua": """
strategy { symbols = { "AAPL" }, bars = { "1s" } }
function on_bar(b)
  state.bars = (state.bars or 0) + 1
  if state.bars == 1 then alert("HIGH", "hot %d %s", 5, b.symbol) end
  if state.bars == 2 then
    local ok, err = pcall(alert, "SEVERE", "nope")
    log.info("bad-severity %s", tostring(ok))
    log.info("why %s", tostring(err))
  end
  if state.bars == 3 then alert("low", "lower case") end
end
function on_alert(a) log.info("own-alert %s", a.data.message) end
""",
        "listener.lua": """
strategy { symbols = { "MSFT" } }
function on_alert(a)
  log.info("alert %s %s %s %s", a.type, a.source, a.data.severity, a.data.strategy)
  log.info("message %s", a.data.message)
end
"""}, secs=5)
    expect(h.rc == 0, f"exit {h.rc}")
    lines = h.grep(r"strategy alert id=alerter ")
    expect(len(lines) == 1, f"alert lines: {lines}")
    expect(lines[0].kv["severity"] == "HIGH" and lines[0].kv["msg"] == "hot 5 AAPL", lines[0])
    expect(fields(h, "listener", "alert") == [["ALERT", "strategy:alerter", "HIGH", "alerter"]],
           fields(h, "listener", "alert"))
    expect(msgs(h, "listener").count("message hot 5 AAPL") == 1, msgs(h, "listener"))
    expect(fields(h, "alerter", "bad-severity") == [["false"]], "bad severity accepted")
    expect(any("severity" in m for m in msgs(h, "alerter") if m.startswith("why")), msgs(h, "alerter"))
    err = h.grep(r"strategy error id=alerter ")
    expect(len(err) == 1 and "severity" in err[0].kv["msg"], f"unprotected bad severity: {err}")
    expect(err[0].kv["phase"] == "on_bar" and err[0].kv["file"] == "alerter.lua", err[0])
    expect(fields(h, "alerter", "own-alert") == [], "the alerter got its own alert")


# ---- log, params, state, identity -----------------------------------------------------

def test_log_rate_limit():
    # The bucket refills on the wall clock, so this one runs live.
    h = Host(cfg([("spam.lua", None)], rate=50).replace('clock = "sim"', 'clock = "wall"'),
             files={"spam.lua": """
strategy { symbols = { "AAPL" }, every = "200ms" }
function on_start() for i = 1, 10000 do log.info("spam %d", i) end end
function on_timer() log.info("tick") end
"""}, args=["--for", "10s"])
    h.wait_for(r"log lines dropped \(rate limit\) id=spam ", timeout=10)
    h.wait_for(r'id=spam msg=tick', timeout=10)
    h.stop()
    spam = [m for m in msgs(h, "spam") if m.startswith("spam")]
    # a slow machine refills the bucket during the loop: drops come in several reports
    dropped = sum(int(l.kv["dropped"]) for l in h.grep(r"log lines dropped \(rate limit\) id=spam "))
    expect(100 <= len(spam) <= 400, f"{len(spam)} spam lines got through")
    expect(len(spam) + dropped == 10000, f"{len(spam)} logged + {dropped} dropped != 10000")
    expect("tick" in msgs(h, "spam"), "logging did not resume")


def test_log_and_print_formatting():
    h = run_host({"p.lua": """
strategy { symbols = { "AAPL" } }
function on_start()
  print("a", 1, nil, true)
  log.warn("%d-%s", 7, "x")
  log.error("plain %d")          -- no arguments: the text as is
  log.debug("hidden")            -- below the default level
  log.info(string.rep("z", 5000))
end
"""}, secs=1)
    expect_ok(h)
    m = msgs(h, "p")
    expect(m[:3] == ["a\t1\tnil\ttrue", "7-x", "plain %d"], m)
    expect("hidden" not in m, "debug shown at level info")
    expect(len(m[3]) <= 1100 and m[3].endswith("..."), f"long line not capped: {len(m[3])}")
    expect(h.grep(r"WARN strategy log id=p ") and h.grep(r"ERROR strategy log id=p "), "levels")


def test_params_read_only_and_iterable():
    h = run_host({"pr.lua": """
strategy { symbols = { "AAPL" }, params = { fast = 5, name = "x", on = true } }
function on_start()
  local keys = {}
  for k, v in pairs(params) do keys[#keys + 1] = k .. "=" .. tostring(v) end
  table.sort(keys)
  log.info("params %s", table.concat(keys, " "))
  log.info("fast %s", tostring(params.fast))
  local ok = pcall(function() params.fast = 1 end)
  log.info("pcall-assign %s fast=%s", tostring(ok), tostring(params.fast))
  params.fast = 3
end
"""}, secs=1)
    expect(h.rc == 0, f"exit {h.rc}")
    expect(fields(h, "pr", "params") == [["fast=5", "name=x", "on=true"]], msgs(h, "pr"))
    expect(fields(h, "pr", "pcall-assign") == [["false", "fast=5"]], msgs(h, "pr"))
    err = h.grep(r"strategy error id=pr ")
    expect(len(err) == 1, f"errors: {err}")
    kv = err[0].kv
    expect(kv["file"] == "pr.lua" and kv["line"] == "11" and kv["phase"] == "on_start", kv)
    expect(re.search(r"pr\.lua:11:", kv["msg"]), kv)


def test_state_persists_between_callbacks():
    h = run_host({"st.lua": """
strategy { symbols = { "AAPL" }, every = "2s" }
function on_quote(q) state.quotes = (state.quotes or 0) + 1 end
function on_timer()
  state.ticks = (state.ticks or 0) + 1
  log.info("state %d %d", state.ticks, state.quotes or 0)
end
"""}, secs=10)
    expect_ok(h)
    rows = [(int(a), int(b)) for a, b in fields(h, "st", "state")]
    expect([r[0] for r in rows] == [1, 2, 3, 4, 5], rows)
    quotes = [r[1] for r in rows]
    expect(quotes[0] > 0 and quotes == sorted(quotes) and len(set(quotes)) == 5, rows)


def test_mode_and_strategy_id():
    files = {"id.lua": """
strategy { symbols = { "AAPL" } }
function on_start() log.info("who %s %s %s", mode, strategy_id, type(now)) end
"""}
    h = run_host(files, strategies=[("id.lua", "alpha"), ("id.lua", None)], secs=1)
    expect_ok(h)
    expect(fields(h, "alpha", "who") == [["paper", "alpha", "function"]], log_tail(h))
    expect(fields(h, "id", "who") == [["paper", "id", "function"]], log_tail(h))


def test_os_time_and_date_follow_the_host_clock():
    h = run_host({"os.lua": """
strategy { symbols = { "AAPL" }, every = "90s" }
local function show(tag)
  local t = os.date("*t")
  log.info("%s %d %s %s %d %d %s", tag, os.time(), os.date("!%Y-%m-%dT%H:%M:%S"),
           tostring(now()), t.year, t.hour, os.date("%H:%M"))
end
function on_start()
  show("start")
  log.info("sandbox %s %s %s %s %s", tostring(io), tostring(os.execute), tostring(os.getenv),
           tostring(os.exit), tostring(os.remove))
  log.info("mktime %d", os.time({ year = 2026, month = 1, day = 5, hour = 15 }))
  log.info("clock %s", type(os.clock()))
end
function on_timer() show("timer") end
"""}, secs=90, start="2026-03-10T12:34:56Z")
    expect_ok(h)
    t0 = int(datetime.datetime(2026, 3, 10, 12, 34, 56, tzinfo=datetime.timezone.utc).timestamp())
    expect(fields(h, "os", "start") == [[str(t0), "2026-03-10T12:34:56", str(t0), "2026", "12", "12:34"]],
           fields(h, "os", "start"))
    expect(fields(h, "os", "timer") == [[str(t0 + 90), "2026-03-10T12:36:26", str(t0 + 90), "2026",
                                         "12", "12:36"]], fields(h, "os", "timer"))
    expect(fields(h, "os", "sandbox") == [["nil"] * 5], fields(h, "os", "sandbox"))
    expect(fields(h, "os", "mktime") == [[str(START_S)]], fields(h, "os", "mktime"))
    expect(fields(h, "os", "clock") == [["number"]], "os.clock")


# ---- non-finite values and cycles ----------------------------------------------------

def test_non_finite_values_are_refused():
    h = run_host({"nan.lua": """
strategy { symbols = { "AAPL" } }
local function try(what, f, ...)
  local ok, err = pcall(f, ...)
  log.info("try %s %s", what, tostring(ok))
  log.info("why %s %s", what, tostring(err))
end
function on_start()
  local cyc = {}
  cyc.self = cyc
  local deep = {}
  local d = deep
  for i = 1, 100 do d.next = {}; d = d.next end
  try("signal-nan", signal, "x", { v = 0/0 })
  try("signal-inf", signal, "x", { list = { 1, -1/0 } })
  try("signal-cycle", signal, "x", cyc)
  try("signal-deep", signal, "x", deep)
  try("signal-function", signal, "x", { f = print })
  try("signal-emptyname", signal, "", {})
  try("every-nan", timer.every, 0/0, "t")
  try("after-inf", timer.after, 1/0, "t")
  try("history-nan", history, "AAPL", "1m", 0/0)
  try("signal-ok", signal, "fine", { v = 1 })
end
"""}, secs=1)
    expect_ok(h)
    tries = dict(fields(h, "nan", "try"))
    expect(len(tries) == 10, tries)
    for what, ok in tries.items():
        want = "true" if what == "signal-ok" else "false"
        expect(ok == want, f"{what}: pcall returned {ok}")
    why = {w[0]: " ".join(w[1:]) for w in fields(h, "nan", "why")}
    expect("finite" in why["signal-nan"] and "finite" in why["signal-inf"], why)
    expect("cycle" in why["signal-cycle"] or "deeper" in why["signal-cycle"], why)
    sigs = h.grep(r"strategy signal id=nan ")
    expect(len(sigs) == 1 and sigs[0].kv["name"] == "fine", f"signals sent: {sigs}")


# ---- sequence numbers ----------------------------------------------------------------

def test_per_symbol_n_contiguous_and_seq_increasing():
    h = run_host({"seq.lua": """
strategy { symbols = { "AAPL", "MSFT" } }
local last_n, last_seq = { quote = {}, trade = {} }, 0
local counts = { quote = 0, trade = 0, gaps = 0, backwards = 0 }
local function check(kind, e)
  local prev = last_n[kind][e.symbol]
  if prev and e.n ~= prev + 1 then
    counts.gaps = counts.gaps + 1
    if counts.gaps <= 3 then log.warn("gap %s %s %d -> %d", kind, e.symbol, prev, e.n) end
  end
  last_n[kind][e.symbol] = e.n
  if e.seq <= last_seq then counts.backwards = counts.backwards + 1 end
  last_seq = e.seq
  counts[kind] = counts[kind] + 1
end
function on_quote(q) check("quote", q) end
function on_trade(t) check("trade", t) end
function on_stop()
  log.info("summary %d %d %d %d", counts.quote, counts.trade, counts.gaps, counts.backwards)
end
"""}, secs=30, rate=1000)
    expect_ok(h)
    summary = fields(h, "seq", "summary")
    expect(len(summary) == 1, msgs(h, "seq"))
    quotes, trades, gaps, backwards = map(int, summary[0])
    expect(quotes > 1000 and trades > 1000, summary)
    expect(gaps == 0, f"{gaps} gaps in n: {msgs(h, 'seq')[:3]}")
    expect(backwards == 0, f"seq did not increase {backwards} times")
    host = h.grep(r"host stopped events=")[0].kv
    expect(host["gaps"] == "0", host)


# ---- limits found in review ------------------------------------------------------------

def test_host_never_runs_metamethods_of_script_tables():
    files = {"m.lua": """
local hits = 0
local decl = setmetatable({ name = "m" }, { __index = function(_, k) hits = hits + 1 end })
strategy(decl)
local t = setmetatable({ year = 2026, month = 1, day = 5 },
                       { __index = function(_, k) hits = hits + 1 return 0 end })
local when = os.time(t)
function on_start() log.info("hits %d when %d", hits, when) end
"""}
    h = run_host(files, secs=1)
    expect_ok(h)
    got = fields(h, "m", "hits")
    expect(got and got[0][0] == "0", f"the host ran a script's __index: {got}")
    expect(int(got[0][2]) == 1767614400, got)  # 2026-01-05 12:00:00 UTC (hour defaults to 12)


def test_signal_size_and_count_limits():
    files = {"s.lua": """
strategy { name = "s" }
function on_start()
  local big = {}
  for i = 1, 20000 do big[i] = i end
  local ok, e = pcall(signal, "big", big)
  log.info("big %s", tostring(e))
  local ok2, e2 = pcall(signal, "text", { s = string.rep("x", 100000) })
  log.info("text %s", tostring(e2))
  local sent, err = 0, nil
  for i = 1, 2000 do
    local ok3, e3 = pcall(signal, "n", { i = i })
    if not ok3 then err = e3 break end
    sent = sent + 1
  end
  state.report = string.format("sent %d then: %s", sent, tostring(err))
end
-- the signals' own log lines used up the log budget; report once it has refilled
function on_stop() log.info("%s", state.report) end
"""}
    h = run_host(files, secs=3)
    ms = msgs(h, "s")
    expect(any("too large (more than 10000 values)" in m for m in ms), ms)
    expect(any(m.startswith("text") and "too large" in m for m in ms), ms)
    # the two refused signals above count as attempts too
    expect(any(m.startswith("sent 998 then:") and "more than 1000 signals" in m for m in ms), ms)


def test_long_ids_still_tell_senders_apart():
    sender = 'strategy { name = "p' + "p" * 55 + '_sender", every = "1s" }\n' \
             'function on_timer() signal("ping", {}) end\n'
    receiver = 'strategy { name = "p' + "p" * 55 + '_recv" }\n' \
               'function on_event(e) log.info("got %s", e.data.name) end\n'
    h = run_host({"a.lua": sender, "b.lua": receiver}, secs=3)
    expect_ok(h)
    expect(msgs(h, "p" + "p" * 55 + "_recv"), "a receiver with a long shared id prefix got nothing")


def test_config_id_is_checked():
    h = Host(cfg([("a.lua", "bad id")]), files={"a.lua": "strategy {}\n"}, args=["--for", "1s"])
    rc = h.wait_exit()
    expect(rc == 2, f"exit {rc}")
    expect(h.grep(r"strategies\[1\]\.id: expected 1-63 characters"), log_tail(h))


if __name__ == "__main__":
    main([v for k, v in list(globals().items()) if k.startswith("test_") and callable(v)])
