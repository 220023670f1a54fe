#!/usr/bin/env python3
"""bench_ws.py: WebSocket fan-out from the loaded host to 100 clients subscribed to every
event, with per-client lag, against a bare Node `ws` server in the same run.

Per phase, a host (bench_http_host.py: live clock, the feed at the phase's rate, four
strategies, journal sync = false) and then the baseline (bench_ws_baseline.mjs: the
host's own event frames, captured from /api/events during the host's run, replayed at
the same rate with the host's delivery policy), each read by the same client process
(bench_ws_client.c by default: 100 clients on one epoll thread; BENCH_CLIENT=node uses
bench_ws_client.mjs, the npm `ws` package, which costs about 3 us a frame here and so
cannot read more than about 300,000 frames/s). The clients connect, subscribe to
everything, warm up BENCH_WARMUP s, then measure BENCH_SECONDS s: per client the lag
(receive wall clock - the event's ts) p50/p99 over the run and per quarter, events/s
received against events/s published (seq range), seq gaps, and how it was closed. The
host's counters are read when measuring starts and ends (published events/s, feed
ticks/s, loop thread CPU, loop lag).

Verdict per side: "keeps up" when no client was dropped, each received >= 99 % of what
was published, and no client's lag grew: the last quarter's p50 is not above the first
quarter's by more than both 20 ms and 50 % (a client falling behind by 1 % would gain
about 150 ms between the quarters of a 20 s run; without TCP_NODELAY the host's p50
flips between about 1 and 9 ms within a run, which is not falling behind). Close times are seconds from the
start of measuring (negative: during the warm-up).

Phases (BENCH_PHASES, comma-separated; default "conflated,full,nomd,sweep"):
  conflated  the feed at BENCH_RATE, every event to every client with conflate_ms =
         BENCH_CONFLATE_MS (100): market data as the latest tick per symbol and kind per
         round, every other event in full. Host only (the baseline has no conflation).
         "Keeps up" here: no client closed, no lag growth, seq only increasing, and each
         client received >= 99 % of the non-market events published;
  full   the feed at BENCH_RATE (200000), every event to every client: the issue's goal;
  nomd   the feed at BENCH_RATE, clients subscribed to every type but MARKET_DATA (bars,
         orders, fills, positions, portfolio: what a dashboard without tick charts
         wants), host only;
  sweep  every event at each rate of BENCH_SWEEP (default 2000,5000,10000,20000,40000,
         60000,80000) events/s, host and baseline: the highest rate each side keeps up
         with.
Every process is bounded: the clients and the baseline server stop by themselves, the
host is stopped with SIGINT. Exit 2 when a client process fails.

Knobs: BENCH_RATE, BENCH_CLIENTS (100), BENCH_SECONDS (20), BENCH_WARMUP (5),
BENCH_PHASES, BENCH_SWEEP, BENCH_CONFLATE_MS (100), BENCH_BASELINE=0 (sweep the host
only), BENCH_CLIENT (c|node), LUATRADE_BIN. (The host sets TCP_NODELAY on WebSocket
sockets itself since 2842ff1; BENCH_NODELAY=1, an LD_PRELOAD that set it on every
accepted socket, measured that change before it was made.)
"""
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench_http_host as bh  # noqa: E402

