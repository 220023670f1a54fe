"""bench_http_host.py: the loaded host that bench_http.py and bench_ws.py measure, and
the counters they read from it.

LoadedHost starts the real binary (tests/api/http_harness.WebHost: `luatrade run` in a
scratch directory, port 0 on 127.0.0.1, port and token from its log) on a live wall
clock with the sim feed at `rate` events/s over four symbols (trade_ratio 0.35), the
three strategies config/default.lua ships (sma_cross, rsi_reversion, breakout: on 1 s
bars) and tests/bench/bench_http_trade.lua (two SMAs per symbol on every trade, market
orders on their crossings: about 150 orders/s at 200,000 events/s; BENCH_TRADE gives it
other params, e.g. "fast = 50, slow = 400, qty = 10" for about 1,700 orders/s and 11,000
fills/s), the journal on with sync = false, and `http.rate = 0`: the
server's per-client token bucket (100 requests/s per address by default) would
otherwise answer most of a load generator's requests with 429.

Counters (snapshot() / rates()): the feed's own count (/health feed.events, market
events emitted), every bus event (/api/stats events_total), the loop-lag probe's
histogram and the HTTP request counter (/metrics), the host's CPU time (/proc), and how
far the live feed is behind its schedule (rate x feed uptime - events emitted; the
feed catches up rather than drops, so a loop that cannot keep up shows here first).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("LUATRADE_SRC") or os.path.abspath(os.path.join(HERE, "..", ".."))
os.environ.setdefault("LUATRADE_SRC", SRC)
if "LUATRADE_BIN" not in os.environ:
    for b in ("build-release", "build"):
        if os.path.exists(os.path.join(SRC, b, "luatrade")):
            os.environ["LUATRADE_BIN"] = os.path.join(SRC, b, "luatrade")
            break
sys.path.insert(0, os.path.join(SRC, "tests", "api"))
from http_harness import WebHost  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")

CONFIG = """return {{
  clock = "wall",
  scripts = "{src}/scripts",
  feed = {{ kind = "sim", rate = {rate}, trade_ratio = 0.35, symbols = {{
    AAPL = {{ price = 190.00, vol = 0.30, drift = 0.05, tick = 0.01, spread = 1, max_lots = 5 }},
    MSFT = {{ price = 410.00, vol = 0.25, drift = 0.04, tick = 0.01, spread = 2, max_lots = 5 }},
    NVDA = {{ price = 880.00, vol = 0.55, drift = 0.10, tick = 0.01, spread = 3, max_lots = 3 }},
    SPY  = {{ price = 520.00, vol = 0.15, drift = 0.03, tick = 0.01, spread = 1, max_lots = 10 }},
  }} }},
  strategies = {{
    {{ script = "{src}/strategies/sma_cross.lua", symbols = {{ "AAPL", "MSFT" }} }},
    {{ script = "{src}/strategies/rsi_reversion.lua", symbols = {{ "SPY" }} }},
    {{ script = "{src}/strategies/breakout.lua", symbols = {{ "NVDA" }} }},
    {{ script = "{src}/tests/bench/bench_http_trade.lua", params = {{ {params} }} }},
  }},
  journal = {{ enabled = true, sync = false }},
  reload = {{ watch = false }},
  http = {{ rate = 0 }},
}}
"""

_LAG_BUCKET = re.compile(r'^luatrade_loop_lag_seconds_bucket\{le="([^"]+)"\} (\S+)$', re.M)
_METRIC = re.compile(r"^(luatrade_[a-z_]+(?:\{[^}]*\})?) (\S+)$", re.M)


# bench_http_trade.lua's params over its defaults (BENCH_TRADE, Lua "k = v, k = v"): the
# crossing periods set how often it trades, qty how many partial fills an order takes.
TRADE = os.environ.get("BENCH_TRADE", "")


class LoadedHost(WebHost):
    def __init__(self, rate, trade=TRADE, env=None):
        self.rate = rate
        super().__init__(CONFIG.format(src=SRC, rate=rate, params=trade), env=env)
        self.pid = self.proc.pid

    def get(self, path):
        st, _, body = self.call("GET", path)
        if st != 200:
            self.fail(f"GET {path}: status {st}: {body}")
        return body

    def raw(self, path):
        """The exact reply body of GET path (bytes), as a client receives it."""
        c = self.connect()
        try:
            c.request("GET", path, headers={"Authorization": "Bearer " + self.token})
            r = c.getresponse()
            return r.read()
        finally:
            c.close()

    def cpu_s(self):
        """CPU seconds (user + system) of the whole process and of its loop thread."""
        def read(p):
            with open(p) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / CLK_TCK
        return read(f"/proc/{self.pid}/stat"), read(f"/proc/{self.pid}/task/{self.pid}/stat")

    def snapshot(self):
        t = time.monotonic()
        health = self.get("/health")
        stats = self.get("/api/stats")
        metrics = self.get("/metrics")
        cpu, loop_cpu = self.cpu_s()
        m = dict(_METRIC.findall(metrics))
        return {
            "t": t,
            "feed_events": health["feed"]["events"],
            "feed_behind": self.rate * health["uptime_s"] - health["feed"]["events"],
            "events": stats["events_total"],
            "http_requests": float(m.get("luatrade_http_requests_total", 0)),
            "lag_buckets": [(float(le), float(n)) for le, n in _LAG_BUCKET.findall(metrics)],
            "lag_sum": float(m.get("luatrade_loop_lag_seconds_sum", 0)),
            "lag_count": float(m.get("luatrade_loop_lag_seconds_count", 0)),
            "cpu": cpu,
            "loop_cpu": loop_cpu,
        }

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def _bucket_quantile(buckets, q):
    """Upper bound (seconds) of the bucket holding the q-quantile of cumulative counts."""
    total = buckets[-1][1] if buckets else 0
    if total <= 0:
        return None
    for le, n in buckets:
        if n >= q * total:
            return le
    return buckets[-1][0]


def rates(a, b):
    """What happened between two snapshots."""
    dt = b["t"] - a["t"]
    lag = [(le, nb - na) for (le, na), (_, nb) in zip(a["lag_buckets"], b["lag_buckets"])]
    lag_n = b["lag_count"] - a["lag_count"]
    return {
        "seconds": dt,
        "feed_events_per_s": (b["feed_events"] - a["feed_events"]) / dt,
        "events_per_s": (b["events"] - a["events"]) / dt,
        "feed_behind_start": a["feed_behind"],
        "feed_behind_end": b["feed_behind"],
        "host_requests_per_s": (b["http_requests"] - a["http_requests"]) / dt,
        "host_cpu_pct": 100 * (b["cpu"] - a["cpu"]) / dt,
        "loop_cpu_pct": 100 * (b["loop_cpu"] - a["loop_cpu"]) / dt,
        "loop_lag_mean_ms": 1e3 * (b["lag_sum"] - a["lag_sum"]) / lag_n if lag_n else None,
        "loop_lag_p50_le_ms": _ms(_bucket_quantile(lag, 0.5)),
        "loop_lag_p99_le_ms": _ms(_bucket_quantile(lag, 0.99)),
    }


def _ms(s):
    return None if s is None else (1e3 * s if s != float("inf") else s)


# BENCH_NODELAY=1: an LD_PRELOAD for the host that sets TCP_NODELAY on every accepted
# socket, to measure what that setting (not in the host yet) changes. Compiled with cc
# into a temporary directory; nodelay_env() gives the host's environment.
NODELAY_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
static int nodelay(int fd)
{
    int one = 1;
    if (fd >= 0) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}
int accept4(int s, struct sockaddr *a, socklen_t *l, int f)
{
    static int (*real)(int, struct sockaddr *, socklen_t *, int);
    if (!real) real = dlsym(RTLD_NEXT, "accept4");
    return nodelay(real(s, a, l, f));
}
int accept(int s, struct sockaddr *a, socklen_t *l)
{
    static int (*real)(int, struct sockaddr *, socklen_t *);
    if (!real) real = dlsym(RTLD_NEXT, "accept");
    return nodelay(real(s, a, l));
}
"""


def nodelay_env(tmpdir):
    if os.environ.get("BENCH_NODELAY") != "1":
        return None
    src, lib = os.path.join(tmpdir, "nodelay.c"), os.path.join(tmpdir, "nodelay.so")
    if not os.path.exists(lib):
        with open(src, "w") as f:
            f.write(NODELAY_C)
        subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", lib, src, "-ldl"], check=True)
    return {"LD_PRELOAD": lib}


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def dump(name, figures):
    """The BENCH line (scalars only) and the JSON line."""
    flat = " ".join(f"{k}={_fmt(v)}" for k, v in figures.items()
                    if isinstance(v, (int, float, str)) or v is None)
    print(f"BENCH {name} {flat}")
    print(json.dumps({"bench": name, **figures}, sort_keys=False))


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)
