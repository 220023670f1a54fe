"""http_harness.py: the host's HTTP side in tests: a WebHost is a harness.Host (the real
binary, log lines awaited with deadlines) that also knows the port and token from its
"http listening url=... login=...?token=..." line and speaks HTTP/1.1 to it with
http.client (a real client over a real socket).

    with WebHost(CONFIG) as h:
        st, hdrs, body = h.call("GET", "/api/portfolio")      # body: parsed JSON or text
        st, _, _ = h.call("GET", "/api/portfolio", token=None) # no credentials
"""
import http.client
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lua"))
from harness import Host  # noqa: E402

SIM_CONFIG = """
return {
  feed = { kind = "sim", rate = 2000, symbols = {
    AAPL = { price = 190, tick = 0.01, vol = 0.002 },
    MSFT = { price = 410, tick = 0.01, vol = 0.002 } } },
  journal = { sync = false },
  %s
}
"""


class WebHost(Host):
    def __init__(self, config=None, files=None, args=(), env=None, cwd=None, extra=""):
        super().__init__(config or SIM_CONFIG % extra, files=files, args=args, env=env, cwd=cwd)
        line = self.wait_for(r"http listening url=")
        kv = line.kv
        self.url = kv["url"]
        self.login = kv["login"]
        self.token = self.login.split("token=", 1)[1]
        self.port = int(self.url.rsplit(":", 1)[1].strip("/"))
        self.wait_for(r"host ready")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def connect(self, timeout=10):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def call(self, method, path, body=None, token="default", headers=None, conn=None):
        """One request. body: dict/list (sent as JSON), str/bytes (sent as is) or None.
        token: "default" uses the host's token, None sends none, anything else is sent.
        Returns (status, headers dict with lowercase names, JSON-decoded body or text)."""
        hdrs = dict(headers or {})
        if token == "default":
            token = self.token
        if token is not None:
            hdrs["Authorization"] = "Bearer " + token
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if body is not None:
            hdrs.setdefault("Content-Type", "application/json")
        own = conn is None
        c = conn or self.connect()
        try:
            c.request(method, path, body=body, headers=hdrs)
            r = c.getresponse()
            raw = r.read()
            rh = {k.lower(): v for k, v in r.getheaders()}
        finally:
            if own:
                c.close()
        text = raw.decode("utf-8", "replace")
        if rh.get("content-type", "").startswith("application/json"):
            return r.status, rh, json.loads(text)
        return r.status, rh, text

    def ok(self, method, path, body=None, status=200):
        """call() that expects a status (default 200) and returns the body."""
        st, _, b = self.call(method, path, body)
        if st != status:
            self.fail(f"{method} {path}: expected {status}, got {st}: {b}")
        return b

    def error(self, method, path, body=None, status=400, code=None, **kw):
        """call() that expects an error reply of this status (and code) in the one
        error shape; returns the error object."""
        st, _, b = self.call(method, path, body, **kw)
        if st != status or not isinstance(b, dict) or "error" not in b:
            self.fail(f"{method} {path}: expected error {status}, got {st}: {b}")
        err = b["error"]
        if code is not None and err.get("code") != code:
            self.fail(f"{method} {path}: expected code {code}, got {err}")
        if not err.get("message"):
            self.fail(f"{method} {path}: error without a message: {err}")
        return err
