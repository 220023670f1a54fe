"""The interactive console on a real pty (docs/console.md, "The client"): the greeting
and Ctrl-D, line editing with arrows and emacs keys, history kept across sessions (mode
0600, 1000 entries, a multi-line chunk as one entry, $HOME/.luatrade_history by
default), multi-line input with the ">> " prompt and Ctrl-C dropping a pending chunk,
tab completion of globals and fields from the live sandbox, expressions and statements,
errors with their location, and pretty-printed tables (nested, cycles, long, deep).

Each test starts the real host (harness.Host) and types into `luatrade console` on a
pty (pty_driver.Pty) the way a person would, waiting for each prompt."""
import os
import re
import stat
import tempfile

from console_harness import Console, ConsoleHost
from harness import main

PLAIN = dict(strategies="", wait_started=False)  # no strategy needed


def read_history(path):
    """The entries of a libedit history file (vis(3)-encoded, one per line)."""
    lines = open(path).read().splitlines()
    assert lines[0] == "_HiStOrY_V2_", lines[:1]
    return [re.sub(r"\\(\d{3})", lambda m: chr(int(m.group(1), 8)), l) for l in lines[1:]]


def test_greeting_prompt_and_ctrl_d():
    with ConsoleHost(**PLAIN) as h, Console(h) as c:
        out = c.prompt()
        assert re.fullmatch(r"luatrade \S+ console: help\(\) lists the helpers\n", out), out
        assert c.last_prompt == "luatrade> "
        assert c.quit() == 0


def test_line_editing():
    with ConsoleHost(**PLAIN) as h, Console(h) as c:
        c.prompt()
        # "2+3", Left, Left, "0": the 0 goes before the +, not at the end
        c.send("2+3")
        c.key("left", 2)
        c.send("0")
        c.expect_line(r"^luatrade> 20\+3$")
        c.key("enter")
        out = c.prompt()
        assert out.split("\n")[-2] == "23", out
        # Backspace, Ctrl-A (start of line) and Ctrl-E (end of line)
        c.send("9*99")
        c.key("backspace")
        c.key("ctrl-a")
        c.send("1")
        c.key("ctrl-e")
        c.send("+1")
        c.expect_line(r"^luatrade> 19\*9\+1$")
        c.key("enter")
        out = c.prompt()
        assert out.split("\n")[-2] == "172", out
        assert c.quit() == 0


def test_history_across_sessions():
    with ConsoleHost(**PLAIN) as h:
        hist = os.path.join(tempfile.mkdtemp(prefix="luatrade-hist-"), "history")
        with Console(h, history=hist) as c:
            c.prompt()
            c.check("function twice(x)", "")
            c.check("  return 2 * x", "")
            c.check("end", "")
            c.check("40 + 2", "42")
            assert c.quit() == 0
        assert stat.S_IMODE(os.stat(hist).st_mode) == 0o600
        # a chunk of several lines is one entry
        assert read_history(hist)[-2:] == ["function twice(x)\n  return 2 * x\nend", "40 + 2"]
        with Console(h, history=hist) as c:  # a new process: Up recalls the last session's line
            c.prompt()
            c.key("up")
            c.expect_line(r"^luatrade> 40 \+ 2$")
            c.key("enter")
            out = c.prompt()
            assert out.split("\n")[-2] == "42", out
            assert c.quit() == 0


def test_history_limit_and_default_file():
    with ConsoleHost(**PLAIN) as h:
        d = tempfile.mkdtemp(prefix="luatrade-hist-")
        hist = os.path.join(d, "history")
        with open(hist, "w") as f:
            f.write("_HiStOrY_V2_\n" + "".join(f"old\\040{i}\n" for i in range(1100)))
        with Console(h, history=hist) as c:
            c.prompt()
            c.check("999 + 1", "1000")
            assert c.quit() == 0
        entries = read_history(hist)
        assert len(entries) == 1000, len(entries)
        assert entries[-1] == "999 + 1" and entries[0] == "old 101", (entries[0], entries[-1])
        # without $LUATRADE_HISTORY: ~/.luatrade_history, 0600
        home = tempfile.mkdtemp(prefix="luatrade-home-")
        with Console(h, history=False, env={"HOME": home}) as c:
            c.prompt()
            c.check("'from home'", "from home")
            assert c.quit() == 0
        path = os.path.join(home, ".luatrade_history")
        assert read_history(path) == ["'from home'"]
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_multiline_input():
    with ConsoleHost(**PLAIN) as h, Console(h) as c:
        c.prompt()
        c.check("function add(a, b)", "")
        assert c.last_prompt == ">> ", c.last_prompt
        c.check("  return a + b", "")
        assert c.last_prompt == ">> ", c.last_prompt
        c.check("end", "")
        assert c.last_prompt == "luatrade> ", c.last_prompt
        c.check("add(2, 3)", "5")
        assert ">>   return a + b" in c.screen()
        # an error inside a chunk names its line within the chunk
        c.eval("do")
        c.eval("  local y = 1")
        c.check("  error('deep') end", "console:3: deep")
        # Ctrl-C at ">> " drops the pending chunk: the next line starts afresh
        c.check("if true then", "")
        assert c.last_prompt == ">> ", c.last_prompt
        c.mark()
        c.key("ctrl-c")
        c.prompt()
        assert c.last_prompt == "luatrade> "
        c.check("1 + 1", "2")
        # Ctrl-C at the first prompt drops the typed line. Pressed once the line shows, as
        # a person would; a Ctrl-C that lands while keys are still being read is
        # test_console_ctrl_c.py's case
        c.send("this is not lua")
        c.expect_line(r"^luatrade> this is not lua$")
        c.mark()
        c.key("ctrl-c")
        c.prompt()
        c.check("2 + 2", "4")
        assert c.quit() == 0


