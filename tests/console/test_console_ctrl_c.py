"""Ctrl-C pressed while the client is still reading typed keys (a paste, or fast typing
followed by Ctrl-C): the line must be dropped and a fresh prompt shown every time.

The terminal turns Ctrl-C into SIGINT and flushes the keys not yet read. A client that
polls the terminal with SIGINT unblocked but then read()s it with SIGINT blocked can
see the poll say "readable", lose the keys to the flush, and block in read() with the
signal pending until the next key: the console hangs. The window is small, so the
test repeats the sequence; with the hang present it fails within a few dozen rounds."""
from console_harness import Console, ConsoleHost
from harness import main

ROUNDS = 1000


def test_ctrl_c_while_keys_are_read():
    with ConsoleHost(strategies="", wait_started=False) as h, Console(h) as c:
        c.prompt()
        for i in range(ROUNDS):
            c.send("x = 'some text typed quickly' " * 3)
            c.mark()
            c.key("ctrl-c")
            try:
                c.prompt(timeout=5)
            except AssertionError as e:
                raise AssertionError(f"no prompt after Ctrl-C in round {i + 1}: {e}") from None
        c.check("1 + 1", "2")
        assert c.quit() == 0


if __name__ == "__main__":
    main([test_ctrl_c_while_keys_are_read])
