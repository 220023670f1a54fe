#!/usr/bin/env python3
"""Out of file descriptors (a flood of idle connections): the host pauses accepting for
100 ms at a time instead of spinning on accept() and logging every failure, keeps
serving the connections it has, and takes new ones again once the flood is gone."""
import resource
import socket
import time

from http_harness import WebHost
from harness import main


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0  # utime + stime, in ticks of 10 ms


def test_idle_connection_flood():
    with WebHost(extra="http = { rate = 0 },") as h:
        keep = h.connect()
        assert h.call("GET", "/health", conn=keep)[0] == 200
        resource.prlimit(h.proc.pid, resource.RLIMIT_NOFILE, (128, 128))
        flood = []
        for _ in range(400):  # more than the host has descriptors left
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", h.port))
            flood.append(s)
        h.wait_for(r"accept failed; pausing new connections", timeout=10)
        c0 = cpu_s(h.proc.pid)
        t0 = time.monotonic()
        # the connection it already had is still served meanwhile
        for _ in range(20):
            assert h.call("GET", "/health", conn=keep)[0] == 200
        while time.monotonic() - t0 < 1.5:
            time.sleep(0.05)  # a measuring window, not a wait for an event
        busy = (cpu_s(h.proc.pid) - c0) / (time.monotonic() - t0)
        fails = len(h.grep(r"accept failed|Error from accept"))
        assert busy < 0.5, "the loop spins: %.0f%% of a core" % (busy * 100)
        assert fails <= 5, "%d accept failure lines" % fails
        for s in flood:
            s.close()
        # new connections are taken again
        deadline = time.monotonic() + 10
        while True:
            try:
                if h.call("GET", "/health")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "no new connection accepted"
        keep.close()


if __name__ == "__main__":
    main([test_idle_connection_flood])
