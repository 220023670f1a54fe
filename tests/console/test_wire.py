"""test_wire.py: the console's server side over its real unix socket, without the
interactive client: the wire protocol (docs/console.md), who may connect, the socket
file's life, limits, the audit log, and helpers that work with the web server off.

Each test starts the real binary (harness.Host) and speaks to var/luatrade.sock with a
plain socket (Wire below) or socat.
"""
import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from console_harness import STRATEGY, ConsoleHost, Host, config  # noqa: E402
from harness import main  # noqa: E402

class Wire:
    """One session: send a request, read its reply up to the terminator."""

    def __init__(self, path, timeout=10):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""
        self.greeting = self.reply()

    def reply(self):
        """(status, context, output text) of the next reply."""
        while True:
            i = self.buf.find(b"\0")
            j = self.buf.find(b"\n", i) if i >= 0 else -1
            if j >= 0:
                out, term = self.buf[:i], self.buf[i + 1:j].decode()
                self.buf = self.buf[j + 1:]
                status, _, ctx = term.partition(" ")
                return status, ctx, out.decode("utf-8", "replace")
            chunk = self.s.recv(65536)
            if not chunk:
                raise AssertionError(f"session closed; unread: {self.buf[-300:]!r}")
            self.buf += chunk

    def line(self, text):
        self.s.sendall(text.encode() + b"\n")
        return self.reply()

    def eval(self, code):
        data = code.encode()
        self.s.sendall(b"\0eval %d\n" % len(data) + data)
        return self.reply()

    def ok(self, code):
        st, _, out = self.eval(code)
        assert st == "ok", f"{code!r}: {st}: {out}"
        return out.rstrip("\n")

    def close(self):
        self.s.close()


def test_socat_request_response():
    with ConsoleHost() as h:
        p = subprocess.run(["socat", "-", "UNIX-CONNECT:" + h.sock], input=b"1+1\nx = 5\nx\n",
                           capture_output=True, timeout=20)
        parts = p.stdout.split(b"\0")
        assert parts[0].startswith(b"luatrade "), p.stdout
        assert [x.split(b"\n", 1)[0] for x in parts[1:]] == [b"ok"] * 4, p.stdout
        # the greeting's terminator, then 1+1's output and terminator, ...
        assert parts[1].split(b"\n", 1)[1] == b"2\n", p.stdout
        assert parts[3].split(b"\n", 1)[1] == b"5\n", p.stdout


def test_protocol():
    with ConsoleHost() as h:
        w = Wire(h.sock)
        assert w.greeting[0] == "ok" and "help()" in w.greeting[2]
        # expressions and statements; several results; strings raw at the top level
        assert w.line("1+1") == ("ok", "", "2\n")
        assert w.line("x = 5")[0] == "ok" and w.line("x")[2] == "5\n"
        assert w.line("1, 'a', {2}")[2] == '1\ta\t{2}\n'
        # multi-line: "more" until complete; reset drops a pending chunk
        assert w.line("function f(a)")[0] == "more"
        assert w.line("  return a * 2")[0] == "more"
        assert w.line("end")[0] == "ok"
        assert w.line("f(21)")[2] == "42\n"
        assert w.line("if true then")[0] == "more"
        assert w.line("\0reset")[0] == "ok"
        assert w.line("3")[2] == "3\n"
        # one whole chunk with \0eval, incomplete is an error there
        assert w.eval("local t = {}\nfor i = 1, 3 do t[i] = i * i end\nreturn t")[2] == "{1, 4, 9}\n"
        st, _, out = w.eval("function g(")
        assert st == "error" and "console:1:" in out and "<eof>" in out, out
        # errors carry the location; a helper's names the calling line
        st, _, out = w.line("nosuch()")
        assert st == "error" and out.startswith("console:1: ") and "nosuch" in out, out
        st, _, out = w.eval("\n\nstrategy('nope')")
        assert st == "error" and out.startswith("console:3: not_found"), out
        # a NUL in output is escaped: it can never forge a terminator
        assert w.line('print("a\\0b")')[2] == "a\\0b\n"
        assert w.line('"c\\0d"')[2] == "c\\0d\n"
        # completion
        assert w.line("\0complete portf") == ("ok", "", "portfolio\n")
        assert "string.format\n" in w.line("\0complete string.fo")[2]
        assert w.line("\0complete ret")[2] == "return\n"
        assert w.line("\0unknown")[0] == "error"
        # bad tail() filters are refused before any stream starts
        for code, want in (('tail("NOPE")', 'unknown event type "NOPE"'),
                           ('tail("")', "no event type named"),
                           ('tail{symbols = "ZZZ"}', 'unknown symbol "ZZZ"')):
            st, _, out = w.line(code)
            assert st == "error" and want in out, (code, out)
        # api_call takes the methods REST has, and nothing else
        assert w.ok("api_call('GET', '/api/portfolio').kill") == "false"
        st, _, out = w.line("api_call('BREW', '/api/portfolio')")
        assert st == "error" and "expected a method" in out, out
        # a stray stop (it raced a stream's end) gets no reply: the next one is 1+1's
        w.s.sendall(b"\0stop\n")
        assert w.line("1+1") == ("ok", "", "2\n")
        w.close()


