"""harness.py: run the real luatrade binary in tests and wait on what it logs.

A Host starts `luatrade run` in a scratch directory with a config written from a
Python string, reads its log lines (stderr) on a thread, and lets a test wait for a
line matching a regular expression with a deadline (never a blind sleep). Log lines
have the shape "time LEVEL module message key=value ..."; Line.kv parses the pairs.

Environment: LUATRADE_BIN (the binary; default build/luatrade), LUATRADE_SRC (the
repository root; default the current directory).
"""
import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time

SRC = os.environ.get("LUATRADE_SRC", os.getcwd())
BIN = os.environ.get("LUATRADE_BIN", os.path.join(SRC, "build", "luatrade"))

_KV = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


class Line(str):
    """One log line; .kv is a dict of its key=value pairs (quotes removed)."""

    @property
    def kv(self):
        out = {}
        for k, v in _KV.findall(self):
            if v.startswith('"'):
                v = bytes(v[1:-1], "utf-8").decode("unicode_escape")
            out[k] = v
        return out


class Host:
    def __init__(self, config, files=None, args=(), env=None, cwd=None, listen=True):
        """config: Lua source of the config; files: {relative path: text} written into the
        scratch dir (cwd of the host); args: extra command-line arguments; listen=False:
        no --listen (it would switch the web server on)."""
        self.dir = cwd or tempfile.mkdtemp(prefix="luatrade-test-")
        if not os.path.lexists(os.path.join(self.dir, "scripts")):
            os.symlink(os.path.join(SRC, "scripts"), os.path.join(self.dir, "scripts"))
        for path, text in (files or {}).items():
            self.write(path, text)
        self.write("config.lua", config)
        self.lines = []
        self._q = queue.Queue()
        # port 0: parallel tests never fight over 8080 (the port is in the
        # "http listening" log line)
        if listen and "--listen" not in args:
            args = ("--listen", "127.0.0.1:0", *args)
        cmd = [BIN, "run", "config.lua", "--var", "var", *args]
        self.proc = subprocess.Popen(cmd, cwd=self.dir, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     env={**os.environ, **(env or {})})
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def path(self, rel):
        return os.path.join(self.dir, rel)

    def write(self, rel, text):
        """Writes a file atomically enough for inotify: one close-after-write."""
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)

    def _read(self):
        for raw in self.proc.stdout:
            line = Line(raw.decode("utf-8", "replace").rstrip("\n"))
            self.lines.append(line)
            self._q.put(line)
        self._q.put(None)

    def wait_for(self, pattern, timeout=30.0):
        """Returns the first not-yet-consumed line matching pattern; fails on timeout or exit."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.fail(f"timed out after {timeout}s waiting for /{pattern}/")
            try:
                line = self._q.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                self.fail(f"host exited (rc={self.proc.wait()}) while waiting for /{pattern}/")
            if rx.search(line):
                return line

    def stop(self, sig=signal.SIGINT, timeout=30.0):
        """Signals the host and returns its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.fail("host did not stop")
        self._reader.join(timeout=5)
        return rc

    def wait_exit(self, timeout=60.0):
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.fail(f"host still running after {timeout}s")
        self._reader.join(timeout=5)
        return rc

    def grep(self, pattern):
        rx = re.compile(pattern)
        return [l for l in self.lines if rx.search(l)]

    def fail(self, msg):
        tail = "\n".join(self.lines[-40:])
        if self.proc.poll() is None:
            self.proc.kill()
        raise AssertionError(f"{msg}\n--- last log lines ---\n{tail}")


def run(args, cwd=None, timeout=60, env=None):
    """Runs the binary to completion; returns (rc, stdout, stderr)."""
    p = subprocess.run([BIN, *args], cwd=cwd or SRC, capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})
    return p.returncode, p.stdout, p.stderr


def main(tests):
    """Runs test functions in order; prints 'N passed, M failed' and exits non-zero on failure."""
    passed = failed = 0
    only = sys.argv[1:]
    for t in tests:
        if only and t.__name__ not in only:
            continue
        t0 = time.monotonic()
        try:
            t()
            passed += 1
            print(f"ok   {t.__name__} ({time.monotonic() - t0:.2f}s)", flush=True)
        except Exception as e:  # noqa: BLE001 - report every failure kind the same way
            failed += 1
            print(f"FAIL {t.__name__}: {e}", flush=True)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


SIM_SYMBOLS = """
    symbols = {
      AAPL = { price = 190, vol = 0.3, tick = 0.01 },
      MSFT = { price = 410, vol = 0.25, tick = 0.01 },
    },"""


def config(strategies, rate=1000, clock="wall", extra=""):
    """A config for tests: the two-symbol sim feed and the given strategies (Lua list body)."""
    return f"""return {{
  clock = "{clock}",
  feed = {{ rate = {rate}, trade_ratio = 0.5, {SIM_SYMBOLS} }},
  strategies = {{ {strategies} }},
  {extra}
}}
"""
