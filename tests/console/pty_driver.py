"""pty_driver.py: run a program on a real pseudo-terminal in tests (Python 3 standard
library only: pty, os, select, termios).

A Pty starts a command as the session leader of a new pty (its controlling terminal, so
Ctrl-C typed on it sends SIGINT like on a real terminal), lets a test type text and keys,
and waits for output matching a regular expression with a deadline (never a blind
sleep). Output is kept three ways:
  raw         the bytes as the program wrote them;
  text        decoded UTF-8 with terminal control removed: escape sequences (CSI, OSC,
              two-byte ESC), "\\r", backspace and BEL dropped; "\\n" and tabs kept.
              expect() searches this, from where the previous expect() stopped;
  screen()    the lines as a terminal would show them (a small emulator: overwrite,
              insert mode, cursor moves, erase), for checking what an edited line
              became ("luatrade> 20+3" after typing "2+3", Left, Left, "0").

    with Pty([BIN, "console"], cwd=d, env={"LUATRADE_HISTORY": h}) as p:
        p.expect(r"luatrade> ")
        p.sendline("1+1")
        p.expect(r"\\n2\\n")
        p.key("ctrl-d")
        assert p.wait() == 0
"""
import codecs
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import termios
import time

KEYS = {
    "enter": "\r",
    "tab": "\t",
    "backspace": "\x7f",
    "ctrl-a": "\x01",
    "ctrl-c": "\x03",
    "ctrl-d": "\x04",
    "ctrl-e": "\x05",
    "ctrl-k": "\x0b",
    "ctrl-l": "\x0c",
    "ctrl-r": "\x12",
    "ctrl-u": "\x15",
    "ctrl-w": "\x17",
    "escape": "\x1b",
}
# Cursor keys: "\x1b[A" normally, "\x1bOA" once the program switched the terminal to
# application cursor mode ("\x1b[?1h", libedit does with TERM=xterm).
ARROWS = {"up": "A", "down": "B", "right": "C", "left": "D", "home": "H", "end": "F"}
DELETE = "\x1b[3~"


class PtyError(AssertionError):
    pass


