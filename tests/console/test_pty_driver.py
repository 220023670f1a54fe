"""The pty driver itself (pty_driver.py), on ordinary programs: the program sees a
terminal, typed keys reach it through the line discipline (erase, Ctrl-C as SIGINT,
Ctrl-D as end of file), escapes are stripped from the text, the screen emulator
applies cursor moves, exit codes and another user's uid come through, and expect()
fails with the output on a deadline or at end of output."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lua"))
sys.path.insert(0, HERE)
from harness import main  # noqa: E402
from pty_driver import Pty, PtyError  # noqa: E402


def test_tty_and_erase():
    with Pty(["sh", "-c", 'test -t 0 && test -t 1 && echo tty; read x; echo "got:$x"']) as p:
        p.expect(r"tty\n")
        p.send("abc")
        p.key("backspace")
        p.send("d")
        p.key("enter")
        p.expect(r"got:abd\n")
        assert p.wait() == 0


def test_ctrl_c_is_sigint():
    with Pty(["sh", "-c", 'trap "echo INT; exit 3" INT; echo ready; read x; echo late']) as p:
        p.expect(r"ready\n")
        p.key("ctrl-c")
        p.expect(r"INT\n")
        assert p.wait() == 3, p.rc


def test_ctrl_d_is_eof():
    with Pty(["cat"]) as p:
        p.sendline("hello")
        p.expect(r"hello\n.*hello\n")  # the echo, then cat's copy
        p.key("ctrl-d")
        assert p.wait() == 0


def test_escapes_and_screen():
    script = r"printf '\033[1;31mred\033[0m plain\n'; printf 'abcdef\b\b\033[KXY\033[3DZ\n'; " \
             r"printf '\033]0;title\007after\n'; exit 7"
    with Pty(["sh", "-c", script]) as p:
        assert p.wait() == 7
        assert "red plain\n" in p.output, repr(p.output)
        assert "\x1b" not in p.output
        assert "after\n" in p.output and "title" not in p.output
        assert "red plain" in p.screen()
        assert "abcZXY" in p.screen(), p.screen()


def test_app_cursor_keys():
    # a program that switches to application cursor mode gets ESC O A for Up
    with Pty(["sh", "-c", r"printf '\033[?1h\033=go\n'; stty raw -echo; "
                          r"dd bs=3 count=1 2>/dev/null | od -An -c"]) as p:
        p.expect(r"go\n")
        assert p.app_cursor
        p.key("up")
        p.expect(r"033\s+O\s+A")
        p.wait()


def test_user():
    if os.geteuid() != 0:
        return
    with Pty(["id", "-u"], user="nobody", cwd="/") as p:
        p.expect(r"65534")
        assert p.wait() == 0


def test_expect_fails():
    with Pty(["sh", "-c", "echo one; read x"]) as p:
        try:
            p.expect(r"two", timeout=0.3)
        except PtyError as e:
            assert "timed out" in str(e) and "one" in str(e)
        else:
            raise AssertionError("expect did not time out")
    with Pty(["sh", "-c", "echo one"]) as p:
        try:
            p.expect(r"two", timeout=10)
        except PtyError as e:
            assert "output ended" in str(e)
        else:
            raise AssertionError("expect did not fail at end of output")


if __name__ == "__main__":
    main([test_tty_and_erase, test_ctrl_c_is_sigint, test_ctrl_d_is_eof, test_escapes_and_screen,
          test_app_cursor_keys, test_user, test_expect_fails])
