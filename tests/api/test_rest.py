#!/usr/bin/env python3
"""The REST API (docs/api.md) against the real binary over HTTP: every route's happy
path with real content (prices move, an order placed over REST shows in the order list,
the positions and as ORDER_* events, a parameter change reaches the running script, a
reload bumps the version, the kill switch refuses new orders until re-armed) and its bad
input (malformed JSON, wrong types, unknown fields and ids, non-finite numbers, oversize
bodies, wrong methods), each answered with its status and error code.

One host serves every test (they run in order and leave it as they found it); the
probe strategy logs its parameters and signals on a 200 ms timer, so tests wait on its
log lines. State the API has no event for (an order's fill, a price change) is polled
with a deadline."""
import json
import os
import re
import time

from http_harness import WebHost
from harness import main  # noqa: E402 (http_harness puts tests/lua on the path)

PROBE = """strategy { name = "probe", symbols = { "AAPL" }, every = "200ms",
           params = { qty = 1, tag = "a", on = true } }
function on_timer(name)
  log.info("PARAM qty=%s tag=%s on=%s", params.qty, params.tag, tostring(params.on))
  signal("tick", { qty = params.qty, tag = params.tag })
  if not state.alerted then
    state.alerted = true
    alert("LOW", "probe alert %d", 1)
  end
end
"""

SECOND = """strategy { name = "second", symbols = { "MSFT" }, params = { qty = 1 } }
function on_start() log.info("SECOND started qty=%s", params.qty) end
"""

CONFIG = """return {
  clock = "wall",
  feed = { kind = "sim", rate = 2000, trade_ratio = 0.5, symbols = {
    AAPL = { price = 190, tick = 0.01, vol = 0.3 },
    MSFT = { price = 410, tick = 0.01, vol = 0.3 } } },
  strategies = { { script = "s/probe.lua" } },
  reload = { watch = false },
  journal = { sync = false },
  risk = { max_order_qty = 1000, price_band_pct = 5, max_orders_per_s = 0,
           duplicate_window_s = 0 },
  http = { max_body = 4096, rate = 0 },
}
"""

_host = None


def host():
    """The shared host (started on first use)."""
    global _host
    if _host is None:
        _host = WebHost(CONFIG, files={"s/probe.lua": PROBE},
                        args=("--listen", "127.0.0.1:0"))
        _host.wait_for(r"PARAM qty=1 ")
    return _host


