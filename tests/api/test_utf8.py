#!/usr/bin/env python3
"""Bytes a script puts in an alert or a signal that are not UTF-8 leave the host as
U+FFFD: REST replies and WebSocket text frames stay valid UTF-8 (a WebSocket client
must drop a connection on invalid UTF-8, and the page would loop reconnecting)."""
import json
import os
import socket

from http_harness import WebHost
from harness import main

CONFIG = """
return {
  feed = { kind = "sim", rate = 50, symbols = { AAPL = { price = 190, tick = 0.01 } } },
  journal = { sync = false },
  strategies = { { script = "s/bad.lua" } },
}
"""
SCRIPT = r"""strategy { name = "bad", symbols = { "AAPL" } }
function on_start()
  alert("LOW", "bad \255\254 utf8")
  signal("odd", { note = "x\192y" })
  log.info("sent the bad bytes")
end
"""


def ws_frames(h, want):
    """Subscribes to ALERT and SIGNAL_GENERATED from seq 0 and returns the payloads of
    the first `want` text frames that carry events."""
    s = socket.create_connection(("127.0.0.1", h.port), timeout=10)
    s.sendall(("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               "Authorization: Bearer %s\r\n\r\n" % h.token).encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(4096)
    head, data = data.split(b"\r\n\r\n", 1)
    assert b" 101 " in head.split(b"\r\n")[0], head
    msg = json.dumps({"op": "subscribe", "types": ["ALERT", "SIGNAL_GENERATED"],
                      "since": 0}).encode()
    mask = os.urandom(4)
    s.sendall(bytes([0x81, 0x80 | len(msg)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(msg)))
    buf = bytearray(data)

    def need(k):
        while len(buf) < k:
            chunk = s.recv(65536)
            assert chunk, "host closed the WebSocket"
            buf.extend(chunk)

    out = []
    while len(out) < want:
        need(2)
        n, hdr = buf[1] & 0x7F, 2
        if n == 126:
            need(4)
            n, hdr = int.from_bytes(buf[2:4], "big"), 4
        elif n == 127:
            need(10)
            n, hdr = int.from_bytes(buf[2:10], "big"), 10
        need(hdr + n)
        op, payload = buf[0] & 0x0F, bytes(buf[hdr:hdr + n])
        del buf[:hdr + n]
        assert op != 8, ("closed", payload)
        if op == 1 and b'"seq"' in payload:
            out.append(payload)
    s.close()
    return out


def test_script_bytes_become_replacement_characters():
    with WebHost(CONFIG, files={"s/bad.lua": SCRIPT}) as h:
        h.wait_for("sent the bad bytes")
        for path in ("/api/alerts", "/api/events?since=0&types=ALERT,SIGNAL_GENERATED",
                     "/api/signals"):
            c = h.connect()
            c.request("GET", path, headers={"Authorization": "Bearer " + h.token})
            raw = c.getresponse().read()
            c.close()
            text = raw.decode("utf-8")  # strict: raises on invalid UTF-8
            assert "\ufffd" in text, (path, text[:300])
            json.loads(text)
        frames = ws_frames(h, 2)
        texts = [f.decode("utf-8") for f in frames]  # strict
        assert any("bad \ufffd\ufffd utf8" in t for t in texts), texts
        assert any("x\ufffdy" in t for t in texts), texts


if __name__ == "__main__":
    main([test_script_bytes_become_replacement_characters])
