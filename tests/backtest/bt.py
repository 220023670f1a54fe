"""bt.py: helpers for the backtest tests: run `luatrade backtest` and `gen_ticks`, read
the report files.

Environment: LUATRADE_BIN (the binary; default build/luatrade; gen_ticks is next to it),
LUATRADE_SRC (the repository root; default the current directory).
"""
import csv
import io
import json
import os
import subprocess
import tempfile

SRC = os.environ.get("LUATRADE_SRC", os.getcwd())
BIN = os.environ.get("LUATRADE_BIN", os.path.join(SRC, "build", "luatrade"))
GEN = os.path.join(os.path.dirname(BIN), "gen_ticks")
SMA = os.path.join(SRC, "strategies", "sma_cross.lua")
FILES = ("summary.json", "trades.csv", "orders.csv", "equity.csv", "signals.jsonl",
         "log.txt", "report.html")


def scratch():
    """A scratch directory with scripts/ linked in (strategies require indicators)."""
    d = tempfile.mkdtemp(prefix="luatrade-bt-")
    os.symlink(os.path.join(SRC, "scripts"), os.path.join(d, "scripts"))
    return d


def write(dir_, name, text):
    path = os.path.join(dir_, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return path


def gen_ticks(path, rows, seed=1, symbols="AAPL,MSFT", extra=()):
    subprocess.run([GEN, path, "--rows", str(rows), "--seed", str(seed), "--symbols", symbols,
                    *extra], check=True, stdin=subprocess.DEVNULL)
    return path


class Result:
    def __init__(self, proc, out):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.out = out

    def read(self, name):
        with open(os.path.join(self.out, name), "rb") as f:
            return f.read()

    def summary(self):
        return json.loads(self.read("summary.json"))

    def rows(self, name):
        return list(csv.DictReader(io.StringIO(self.read(name).decode())))

    def __repr__(self):
        return f"rc={self.rc}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"


def backtest(script, *args, cwd, out="out", timeout=240):
    """Runs luatrade backtest SCRIPT ARGS --out OUT (unless out is None) in cwd."""
    cmd = [BIN, "backtest", script, *args]
    if out is not None:
        cmd += ["--out", out]
    p = subprocess.run(cmd, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout)
    return Result(p, os.path.join(cwd, out) if out else None)


def check(cond, what, res=None):
    if not cond:
        raise AssertionError(what + (f"\n{res!r}" if res is not None else ""))