RATE = int(os.environ.get("BENCH_RATE", "200000"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "100"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
WARMUP = float(os.environ.get("BENCH_WARMUP", "5"))
PHASES = os.environ.get("BENCH_PHASES", "conflated,full,nomd,sweep").split(",")
CONFLATE_MS = int(os.environ.get("BENCH_CONFLATE_MS", "100"))
SWEEP = [int(r) for r in os.environ.get(
    "BENCH_SWEEP", "2000,5000,10000,20000,40000,60000,80000").split(",")]
CLIENT = os.environ.get("BENCH_CLIENT", "c")
BASELINE = os.environ.get("BENCH_BASELINE", "1") != "0"
BIN = os.environ["LUATRADE_BIN"]
C_CLIENT = os.path.join(os.path.dirname(BIN), "tests", "bench", "bench_ws_client")
NODELAY_ENV = None
ALL = '{"op":"subscribe","types":[],"symbols":[]}'
CONFLATED = '{"op":"subscribe","types":[],"symbols":[],"conflate_ms":%d}' % CONFLATE_MS
NO_MD = json.dumps({"op": "subscribe", "symbols": [], "types": [
    "BAR", "SIGNAL_GENERATED", "ORDER_SUBMITTED", "ORDER_ACCEPTED", "ORDER_REJECTED",
    "ORDER_FILLED", "ORDER_CANCELED", "ORDER_EXPIRED", "POSITION_UPDATE", "PORTFOLIO_UPDATE",
    "RISK_CHECK", "RISK_ALERT", "ALERT", "STRATEGY_START", "STRATEGY_STOP", "STRATEGY_RELOAD",
    "STRATEGY_ERROR", "KILL_SWITCH", "CUSTOM"]}, separators=(",", ":"))


def start_clients(port, token, subscribe):
    if CLIENT == "node":
        cmd = ["node", os.path.join(HERE, "bench_ws_client.mjs"), f"ws://127.0.0.1:{port}/ws"]
    else:
        cmd = [C_CLIENT, str(port)]
    cmd += [token or "-", str(CLIENTS), str(WARMUP), str(SECONDS), subscribe]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)


def await_measured(p):
    line = p.stdout.readline()
    if line.strip() != "measured":
        p.kill()
        sys.exit(f"bench_ws: client process: {line!r}")


def finish_clients(p):
    out = p.stdout.readline()
    p.wait(timeout=60)
    if p.returncode != 0 or not out.startswith("{"):
        sys.exit(f"bench_ws: client process failed (rc {p.returncode})")
    return json.loads(out)


def await_measuring(p):
    line = p.stdout.readline()
    if line.strip() != "measuring":
        p.kill()
        sys.exit(f"bench_ws: client process: {line!r}")


def summarize(res, published_per_s, contiguous=True, others_per_s=None):
    """Figures over the clients; with contiguous (every event subscribed) seq gaps count.
    With others_per_s (a conflated stream) the non-market events received are held
    against that rate instead, and the seq must only increase."""
    cs = res["clients"]
    dropped = [c for c in cs if c["closed"] and c["closed"]["code"] == 1008]
    closed = [c for c in cs if c["closed"]]
    alive = [c for c in cs if not c["closed"] and c["p50_ms"] is not None]

    def growth(c):
        q = c["quarters"]
        if q[0]["p50_ms"] is None or q[-1]["p50_ms"] is None:
            return None
        return q[-1]["p50_ms"] - q[0]["p50_ms"]

    grows = [c for c in alive if growth(c) is not None and growth(c) > 20.0
             and c["quarters"][-1]["p50_ms"] > 1.5 * c["quarters"][0]["p50_ms"]]
    delivered = [c["events_per_s"] for c in alive]
    med = (lambda v: statistics.median(v) if v else None)
    s = {
        "clients": len(cs),
        "published_per_s": published_per_s,
        "delivered_per_s_median": med(delivered),
        "delivered_per_s_min": min(delivered) if delivered else 0,
        "delivered_frames_per_s": sum(c["events_per_s"] for c in cs),
        "lag_p50_ms_median": med([c["p50_ms"] for c in alive]),
        "lag_p50_ms_max": max((c["p50_ms"] for c in alive), default=None),
        "lag_p99_ms_median": med([c["p99_ms"] for c in alive]),
        "lag_p99_ms_max": max((c["p99_ms"] for c in alive), default=None),
        "lag_q1_p50_ms_median": med([c["quarters"][0]["p50_ms"] for c in alive
                                     if c["quarters"][0]["p50_ms"] is not None]),
        "lag_q4_p50_ms_median": med([c["quarters"][-1]["p50_ms"] for c in alive
                                     if c["quarters"][-1]["p50_ms"] is not None]),
        "lag_q1_p99_ms_median": med([c["quarters"][0]["p99_ms"] for c in alive
                                     if c["quarters"][0]["p99_ms"] is not None]),
        "lag_q4_p99_ms_median": med([c["quarters"][-1]["p99_ms"] for c in alive
                                     if c["quarters"][-1]["p99_ms"] is not None]),
        "lag_growth_ms_max": max((g for g in map(growth, alive) if g is not None), default=None),
        "clients_lag_growing": len(grows),
        "dropped": len(dropped),
        "closed_other": len(closed) - len(dropped),
        "first_drop_s": (min(c["closed"]["atMs"] for c in dropped) / 1e3 if dropped else None),
        "last_drop_s": (max(c["closed"]["atMs"] for c in dropped) / 1e3 if dropped else None),
        "received_before_drop_median": med([c["warm_events"] + c["events"] for c in dropped]),
        "gaps": sum(c["gaps"] for c in alive) if contiguous else 0,
        "seq_not_increasing": sum(c["dup"] for c in alive),
        "client_cpu_pct": res["client_cpu_pct"],
    }
    secs = SECONDS
    s["md_per_s_median"] = med([c.get("md_events", 0) / secs for c in alive])
    s["others_per_s_median"] = med([c.get("other_events", 0) / secs for c in alive])
    s["others_per_s_min"] = min((c.get("other_events", 0) / secs for c in alive), default=0)
    for k in ("md_p50_ms", "md_p99_ms", "other_p50_ms", "other_p99_ms"):
        s[k + "_median"] = med([c[k] for c in alive if c.get(k) is not None])
    if others_per_s is None:
        delivered_ok = published_per_s and s["delivered_per_s_min"] >= 0.99 * published_per_s
    else:
        s["others_published_per_s"] = others_per_s
        delivered_ok = others_per_s and s["others_per_s_min"] >= 0.99 * others_per_s
    ok = (not closed and len(alive) == len(cs) and not grows and delivered_ok and not s["gaps"]
          and not s["seq_not_increasing"])
    s["keeps_up"] = int(bool(ok))
    return s


_EVENTS = re.compile(r'^luatrade_events_total\{type="([A-Z_]+)"\} (\S+)$', re.M)


def others_total(h):
    """Events other than MARKET_DATA published so far (/metrics, one read: the
    difference of /api/stats' and /health's totals, read apart, is off by the feed's
    events in between, tens per second at 200,000/s)."""
    return sum(float(n) for t, n in _EVENTS.findall(h.get("/metrics")) if t != "MARKET_DATA")


def run_host(rate, subscribe, sample_path=None):
    h = bh.LoadedHost(rate, env=NODELAY_ENV)
    try:
        p = start_clients(h.port, h.token, subscribe)
        await_measuring(p)
        a, oa = h.snapshot(), others_total(h)
        await_measured(p)
        b, ob = h.snapshot(), others_total(h)
        res = finish_clients(p)
        if h.proc.poll() is not None:
            sys.exit(f"bench_ws: the host exited ({h.proc.returncode}) while the clients closed")
        if sample_path:
            with open(sample_path, "w") as f:
                for e in h.get("/api/events?limit=1000")["events"]:
                    f.write(json.dumps(e, separators=(",", ":")) + "\n")
        r = bh.rates(a, b)
        drops = len(h.grep(r"slow consumer dropped"))
        # what the clients were sent: every bus event, or every one but the feed's
        others = (ob - oa) / r["seconds"]
        if subscribe == CONFLATED:
            s = summarize(res, r["events_per_s"], contiguous=False, others_per_s=others)
        else:
            published = r["events_per_s"] if subscribe == ALL else others
            s = summarize(res, published, contiguous=subscribe == ALL)
        s.update(feed_ticks_per_s=r["feed_events_per_s"], loop_cpu_pct=r["loop_cpu_pct"],
                 loop_lag_mean_ms=r["loop_lag_mean_ms"], loop_lag_p99_le_ms=r["loop_lag_p99_le_ms"],
                 feed_behind_end=r["feed_behind_end"], host_drop_log_lines=drops)
        return s
    finally:
        h.stop()
        h.cleanup()


def proc_cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / bh.CLK_TCK


def run_baseline(rate, sample_path):
    srv = subprocess.Popen(["node", os.path.join(HERE, "bench_ws_baseline.mjs"), str(rate),
                            str(WARMUP + SECONDS + 30), sample_path],
                           stdout=subprocess.PIPE, text=True)
    try:
        line = srv.stdout.readline()
        if not line.startswith("listening port="):
            sys.exit(f"bench_ws: baseline server did not start ({line!r})")
        port = int(line.split("=")[1])
        p = start_clients(port, None, ALL)
        await_measuring(p)
        c0, t0 = proc_cpu_s(srv.pid), time.monotonic()
        await_measured(p)
        cpu = 100 * (proc_cpu_s(srv.pid) - c0) / (time.monotonic() - t0)
        res = finish_clients(p)
        s = summarize(res, rate)
        s["server_cpu_pct"] = cpu
        return s
    finally:
        srv.terminate()
        srv.wait(timeout=10)


def show(label, s):
    def f(v, fmt="{:.2f}"):
        return "-" if v is None else fmt.format(v)
    print(f"# {label}: published {s['published_per_s']:.0f}/s; per client delivered median "
          f"{f(s['delivered_per_s_median'], '{:.0f}')}/s (min {s['delivered_per_s_min']:.0f}); "
          f"lag p50 {f(s['lag_p50_ms_median'])} ms (max {f(s['lag_p50_ms_max'])}), p99 "
          f"{f(s['lag_p99_ms_median'])} ms (max {f(s['lag_p99_ms_max'])}); q1->q4 p50 "
          f"{f(s['lag_q1_p50_ms_median'])} -> {f(s['lag_q4_p50_ms_median'])} ms (p99 "
          f"{f(s['lag_q1_p99_ms_median'])} -> {f(s['lag_q4_p99_ms_median'])}), growing "
          f"{s['clients_lag_growing']}; dropped {s['dropped']} (first at "
          f"{f(s['first_drop_s'], '{:.1f}')} s, last {f(s['last_drop_s'], '{:.1f}')} s, after "
          f"{f(s['received_before_drop_median'], '{:.0f}')} events), other closes {s['closed_other']}; "
          f"client CPU {s['client_cpu_pct']:.0f} %"
          + (f"; per client {f(s['md_per_s_median'], '{:.0f}')} market ticks/s (lag p50 "
             f"{f(s['md_p50_ms_median'])}, p99 {f(s['md_p99_ms_median'])} ms) and "
             f"{f(s['others_per_s_median'], '{:.0f}')} other events/s of "
             f"{s['others_published_per_s']:.0f} published (lag p50 "
             f"{f(s['other_p50_ms_median'])}, p99 {f(s['other_p99_ms_median'])} ms)"
             if "others_published_per_s" in s else "")
          + (f"; host feed {s['feed_ticks_per_s']:.0f} ticks/s, loop CPU {s['loop_cpu_pct']:.0f} %"
             if "feed_ticks_per_s" in s else f"; server CPU {s['server_cpu_pct']:.0f} %")
          + f" -> {'keeps up' if s['keeps_up'] else 'does NOT keep up'} (load average "
          f"{bh.loadavg()})", flush=True)


def main():
    print(f"# bench_ws: {CLIENTS} clients ({CLIENT} client), warm-up {WARMUP:g} s, measured "
          f"{SECONDS:g} s, 127.0.0.1; phases {','.join(PHASES)}; binary {BIN}"
          + ("; host with TCP_NODELAY (LD_PRELOAD)" if os.environ.get("BENCH_NODELAY") == "1"
             else ""))
    tmp = tempfile.mkdtemp(prefix="bench_ws.")
    global NODELAY_ENV
    NODELAY_ENV = bh.nodelay_env(tmp)
    sample = os.path.join(tmp, "events.jsonl")
    fig = {"clients": CLIENTS, "client": CLIENT, "seconds": SECONDS, "rate": RATE,
           "conflate_ms": CONFLATE_MS, "nodelay": int(os.environ.get("BENCH_NODELAY") == "1")}
    try:
        if "conflated" in PHASES:
            fig["conflated_host"] = run_host(RATE, CONFLATED)
            show(f"conflated {CONFLATE_MS} ms, host, feed {RATE}/s", fig["conflated_host"])
        if "full" in PHASES:
            fig["full_host"] = run_host(RATE, ALL, sample)
            show(f"full, host, feed {RATE}/s", fig["full_host"])
            fig["full_baseline"] = run_baseline(RATE, sample)
            show(f"full, baseline, {RATE}/s", fig["full_baseline"])
        if "nomd" in PHASES:
            fig["nomd_host"] = run_host(RATE, NO_MD)
            show(f"no market data, host, feed {RATE}/s", fig["nomd_host"])
        if "sweep" in PHASES:
            for rate in SWEEP:
                fig[f"sweep_{rate}_host"] = run_host(rate, ALL, sample)
                show(f"sweep, host, feed {rate}/s", fig[f"sweep_{rate}_host"])
                if BASELINE:
                    fig[f"sweep_{rate}_baseline"] = run_baseline(rate, sample)
                    show(f"sweep, baseline, {rate}/s", fig[f"sweep_{rate}_baseline"])
    finally:
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)
    line = {}
    for k, s in fig.items():
        if isinstance(s, dict):
            for m in ("published_per_s", "delivered_per_s_median", "lag_p50_ms_median",
                      "lag_p99_ms_max", "lag_growth_ms_max", "dropped", "keeps_up",
                      "others_per_s_median", "other_p50_ms_median", "other_p99_ms_median"):
                if m in s:
                    line[f"{k}_{m}"] = s[m]
            if "feed_ticks_per_s" in s:
                line[f"{k}_feed_ticks_per_s"] = s["feed_ticks_per_s"]
                line[f"{k}_loop_cpu_pct"] = s["loop_cpu_pct"]
            else:
                line[f"{k}_server_cpu_pct"] = s["server_cpu_pct"]
        else:
            line[k] = s
    sweep_ok = [r for r in SWEEP if fig.get(f"sweep_{r}_host", {}).get("keeps_up")]
    base_ok = [r for r in SWEEP if fig.get(f"sweep_{r}_baseline", {}).get("keeps_up")]
    if "sweep" in PHASES:
        line["host_max_rate_kept_up"] = max(sweep_ok, default=0)
        line["baseline_max_rate_kept_up"] = max(base_ok, default=0)
    print("BENCH ws_fanout " + " ".join(f"{k}={bh._fmt(v)}" for k, v in line.items()))
    print(json.dumps({"bench": "ws_fanout", **fig}))


if __name__ == "__main__":
    main()