class Screen:
    """A minimal terminal: enough of VT100/xterm output handling for line editors."""

    def __init__(self, rows, cols):
        self.rows, self.cols = rows, cols
        self.lines = [[]]
        self.row = self.col = 0
        self.insert = False

    def _line(self):
        while len(self.lines) <= self.row:
            self.lines.append([])
        return self.lines[self.row]

    def put(self, ch):
        line = self._line()
        while len(line) < self.col:
            line.append(" ")
        if self.insert:
            line.insert(self.col, ch)
        elif self.col < len(line):
            line[self.col] = ch
        else:
            line.append(ch)
        self.col += 1
        if self.col >= self.cols:  # auto-margin: wrap
            self.row += 1
            self.col = 0

    def control(self, ch):
        if ch == "\r":
            self.col = 0
        elif ch == "\n":
            self.row += 1
            self._line()
        elif ch == "\b":
            self.col = max(0, self.col - 1)
        elif ch == "\t":
            self.col = (self.col // 8 + 1) * 8

    def csi(self, params, final):
        private = params.startswith("?")
        nums = [int(x) if x.isdigit() else 0 for x in params.lstrip("?").split(";")]
        n = nums[0] or 1
        line = self._line()
        if private:
            return
        if final == "A":
            self.row = max(0, self.row - n)
        elif final == "B":
            self.row += n
        elif final == "C":
            self.col += n
        elif final == "D":
            self.col = max(0, self.col - n)
        elif final == "G":
            self.col = n - 1
        elif final in "Hf":
            top = max(0, len(self.lines) - self.rows)
            self.row = top + n - 1
            self.col = (nums[1] if len(nums) > 1 and nums[1] else 1) - 1
        elif final == "K":
            mode = nums[0]
            if mode == 0:
                del line[self.col:]
            elif mode == 1:
                line[: self.col] = [" "] * min(self.col, len(line))
            else:
                line.clear()
        elif final == "J":
            del line[self.col:]
            del self.lines[self.row + 1:]
        elif final == "P":
            del line[self.col: self.col + n]
        elif final == "@":
            line[self.col: self.col] = [" "] * n
        elif final == "X":
            for i in range(self.col, min(len(line), self.col + n)):
                line[i] = " "
        elif final == "h" and nums[0] == 4:
            self.insert = True
        elif final == "l" and nums[0] == 4:
            self.insert = False

    def text(self):
        return ["".join(l).rstrip() for l in self.lines]


class Pty:
    def __init__(self, argv, env=None, cwd=None, user=None, rows=24, cols=200, term="xterm"):
        """argv: the command; env: added to (and overriding) os.environ (None: removed),
        TERM set to term;
        cwd: its working directory; user: a user name or uid to run it as (the caller
        must be root; groups are that user's primary group only)."""
        self.argv = list(argv)
        self.cols = cols
        self.raw = b""
        self.text = ""
        self.pos = 0
        self.app_cursor = False
        self.rc = None
        self._eof = False
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._esc = ""  # an escape sequence being read
        self._screen = Screen(rows, cols)
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        full_env = {**os.environ, "TERM": term, **(env or {})}
        full_env = {k: v for k, v in full_env.items() if v is not None}
        kw = {}
        if user is not None:
            import pwd

            pw = pwd.getpwnam(user) if isinstance(user, str) else pwd.getpwuid(user)
            kw = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
        try:
            self.proc = subprocess.Popen(
                self.argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=full_env,
                start_new_session=True, preexec_fn=_take_ctty, close_fds=True, **kw)
        finally:
            os.close(slave)
        self.fd = master

    # ---- input ---------------------------------------------------------------------------

    def send(self, data):
        """Types text (str or bytes) exactly as given."""
        if isinstance(data, str):
            data = data.encode()
        while data:
            n = os.write(self.fd, data)
            data = data[n:]

    def sendline(self, text=""):
        self.send(text + "\r")

    def key(self, name, times=1):
        """Presses a named key: enter, tab, backspace, delete, escape, up, down, left,
        right, home, end, ctrl-a/c/d/e/k/l/r/u/w."""
        if name in ARROWS:
            seq = ("\x1bO" if self.app_cursor else "\x1b[") + ARROWS[name]
        elif name == "delete":
            seq = DELETE
        elif name in KEYS:
            seq = KEYS[name]
        else:
            raise ValueError(f"unknown key {name!r}")
        self.send(seq * times)

    # ---- output --------------------------------------------------------------------------

    def _feed(self, data):
        self.raw += data
        for ch in self._decoder.decode(data):
            self._char(ch)

    def _char(self, ch):
        esc = self._esc
        if esc:
            esc += ch
            self._esc = esc
            if len(esc) == 2:
                if ch == "[" or ch == "]" or ch in "()#%":
                    return
                self._esc = ""  # two-byte ESC sequence (ESC =, ESC >, ESC M, ...)
                return
            kind = esc[1]
            if kind == "[":
                if "\x40" <= ch <= "\x7e":
                    self._esc = ""
                    self._on_csi(esc[2:-1], ch)
            elif kind == "]":
                if ch == "\x07" or esc.endswith("\x1b\\"):
                    self._esc = ""
            else:  # charset selection and similar: one more byte
                self._esc = ""
            return
        if ch == "\x1b":
            self._esc = ch
        elif ch == "\n" or ch == "\t":
            self.text += ch
            self._screen.control(ch)
        elif ch in "\r\b":
            self._screen.control(ch)
        elif ch < " " or ch == "\x7f":
            pass  # BEL and other controls
        else:
            self.text += ch
            self._screen.put(ch)

    def _on_csi(self, params, final):
        if params.startswith("?") and final in "hl" and "1" in params[1:].split(";"):
            self.app_cursor = final == "h"
        self._screen.csi(params, final)

    def _read(self, timeout):
        """Reads what is available within timeout; returns False at EOF."""
        if self._eof:
            return False
        r, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
        if not r:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: every slave descriptor closed
            data = b""
        if not data:
            self._eof = True
            return False
        self._feed(data)
        return True

    def expect(self, pattern, timeout=10.0, flags=0):
        """Waits until pattern matches the text after the previous match; returns the
        match and moves past it. Fails with the output's tail on timeout or EOF."""
        rx = re.compile(pattern, flags)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.text, self.pos)
            if m:
                self.pos = m.end()
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                self.fail(f"timed out after {timeout}s waiting for /{pattern}/")
            if not self._read(left):
                m = rx.search(self.text, self.pos)
                if m:
                    self.pos = m.end()
                    return m
                self.fail(f"output ended (exit {self.poll()}) while waiting for /{pattern}/")

    def expect_not(self, pattern, until, timeout=10.0):
        """Waits for until (a pattern) and fails if pattern occurs before it."""
        start = self.pos
        m = self.expect(until, timeout)
        if re.search(pattern, self.text[start:m.start()]):
            self.fail(f"/{pattern}/ appeared before /{until}/")
        return m

    def wait_mode(self, canonical, timeout=5.0):
        """Waits until the terminal is (canonical=True) or is not in canonical mode. A
        line editor switches to non-canonical mode (no kernel echo) some time after
        printing its prompt; text typed before that is echoed twice. The kernel gives
        no notice of a mode change, so this reads output in 1 ms steps until the mode
        is right or the deadline passes."""
        deadline = time.monotonic() + timeout
        while bool(termios.tcgetattr(self.fd)[3] & termios.ICANON) != canonical:
            if time.monotonic() >= deadline:
                self.fail(f"terminal still {'not ' if canonical else ''}canonical after {timeout}s")
            self._read(0.001)

    def drain(self, timeout=0.0):
        """Reads whatever is already available (or arrives within timeout)."""
        deadline = time.monotonic() + timeout
        while self._read(deadline - time.monotonic()):
            if time.monotonic() >= deadline:
                break

    def mark(self):
        """Reads what is already there and moves the expect() position to its end, so
        the next expect() sees only what comes after (e.g. after a key is pressed)."""
        self.drain()
        self.pos = len(self.text)

    def screen(self):
        """The terminal's lines as displayed (trailing blanks removed)."""
        self.drain()
        return self._screen.text()

    def cursor_line(self):
        """The displayed line the cursor is on."""
        lines = self.screen()
        row = self._screen.row
        return lines[row] if row < len(lines) else ""

    def expect_line(self, pattern, timeout=10.0):
        """Waits until the displayed line under the cursor matches pattern (re.search);
        returns it. For what a line editor shows after a key (completion, history)."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            line = self.cursor_line()
            if rx.search(line):
                return line
            left = deadline - time.monotonic()
            if left <= 0:
                self.fail(f"timed out after {timeout}s waiting for the line /{pattern}/; "
                          f"it shows {line!r}")
            if not self._read(left):
                self.fail(f"output ended while waiting for the line /{pattern}/")

    @property
    def output(self):
        """All output so far, escapes stripped (see the module comment)."""
        return self.text

    def since(self, pos):
        return self.text[pos:]

    # ---- process -------------------------------------------------------------------------

    def poll(self):
        if self.rc is None:
            self.rc = self.proc.poll()
        return self.rc

    def wait(self, timeout=10.0):
        """Waits for the program to exit, reading its output to the end; returns the exit
        code (negative: killed by that signal)."""
        deadline = time.monotonic() + timeout
        while self._read(deadline - time.monotonic()):
            if time.monotonic() >= deadline:
                break
        try:
            self.rc = self.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.fail(f"still running after {timeout}s")
        return self.rc

    def close(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def fail(self, msg):
        tail = self.text[-2000:]
        self.close()
        raise PtyError(f"{' '.join(self.argv)}: {msg}\n--- output (escapes stripped) ---\n"
                       f"{tail}\n--- end of output ---")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _take_ctty():
    """In the child, after setsid: make the pty (stdin) the controlling terminal."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
