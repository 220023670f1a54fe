"""console_harness.py: what the console tests share: a host with the console socket up
(ConsoleHost, a harness.Host), the interactive client on a real pty (Console, a
pty_driver.Pty that knows the prompts), and one-shot client runs (run_console).

    with ConsoleHost() as h:
        with Console(h) as c:          # `luatrade console` in the host's directory
            c.prompt()                  # waits for "luatrade> "
            assert c.eval("1+1") == "2"

Prompts: "luatrade> ", "luatrade:ID> " while attached, ">> " for a continued chunk.
Console.eval types a line, presses Enter and returns what was printed between the line
and the next prompt (escapes stripped, "\\r" removed), so a missing or extra output
line shows as a plain string difference.
"""
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lua"))
sys.path.insert(0, HERE)
from harness import BIN, SRC, Host, config  # noqa: E402,F401
from pty_driver import Pty  # noqa: E402

STRATEGY = '{ script = "%s/strategies/sma_cross.lua", id = "sma", symbols = {"AAPL"} }' % SRC
PROMPT = r"(?:luatrade(?::[\w.-]+)?> |>> )"


class ConsoleHost(Host):
    """The real host with the sim feed, strategy `sma` on AAPL, and the console socket;
    the constructor returns once the host is ready. .sock is the socket's path."""

    def __init__(self, strategies=STRATEGY, extra="", cwd=None, rate=500, wait_started=True,
                 listen=True):
        """listen=False: no --listen, so the web server stays off when the config says so."""
        super().__init__(config(strategies, rate=rate, extra="journal = { sync = false }, " + extra),
                         cwd=cwd, listen=listen)
        self.sock = self.path(self.wait_for(r"console listening socket=").kv["socket"])
        self.wait_for(r"host ready")
        if wait_started and strategies:
            self.wait_for(r"strategy started")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        rc = self.stop()
        if exc[0] is None and rc != 0:  # under ASan a leak makes it non-zero
            self.fail(f"host exited with {rc}")


class Console(Pty):
    """`luatrade console ARGS` on a pty in the host's directory (so the default socket
    var/luatrade.sock is the host's), with its own history file unless given."""

    def __init__(self, host=None, args=(), history=None, env=None, cwd=None, user=None,
                 binary=BIN):
        """history: the history file (default: a new one in a scratch directory); False:
        LUATRADE_HISTORY unset. binary: the client to run (another user may need a copy
        outside a private checkout)."""
        if history is None:
            history = os.path.join(tempfile.mkdtemp(prefix="luatrade-hist-"), "history")
        self.history = history
        self.last_prompt = None
        e = {"LUATRADE_HISTORY": history or None, **(env or {})}
        super().__init__([binary, "console", *args], env=e, user=user,
                         cwd=cwd or (host.dir if host else None))

    def prompt(self, which=PROMPT, timeout=10.0):
        """Waits for a prompt and for the line editor to take the terminal (so typed text
        is not echoed twice); returns the text printed before it (since the last match)."""
        start = self.pos
        m = self.expect(which, timeout)
        self.last_prompt = m.group(0)
        self.wait_mode(canonical=False, timeout=timeout)
        return self.text[start:m.start()]

    def eval(self, line, prompt=PROMPT, timeout=10.0):
        """Types line + Enter at a prompt; returns the output before the next prompt,
        without the echoed line and the final newline (.last_prompt is that prompt)."""
        self.sendline(line)
        self.expect(re.escape(line) + r"\n", timeout)
        out = self.prompt(prompt, timeout)
        return out[:-1] if out.endswith("\n") else out

    def check(self, line, want):
        """eval(line) must print exactly want."""
        got = self.eval(line)
        assert got == want, f"{line!r} printed {got!r}, expected {want!r}"

    def quit(self):
        """Ctrl-D at an empty prompt: the client exits; returns its exit code."""
        self.key("ctrl-d")
        return self.wait()


def run_console(args, cwd, input=None, timeout=30, env=None, user=None):
    """Runs the client without a terminal; returns (rc, stdout, stderr) as text."""
    cmd = [BIN, "console", *args]
    if user:
        cmd = ["runuser", "-u", user, "--", *cmd]
    p = subprocess.run(cmd, cwd=cwd, input=input, capture_output=True, text=True,
                       timeout=timeout, env={**os.environ, **(env or {})},
                       stdin=None if input is not None else subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr
