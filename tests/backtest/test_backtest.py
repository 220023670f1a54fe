"""luatrade backtest: determinism, metrics on a hand-computed run, every data format
through the command, malformed data, risk denials, usage errors, the progress bar."""
import gzip
import json
import math
import os
import pty
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import bt  # noqa: E402
from bt import check  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
STEPS = os.path.join(HERE, "steps.lua")
# no slippage or commission: fills at the close, to the cent
FLAT = """return { venue = { slippage_bps = 0, commission_per_share = 0, commission_bps = 0 },
                   account = { cash = 10000 } }"""
BARS = """time,symbol,open,high,low,close,volume
2025-03-03,TEST,100,100,100,100,1000
2025-03-04,TEST,110,110,110,110,1000
2025-03-05,TEST,121,121,121,121,1000
2025-03-06,TEST,110,110,110,110,1000
2025-03-07,TEST,99,99,99,99,1000
2025-03-08,TEST,100,100,100,100,1000
"""


def test_deterministic():
    d = bt.scratch()
    data = bt.gen_ticks(os.path.join(d, "t.csv"), 100000)
    a = bt.backtest(bt.SMA, "--data", data, cwd=d, out="a")
    b = bt.backtest(bt.SMA, "--data", data, cwd=d, out="b")
    check(a.rc == 0 and b.rc == 0, "runs failed", a)
    for name in bt.FILES:
        check(a.read(name) == b.read(name), f"{name} differs between two runs")
    s = a.summary()
    signals = a.read("signals.jsonl").decode().splitlines()
    check(s["counts"]["signals"] == len(signals) > 0, f"signals: {s['counts']} vs {len(signals)}")
    check(all(json.loads(l)["name"] == "cross" for l in signals), "signal lines")
    check(s["counts"]["orders"] == len(a.rows("orders.csv")) > 0, "orders.csv rows")
    check(s["input"]["rows"] == 100000 and s["input"]["items"] == 200000, f"input {s['input']}")
    check("backtest: 100000 rows" in a.stderr and "\r" not in a.stderr, a.stderr)


def test_hand_computed_metrics():
    """Buy 10 at 100 (bar 1), sell at 121 (bar 3): equity per day-end 10000, 10000, 10100,
    10210, 10210, 10210, 10210 (the first is the start, one period before the first)."""
    d = bt.scratch()
    bt.write(d, "flat.lua", FLAT)
    bt.write(d, "bars.csv", BARS)
    r = bt.backtest(STEPS, "--data", "bars.csv", "--config", "flat.lua", cwd=d)
    check(r.rc == 0, "run failed", r)
    s = r.summary()
    m = s["metrics"]
    eq = [10000, 10000, 10100, 10210, 10210, 10210, 10210]
    rets = [eq[i] / eq[i - 1] - 1 for i in range(1, len(eq))]
    mean = sum(rets) / len(rets)
    sd = math.sqrt(sum((x - mean) ** 2 for x in rets) / (len(rets) - 1))
    sharpe = mean / sd * math.sqrt(252)
    years = 6 / 365.25
    cagr = (10210 / 10000) ** (1 / years) - 1
    check(abs(m["total_return"] - 0.021) < 1e-6, f"total_return {m}")
    check(abs(m["sharpe"] - sharpe) < 1e-5, f"sharpe {m['sharpe']} != {sharpe}")
    check(m["sortino"] is None, f"sortino with no losing period: {m['sortino']}")
    check(abs(m["cagr"] - cagr) < 1e-5, f"cagr {m['cagr']} != {cagr}")
    check(m["max_drawdown"] == 0 and m["trades"] == 1 and m["wins"] == 1, f"{m}")
    check(abs(m["exposure"] - 2 / 6) < 1e-6, f"exposure {m['exposure']}")
    check(m["final"] == 10210 and m["commissions"] == 0, f"{m}")
    equity = [round(float(row["equity"])) for row in r.rows("equity.csv")]
    check(equity == eq, f"equity.csv {equity}")
    trades = r.rows("trades.csv")
    check(len(trades) == 1 and float(trades[0]["pnl"]) == 210, f"trades.csv {trades}")
    fills = [json.loads(l)["data"] for l in r.read("signals.jsonl").decode().splitlines()]
    check([f["mode"] for f in fills] == ["backtest"] * 6, "mode is backtest")


def test_formats():
    d = bt.scratch()
    bt.write(d, "flat.lua", FLAT)
    yahoo = "Date,Open,High,Low,Close,Adj Close,Volume\n" + "".join(
        f"2025-03-{3 + i:02d},{c},{c},{c},{c},{c * 0.9},1000\n"
        for i, c in enumerate([100, 110, 121, 110, 99]))
    bt.write(d, "TEST.csv", yahoo)
    r = bt.backtest(STEPS, "--data", "TEST.csv", "--config", "flat.lua", cwd=d)
    check(r.rc == 0 and r.summary()["metrics"]["final"] == 10210, "yahoo", r)
    alpha = "timestamp,open,high,low,close,volume\n" + "".join(
        f"2025-03-{7 - i:02d},{c},{c},{c},{c},1000\n"   # newest first, as Alpha Vantage writes
        for i, c in enumerate([99, 110, 121, 110, 100]))
    bt.write(d, "av.csv", alpha)
    r = bt.backtest(STEPS, "--data", "TEST=av.csv", "--config", "flat.lua", cwd=d)
    check(r.rc == 0 and r.summary()["metrics"]["final"] == 10210, "alpha vantage", r)
    ticks = "time,symbol,price,size\n" + "".join(
        f"{1741000000 + i},TEST,{100 + i},10\n" for i in range(5))
    with gzip.open(os.path.join(d, "ticks.csv.gz"), "wt") as f:
        f.write(ticks)
    r = bt.backtest(os.path.join(HERE, "tick_buyer.lua"), "--data", "ticks.csv.gz",
                    "--config", "flat.lua", cwd=d)
    check(r.rc == 0, "gzip ticks", r)
    fills = [l for l in r.read("log.txt").decode().splitlines() if "bought" in l]
    check(len(fills) == 1 and "price=100" in fills[0], f"fills at the last price: {fills}")


def test_several_files_merge():
    d = bt.scratch()
    bt.write(d, "a.csv", "time,symbol,price,size\n1741000000,AAPL,10,1\n1741000002,AAPL,11,1\n")
    bt.write(d, "b.csv", "time,symbol,price,size\n1741000001,MSFT,20,1\n1741000003,MSFT,21,1\n")
    r = bt.backtest(os.path.join(HERE, "tick_buyer.lua"), "--data", "a.csv", "b.csv", cwd=d)
    check(r.rc == 0, "merge", r)
    seen = [" ".join(m) for m in re.findall(r"seen (\w+) ([\d.]+)", r.read("log.txt").decode())]
    check(seen == ["AAPL 10", "MSFT 20", "AAPL 11", "MSFT 21"], f"merged order {seen}")


def test_malformed_data():
    d = bt.scratch()
    bt.write(d, "bad.csv", "time,symbol,price,size\n1741000000,TEST,10,1\n1741000001,TEST,1x,1\n"
                           "1741000002,TEST,12,1\n")
    r = bt.backtest(os.path.join(HERE, "tick_buyer.lua"), "--data", "bad.csv", cwd=d)
    check(r.rc == 1 and "bad.csv:3:3:" in r.stderr, "malformed line stops the run", r)
    r = bt.backtest(os.path.join(HERE, "tick_buyer.lua"), "--data", "bad.csv", "--skip-bad", cwd=d)
    check(r.rc == 0, "--skip-bad", r)
    inp = r.summary()["input"]
    check(inp["bad"] == 1 and "bad.csv:3:3:" in inp["first_bad"], f"counted: {inp}")


def test_risk_denials_reported():
    d = bt.scratch()
    bt.write(d, "tight.lua", "return { risk = { max_order_qty = 5 } }")
    bt.write(d, "bars.csv", BARS)
    r = bt.backtest(STEPS, "--data", "bars.csv", "--config", "tight.lua", cwd=d)
    check(r.rc == 0, "run", r)
    c = r.summary()["counts"]
    check(c["denials_by_reason"].get("MAX_ORDER_QTY", 0) >= 1 and c["orders"] == 0, f"{c}")
    check(b"MAX_ORDER_QTY" in r.read("report.html"), "the report lists the denial")


def test_usage_errors():
    d = bt.scratch()
    bt.write(d, "bars.csv", BARS)
    cases = [
        ((STEPS,), "--data"),
        ((STEPS, "--data", "missing.csv"), "missing.csv"),
        ((STEPS, "--data", "bars.csv", "--bogus"), "unknown flag"),
        ((STEPS, "--data", "bars.csv", "--param", "nope=1"), "nope"),
        ((STEPS, "--data", "bars.csv", "--rank", "luck", "--sweep", "qty=1:2:1"), "luck"),
        ((STEPS, "--data", "bars.csv", "--sweep", "qty=5:1:1"), "qty"),
        (("nothere.lua", "--data", "bars.csv"), "nothere.lua"),
        ((STEPS, "--replay", "bars.csv", "--data", "bars.csv"), "mixed"),
    ]
    for args, word in cases:
        r = bt.backtest(*args, cwd=d, out=None)
        check(r.rc == 2 and word in r.stderr, f"{args}: exit 2 naming {word}", r)
    bt.write(d, "broken.lua", 'strategy { name = "broken", symbols = { "TEST" } }\n'
                              'function on_start() error("no luck") end\n')
    r = bt.backtest(os.path.join(d, "broken.lua"), "--data", "bars.csv", cwd=d)
    check(r.rc == 1 and "no luck" in r.stderr, "a strategy that cannot start fails the run", r)
    r = bt.backtest(bt.SMA, "--data", "bars.csv", cwd=d)
    check(r.rc == 2 and "none of its symbols" in r.stderr, "no symbol of the strategy in the data", r)