def until(fn, what, timeout=10.0):
    """Polls fn until it returns something truthy (REST state has no event to await)."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            host().fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def reason_of(err):
    return err.get("reason")


def bad_json_cases(h, method, path):
    """The malformed bodies every JSON route refuses with 400 bad_request."""
    for body in ("{", "{\"a\":1} x", "[1,2]", "null", "\"x\""):
        h.error(method, path, body, status=400, code="bad_request")
    h.error(method, path, "[" * 100 + "]" * 100, status=400, code="bad_request")  # too deep


# ---- health and market data ----------------------------------------------------------


def test_health():
    h = host()
    a = h.ok("GET", "/health")
    st, _, b = h.call("GET", "/health", token=None)  # public
    assert st == 200, st
    b = until(lambda: (lambda x: x if x["last_seq"] > a["last_seq"] else None)(
        h.call("GET", "/health", token=None)[2]), "the feed to move on")
    assert b["status"] == "ok" and b["mode"] == "paper", b
    assert b["feed"]["kind"] == "sim" and b["feed"]["rate"] == 2000, b
    assert b["journal"] == {"enabled": True, "ok": True}, b
    assert b["trading_state"] == "ACTIVE" and b["kill"] is False, b
    assert b["strategies"]["running"] >= 1, b
    assert isinstance(b["sandbox"]["jit"], bool), b
    assert b["last_seq"] > a["last_seq"] and b["feed"]["events"] > a["feed"]["events"], (a, b)
    assert b["uptime_s"] >= a["uptime_s"] > 0, (a, b)
    h.error("POST", "/health", {}, status=405, code="method_not_allowed")


def test_market_data():
    h = host()
    first = until(lambda: (lambda b: b if b["quote"] and b["trade"] else None)(
        h.ok("GET", "/api/market-data/AAPL")), "an AAPL quote and trade")
    assert first["symbol"] == "AAPL", first
    q, t = first["quote"], first["trade"]
    assert 0 < q["bid"] < q["ask"] and q["bid_size"] > 0 and q["ask_size"] > 0, q
    assert t["price"] > 0 and t["size"] > 0 and t["ts"].endswith("Z"), t

    def moved():
        b = h.ok("GET", "/api/market-data/AAPL")
        if b["quote"]["seq"] <= q["seq"] or b["trade"]["seq"] <= t["seq"]:
            return None
        return (b["quote"]["bid"], b["quote"]["ask"], b["trade"]["price"]) != \
            (q["bid"], q["ask"], t["price"]) and b
    until(moved, "AAPL prices to move")
    h.error("GET", "/api/market-data/ZZZZ", status=404, code="not_found")
    h.error("GET", "/api/market-data/%24bad", status=400, code="bad_request")
    h.error("DELETE", "/api/market-data/AAPL", status=405, code="method_not_allowed")


def test_ohlcv():
    h = host()

    def bars():
        b = h.ok("GET", "/api/ohlcv/AAPL?tf=1s&limit=4")
        return b if sum(1 for x in b["bars"] if x["closed"]) >= 2 else None
    b = until(bars, "two closed 1s bars")
    assert b["symbol"] == "AAPL" and b["tf"] == "1s" and len(b["bars"]) <= 4, b
    times = [x["time"] for x in b["bars"]]
    assert times == sorted(times) and len(set(times)) == len(times), times
    assert abs(times[-1] - time.time()) < 30, times  # epoch seconds
    for x in b["bars"]:
        assert x["low"] <= min(x["open"], x["close"]) <= max(x["open"], x["close"]) <= x["high"], x
        assert x["volume"] > 0 and x["trades"] > 0, x
    # only the last bar may be open
    assert all(x["closed"] for x in b["bars"][:-1]), b
    d = h.ok("GET", "/api/ohlcv/MSFT")  # defaults: 1m, up to 300
    assert d["tf"] == "1m" and d["bars"] and not d["bars"][-1]["closed"], d
    for q in ("tf=2m", "limit=0", "limit=5001", "limit=x"):
        h.error("GET", "/api/ohlcv/AAPL?" + q, status=400, code="bad_request")
    h.error("GET", "/api/ohlcv/ZZZZ", status=404, code="not_found")
    h.error("POST", "/api/ohlcv/AAPL", {}, status=405)


# ---- strategies ----------------------------------------------------------------------


def strategy(h, sid):
    return h.ok("GET", "/api/strategies/" + sid)


def test_strategies_list_and_get():
    h = host()
    lst = h.ok("GET", "/api/strategies")["strategies"]
    p = [s for s in lst if s["id"] == "probe"][0]
    one = strategy(h, "probe")
    assert one["id"] == "probe" and one["sha256"] == p["sha256"] and one["calls"] >= p["calls"]
    assert p["status"] == "RUNNING" and p["version"] == 1 and p["script"] == "s/probe.lua", p
    assert re.fullmatch(r"[0-9a-f]{64}", p["sha256"]), p
    assert p["symbols"] == ["AAPL"] and p["params"] == {"qty": 1, "tag": "a", "on": True}, p
    assert p["last_reload"] is None and p["last_error"] == "", p
    assert p["calls"] > 0 and p["errors"] == 0 and p["memory_bytes"] > 0, p
    h.error("GET", "/api/strategies/nope", status=404, code="not_found")
    h.error("DELETE", "/api/strategies/probe", status=405, code="method_not_allowed")
    h.error("PUT", "/api/strategies", {}, status=405, code="method_not_allowed")


def test_params_patch():
    h = host()
    b = h.ok("PATCH", "/api/strategies/probe/params", {"qty": 7, "tag": "b"})
    assert b["params"] == {"qty": 7, "tag": "b", "on": True}, b
    assert strategy(h, "probe")["params"]["qty"] == 7
    h.wait_for(r"params changed id=probe version=1 qty=7 tag=b")
    h.wait_for(r"PARAM qty=7 tag=b on=true")  # the running script reads them

    def signalled():
        sig = h.ok("GET", "/api/signals?limit=1")["signals"]
        return sig and sig[-1]["data"]["data"]["qty"] == 7
    until(signalled, "a signal with qty 7")
    for body, msg in (({"nope": 1}, "not declared"), ({"qty": "7"}, "must be a number"),
                      ({"on": 1}, "must be a boolean"), ({"qty": None}, "finite number"),
                      ({"qty": [1]}, "finite number"), ({"qty": {"a": 1}}, "finite number"),
                      ({"qty": 8, "nope": 1}, "not declared")):
        err = h.error("PATCH", "/api/strategies/probe/params", body, status=400,
                      code="bad_request")
        assert msg in err["message"], (body, err)
    h.error("PATCH", "/api/strategies/probe/params", '{"qty": 1e999}', status=400)
    bad_json_cases(h, "PATCH", "/api/strategies/probe/params")
    assert strategy(h, "probe")["params"]["qty"] == 7  # nothing changed by the refusals
    h.error("PATCH", "/api/strategies/nope/params", {"qty": 1}, status=404, code="not_found")
    h.error("GET", "/api/strategies/probe/params", status=405)
    h.ok("PATCH", "/api/strategies/probe/params", {"qty": 1, "tag": "a"})


def test_reload():
    h = host()
    h.ok("PATCH", "/api/strategies/probe/params", {"qty": 3})
    before = strategy(h, "probe")
    h.write("s/probe.lua", PROBE.replace("PARAM", "PARAM2"))
    b = h.ok("POST", "/api/strategies/probe/reload")
    assert b["version"] == before["version"] + 1 and b["status"] == "RUNNING", b
    assert b["sha256"] != before["sha256"], b
    assert b["last_reload"]["ok"] is True and b["last_reload"]["error"] is None, b
    assert b["params"]["qty"] == 3, b  # overrides survive a reload
    h.wait_for(r"PARAM2 qty=3 ")
    h.write("s/probe.lua", "strategy { name = 'probe' }\nfunction on_timer(\n")
    err = h.error("POST", "/api/strategies/probe/reload", status=409, code="reload_failed")
    assert re.search(r"probe\.lua:3:", err["message"]), err
    s = strategy(h, "probe")
    assert s["version"] == b["version"] and s["status"] == "RUNNING", s  # old one runs on
    assert s["last_reload"]["ok"] is False and "probe.lua:3:" in s["last_reload"]["error"], s
    h.write("s/probe.lua", PROBE)
    b = h.ok("POST", "/api/strategies/probe/reload")
    assert b["last_reload"]["ok"] is True and b["last_error"] == "", b
    h.ok("PATCH", "/api/strategies/probe/params", {"qty": 1})
    h.error("POST", "/api/strategies/nope/reload", status=404, code="not_found")
    h.error("GET", "/api/strategies/probe/reload", status=405)


def test_stop_start():
    h = host()
    b = h.ok("POST", "/api/strategies/probe/stop")
    assert b["status"] == "STOPPED", b
    h.wait_for(r"stopped id=probe .*reason=api")
    s = strategy(h, "probe")  # unloaded, still described
    assert s["symbols"] == ["AAPL"] and len(s["sha256"]) == 64 and s["params"]["qty"] == 1, s
    assert s["memory_bytes"] == 0, s
    b = h.ok("POST", "/api/strategies/probe/start")
    assert b["status"] == "RUNNING" and b["memory_bytes"] > 0, b
    h.wait_for(r"started id=probe")
    h.ok("POST", "/api/strategies/probe/start")  # already running: no change
    h.error("POST", "/api/strategies/nope/stop", status=404, code="not_found")
    h.error("POST", "/api/strategies/nope/start", status=404, code="not_found")


def test_create_strategy():
    h = host()
    h.write("s/second.lua", SECOND)
    h.write("elsewhere/x.lua", SECOND)
    h.write("s/sub/y.lua", SECOND)  # below a strategy's directory: not watched
    b = h.ok("POST", "/api/strategies",
             {"script": "s/second.lua", "id": "second", "params": {"qty": 2}}, status=201)
    assert b["id"] == "second" and b["status"] == "RUNNING" and b["symbols"] == ["MSFT"], b
    h.wait_for(r"SECOND started qty=2")
    assert "second" in [s["id"] for s in h.ok("GET", "/api/strategies")["strategies"]]
    c = h.ok("POST", "/api/strategies",
             {"script": "s/second.lua", "id": "third", "symbols": ["AAPL"], "start": False},
             status=201)
    assert c["status"] == "STOPPED" and c["symbols"] == ["AAPL"], c
    audit = open(h.path("var/audit.log")).read()
    assert '"note":"strategy=third"' in audit, audit[-500:]
    cases = [
        ({"script": "s/second.lua", "id": "second"}, 409, "conflict"),
        ({"script": "s/second.lua", "id": "manual"}, 400, "bad_request"),
        ({"script": "s/second.lua", "id": "a b"}, 400, "bad_request"),
        ({"script": "/etc/passwd"}, 400, "bad_request"),
        ({"script": "elsewhere/x.lua", "id": "x1"}, 400, "bad_request"),
        ({"script": "s/../elsewhere/x.lua", "id": "x2"}, 400, "bad_request"),
        ({"script": "s/sub/y.lua", "id": "x8"}, 400, "bad_request"),
        ({"script": "s/missing.lua"}, 400, "bad_request"),
        ({"script": "s/second.lua", "id": "x3", "params": {"nope": 1}}, 400, "bad_request"),
        ({"script": "s/second.lua", "id": "x4", "symbols": ["ZZZZ"]}, 400, "bad_request"),
        ({"script": "s/second.lua", "id": "x5", "symbols": "MSFT"}, 400, "bad_request"),
        ({"script": "s/second.lua", "id": "x6", "start": "yes"}, 400, "bad_request"),
        ({"script": "s/second.lua", "id": "x7", "colour": 1}, 400, "bad_request"),
        ({"script": 5}, 400, "bad_request"),
        ({}, 400, "bad_request"),
    ]
    for body, status, code in cases:
        h.error("POST", "/api/strategies", body, status=status, code=code)
    bad_json_cases(h, "POST", "/api/strategies")
    ids = [s["id"] for s in h.ok("GET", "/api/strategies")["strategies"]]
    assert not [i for i in ids if i.startswith("x")], ids  # no refused one was added
    h.ok("POST", "/api/strategies/second/stop")


# ---- orders --------------------------------------------------------------------------


def order_status(h, oid):
    for o in h.ok("GET", "/api/orders?status=all")["orders"]:
        if o["id"] == oid:
            return o
    return None


def test_manual_market_order():
    h = host()
    b = h.ok("POST", "/api/orders", {"symbol": "AAPL", "side": "buy", "qty": 10, "tag": "t1"},
             status=201)
    o = b["order"]
    assert o["strategy"] == "manual" and o["symbol"] == "AAPL" and o["side"] == "buy", o
    assert o["qty"] == 10 and o["type"] == "market" and o["tag"] == "t1", o
    oid = o["id"]
    until(lambda: (order_status(h, oid) or {}).get("status") == "FILLED", "the order to fill")
    ev = h.ok("GET", "/api/events?since=0&types=ORDER_SUBMITTED,ORDER_ACCEPTED,ORDER_FILLED"
                     "&limit=5000")
    mine = [e for e in ev["events"] if e["data"]["id"] == oid]
    types = [e["type"] for e in mine]
    assert types[0] == "ORDER_SUBMITTED" and "ORDER_ACCEPTED" in types, types
    assert types[-1] == "ORDER_FILLED", types
    pos = h.ok("GET", "/api/positions")["positions"]
    mine = [p for p in pos if p["strategy"] == "manual" and p["symbol"] == "AAPL"]
    assert mine and mine[0]["qty"] == 10 and mine[0]["avg_price"] > 0, pos
    assert "last" in mine[0] and "unrealized_pnl" in mine[0] and "realized_pnl" in mine[0]
    pf = h.ok("GET", "/api/portfolio")
    assert pf["fills"] >= 1 and pf["exposure"]["gross"] > 0, pf
    assert pf["trading_state"] == "ACTIVE" and "sharpe" in pf["metrics"], pf
    assert pf["equity"] > 0 and "realized_pnl" in pf and "day_pnl" in pf, pf
    mp = h.ok("GET", "/api/portfolio?strategy=manual")
    assert mp["strategy"] == "manual" and mp["fills"] >= 1, mp
    audit = open(h.path("var/audit.log")).read()
    assert '"note":"order=%d"' % oid in audit, audit[-500:]
    # sell it back so later tests start flat
    h.ok("POST", "/api/orders", {"symbol": "AAPL", "side": "sell", "qty": 10}, status=201)
    until(lambda: not [p for p in h.ok("GET", "/api/positions?strategy=manual")["positions"]],
          "a flat manual account")
    flat = h.ok("GET", "/api/positions?flat=true&strategy=manual")["positions"]
    assert flat and flat[0]["qty"] == 0, flat
    h.error("GET", "/api/positions?flat=maybe", status=400)
    h.error("POST", "/api/positions", {}, status=405)


def resting_buy(h, sym="AAPL"):
    """A limit buy 3% under the bid (inside the 5% band): it rests."""
    q = h.ok("GET", "/api/market-data/" + sym)["quote"]
    px = round(q["bid"] * 0.97, 2)
    return h.ok("POST", "/api/orders", {"symbol": sym, "side": "buy", "qty": 1, "limit": px,
                                        "tif": "gtc"}, status=201)["order"]


def test_limit_order_cancel():
    h = host()
    o = resting_buy(h)
    assert o["type"] == "limit" and o["tif"] == "gtc" and o["limit"] > 0, o
    until(lambda: (order_status(h, o["id"]) or {}).get("status") == "ACCEPTED", "the ack")
    working = h.ok("GET", "/api/orders")["orders"]
    assert o["id"] in [w["id"] for w in working], working
    assert o["id"] in [w["id"] for w in h.ok("GET", "/api/orders?symbol=AAPL")["orders"]]
    assert o["id"] not in [w["id"] for w in h.ok("GET", "/api/orders?symbol=MSFT")["orders"]]
    assert o["id"] in [w["id"] for w in h.ok("GET", "/api/orders?strategy=manual")["orders"]]
    assert o["id"] not in [w["id"] for w in h.ok("GET", "/api/orders?strategy=probe")["orders"]]
    assert len(h.ok("GET", "/api/orders?status=all&limit=1")["orders"]) == 1
    b = h.ok("DELETE", "/api/orders/%d" % o["id"], status=202)
    assert b["order"]["id"] == o["id"], b
    until(lambda: order_status(h, o["id"])["status"] == "CANCELED", "the cancel")
    assert o["id"] not in [w["id"] for w in h.ok("GET", "/api/orders")["orders"]]
    h.error("DELETE", "/api/orders/%d" % o["id"], status=409, code="conflict")
    h.error("DELETE", "/api/orders/99999999", status=404, code="not_found")
    for bad in ("abc", "0", "-1", "1x"):
        h.error("DELETE", "/api/orders/" + bad, status=400, code="bad_request")
    for q in ("status=open", "limit=0", "symbol=ZZZZ"):
        st, _, _ = h.call("GET", "/api/orders?" + q)
        assert st in (400, 404), (q, st)
    h.error("PUT", "/api/orders", {}, status=405, code="method_not_allowed")


def test_order_bad_input_and_risk_denials():
    h = host()
    ok = {"symbol": "AAPL", "side": "buy", "qty": 1}
    bad = [dict(ok, side="hold"), dict(ok, qty="1"), dict(ok, qty=None), dict(ok, tif="week"),
           dict(ok, limit="190"), dict(ok, colour="red"), dict(ok, symbol=5), dict(ok, tag="x" * 80),
           {"side": "buy", "qty": 1}, dict(ok, take_profit=200, tif="ioc")]
    for body in bad:
        h.error("POST", "/api/orders", body, status=400, code="bad_request")
    h.error("POST", "/api/orders", '{"symbol":"AAPL","side":"buy","qty":1e999}', status=400,
            code="bad_request")
    bad_json_cases(h, "POST", "/api/orders")
    for body, reason in ((dict(ok, qty=5000), "MAX_ORDER_QTY"), (dict(ok, qty=-1), "BAD_QUANTITY"),
                         (dict(ok, qty=0), "BAD_QUANTITY"), (dict(ok, symbol="ZZZZ"), "UNKNOWN_SYMBOL"),
                         (dict(ok, limit=1.001), "BAD_PRICE"), (dict(ok, limit=1000), "PRICE_BAND")):
        err = h.error("POST", "/api/orders", body, status=409, code="risk_denied")
        assert reason_of(err) == reason, (body, err)
    checks = h.ok("GET", "/api/risk-checks?limit=10")["risk_checks"]
    reasons = [c["data"]["reason"] for c in checks]
    assert "MAX_ORDER_QTY" in reasons and "PRICE_BAND" in reasons, reasons
    assert all(c["type"] == "RISK_CHECK" for c in checks), checks
    seqs = [c["seq"] for c in checks]
    assert seqs == sorted(seqs), seqs  # newest last
    assert len(h.ok("GET", "/api/risk-checks?limit=2")["risk_checks"]) == 2
    h.error("GET", "/api/risk-checks?limit=-3", status=400)
    h.error("POST", "/api/risk-checks", {}, status=405)


def test_oversize_body():
    h = host()
    body = json.dumps({"symbol": "AAPL", "side": "buy", "qty": 1, "tag": "x" * 5000})
    st, _, b = h.call("POST", "/api/orders", body)
    assert st == 413, (st, b)
    st, _, b = h.call("PATCH", "/api/strategies/probe/params", json.dumps({"tag": "y" * 5000}))
    assert st == 413, (st, b)


# ---- risk ----------------------------------------------------------------------------


def limit_row(b, name, scope="global"):
    return [r for r in b["limits"] if r["name"] == name and r["scope"] == scope][0]


def test_limits():
    h = host()
    b = h.ok("GET", "/api/limits")
    assert b["trading_state"] == "ACTIVE" and b["kill"] is False, b
    assert limit_row(b, "max_order_qty")["value"] == 1000, b
    assert limit_row(b, "price_band_pct")["value"] == 5, b
    assert limit_row(b, "max_position")["utilization"] is None, b  # no limit set
    b = h.ok("PUT", "/api/limits", {"max_order_qty": 5, "max_working_orders": 100})
    assert limit_row(b, "max_order_qty")["value"] == 5, b
    assert limit_row(b, "max_working_orders")["value"] == 100, b
    err = h.error("POST", "/api/orders", {"symbol": "AAPL", "side": "buy", "qty": 10},
                  status=409, code="risk_denied")
    assert reason_of(err) == "MAX_ORDER_QTY", err
    # all or nothing: a refused value puts back the ones before it
    for body in ({"max_order_qty": 7, "bogus": 1}, {"max_order_qty": 7, "halt_ratio": 0.5},
                 {"max_order_qty": 7, "max_position": -1}, {"max_order_qty": "7"},
                 {"max_order_qty": [7]}):
        h.error("PUT", "/api/limits", body, status=400, code="bad_request")
        assert limit_row(h.ok("GET", "/api/limits"), "max_order_qty")["value"] == 5
    h.error("PUT", "/api/limits", '{"max_order_qty": 1e999}', status=400)
    bad_json_cases(h, "PUT", "/api/limits")
    b = h.ok("PUT", "/api/limits?strategy=probe", {"max_order_qty": 2, "self_cross": False})
    assert limit_row(b, "max_order_qty", "probe")["value"] == 2, b
    assert limit_row(b, "self_cross", "probe")["value"] == 0, b
    h.error("PUT", "/api/limits?strategy=nope", {"max_order_qty": 2}, status=404)
    h.ok("PUT", "/api/limits", {"max_order_qty": 1000, "max_working_orders": 0})
    audit = open(h.path("var/audit.log")).read()
    assert '"note":"scope=probe"' in audit, audit[-500:]
    h.error("POST", "/api/limits", {}, status=405, code="method_not_allowed")


def test_kill_switch():
    h = host()
    o = resting_buy(h)
    until(lambda: (order_status(h, o["id"]) or {}).get("status") == "ACCEPTED", "the ack")
    h.error("POST", "/api/kill", {"flatten": "yes"}, status=400, code="bad_request")
    h.error("POST", "/api/kill", {"now": True}, status=400, code="bad_request")
    h.error("POST", "/api/kill", "{", status=400, code="bad_request")
    assert h.ok("GET", "/api/limits")["kill"] is False  # the refusals did nothing
    b = h.ok("POST", "/api/kill", {"flatten": False})
    assert b["kill"] is True and b["canceled"] >= 1, b
    h.wait_for(r"kill switch engaged reason=\"api 127\.0\.0\.1:\d+\"")
    until(lambda: order_status(h, o["id"])["status"] == "CANCELED", "the kill's cancel")
    assert order_status(h, o["id"])["reason"] == "KILL_SWITCH"
    assert h.ok("GET", "/api/limits")["kill"] is True and h.ok("GET", "/health")["kill"] is True
    err = h.error("POST", "/api/orders", {"symbol": "AAPL", "side": "buy", "qty": 1},
                  status=409, code="risk_denied")
    assert reason_of(err) == "KILL_SWITCH", err
    st, _, b = h.call("POST", "/api/kill")  # no body: again, nothing left to cancel
    assert st == 200 and b["canceled"] == 0, (st, b)
    ev = h.ok("GET", "/api/events?types=KILL_SWITCH&limit=10")["events"]
    assert ev and ev[-1]["data"]["active"] is True, ev
    assert h.ok("DELETE", "/api/kill") == {"kill": False}
    ev = h.ok("GET", "/api/events?types=KILL_SWITCH&limit=10")["events"]
    assert ev[-1]["data"]["active"] is False and ev[-1]["data"]["by"].startswith("api "), ev
    o = h.ok("POST", "/api/orders", {"symbol": "AAPL", "side": "buy", "qty": 1}, status=201)
    h.ok("POST", "/api/orders", {"symbol": "AAPL", "side": "sell", "qty": 1}, status=201)
    h.error("GET", "/api/kill", status=405, code="method_not_allowed")


def test_alerts():
    h = host()
    a = until(lambda: h.ok("GET", "/api/alerts")["alerts"], "the probe's alert")
    mine = [x for x in a if x["type"] == "ALERT" and x["source"] == "strategy:probe"]
    assert mine and "probe alert 1" in json.dumps(mine[0]["data"]), a
    assert all(x["type"] in ("ALERT", "RISK_ALERT") for x in a), a
    h.error("GET", "/api/alerts?limit=abc", status=400, code="bad_request")
    h.error("DELETE", "/api/alerts", status=405)


# ---- events --------------------------------------------------------------------------


def test_events():
    h = host()
    b = h.ok("GET", "/api/events?limit=5")
    assert len(b["events"]) == 5 and b["gap"] is False, b
    seqs = [e["seq"] for e in b["events"]]
    assert seqs == sorted(seqs) and b["first"] <= seqs[0] and seqs[-1] <= b["last"], b
    for e in b["events"]:
        assert set(e) >= {"seq", "type", "ts", "source", "data"}, e
    # resume from next: only newer events, in order, no duplicates
    c = until(lambda: (lambda x: x if x["events"] else None)(
        h.ok("GET", "/api/events?since=%d&limit=50" % b["next"])), "newer events")
    s2 = [e["seq"] for e in c["events"]]
    assert s2 and s2[0] > b["next"] and s2 == sorted(set(s2)), (b["next"], s2)
    assert c["next"] == s2[-1] and c["gap"] is False, c
    d = until(lambda: (lambda x: x if x["events"] else None)(
        h.ok("GET", "/api/events?since=%d&types=MARKET_DATA&symbols=MSFT&limit=50" % c["next"])),
        "MSFT market data")
    for e in d["events"]:
        assert e["type"] == "MARKET_DATA" and e["data"]["symbol"] == "MSFT", e
    e = h.ok("GET", "/api/events?since=0&types=STRATEGY_START&limit=1")
    assert e["events"][0]["type"] == "STRATEGY_START" and e["gap"] is False, e
    f = h.ok("GET", "/api/events?since=%d" % (b["last"] + 10 ** 9))  # from before a restart
    assert f["gap"] is True and f["events"], f
    for q in ("types=NOPE", "types=MARKET_DATA,NOPE", "symbols=ZZZZ", "limit=0", "limit=99999",
              "since=-1", "since=x"):
        h.error("GET", "/api/events?" + q, status=400, code="bad_request")
    h.error("POST", "/api/events", {}, status=405, code="method_not_allowed")


def test_signals():
    h = host()
    s = h.ok("GET", "/api/signals?limit=3")["signals"]
    assert len(s) == 3 and all(x["type"] == "SIGNAL_GENERATED" for x in s), s
    assert all(x["source"] == "strategy:probe" for x in s), s
    assert [x["seq"] for x in s] == sorted(x["seq"] for x in s), s
    assert s[-1]["data"]["name"] == "tick", s
    h.error("GET", "/api/signals?limit=x", status=400, code="bad_request")
    h.error("PATCH", "/api/signals", {}, status=405)


def test_unauthorized():
    h = host()
    for method, path in (("GET", "/api/strategies"), ("POST", "/api/orders"),
                         ("POST", "/api/kill"), ("GET", "/api/events")):
        h.error(method, path, {} if method == "POST" else None, token=None, status=401,
                code="unauthorized")


def test_stop_host():
    assert host().stop() == 0


if __name__ == "__main__":
    main([test_health, test_market_data, test_ohlcv, test_strategies_list_and_get,
          test_params_patch, test_reload, test_stop_start, test_create_strategy,
          test_manual_market_order, test_limit_order_cancel,
          test_order_bad_input_and_risk_denials, test_oversize_body, test_limits,
          test_kill_switch, test_alerts, test_events, test_signals, test_unauthorized,
          test_stop_host])
