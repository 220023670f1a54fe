#!/usr/bin/env python3
"""A WebSocket client that sends without reading (a flood of pings, which the host
answers with pongs) must not grow the host's memory: once its queue is full the host
stops reading from it, and drops it after ws.stall."""
import os
import socket
import time

from http_harness import WebHost
from harness import main

CONFIG = """
return {
  feed = { kind = "sim", rate = 100, symbols = { AAPL = { price = 190, tick = 0.01 } } },
  journal = { sync = false },
  ws = { queue = 65536, stall = "1s" },
}
"""


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def masked(opcode, payload):
    mask = os.urandom(4)
    return (bytes([0x80 | opcode, 0x80 | len(payload)]) + mask +
            bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def test_sender_that_never_reads():
    with WebHost(CONFIG) as h:
        s = socket.create_connection(("127.0.0.1", h.port), timeout=10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Authorization: Bearer %s\r\n\r\n" % h.token).encode())
        before = rss_kb(h.proc.pid)
        ping = masked(0x9, b"p" * 125) * 64  # 64 control pings per send
        s.settimeout(0.2)
        sent, deadline = 0, time.monotonic() + 4
        while time.monotonic() < deadline:
            try:
                sent += s.send(ping)
            except socket.timeout:
                continue  # the host stopped reading: our side fills up
            except OSError:
                break  # dropped
        grown_mb = (rss_kb(h.proc.pid) - before) / 1024
        h.wait_for(r"ws slow consumer dropped .*why=queue_full", timeout=15)
        s.close()
        assert grown_mb < 48, "host RSS grew %.0f MB after %d bytes of pings" % (grown_mb, sent)
        assert h.ok("GET", "/health")["status"] in ("ok", "degraded")


if __name__ == "__main__":
    main([test_sender_that_never_reads])