def test_from_to():
    d = bt.scratch()
    bt.write(d, "flat.lua", FLAT)
    bt.write(d, "bars.csv", BARS)
    r = bt.backtest(STEPS, "--data", "bars.csv", "--config", "flat.lua", "--from", "2025-03-04",
                    "--to", "2025-03-07", cwd=d)
    check(r.rc == 0, "run", r)
    closes = [json.loads(l)["data"]["close"] for l in r.read("signals.jsonl").decode().splitlines()]
    check(closes == [110, 121, 110], f"bars in range: {closes}")


def test_review_cases():
    d = bt.scratch()
    bt.write(d, "flat.lua", FLAT)
    bt.write(d, "bars.csv", BARS)
    bt.write(d, "ticks.csv", "time,symbol,price,size\n1741000000,TEST,10,1\n")
    bt.write(d, "min.csv", "time,symbol,open,high,low,close,volume\n"
                           "2025-03-03T14:30:00Z,TEST,1,1,1,1,1\n2025-03-03T14:31:00Z,TEST,1,1,1,1,1\n")
    limit = os.path.join(HERE, "day_limit.lua")
    r = bt.backtest(STEPS, "--data", "bars.csv", "ticks.csv", cwd=d)
    check(r.rc == 2 and "mixes bar files and tick files" in r.stderr, "bars with ticks refused", r)
    r = bt.backtest(limit, "--data", "bars.csv", "min.csv", cwd=d)
    check(r.rc == 1 and "mixes 1d and 1m bars" in r.stderr, "two timeframes refused", r)
    r = bt.backtest(STEPS, "--data", "bars.csv", "--from", "2030-01-01", cwd=d)
    check(r.rc == 1 and "no market data" in r.stderr, "an empty range fails", r)
    check(not os.path.exists(os.path.join(d, "out", "summary.json")), "no report of a failed run")
    # a day order expires at the session end even when nothing else happens
    r = bt.backtest(limit, "--data", "bars.csv", cwd=d)
    check(r.rc == 0, "day limit", r)
    statuses = [row["status"] for row in r.rows("orders.csv")]
    check(statuses == ["EXPIRED"], f"the day order expired: {statuses}")
    check("status=EXPIRED" in r.read("log.txt").decode(), "on_order saw the expiry")
    # bars without volume (indices) fill whole at their close
    bt.write(d, "vol0.csv", BARS.replace(",1000\n", ",0\n"))
    r = bt.backtest(STEPS, "--data", "vol0.csv", "--config", "flat.lua", cwd=d)
    check(r.rc == 0 and r.summary()["metrics"]["final"] == 10210, "zero-volume bars fill", r)
    # bars built from ticks close at their end, also across a gap in the data
    bt.write(d, "gap.csv", "time,symbol,price,size\n2025-03-03T15:58:30Z,TEST,10,1\n"
                           "2025-03-03T16:05:00Z,TEST,11,1\n")
    r = bt.backtest(limit, "--data", "gap.csv", cwd=d)
    check(r.rc == 0, "gap", r)
    bars = [l for l in r.read("log.txt").decode().splitlines() if "bar tf=1m" in l]
    check(bars and all(int(l.split("now=")[1].split()[0].strip('"')) ==
                       int(l.split("open=")[1].split()[0]) + 60 for l in bars), f"bar times: {bars}")
    for args, word in (((STEPS, "--data", "bars.csv", "--out", ""), "--out"),
                       ((STEPS, "--data", "bars.csv", "--jobs", "2.5"), "whole number")):
        r = bt.backtest(*args, cwd=d, out=None)
        check(r.rc == 2 and word in r.stderr, f"{args}", r)


def test_progress_bar_on_a_terminal():
    d = bt.scratch()
    data = bt.gen_ticks(os.path.join(d, "t.csv"), 300000)
    master, slave = pty.openpty()
    p = subprocess.Popen([bt.BIN, "backtest", bt.SMA, "--data", data, "--out", "o"], cwd=d,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    check(p.wait() == 0, "run under a pty")
    check(b"\r[" in out and b"100%" in out, f"progress bar: {out[-300:]!r}")


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(HERE, "..", "lua"))
    from harness import main
    main([test_deterministic, test_hand_computed_metrics, test_formats, test_several_files_merge,
          test_malformed_data, test_risk_denials_reported, test_usage_errors, test_from_to,
          test_review_cases, test_progress_bar_on_a_terminal])
