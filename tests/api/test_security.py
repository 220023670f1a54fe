#!/usr/bin/env python3
"""Access control of the HTTP server (DESIGN.md §9, Security), against the real binary:
token required (401), the login link's HttpOnly SameSite=Strict cookie, Host allow-list
(403, DNS rebinding), Origin check (403, cross-site requests and WebSocket upgrades),
body, header and connection limits (413, 431, 503), the per-client rate limit (429) with
the kill switch exempt, the token file (generated 0600, kept across restarts, refused
when others can read it), refusing a non-loopback bind without a configured token, and
the audit log of mutating calls."""
import json
import os
import socket
import stat

from http_harness import SIM_CONFIG, WebHost
from harness import Host, main


def test_token_required():
    with WebHost() as h:
        err = h.error("GET", "/api/portfolio", token=None, status=401, code="unauthorized")
        assert "token" in err["message"], err
        h.error("GET", "/api/portfolio", token="0" * 64, status=401, code="unauthorized")
        h.error("GET", "/metrics", token=None, status=401)
        h.error("GET", "/ws", token=None, status=401)
        # unknown API paths say 401 before 404: nothing is learned without the token
        h.error("GET", "/api/no-such-thing", token=None, status=401)
        h.error("GET", "/api/no-such-thing", status=404, code="not_found")
        st, hd, _ = h.call("GET", "/api/portfolio", token=None)
        assert hd.get("www-authenticate") == "Bearer", hd


def test_login_cookie():
    with WebHost() as h:
        h.error("GET", "/login?token=" + "f" * 64, token=None, status=401)
        h.error("GET", "/login", token=None, status=401)
        st, hd, _ = h.call("GET", "/login?token=" + h.token, token=None)
        assert st == 303 and hd["location"] == "/", (st, hd)
        cookie = hd["set-cookie"]
        for part in ("HttpOnly", "SameSite=Strict", "Path=/"):
            assert part in cookie, cookie
        assert hd.get("referrer-policy") == "no-referrer", hd
        pair = cookie.split(";", 1)[0]
        st, _, _ = h.call("GET", "/api/no-such-thing", token=None, headers={"Cookie": pair})
        assert st == 404, st  # authenticated by the cookie, then not found
        st, _, _ = h.call("GET", "/api/no-such-thing", token=None,
                          headers={"Cookie": "luatrade_token=" + "0" * 64})
        assert st == 401, st


def test_host_allow_list():
    with WebHost(extra='http = { hosts = { "trader.lan" } },') as h:
        for host in ("evil.example", "127.0.0.1.nip.io", "localhost.evil.example"):
            err = h.error("GET", "/api/portfolio", status=403, code="forbidden",
                          headers={"Host": host})
            assert "Host" in err["message"], err
        # open routes are guarded too: DNS rebinding must not even read /health
        h.error("GET", "/health", token=None, status=403, headers={"Host": "evil.example:%d" % h.port})
        for host in ("localhost", "LOCALHOST:%d" % h.port, "127.0.0.1:%d" % h.port, "[::1]:%d" % h.port,
                     "trader.lan"):
            st, _, _ = h.call("GET", "/api/no-such-thing", headers={"Host": host})
            assert st == 404, (host, st)


def test_origin_check():
    with WebHost() as h:
        own = "http://127.0.0.1:%d" % h.port
        for origin in ("http://evil.example", "http://127.0.0.1:1", "null", "https://localhost:1"):
            h.error("POST", "/api/kill", {"flatten": False}, status=403, code="forbidden",
                    headers={"Origin": origin})
        # a cross-site page opening the WebSocket with the user's cookie is refused
        s = socket.create_connection(("127.0.0.1", h.port), timeout=10)
        s.sendall(("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://evil.example\r\n"
                   "Cookie: luatrade_token=%s\r\n\r\n" % (h.port, h.token)).encode())
        status = s.recv(4096).split(b"\r\n", 1)[0]
        s.close()
        assert b" 403 " in status, status
        st, _, _ = h.call("GET", "/api/no-such-thing", headers={"Origin": own})
        assert st == 404, st


def test_limits():
    extra = 'http = { max_body = 4096, max_conns = 2, rate = 0 },'
    with WebHost(extra=extra) as h:
        st, _, _ = h.call("POST", "/api/kill", "x" * 5000)
        assert st == 413, st
        st, _, _ = h.call("GET", "/api/portfolio", headers={"X-Big": "y" * 20000})
        assert st in (400, 431), st
        # two keep-alive connections fill the cap; a third is turned away with 503
        c1, c2, c3 = h.connect(), h.connect(), h.connect()
        for c in (c1, c2):
            st, _, _ = h.call("GET", "/api/no-such-thing", conn=c)
            assert st == 404, st
        # keep-alive: a second request on c1 rides the same socket
        sock = c1.sock
        st, hd, _ = h.call("GET", "/api/no-such-thing", conn=c1)
        assert st == 404 and c1.sock is sock and hd.get("connection") != "close", hd
        err = h.error("GET", "/api/no-such-thing", status=503, conn=c3)
        assert "too many connections" in err["message"], err
        c1.close()
        c3.close()
        # after one closes, a new connection is served again
        for _ in range(50):
            c4 = h.connect()
            st, _, _ = h.call("GET", "/api/no-such-thing", conn=c4)
            c4.close()
            if st == 404:
                break
        assert st == 404, st
        c2.close()