def test_attach_budget_and_audit():
    with ConsoleHost() as h:
        w = Wire(h.sock)
        st, ctx, out = w.line('attach("sma")')
        assert st == "ok" and ctx == "sma" and "attached to sma" in out, (st, ctx, out)
        assert w.line("type(state)")[2] == "table\n"
        assert "fast = " in w.line("params")[2]
        assert w.line("print('hi from inside')") == ("ok", "sma", "hi from inside\n")
        t0 = time.monotonic()
        st, ctx, out = w.line("while true do end")
        assert st == "error" and ctx == "sma" and "CPU budget of 10 ms" in out, out
        assert time.monotonic() - t0 < 2
        assert w.line("x_from_console = 7")[0] == "ok"
        assert w.line("detach()") == ("ok", "", "detached from sma\n")
        # the strategy runs on, unfaulted; what we set is there
        assert w.ok("strategy('sma').status") == "RUNNING"
        assert w.ok("strategy('sma').errors") == "0"
        w.line('attach("sma")')
        assert w.line("x_from_console") == ("ok", "sma", "7\n")
        w.close()
        audit = open(h.path("var/audit.log")).read().splitlines()
        evals = [l for l in audit if '"what":"EVAL sma"' in l]
        assert any('"code":"x_from_console = 7"' in l and '"status":200' in l for l in evals), evals
        assert any('"code":"while true do end"' in l and '"code":"cpu"' in l for l in evals), evals
        assert all('"who":"console uid=%d pid=' % os.geteuid() in l for l in evals)


def test_helpers_are_rest_calls():
    with ConsoleHost(extra="risk = { max_order_qty = 5 },") as h:
        w = Wire(h.sock)
        assert w.ok("reload('sma').version") == "2"
        assert w.ok("buy('AAPL', 2).status") in ("FILLED", "ACCEPTED", "PENDING_NEW")
        st, _, out = w.line("buy('AAPL', 50)")
        assert st == "error" and "risk_denied" in out and "MAX_ORDER_QTY" in out, out
        assert w.ok("kill().kill") == "true"
        assert w.ok("portfolio().kill") == "true"
        assert w.ok("rearm().kill") == "false"
        assert w.ok("set_limit('max_order_qty', 7) ~= nil") == "true"
        w.close()
        audit = open(h.path("var/audit.log")).read()
        for what in ("POST /api/strategies/sma/reload", "POST /api/orders", "POST /api/kill",
                     "DELETE /api/kill", "PUT /api/limits"):
            assert re.search(r'"who":"console uid=\d+ pid=\d+","what":"%s"' % re.escape(what),
                             audit), what
        assert '"code":"risk_denied"' in audit


def test_helpers_without_web_server():
    with ConsoleHost(extra="http = { enabled = false },", listen=False) as h:
        assert not h.grep(r"http listening")
        w = Wire(h.sock)
        assert w.ok("strategies()[1].id") == "sma"
        assert w.ok("quote('AAPL').symbol") == "AAPL"
        w.close()


def test_runaway_admin_chunks_stopped():
    with ConsoleHost(extra="console = { budget = '200ms' },") as h:
        w = Wire(h.sock)
        for code in ("while true do end", "while true do portfolio() end"):
            t0 = time.monotonic()
            st, _, out = w.line(code)
            assert st == "error" and "budget" in out, (code, out)
            assert time.monotonic() - t0 < 3, code
        assert w.line("1+1")[2] == "2\n"  # the session and the host go on
        w.close()


