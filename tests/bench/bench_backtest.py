#!/usr/bin/env python3
"""bench_backtest.py: ticks/s of a full backtest of strategies/sma_cross.lua over a
generated tick file, next to two baselines measured in the same run.

Sides (each a separate process, reading the same file from the page cache):
  c     build/tests/bench/bench_backtest_c FILE: plain C, the file read() in 4 MiB
        chunks, time/symbol/price/size parsed by hand, 1 s bars per symbol, sma_cross's
        crossover (SMA 5/20, bit-identical to scripts/indicators/sma.lua) with a position;
  lua   build/tests/bench/bench_backtest_lua FILE: the same in a bare LuaJIT state
        (tests/bench/sma_cross_bare.lua: io.lines, string.find/sub, tonumber, the real
        indicators.sma), no host;
  host  build/luatrade backtest strategies/sma_cross.lua --data FILE --out DIR: the
        whole host path (parse, bars, sandboxed strategy, risk, paper venue, portfolio,
        the report files). Crossings are the "cross" signals in DIR/signals.jsonl.
Every side's wall time (from spawn to exit) and CPU time (user + sys, os.wait4) are
measured here, process start-up included; the sides' own timings (the baselines' JSON,
the host's `backtest: N rows in X s` line) are reported beside them as self_s.

The data file is made once by `build/gen_ticks FILE --rows N --symbols AAPL,MSFT --seed
1` in build/bench-data/ and reused; BENCH_DATA=FILE uses an existing file instead. It is
read through once before timing so every side finds it in the page cache.

The sides run in turn (c, host, lua) BENCH_REPS times. Output: one JSON line per
measurement, then a BENCH line and a summary JSON line: per side the best (min wall) and
median rows/s and the best CPU-time rows/s, the ratios host/c and host/lua of rows/s
(best and median), and the issue's goals (host >= 5M rows/s, host within 3x of c).
All sides must report the same crossings (and the same rows where they report them),
or the bench exits 2; a side that fails exits 1 with its message.

Knobs: BENCH_ROWS (10000000), BENCH_REPS (3), BENCH_ONLY (comma list of c, lua, host),
BENCH_DATA (a tick file to use), BENCH_BUILD (build tree, default build-release/),
LUATRADE_BIN (default BUILD/luatrade), BENCH_TIMEOUT (seconds per run, 900).
"""
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.normpath(os.path.join(HERE, "..", ".."))
BUILD = os.path.abspath(os.environ.get("BENCH_BUILD") or os.path.join(SRC, "build-release"))
BIN = os.environ.get("LUATRADE_BIN") or os.path.join(BUILD, "luatrade")
GEN = os.path.join(BUILD, "gen_ticks")
C_BIN = os.path.join(BUILD, "tests", "bench", "bench_backtest_c")
LUA_BIN = os.path.join(BUILD, "tests", "bench", "bench_backtest_lua")
STRATEGY = os.path.join(SRC, "strategies", "sma_cross.lua")
SYMBOLS = "AAPL,MSFT"
SEED = 1

ROWS = int(os.environ.get("BENCH_ROWS", "10000000"))
REPS = int(os.environ.get("BENCH_REPS", "3"))
ONLY = [s for s in os.environ.get("BENCH_ONLY", "c,host,lua").split(",") if s]
TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "900"))
GOAL_ROWS_PER_S = 5e6  # issue 6: >= 5M ticks/s
GOAL_C_RATIO = 3.0     # and within 3x of the plain C baseline
HOST_LINE = re.compile(r"backtest: (\d+) rows in ([\d.]+) s")


def note(msg):
    print("# " + msg, file=sys.stderr, flush=True)


def die(code, msg):
    print("bench_backtest: " + msg, file=sys.stderr, flush=True)
    sys.exit(code)


