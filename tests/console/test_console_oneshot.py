"""The console without a person at it (docs/console.md): `luatrade console -e CODE`
(results on stdout, the first error on stderr with exit code 1, no greeting, several -e
in one session), stdin lines when stdin is not a terminal, the socket options (default
var/luatrade.sock under the cwd, --var, --socket), clear connection and usage errors
(exit 1 and 2), and plain socat typed into on a terminal, where each reply ends with a
terminator that shows as "ok", "more" or "error"."""
from console_harness import ConsoleHost, run_console
from harness import main
from pty_driver import Pty

PLAIN = dict(strategies="", wait_started=False)


def test_e_exit_codes_and_output():
    with ConsoleHost(**PLAIN) as h:
        assert run_console(["-e", "1+1"], h.dir) == (0, "2\n", "")
        # several -e: one session, in order
        assert run_console(["-e", "x = 20", "-e", "x + 1", "-e", "'s' .. x"], h.dir) == \
            (0, "21\ns20\n", "")
        # the first error: on stderr with its location, exit 1, the rest not run
        rc, out, err = run_console(["-e", "1", "-e", "error('bad')", "-e", "print('never')"],
                                   h.dir)
        assert (rc, out, err) == (1, "1\n", "console:1: bad\n"), (rc, out, err)
        rc, out, err = run_console(["-e", "local a = 1\nnosuch()"], h.dir)
        assert rc == 1 and out == "" and err.startswith("console:2: "), (rc, out, err)
        # one whole chunk: an incomplete one is an error, not a wait for more
        rc, out, err = run_console(["-e", "function f("], h.dir)
        assert rc == 1 and "<eof>" in err, (rc, out, err)
        # statements print nothing; tables are pretty-printed
        assert run_console(["-e", "y = 1"], h.dir) == (0, "", "")
        assert run_console(["-e", "{b = {1, 2}, a = 'x'}"], h.dir) == \
            (0, '{\n  a = "x",\n  b = {1, 2}\n}\n', "")


def test_socket_options():
    with ConsoleHost(**PLAIN) as h:
        assert run_console(["-e", "1"], h.dir)[0] == 0  # var/luatrade.sock under the cwd
        assert run_console(["--var", h.path("var"), "-e", "2"], "/") == (0, "2\n", "")
        assert run_console(["--socket", h.sock, "-e", "3"], "/") == (0, "3\n", "")
        # --socket wins over --var
        assert run_console(["--var", "/nonexistent", "--socket", h.sock, "-e", "4"], "/") == \
            (0, "4\n", "")


def test_stdin_lines():
    with ConsoleHost(**PLAIN) as h:
        src = "1+1\nfunction f()\n  return 3\nend\nf()\n'a\\0b'\n"
        assert run_console([], h.dir, input=src) == (0, "2\n3\na\\0b\n", "")
        # a failing line: reported, the rest still run, exit 1
        rc, out, err = run_console([], h.dir, input="nosuch()\n2\n")
        assert (rc, out) == (1, "2\n") and "console:1: attempt to call" in err, (rc, out, err)
        # input that ends inside a chunk
        rc, out, err = run_console([], h.dir, input="function g(\n")
        assert rc == 1 and "incomplete" in err, (rc, out, err)
        assert "luatrade>" not in out


def test_connection_and_usage_errors():
    rc, out, err = run_console(["--socket", "/nonexistent/x.sock", "-e", "1"], "/")
    assert rc == 1 and "/nonexistent/x.sock" in err and "luatrade run" in err, (rc, err)
    rc, out, err = run_console(["-e", "1"], "/")  # no var/ here
    assert rc == 1 and "var/luatrade.sock" in err, (rc, err)
    rc, out, err = run_console(["--bogus"], "/")
    assert rc == 2 and "usage: luatrade console" in err, (rc, err)
    rc, out, err = run_console(["-e"], "/")
    assert rc == 2, (rc, err)
    rc, out, err = run_console(["1+1"], "/")
    assert rc == 2, (rc, err)


def test_socat_on_a_terminal():
    with ConsoleHost(**PLAIN) as h, Pty(["socat", "-", "UNIX-CONNECT:" + h.sock]) as p:
        p.expect(r"luatrade \S+ console: help\(\) lists the helpers\nok\n")
        p.sendline("1+1")
        p.expect(r"1\+1\n2\nok\n")  # the echo, the value, the terminator
        p.sendline("function f(a)")
        p.expect(r"function f\(a\)\nmore\n")
        p.sendline("return a * 3 end")
        p.expect(r"return a \* 3 end\nok\n")
        p.sendline("f(14)")
        p.expect(r"f\(14\)\n42\nok\n")
        p.sendline("nosuch()")
        p.expect(r"nosuch\(\)\nconsole:1: attempt to call global 'nosuch' \(a nil value\)\nerror\n")
        assert b"\x00ok\r\n" in p.raw  # a NUL then the status: the terminator
        p.key("ctrl-d")
        assert p.wait() == 0


if __name__ == "__main__":
    main([test_e_exit_codes_and_output, test_socket_options, test_stdin_lines,
          test_connection_and_usage_errors, test_socat_on_a_terminal])