def test_completion():
    with ConsoleHost(**PLAIN) as h, Console(h) as c:
        c.prompt()
        c.send("portf")
        c.key("tab")
        c.expect_line(r"^luatrade> portfolio ?$")
        c.send("().cash")
        c.key("enter")
        assert c.prompt().split("\n")[-2] == "1000000"
        # fields of a table
        c.send("string.fo")
        c.key("tab")
        c.expect_line(r"^luatrade> string\.format ?$")
        c.send("('%05d', 42)")
        c.key("enter")
        assert c.prompt().split("\n")[-2] == "00042"
        # names defined in this session, read from the live sandbox
        c.check("my_long_name = {alpha = 1, beta = 2}", "")
        c.send("my_lo")
        c.key("tab")
        c.expect_line(r"^luatrade> my_long_name ?$")
        c.send(".al")
        c.key("tab")
        c.expect_line(r"^luatrade> my_long_name\.alpha ?$")
        c.key("enter")
        assert c.prompt().split("\n")[-2] == "1"
        # several candidates: Tab Tab lists them
        c.send("string.f")
        c.key("tab", 2)
        c.expect(r"string\.find +string\.format")
        c.expect_line(r"^luatrade> string\.f$")
        c.mark()
        c.key("ctrl-c")
        c.prompt()
        assert c.quit() == 0


def test_values_and_errors():
    with ConsoleHost(**PLAIN) as h, Console(h) as c:
        c.prompt()
        c.check("1+1", "2")
        c.check("x = 5", "")
        c.check("x", "5")
        c.check("x * 2.5", "12.5")
        c.check("'a string is printed raw'", "a string is printed raw")
        c.check("1, 'two', {3}", "1\ttwo\t{3}")
        c.check("nosuch()", "console:1: attempt to call global 'nosuch' (a nil value)")
        c.check("error('boom')", "console:1: boom")
        out = c.eval("x = = 1")
        assert out.startswith("console:1: ") and "'='" in out, out
        c.check("x", "5")  # the session goes on
        assert c.quit() == 0


def test_pretty_printing():
    with ConsoleHost(**PLAIN) as h, Console(h) as c:
        c.prompt()
        c.eval("t = {name = 'x', sub = {a = 1, list = {1, 2, 3}}, empty = {}, [10] = true}")
        c.check("t", "{\n"
                     "  [10] = true,\n"
                     "  empty = {},\n"
                     "  name = \"x\",\n"
                     "  sub = {\n"
                     "    a = 1,\n"
                     "    list = {1, 2, 3}\n"
                     "  }\n"
                     "}")
        c.eval("cyc = {1} cyc.self = cyc cyc.inner = {up = cyc}")
        c.check("cyc", "{\n"
                       "  1,\n"
                       "  inner = {\n"
                       "    up = <cycle>\n"
                       "  },\n"
                       "  self = <cycle>\n"
                       "}")
        c.eval("long = {} for i = 1, 250 do long[i] = i * i end")
        lines = c.eval("long").split("\n")
        assert len(lines) == 103, lines[-3:]
        assert lines[:3] == ["{", "  1,", "  4,"] and lines[100] == "  10000,", lines[98:]
        assert lines[101:] == ["  ... (150 more)", "}"], lines[98:]
        c.eval("deep = {'bottom'} for i = 1, 12 do deep = {deep} end")
        out = c.eval("deep")
        assert "{...}" in out and "bottom" not in out, out
        c.check("{s = 'tab\\there', b = '\\1'}", '{b = "\\001", s = "tab\\there"}')
        assert c.quit() == 0


if __name__ == "__main__":
    main([test_greeting_prompt_and_ctrl_d, test_line_editing, test_history_across_sessions,
          test_history_limit_and_default_file, test_multiline_input, test_completion,
          test_values_and_errors, test_pretty_printing])