def data_file():
    """The tick file: BENCH_DATA, or the cached generated one (made when missing)."""
    if os.environ.get("BENCH_DATA"):
        return os.path.abspath(os.environ["BENCH_DATA"])
    cache = os.path.join(BUILD, "bench-data")
    path = os.path.join(cache, f"ticks-{ROWS}-{SYMBOLS.replace(',', '_')}-s{SEED}.csv")
    if os.path.exists(path):
        return path
    if not os.access(GEN, os.X_OK):
        die(1, f"{GEN} is missing: build it (cmake --build {BUILD} --target gen_ticks) "
               "or set BENCH_DATA=FILE")
    os.makedirs(cache, exist_ok=True)
    tmp = path + ".part"
    note(f"generating {ROWS} rows into {path}")
    cmd = [GEN, tmp, "--rows", str(ROWS), "--symbols", SYMBOLS, "--seed", str(SEED)]
    rc = subprocess.run(cmd, timeout=TIMEOUT).returncode
    if rc != 0:
        die(1, f"{' '.join(cmd)} exited {rc}")
    os.replace(tmp, path)
    return path


def warm(path):
    """Reads the file once so each side finds it in the page cache; returns its size and
    its data rows (lines, less a header line that does not start with a digit)."""
    size = lines = 0
    first = last = b""
    with open(path, "rb", buffering=0) as f:
        while True:
            b = f.read(8 << 20)
            if not b:
                break
            first = first or b[:1]
            last = b[-1:]
            size += len(b)
            lines += b.count(b"\n")
    lines += last not in (b"", b"\n")
    return size, lines - (first != b"" and not first.isdigit())


