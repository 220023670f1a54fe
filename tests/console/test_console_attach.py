"""attach() and tail() typed into the interactive console (docs/console.md, "The
console's own"): attach("sma") switches the prompt to "luatrade:sma> " and evaluates in
the strategy's sandbox (state, params, completion of its fields); `while true do end`
typed there is stopped by the strategy's CPU budget while the host keeps running (the
feed moves on, other console calls answer, the strategy is not faulted); detach()
returns. tail() streams log lines and events as they happen until Ctrl-C, after which
the session goes on."""
import time

from console_harness import Console, ConsoleHost, run_console
from harness import main


def one_shot(h, code):
    rc, out, err = run_console(["-e", code], h.dir)
    assert rc == 0, (code, rc, err)
    return out.rstrip("\n")


def test_attach_runaway_detach():
    with ConsoleHost() as h, Console(h) as c:
        c.prompt()
        out = c.eval('attach("sma")')
        assert out.startswith("attached to sma (version 1, RUNNING)"), out
        assert c.last_prompt == "luatrade:sma> "
        assert "luatrade:sma>" in c.screen()[-1]
        # the strategy's own globals, not the admin sandbox's
        c.check("type(state), type(state.pairs)", "table\ttable")
        c.check("params", '{fast = 5, qty = 10, slow = 20, tf = "1s"}')
        c.check("params.slow", "20")
        c.check("type(on_bar), type(strategies)", "function\tnil")  # not the admin's
        c.send("state.cross")
        c.key("tab")
        c.expect_line(r"^luatrade:sma> state\.crossings ?$")
        c.key("enter")
        assert c.prompt().split("\n")[-2] == "0"
        # a runaway loop: stopped by the strategy's budget (10 ms), the session stays
        seq0 = one_shot(h, "quote('AAPL').quote.seq")
        t0 = time.monotonic()
        out = c.eval("while true do end")
        assert "CPU budget of 10 ms exceeded" in out, out
        assert time.monotonic() - t0 < 2
        assert c.last_prompt == "luatrade:sma> "
        c.check("1 + 1", "2")
        # the host kept running: other calls answer, the feed moves, sma is not faulted
        assert one_shot(h, "strategy('sma').status .. ' ' .. strategy('sma').errors") == "RUNNING 0"
        deadline = time.monotonic() + 10
        while one_shot(h, "quote('AAPL').quote.seq") == seq0:
            assert time.monotonic() < deadline, "the feed stopped moving"
        # writes from the console are audit-logged
        c.check("state.from_console = 7", "")
        assert '"code":"state.from_console = 7"' in open(h.path("var/audit.log")).read()
        out = c.eval("detach()")
        assert out == "detached from sma", out
        assert c.last_prompt == "luatrade> "
        c.check("type(on_bar), type(strategies)", "nil\tfunction")
        assert c.quit() == 0


def test_tail_until_ctrl_c():
    with ConsoleHost() as h, Console(h) as c:
        c.prompt()
        c.sendline("tail()")
        c.expect(r"tail: [^\n]*Ctrl-C[^\n]*\n")
        # something happens elsewhere: its log line and its event stream in
        assert one_shot(h, "reload('sma').version") == "2"
        c.expect(r"\n\S+ INFO strategy reloaded id=sma version=2 ")
        c.expect(r'\n\{"seq":\d+,"type":"STRATEGY_RELOAD",[^\n]*"version":2')
        assert c.poll() is None
        c.mark()
        c.key("ctrl-c")
        c.expect(r"tail stopped\n")
        c.prompt()
        assert c.last_prompt == "luatrade> "
        # the stream is over: nothing more arrives, the session answers
        n = len(c.output)
        assert one_shot(h, "reload('sma').version") == "3"
        c.check("1 + 1", "2")
        assert "STRATEGY_RELOAD" not in c.output[n:], c.output[n:]
        assert c.quit() == 0


if __name__ == "__main__":
    main([test_attach_runaway_detach, test_tail_until_ctrl_c])