def test_tail_streams_until_stopped():
    with ConsoleHost() as h:
        a, b = Wire(h.sock), Wire(h.sock)
        a.s.sendall(b'tail("STRATEGY_RELOAD")\n')
        got = b""
        while b"tail: " not in got:
            got += a.s.recv(65536)
        assert b"\0" not in got  # no terminator: it is a stream
        assert b.ok("reload('sma').version") == "2"
        while not (b'"type":"STRATEGY_RELOAD"' in got and b"reloaded" in got):
            got += a.s.recv(65536)
        a.s.sendall(b"\0stop\n")
        a.buf = got.split(b"\n", 1)[1]
        while True:
            st, _, out = a.reply()
            if st:
                break
        assert st == "ok" and "tail stopped" in out, out
        assert a.line("1+1")[2] == "2\n"
        a.close()
        b.close()


def test_other_uid_refused():
    """The socket is 0600; one made readable by mistake still refuses another uid."""
    with ConsoleHost() as h:
        os.chmod(h.dir, 0o755)
        os.chmod(h.path("var"), 0o755)
        nobody = dict(user="nobody") if os.geteuid() == 0 else None
        assert nobody, "this test runs as root (CI does) to act as another user"
        run = ["runuser", "-u", "nobody", "--", "socat", "-", "UNIX-CONNECT:" + h.sock]
        p = subprocess.run(run, input=b"", capture_output=True, timeout=20)
        assert b"Permission denied" in p.stderr, p
        os.chmod(h.sock, 0o666)
        # (nothing sent: the refusal comes at connect, and a write could race the close)
        p = subprocess.run(run, input=b"", capture_output=True, timeout=20)
        assert p.stdout.startswith(b"console: permission denied: uid 65534 is not the host's user"), p
        assert p.stdout.endswith(b"\0error\n"), p
        h.wait_for(r"console refused a peer of another user uid=65534")


def test_stale_socket_replaced_live_one_kept():
    h = ConsoleHost()
    sock = h.sock
    h.proc.send_signal(signal.SIGKILL)
    h.wait_exit()
    assert os.path.exists(sock)  # a crash leaves the file behind
    h2 = ConsoleHost(cwd=h.dir)
    try:
        h2.grep(r"console replaced a stale socket") or h2.fail("no 'replaced' line")
        assert Wire(sock).line("1+1")[2] == "2\n"
        # a live host's socket is not taken over: a second host on it fails to start
        other = ConsoleHost.__new__(ConsoleHost)
        Host.__init__(other, config(STRATEGY, extra='console = { socket = "%s" },' % sock))
        rc = other.wait_exit()
        assert rc == 2, rc  # like any other reason the host cannot start
        assert other.grep(r"a host is already listening on")
        assert Wire(sock).line("2+2")[2] == "4\n"
    finally:
        assert h2.stop() == 0
    # and a file that is not a socket is never removed
    open(sock, "w").write("precious")
    bad = ConsoleHost.__new__(ConsoleHost)
    Host.__init__(bad, config(STRATEGY), cwd=h.dir)
    assert bad.wait_exit() == 2 and bad.grep(r"is not a socket")
    assert open(sock).read() == "precious"


def test_limits():
    with ConsoleHost(extra="console = { max_sessions = 2 },") as h:
        a, b = Wire(h.sock), Wire(h.sock)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(h.sock)
        data = b""
        while not data.endswith(b"\0error\n"):
            chunk = s.recv(4096)
            assert chunk, data
            data += chunk
        assert b"too many console sessions (max 2)" in data
        s.close()
        # a line past 1 MiB: an error, then the host closes that session only
        a.s.sendall(b"x" * (1 << 20) + b"yy")
        st, _, out = a.reply()
        assert st == "error" and "limited to" in out
        assert a.s.recv(10) == b""
        assert b.line("1")[2] == "1\n"
        b.close()


def rss_kb(pid):
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS:"):
            return int(l.split()[1])


def test_client_that_never_reads():
    """A client that asks for big replies and never reads stops being read; host memory
    stays bounded and other sessions are served."""
    with ConsoleHost() as h:
        w = Wire(h.sock)
        w.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        before = rss_kb(h.proc.pid)
        code = b"return string.rep('x', 1000000)"
        req = b"\0eval %d\n" % len(code) + code
        w.s.settimeout(0.5)
        sent = 0
        try:
            while sent < 2000:  # 2 GB of replies asked for
                w.s.sendall(req)
                sent += 1
        except socket.timeout:
            pass
        other = Wire(h.sock)
        assert other.line("1+1")[2] == "2\n"
        grown = rss_kb(h.proc.pid) - before
        assert grown < 64 * 1024, f"host grew by {grown} kB with {sent} requests sent"
        other.close()
        w.close()