def spawn(cmd, cwd):
    """Runs cmd to its end; returns (exit code, stdout, stderr, wall s, rusage)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        timer = threading.Timer(TIMEOUT, p.kill)
        timer.start()
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        timer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return p.returncode, out.read().decode(), err.read().decode(), wall, ru


def check_exit(side, cmd, rc, err):
    if rc != 0:
        tail = "\n".join(err.strip().splitlines()[-20:])
        die(1, f"{side}: `{' '.join(cmd)}` exited {rc}:\n{tail}")


def run_baseline(side, path):
    cmd = [C_BIN if side == "c" else LUA_BIN, path]
    rc, out, err, wall, ru = spawn(cmd, SRC)
    check_exit(side, cmd, rc, err)
    r = json.loads(out.strip().splitlines()[-1])
    return {"rows": r["rows"], "bars": r["bars"], "crossings": r["crossings"],
            "buys": r["buys"], "sells": r["sells"], "self_s": r["seconds"]}, wall, ru


def count_crosses(signals):
    """The "cross" signals in a signals.jsonl file."""
    n = 0
    with open(signals) as f:
        for line in f:
            if not line.strip():
                continue
            obj = json.loads(line)
            name = next((obj[k] for k in ("name", "signal", "type") if k in obj), None)
            n += name == "cross" if name is not None else '"cross"' in line
    return n


def run_host(path):
    with tempfile.TemporaryDirectory(prefix="bench-backtest-") as tmp:
        out_dir = os.path.join(tmp, "out")
        cmd = [BIN, "backtest", STRATEGY, "--data", path, "--out", out_dir]
        rc, _, err, wall, ru = spawn(cmd, SRC)
        check_exit("host", cmd, rc, err)
        signals = os.path.join(out_dir, "signals.jsonl")
        if not os.path.exists(signals):
            die(1, f"host: no {signals} after `{' '.join(cmd)}`")
        r = {"crossings": count_crosses(signals)}
        m = HOST_LINE.search(err)
        if m:
            r["rows"], r["self_s"] = int(m.group(1)), float(m.group(2))
        return r, wall, ru


def measure(side, rep, path, file_rows):
    r, wall, ru = run_host(path) if side == "host" else run_baseline(side, path)
    cpu = ru.ru_utime + ru.ru_stime
    rows = file_rows
    row = {"bench": "backtest", "side": side, "rep": rep, **r,
           "wall_s": round(wall, 4), "cpu_s": round(cpu, 4),
           "user_s": round(ru.ru_utime, 4), "sys_s": round(ru.ru_stime, 4),
           "rows_per_s": round(rows / wall), "cpu_rows_per_s": round(rows / cpu) if cpu else 0}
    print(json.dumps(row), flush=True)
    return row


def check(ms, file_rows):
    """Exit 2 unless every measurement agrees on crossings and reports the file's rows
    (the host only when its summary line was found)."""
    seen = {(m["side"], m["crossings"]) for m in ms}
    if len({v for _, v in seen}) > 1:
        die(2, "the sides disagree on crossings: "
               + ", ".join(f"{s}={v}" for s, v in sorted(seen)))
    wrong = {(m["side"], m["rows"]) for m in ms if "rows" in m and m["rows"] != file_rows}
    if wrong:
        die(2, f"the file has {file_rows} rows, but: "
               + ", ".join(f"{s} read {v}" for s, v in sorted(wrong)))


def side_summary(ms, rows):
    walls = [m["wall_s"] for m in ms]
    cpus = [m["cpu_s"] for m in ms]
    return {"runs": len(ms), "rows": rows,
            "best_rows_per_s": round(rows / min(walls)),
            "median_rows_per_s": round(rows / statistics.median(walls)),
            "best_cpu_rows_per_s": round(rows / min(cpus)) if min(cpus) else 0,
            "min_wall_s": min(walls), "median_wall_s": round(statistics.median(walls), 4),
            "crossings": ms[0]["crossings"]}


def summary(by_side, rows):
    s = {"bench": "backtest", "summary": True, "rows": rows}
    s.update({side: side_summary(ms, rows) for side, ms in by_side.items() if ms})
    host = s.get("host")
    for base in ("c", "lua"):
        if host and base in s:
            for k in ("best", "median"):
                s[f"host_over_{base}_{k}"] = round(
                    host[f"{k}_rows_per_s"] / s[base][f"{k}_rows_per_s"], 3)
    if host:
        s["goal_rows_per_s_met"] = host["best_rows_per_s"] >= GOAL_ROWS_PER_S
        if "c" in s:
            s["goal_within_3x_of_c_met"] = (
                s["c"]["best_rows_per_s"] <= GOAL_C_RATIO * host["best_rows_per_s"])
    return s


def bench_line(s):
    parts = [f"rows={s['rows']}"]
    for side in ("c", "lua", "host"):
        if side in s:
            parts.append(f"{side}={s[side]['best_rows_per_s'] / 1e6:.2f}M/s"
                         f"(median {s[side]['median_rows_per_s'] / 1e6:.2f}M/s)")
    for base in ("c", "lua"):
        if f"host_over_{base}_best" in s:
            parts.append(f"host/{base}={s[f'host_over_{base}_best']}")
    return "BENCH backtest " + " ".join(parts)


def main():
    bad = [s for s in ONLY if s not in ("c", "lua", "host")]
    if bad:
        die(1, f"BENCH_ONLY: unknown side(s) {','.join(bad)} (c, lua, host)")
    for side, exe in (("c", C_BIN), ("lua", LUA_BIN), ("host", BIN)):
        if side in ONLY and not os.access(exe, os.X_OK):
            die(1, f"{exe} is missing: cmake --build {BUILD} -j2")
    path = data_file()
    size, rows = warm(path)
    note(f"data {path}: {rows} rows, {size / 1e6:.0f} MB; {REPS} reps of {','.join(ONLY)}")
    order = [s for s in ("c", "host", "lua") if s in ONLY]
    by_side = {s: [] for s in order}
    for rep in range(1, REPS + 1):
        for side in order:
            by_side[side].append(measure(side, rep, path, rows))
    check([m for ms in by_side.values() for m in ms], rows)
    s = summary(by_side, rows)
    print(bench_line(s), flush=True)
    print(json.dumps(s), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