def test_rate_limit_and_kill_exempt():
    with WebHost(extra='http = { rate = 1, burst = 3 },') as h:
        codes = [h.call("GET", "/api/no-such-thing")[0] for _ in range(6)]
        assert codes[:3] == [404] * 3, codes
        assert 429 in codes[3:], codes
        st, hd, b = h.call("GET", "/api/no-such-thing")
        assert st == 429 and hd.get("retry-after") == "1" and b["error"]["code"] == "rate_limited"
        # the kill switch is never rate limited (404 until its route exists is fine too:
        # what matters is that it is not 429)
        for _ in range(5):
            st, _, _ = h.call("POST", "/api/kill", {"flatten": False})
            assert st != 429, st
        # ... but only for a caller with the token: anyone else is limited, and a flood
        # of refused calls does not fill the audit log (429s are not recorded, 401s
        # without their body)
        before = len(open(h.path("var/audit.log")).readlines())
        codes = [h.call("POST", "/api/kill", "x" * 4000, token=None)[0] for _ in range(30)]
        assert codes.count(429) >= 25 and set(codes) <= {401, 429}, codes
        recs = [json.loads(l) for l in open(h.path("var/audit.log")).readlines()[before:]]
        assert len(recs) == codes.count(401), (len(recs), codes)
        assert all(r["status"] == 401 and r["body"] is None for r in recs), recs


def test_token_file():
    h = WebHost()
    path = h.path("var/http.token")
    mode = stat.S_IMODE(os.stat(path).st_mode)
    assert mode == 0o600, oct(mode)
    with open(path) as f:
        tok = f.read().strip()
    assert tok == h.token and len(tok) == 64 and int(tok, 16) >= 0, tok
    h.stop()
    # a restart keeps the token (a bookmarked login link keeps working)
    h2 = WebHost(cwd=h.dir)
    assert h2.token == tok
    h2.stop()
    os.chmod(path, 0o644)
    h3 = Host(SIM_CONFIG % "", cwd=h.dir)
    h3.wait_for(r"readable by others.*chmod 600")
    assert h3.wait_exit() == 2


def test_non_loopback_needs_token():
    h = Host(SIM_CONFIG % "", args=("--listen", "0.0.0.0:0"))
    h.wait_for(r"refusing to listen on 0\.0\.0\.0 \(not loopback\) without a token")
    assert h.wait_exit() == 2
    tok = "a" * 40
    with WebHost(extra='http = { token = "%s" },' % tok, args=("--listen", "0.0.0.0:0")) as h:
        assert h.token == tok
        h.error("GET", "/api/no-such-thing", status=404)


def test_audit_log():
    with WebHost() as h:
        h.call("POST", "/api/kill", {"flatten": False}, headers={"Origin": "http://evil.example"})
        h.call("GET", "/api/no-such-thing")
        with open(h.path("var/audit.log")) as f:
            recs = [json.loads(l) for l in f]
        assert len(recs) == 1, recs  # GETs are not audited
        r = recs[0]
        assert r["what"] == "POST /api/kill" and r["status"] == 403, r
        assert r["who"].startswith("127.0.0.1:") and r["who"].endswith(" bearer"), r
        assert r["body"] == {"flatten": False} and r["code"] == "forbidden", r
        mode = stat.S_IMODE(os.stat(h.path("var/audit.log")).st_mode)
        assert mode == 0o600, oct(mode)


def test_bad_listen_and_port_in_use():
    for addr, msg in (("localhost:8080", "'localhost' is not a numeric IPv4 or IPv6 address"),
                      ("127.0.0.1:80x", "port must be 0..65535"), ("8080", "expected ADDR:PORT")):
        h = Host(SIM_CONFIG % "", args=("--listen", addr))
        h.wait_for(r"listen '%s': %s" % (addr, msg))
        assert h.wait_exit() == 2
    with WebHost() as h:
        other = Host(SIM_CONFIG % "", args=("--listen", "127.0.0.1:%d" % h.port))
        other.wait_for(r"cannot listen on 127\.0\.0\.1:%d" % h.port)
        assert other.wait_exit() == 2


if __name__ == "__main__":
    main([test_token_required, test_login_cookie, test_host_allow_list, test_origin_check,
          test_limits, test_rate_limit_and_kill_exempt, test_token_file,
          test_non_loopback_needs_token, test_audit_log, test_bad_listen_and_port_in_use])
