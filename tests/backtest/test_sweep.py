"""Parameter sweeps and walk-forward: every row of sweep.csv equals a single run with the
same parameters, the best run's report is the single run's, and each walk-forward fold
equals single runs over its in-sample and out-of-sample periods."""
import csv
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import bt  # noqa: E402
from bt import check  # noqa: E402

METRICS = ("trades", "total_return", "sharpe", "sortino", "max_drawdown", "win_rate")


def close(a, b):
    return abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(b)))


def single(d, data, params, out, *extra):
    args = ["--data", data, *extra]
    for k, v in params.items():
        args += ["--param", f"{k}={v}"]
    r = bt.backtest(bt.SMA, *args, cwd=d, out=out)
    check(r.rc == 0, f"single run {params}", r)
    return r


def test_sweep_equals_single_runs():
    d = bt.scratch()
    data = bt.gen_ticks(os.path.join(d, "t.csv"), 60000, seed=3)
    r = bt.backtest(bt.SMA, "--data", data, "--sweep", "fast=3:5:1", "--sweep", "slow=12,20",
                    "--jobs", "2", "--rank", "total_return", cwd=d, out="sweep")
    check(r.rc == 0, "sweep", r)
    rows = list(csv.DictReader(open(os.path.join(d, "sweep", "sweep.csv"))))
    check(len(rows) == 6, f"6 combinations, got {len(rows)}")
    check([(row["fast"], row["slow"]) for row in rows] ==
          [(f, s) for f in ("3", "4", "5") for s in ("12", "20")], "combination order")
    check(sorted(int(row["rank"]) for row in rows) == list(range(1, 7)), "ranks 1..6")
    for i, row in enumerate(rows):
        one = single(d, data, {"fast": row["fast"], "slow": row["slow"]}, f"one{i}")
        m = one.summary()["metrics"]
        for k in METRICS:
            want = m[k] if m[k] is not None else 0
            check(close(row[k], want), f"run {i + 1} {k}: sweep {row[k]} single {m[k]}")
    best = min(rows, key=lambda row: int(row["rank"]))
    check(all(float(best["total_return"]) >= float(row["total_return"]) for row in rows),
          "rank 1 has the best total return")
    one = single(d, data, {"fast": best["fast"], "slow": best["slow"]}, "best")
    for name in ("summary.json", "trades.csv", "orders.csv", "equity.csv", "signals.jsonl"):
        check(r.read(name) == one.read(name), f"the best run's {name} equals a single run's")


def test_walk_forward_folds_equal_single_runs():
    d = bt.scratch()
    data = bt.gen_ticks(os.path.join(d, "t.csv"), 90000, seed=5)
    r = bt.backtest(bt.SMA, "--data", data, "--sweep", "fast=3,5", "--walk-forward", "2",
                    "--rank", "total_return", "--jobs", "2", cwd=d, out="wf")
    check(r.rc == 0, "walk-forward", r)
    folds = list(csv.DictReader(open(os.path.join(d, "wf", "walk_forward.csv"))))
    check(len(folds) == 2, f"2 folds: {folds}")
    check(folds[0]["oos_from"] == folds[0]["is_to"] == folds[1]["is_from"], "segments chain")
    for k, f in enumerate(folds):
        fast = f["params"].split("fast=")[1]
        is_run = single(d, data, {"fast": fast}, f"is{k}", "--from", f["is_from"], "--to", f["is_to"])
        oos_run = single(d, data, {"fast": fast}, f"oos{k}", "--from", f["oos_from"], "--to",
                         f["oos_to"])
        check(close(f["is_total_return"], is_run.summary()["metrics"]["total_return"]),
              f"fold {k + 1} in-sample")
        check(close(f["oos_total_return"], oos_run.summary()["metrics"]["total_return"]),
              f"fold {k + 1} out-of-sample")
        other = "3" if fast == "5" else "5"
        alt = single(d, data, {"fast": other}, f"alt{k}", "--from", f["is_from"], "--to", f["is_to"])
        check(float(f["is_total_return"]) >= alt.summary()["metrics"]["total_return"] - 1e-9,
              f"fold {k + 1} picked the better in-sample parameters")


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lua"))
    from harness import main
    main([test_sweep_equals_single_runs, test_walk_forward_folds_equal_single_runs])
