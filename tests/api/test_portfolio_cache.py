#!/usr/bin/env python3
"""GET /api/portfolio reuses its last reply while nothing it shows changed (rest_orders.c):
the reply must still follow every change at once: the kill switch, a fill, the account
asked for. The feed is slow here, so most requests do hit the kept reply."""
import time

from http_harness import WebHost
from harness import main

CONFIG = """
return {
  feed = { kind = "sim", rate = 5, symbols = { AAPL = { price = 190, tick = 0.01 } } },
  journal = { sync = false },
  http = { rate = 0 },  -- the test polls
}
"""


def test_reply_follows_changes():
    with WebHost(CONFIG) as h:
        deadline = time.monotonic() + 30
        while not h.ok("GET", "/api/market-data/AAPL").get("quote"):
            assert time.monotonic() < deadline, "no quote"
        a = h.ok("GET", "/api/portfolio")
        assert a["kill"] is False and a["strategy"] is None and a["fills"] == 0, a
        h.ok("POST", "/api/kill", {"flatten": False})
        k = h.ok("GET", "/api/portfolio")
        assert k["kill"] is True, k
        h.ok("DELETE", "/api/kill")
        assert h.ok("GET", "/api/portfolio")["kill"] is False
        oid = h.ok("POST", "/api/orders", {"symbol": "AAPL", "side": "buy", "qty": 3},
                   status=201)["order"]["id"]
        while True:
            o = [x for x in h.ok("GET", "/api/orders?status=all")["orders"] if x["id"] == oid]
            if o and o[0]["status"] == "FILLED":
                break
            assert time.monotonic() < deadline, o
        # the fill is in the very next reply: cash moved, one fill
        f = h.ok("GET", "/api/portfolio")
        assert f["fills"] == 1 and f["cash"] < a["cash"], (a, f)
        m = h.ok("GET", "/api/portfolio?strategy=manual")
        assert m["strategy"] == "manual" and m["fills"] == 1, m
        t = h.ok("GET", "/api/portfolio")
        assert t["strategy"] is None, t


if __name__ == "__main__":
    main([test_reply_follows_changes])
