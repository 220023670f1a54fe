"""Who may use the console, and the socket file's life (docs/console.md, "The socket and
who may connect"), with the interactive client on a pty:
- another user (`nobody`) is refused: by the file mode with the default 0600 socket (a
  clear "permission denied" from the client, exit 1), and by the host's SO_PEERCRED
  check when the socket was made 0666 (the host's message names the uid, exit 1);
- after the host is killed (SIGKILL) its socket file stays; the client says nothing
  listens there (exit 1); a new host on the same var directory replaces the stale
  socket and the console connects.

Running as another user needs root (CI runs the suite as root); without it the test
fails rather than pass without checking anything."""
import os
import shutil
import signal
import stat
import tempfile

from console_harness import BIN, Console, ConsoleHost
from harness import main

PLAIN = dict(strategies="", wait_started=False)


def open_dirs_to_others(h):
    """mkdtemp directories are 0700 and var/ is 0700: let `nobody` reach the socket so
    that only the socket's own mode and the host's check stand in the way."""
    os.chmod(h.dir, 0o755)
    os.chmod(h.path("var"), 0o755)


def nobody_console(h):
    """The client as `nobody`, run from a copy in a directory it may enter: the checkout
    (a CI clone in a 0700 temporary directory, say) need not be."""
    assert os.geteuid() == 0, "this test runs as root (CI does) to act as another user"
    hist = tempfile.mkdtemp(prefix="luatrade-hist-")
    os.chmod(hist, 0o777)
    binary = shutil.copy(BIN, os.path.join(hist, "luatrade"))
    os.chmod(binary, 0o755)
    return Console(h, user="nobody", history=os.path.join(hist, "history"),
                   env={"HOME": hist}, binary=binary)


def test_other_user_refused_by_socket_mode():
    with ConsoleHost(**PLAIN) as h:
        open_dirs_to_others(h)
        assert stat.S_IMODE(os.stat(h.sock).st_mode) == 0o600
        with nobody_console(h) as c:
            rc = c.wait()
            out = c.output
        assert rc == 1, (rc, out)
        assert "permission denied" in out and "var/luatrade.sock" in out, out
        assert "luatrade>" not in out
        assert not h.grep(r"console session opened")


def test_other_user_refused_by_peer_check():
    with ConsoleHost(**PLAIN) as h:
        open_dirs_to_others(h)
        os.chmod(h.sock, 0o666)  # a mistake: the host's own check must still refuse
        with nobody_console(h) as c:
            rc = c.wait()
            out = c.output
        assert rc == 1, (rc, out)
        assert "uid 65534 is not the host's user" in out, out
        assert "luatrade>" not in out
        h.wait_for(r"console refused a peer of another user uid=65534")
        # the host's own user still gets in
        with Console(h) as c:
            c.prompt()
            c.check("1+1", "2")
            assert c.quit() == 0


def test_stale_socket_after_crash():
    h = ConsoleHost(**PLAIN)
    sock = h.sock
    with Console(h) as c:
        c.prompt()
        c.check("1+1", "2")
        h.proc.send_signal(signal.SIGKILL)
        h.wait_exit()
        c.sendline("2+2")
        c.wait()  # the session ends with the host
    assert stat.S_ISSOCK(os.lstat(sock).st_mode)  # the file is left behind
    with Console(h) as c:
        assert c.wait() == 1
        assert "nothing listens on var/luatrade.sock" in c.output, c.output
    h2 = ConsoleHost(cwd=h.dir, **PLAIN)
    try:
        assert h2.sock == sock
        h2.grep(r"console replaced a stale socket") or h2.fail("no 'replaced a stale socket' line")
        with Console(h2) as c:
            c.prompt()
            c.check("1+1", "2")
            assert c.quit() == 0
    finally:
        h2.stop()


if __name__ == "__main__":
    main([test_other_user_refused_by_socket_mode, test_other_user_refused_by_peer_check,
          test_stale_socket_after_crash])
