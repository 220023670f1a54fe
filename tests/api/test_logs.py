#!/usr/bin/env python3
"""GET /api/logs, the page's log tail: the start-up lines are there, paging with since
returns only newer lines, level filters, and bad query parameters get 400."""
from http_harness import WebHost
from harness import main


def test_log_tail():
    with WebHost() as h:
        b = h.ok("GET", "/api/logs?limit=1000")
        lines = b["lines"]
        assert any("host ready" in l["line"] for l in lines), lines[:5]
        assert any("http listening" in l["line"] for l in lines)
        ns = [l["n"] for l in lines]
        assert ns == sorted(ns) and len(set(ns)) == len(ns) and b["last"] == ns[-1], ns
        # a login attempt with a wrong token writes a WARN line: it appears after `last`
        h.call("GET", "/login?token=" + "0" * 64, token=None)
        b2 = h.ok("GET", "/api/logs?since=%d" % b["last"])
        assert b2["lines"] and all(l["n"] > b["last"] for l in b2["lines"]), b2
        assert any("login refused" in l["line"] for l in b2["lines"]), b2
        warn = h.ok("GET", "/api/logs?level=warn&limit=1000")["lines"]
        assert warn and all(l["level"] in ("WARN", "ERROR") for l in warn), warn
        assert len(h.ok("GET", "/api/logs?limit=2")["lines"]) == 2
        h.error("GET", "/api/logs?limit=0", status=400, code="bad_request")
        h.error("GET", "/api/logs?since=-1", status=400)
        h.error("GET", "/api/logs?level=loud", status=400)
        h.error("POST", "/api/logs", {}, status=405, code="method_not_allowed")
        h.error("GET", "/api/logs", token=None, status=401)


if __name__ == "__main__":
    main([test_log_tail])