SPIN = """
strategy { name = "spin", symbols = { "AAPL" }, params = { qty = 1 } }
function on_start() state.spin = false end
function on_order(o) if state.spin then while true do end end end
"""


def test_strategy_faulted_by_its_callback_during_a_chunk():
    """The chunk's order reaches the strategy's own on_order, which runs away: the
    strategy faults while the console still holds its sandbox."""
    h = ConsoleHost.__new__(ConsoleHost)
    Host.__init__(h, config('{ script = "spin.lua", id = "spin" }',
                            extra="journal = { sync = false },"), files={"spin.lua": SPIN})
    try:
        h.sock = h.path(h.wait_for(r"console listening socket=").kv["socket"])
        h.wait_for(r"strategy started id=spin")
        w = Wire(h.sock)
        assert w.line('attach("spin")')[1] == "spin"
        st, ctx, out = w.line('state.spin = true; return buy("AAPL", 1)')
        assert st == "error" and ctx == "" and "spin stopped during the chunk (FAULTED)" in out, out
        assert w.line("1+1") == ("ok", "", "2\n")  # the host and the session go on
        assert w.ok("strategy('spin').status") == "FAULTED"
        w.close()
    finally:
        assert h.stop() == 0


def test_output_bounds():
    with ConsoleHost() as h:
        w = Wire(h.sock)
        # a NUL printed inside a strategy is escaped like any other output
        w.line('attach("sma")')
        assert w.line('print("a\\0ok")') == ("ok", "sma", "a\\0ok\n")
        assert w.line("1+1") == ("ok", "sma", "2\n")
        w.line("detach()")
        # a chunk printing in a loop keeps 8 MiB and says what it dropped
        before = rss_kb(h.proc.pid)
        st, _, out = w.line("s = string.rep('x', 100000) for i = 1, 1e9 do print(s) end")
        assert st == "error" and "budget" in out and "bytes of output dropped" in out, out[-300:]
        assert len(out) < 9 << 20, len(out)
        grown = rss_kb(h.proc.pid) - before  # gigabytes before the cap; ASan's quarantine adds some
        assert grown < 256 * 1024, f"host grew by {grown} kB"
        # a half-closed client (socat at the end of its input) gets its whole reply
        p = subprocess.run(["socat", "-t", "10", "-", "UNIX-CONNECT:" + h.sock],
                           input=b"for i = 1, 3 do print(string.rep('y', 1000000)) end\n",
                           capture_output=True, timeout=30)
        assert p.stdout.count(b"y") == 3000000 and p.stdout.endswith(b"\0ok\n"), len(p.stdout)
        w.close()


def test_tail_skips_ahead_for_a_slow_reader():
    """A tail() client that does not read: the host skips ahead instead of queueing, and
    says what it skipped once the client reads again."""
    with ConsoleHost(rate=20000) as h:
        slow, probe = Wire(h.sock), Wire(h.sock)
        slow.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.s.sendall(b'tail("all")\n')
        start = int(probe.ok("events(1)[1].seq"))
        while int(probe.ok("events(1)[1].seq")) < start + 60000:  # about 3 s of feed
            pass
        got = b""
        while b"did not keep up: skipped" not in got:
            chunk = slow.s.recv(1 << 20)
            assert chunk, got[-300:]
            got += chunk
        assert re.search(rb"skipped \d+ log lines and the events up to seq \d+", got)
        slow.close()
        probe.close()

if __name__ == "__main__":
    main([test_socat_request_response, test_protocol, test_attach_budget_and_audit,
          test_helpers_are_rest_calls, test_helpers_without_web_server,
          test_runaway_admin_chunks_stopped, test_tail_streams_until_stopped,
          test_other_uid_refused, test_stale_socket_replaced_live_one_kept, test_limits,
          test_client_that_never_reads, test_strategy_faulted_by_its_callback_during_a_chunk,
          test_output_bounds, test_tail_skips_ahead_for_a_slow_reader])
