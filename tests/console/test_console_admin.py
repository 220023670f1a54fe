"""The admin helpers typed into the interactive console (docs/console.md, "Helpers"):
strategies() and strategy(), stop/start/reload, params read and set, manual buy/sell/
cancel through the risk checks (a denial shows its reason code), orders(), positions(),
portfolio(), limits() and set_limit(), kill() and rearm() (an order refused while
killed), alerts(), events(), quote(), bars() and help(). Each result is checked on what
the console printed, and the effects are checked through another helper (or the audit
log), so a helper that printed the right thing without doing it fails.

The global max_order_qty is 5, below the strategy's qty of 10, so the strategy itself
never trades and every order seen is a manual one."""
import re
import time

from console_harness import Console, ConsoleHost
from harness import main

FIND = "(function(id, list) for _, x in ipairs(list) do if x.id == id then return x end end end)"


def wait_quote(c):
    """The feed has just started: waits (one round trip at a time) for a quote and a
    trade on AAPL."""
    deadline = time.monotonic() + 10
    while c.eval("q = quote('AAPL') return q.quote ~= nil and q.trade ~= nil") != "true":
        assert time.monotonic() < deadline, "no quote and trade for AAPL after 10 s"


def test_strategy_helpers():
    with ConsoleHost(extra="risk = { max_order_qty = 5 },") as h, Console(h) as c:
        c.prompt()
        out = c.eval("strategies()")
        assert out.startswith("{\n  {\n") and 'id = "sma",' in out and 'status = "RUNNING"' in out, out
        c.check("strategy('sma').version", "1")
        c.check("stop('sma').status", "STOPPED")
        c.check("strategy('sma').status", "STOPPED")
        c.check("start('sma').status", "RUNNING")
        c.check("reload('sma').version", "2")
        h.wait_for(r"strategy reloaded id=sma version=2")
        c.check("params('sma')", '{fast = 5, qty = 10, slow = 20, tf = "1s"}')
        c.check("params('sma', {fast = 3})", '{fast = 3, qty = 10, slow = 20, tf = "1s"}')
        c.check("strategy('sma').params.fast", "3")
        out = c.eval("strategy('nope')")
        assert out.startswith("console:1: not_found"), out
        assert c.quit() == 0


def test_order_and_risk_helpers():
    with ConsoleHost(extra="risk = { max_order_qty = 5 },") as h, Console(h) as c:
        c.prompt()
        # a denial names the reason code
        out = c.eval("buy('AAPL', 50)")
        assert out.startswith("console:1: risk_denied: ") and "(MAX_ORDER_QTY)" in out, out
        # a resting limit order, seen in orders(), cancelled
        c.check("o = buy('AAPL', 1, 100)", "")
        c.check("o.status, o.strategy, o.side, o.qty", "ACCEPTED\tmanual\tbuy\t1")
        c.check(f"{FIND}(o.id, orders()).status", "ACCEPTED")
        c.check("cancel(o.id).status", "CANCELED")
        c.check(f"{FIND}(o.id, orders()) == nil", "true")
        c.check(f"{FIND}(o.id, orders('all')).status", "CANCELED")
        # a market sell of 1 (every quote has at least 1 at the bid) fills and shows as a
        # manual position
        wait_quote(c)
        c.check("sell('AAPL', 1).status", "FILLED")
        out = c.eval("positions()")
        assert re.search(r'qty = -1,\n.*strategy = "manual",\n\s+symbol = "AAPL"', out, re.S), out
        c.check("portfolio().fills", "1")
        # limits and set_limit
        assert '{name = "max_order_qty", scope = "global", value = 5}' in c.eval("limits()")
        c.eval("set_limit('max_order_qty', 7)")
        assert '{name = "max_order_qty", scope = "global", value = 7}' in c.eval("limits()")
        out = c.eval("buy('AAPL', 6)")
        assert not out.startswith("console:"), out  # 6 <= 7 now
        # the kill switch
        assert "kill = true" in c.eval("kill()")
        c.check("portfolio().kill", "true")
        out = c.eval("buy('AAPL', 1)")
        assert out.startswith("console:1: risk_denied: ") and "KILL" in out.upper(), out
        c.check("rearm()", "{kill = false}")
        c.check("portfolio().trading_state", "ACTIVE")
        out = c.eval("events(10, 'KILL_SWITCH')")
        assert out.count('type = "KILL_SWITCH"') == 2, out
        assert c.quit() == 0
        audit = open(h.path("var/audit.log")).read()
        for what in ("POST /api/orders", "DELETE /api/orders/", "PUT /api/limits",
                     "POST /api/kill", "DELETE /api/kill"):
            assert re.search(r'"who":"console uid=\d+ pid=\d+","what":"%s' % re.escape(what),
                             audit), what


def test_market_and_info_helpers():
    with ConsoleHost() as h, Console(h) as c:
        c.prompt()
        wait_quote(c)
        out = c.eval("quote('AAPL')")
        assert 'symbol = "AAPL"' in out and re.search(r"bid = 1\d\d", out), out
        assert re.search(r"trade = \{.*price = 1\d\d", out, re.S), out
        c.check("quote('AAPL').symbol", "AAPL")
        out = c.eval("bars('AAPL', '1s', 3)")
        assert re.search(r"close = 1\d\d", out) and "open = " in out, out
        c.check("type(bars('AAPL', '1s', 3)[1].volume)", "number")
        c.check("alerts(5)", "{}")
        c.check("#events(3)", "3")
        out = c.eval("help()")
        for name in ("strategies()", "strategy(id)", "start(id)", "stop(id)", "reload(id)",
                     "params(id)", "positions()", "orders()", "portfolio()", "buy(", "sell(",
                     "cancel(", "limits()", "set_limit(", "kill(", "rearm()", "alerts(n)",
                     "events(n", "quote(sym)", "bars(sym", "attach(id)", "detach()", "tail("):
            assert name in out, name
        assert c.quit() == 0


if __name__ == "__main__":
    main([test_strategy_helpers, test_order_and_risk_helpers, test_market_and_info_helpers])
