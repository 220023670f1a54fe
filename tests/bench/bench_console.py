#!/usr/bin/env python3
"""bench_console.py: console round trips per second, one client, against two baselines
measured in the same run.

Phases (BENCH_N requests each, one at a time: send, wait for the reply's terminator):
  echo        the floor: a unix-socket server in this script that answers every line with
              "2\\n\\0ok\\n" (the client, the kernel and the socket, nothing else);
  eval        `1+1` in a session's admin sandbox (compile, run, pretty-print);
  helper      `portfolio().equity`: the chunk yields, the host runs GET /api/portfolio
              in-process (http_call_local), resumes the chunk;
  attached    `state ~= nil` inside the strategy's sandbox (strategy_console_call);
  rest        GET /api/portfolio over HTTP keep-alive with the token (http.client): the
              same route reached the web way.
The host runs a live sim feed at BENCH_RATE (1000) events/s with one trading strategy.
Prints one JSON line per phase: {"phase", "n", "per_s", "p50_us", "p99_us"}, then the
ratios to the echo floor. Bounded: BENCH_N requests per phase, the host stopped with
SIGINT at the end.

Knobs: BENCH_N (20000), BENCH_RATE (1000), LUATRADE_BIN (default build/luatrade).
"""
import http.client
import json
import os
import socket
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lua"))
from harness import Host, SRC, config  # noqa: E402

N = int(os.environ.get("BENCH_N", "20000"))
RATE = int(os.environ.get("BENCH_RATE", "1000"))


class Session:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.buf = b""
        self.reply()

    def reply(self):
        while True:
            i = self.buf.find(b"\0")
            if i >= 0:
                j = self.buf.find(b"\n", i)
                if j >= 0:
                    out, term = self.buf[:i], self.buf[i + 1:j]
                    self.buf = self.buf[j + 1:]
                    return term.split(b" ")[0], out
            self.buf += self.s.recv(65536)

    def line(self, text):
        self.s.sendall(text)
        return self.reply()


def measure(name, fn):
    lat = []
    t0 = time.perf_counter()
    for _ in range(N):
        a = time.perf_counter_ns()
        fn()
        lat.append(time.perf_counter_ns() - a)
    wall = time.perf_counter() - t0
    lat.sort()
    row = {"phase": name, "n": N, "per_s": round(N / wall),
           "p50_us": round(statistics.median(lat) / 1000, 1),
           "p99_us": round(lat[int(len(lat) * 0.99)] / 1000, 1)}
    print(json.dumps(row), flush=True)
    return row


def echo_server(path, ready):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    ready.set()
    c, _ = srv.accept()
    c.sendall(b"hello\n\0ok\n")
    buf = b""
    while True:
        data = c.recv(65536)
        if not data:
            return
        buf += data
        while b"\n" in buf:
            _, buf = buf.split(b"\n", 1)
            c.sendall(b"2\n\0ok\n")


def main():
    strategy = '{ script = "%s/strategies/sma_cross.lua", id = "sma" }' % SRC
    h = Host(config(strategy, rate=RATE, extra="journal = { sync = false }, http = { rate = 0 },"))
    try:
        login = h.wait_for(r"http listening").kv["login"]
        sock = h.path(h.wait_for(r"console listening socket=").kv["socket"])
        port, token = int(login.split(":")[2].split("/")[0]), login.split("token=")[1]
        h.wait_for(r"strategy started")
        rows = {}
        echo_path = h.path("echo.sock")
        ready = threading.Event()
        threading.Thread(target=echo_server, args=(echo_path, ready), daemon=True).start()
        ready.wait()
        e = Session(echo_path)
        rows["echo"] = measure("echo", lambda: e.line(b"1+1\n"))
        s = Session(sock)
        assert s.line(b"1+1\n") == (b"ok", b"2\n")
        rows["eval"] = measure("eval", lambda: s.line(b"1+1\n"))
        assert s.line(b"portfolio().equity\n")[0] == b"ok"
        rows["helper"] = measure("helper", lambda: s.line(b"portfolio().equity\n"))
        a = Session(sock)
        assert a.line(b'attach("sma")\n')[0] == b"ok"
        rows["attached"] = measure("attached", lambda: a.line(b"state ~= nil\n"))
        conn = http.client.HTTPConnection("127.0.0.1", port)
        hdrs = {"Authorization": "Bearer " + token}

        def rest():
            conn.request("GET", "/api/portfolio", headers=hdrs)
            r = conn.getresponse()
            r.read()
            assert r.status == 200

        rows["rest"] = measure("rest", rest)
        floor = rows["echo"]["p50_us"]
        print(json.dumps({"p50_over_echo": {k: round(v["p50_us"] / floor, 2)
                                            for k, v in rows.items()}}))
    finally:
        h.stop()


if __name__ == "__main__":
    main()
