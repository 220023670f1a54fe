#!/usr/bin/env python3
"""test_cli.py: the command line (DESIGN.md §10): usage and exit codes (0 success, 1 runtime
failure, 2 usage or config error), config and strategy load errors, --strategy, --param,
--for, --var, signals, `check`, and the sandbox mode chosen at start-up."""
import os
import re
import signal
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SRC, Host, config, main, run  # noqa: E402

# Declares `fast`, logs it, reports each symbol it sees once and its on_stop reason.
PROBE = """
strategy { symbols = { "AAPL" }, params = { fast = 5 } }
function on_start() log.info("start fast=%s", tostring(params.fast)) end
function on_quote(q)
  state.seen = state.seen or {}
  if not state.seen[q.symbol] then state.seen[q.symbol] = true; log.info("saw %s", q.symbol) end
end
function on_stop(reason) log.info("on_stop(%s)", reason) end
"""

TICKER = """
strategy { symbols = { "AAPL" }, every = "1s" }
function on_timer(name) log.info("tick %s", name) end
function on_stop(reason) log.info("on_stop(%s)", reason) end
"""


def scratch(files):
    """A scratch directory holding files and a `scripts` link; returns its path."""
    d = tempfile.mkdtemp(prefix="luatrade-cli-")
    os.symlink(os.path.join(SRC, "scripts"), os.path.join(d, "scripts"))
    for rel, text in files.items():
        with open(os.path.join(d, rel), "w") as f:
            f.write(text)
    return d


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


def expect_rc(got, want, out, err):
    expect(got == want, f"exit {got}, want {want}\n--- stdout ---\n{out}\n--- stderr ---\n{err}")


def said(sid, text):
    """A pattern for the log line of strategy sid saying exactly text (quoted or not)."""
    return rf'strategy log id={re.escape(sid)} msg=("?){re.escape(text)}\1$'


def sim(strategies='{ script = "probe.lua" }', extra=""):
    return config(strategies, clock="sim", extra=extra)


# ---- usage and exit codes --------------------------------------------------------------

def test_no_args_prints_usage_and_exits_2():
    rc, out, err = run([])
    expect_rc(rc, 2, out, err)
    expect("usage: luatrade" in err, f"usage not on stderr: {err!r}")
    expect(out == "", f"nothing expected on stdout: {out!r}")


def test_help_prints_usage_on_stdout():
    rc, out, err = run(["help"])
    expect_rc(rc, 0, out, err)
    expect("usage: luatrade" in out and "run" in out and "check" in out, out)


def test_version_exits_0():
    rc, out, err = run(["version"])
    expect_rc(rc, 0, out, err)
    expect(re.match(r"luatrade \d+\.\d+", out), out)


def test_unknown_command_exits_2():
    rc, out, err = run(["frobnicate"])
    expect_rc(rc, 2, out, err)
    expect("frobnicate" in err and "usage" in err, err)


def test_run_flag_errors_exit_2():
    cases = [
        (["run", "--bogus"], "--bogus"),
        (["run", "--for"], "--for needs a value"),
        (["run", "--for", "abc"], "abc"),
        (["run", "a.lua", "b.lua"], "b.lua"),
        (["run", "--param", "novalue"], "novalue"),
        (["run", "--strategy", "x.lua:AAPL,no!pe"], "no!pe"),
    ]
    for args, needle in cases:
        rc, out, err = run(args)
        expect_rc(rc, 2, out, err)
        expect(needle in err, f"{args}: message should mention {needle!r}: {err!r}")


def test_missing_config_exits_2_with_path():
    d = scratch({})
    rc, out, err = run(["run", "no/such/config.lua", "--var", "var"], cwd=d)
    expect_rc(rc, 2, out, err)
    expect("no/such/config.lua" in err, err)


def test_config_errors_name_file_and_key_path():
    cases = [
        ("return { bogus = 1 }", "cfg.lua: unknown key 'bogus'"),
        ('return { feed = { rate = "fast" } }', "cfg.lua: feed.rate: expected a number"),
        ("return { feed = { symbols = { AAPL = { price = 1, wat = 2 } } } }",
         "cfg.lua: feed.symbols.AAPL: unknown key 'wat'"),
        ('return { sandbox = { jit = "maybe" } }', "cfg.lua: sandbox.jit:"),
        ('return { strategies = { { script = "p.lua", params = { x = {} } } } }',
         "cfg.lua: strategies[1].params.x:"),
        ('return { clock = "moon" }', "cfg.lua: clock:"),
        ("return 5", "cfg.lua: the file must return a table"),
        ("return {", "cfg.lua:1:"),
    ]
    for text, needle in cases:
        d = scratch({"cfg.lua": text})
        rc, out, err = run(["run", "cfg.lua", "--var", "var", "--for", "1s", "--listen", "127.0.0.1:0"], cwd=d)
        expect_rc(rc, 2, out, err)
        expect(needle in err, f"{text!r}: want {needle!r} in {err!r}")


def test_strategy_syntax_error_refuses_to_start():
    h = Host(sim(), files={"probe.lua": "strategy {}\nlocal x = = 1\n"}, args=["--for", "5s"])
    rc = h.wait_exit()
    expect(rc == 2, f"exit {rc}, want 2")
    expect(h.grep(r"probe\.lua:2:"), "no file:line in the message:\n" + "\n".join(h.lines))
    expect(not h.grep(r"strategy started"), "a strategy started")


# ---- --strategy, --param, --for ------------------------------------------------------

def test_strategy_flag_adds_an_instance():
    h = Host(sim(), files={"probe.lua": PROBE},
             args=["--for", "5s", "--strategy", "probe.lua:AAPL,MSFT"])
    rc = h.wait_exit()
    expect(rc == 0, f"exit {rc}")
    expect(h.grep(r"strategy started id=probe "), "the config's instance did not start")
    expect(h.grep(r"strategy started id=probe#2 "), "the --strategy instance did not start")
    expect(h.grep(said("probe#2", "saw MSFT")), "the added instance does not get MSFT")
    expect(not h.grep(said("probe", "saw MSFT")), "the config's instance got MSFT")


def test_param_flag_overrides_a_declared_param():
    h = Host(sim(), files={"probe.lua": PROBE}, args=["--for", "1s", "--param", "fast=3"])
    h.wait_for(said("probe", "start fast=3"))
    expect(h.wait_exit() == 0, "exit not 0")


def test_param_flag_undeclared_exits_2():
    h = Host(sim(), files={"probe.lua": PROBE}, args=["--for", "1s", "--param", "nosuch=1"])
    rc = h.wait_exit()
    expect(rc == 2, f"exit {rc}")
    expect(h.grep(r"--param nosuch"), "no message naming the parameter")
    expect(not h.grep(r"strategy started"), "a strategy started")


def test_for_on_the_wall_clock_stops_cleanly():
    h = Host(config('{ script = "probe.lua" }, { script = "ticker.lua" }', rate=200),
             files={"probe.lua": PROBE, "ticker.lua": TICKER}, args=["--for", "2s"])
    rc = h.wait_exit(timeout=20)
    expect(rc == 0, f"exit {rc}")
    for sid in ("probe", "ticker"):
        expect(h.grep(said(sid, "on_stop(shutdown)")), f"{sid}: no on_stop(shutdown)")
        expect(h.grep(rf"strategy stopped id={sid} .*reason=shutdown"), f"{sid}: no stopped line")
    expect(h.grep(r"host stopped events="), "no host stopped line")
    expect(h.grep(said("ticker", "tick every")), "the every timer never fired in 2 s")


def _stop_with(sig):
    h = Host(config('{ script = "probe.lua" }', rate=200), files={"probe.lua": PROBE})
    h.wait_for(said("probe", "start fast=5"))
    rc = h.stop(sig)
    expect(rc == 0, f"exit {rc} after {sig.name}")
    expect(h.grep(said("probe", "on_stop(shutdown)")), "no on_stop(shutdown)")
    expect(h.grep(r"host stopped events="), "no host stopped line")


def test_sigint_stops_cleanly():
    _stop_with(signal.SIGINT)


def test_sigterm_stops_cleanly():
    _stop_with(signal.SIGTERM)


# ---- --var ----------------------------------------------------------------------------

def test_var_dirs_separate_hosts():
    base = tempfile.mkdtemp(prefix="luatrade-var-")
    cfg = config('{ script = "probe.lua" }', rate=100)
    a = Host(cfg, files={"probe.lua": PROBE}, args=["--var", os.path.join(base, "a")])
    b = Host(cfg, files={"probe.lua": PROBE}, args=["--var", os.path.join(base, "b")])
    try:
        a.wait_for(r"strategy started id=probe")
        b.wait_for(r"strategy started id=probe")
    finally:
        ra, rb = a.stop(), b.stop()
    expect(ra == 0 and rb == 0, f"exits {ra}, {rb}")


def test_same_var_dir_is_refused():
    var = os.path.join(tempfile.mkdtemp(prefix="luatrade-var-"), "shared")
    cfg = config('{ script = "probe.lua" }', rate=100)
    a = Host(cfg, files={"probe.lua": PROBE}, args=["--var", var])
    try:
        a.wait_for(r"strategy started id=probe")
        b = Host(cfg, files={"probe.lua": PROBE}, args=["--var", var])
        rb = b.wait_exit(timeout=20)
        expect(rb != 0, "the second host on the same --var ran")
        expect(b.grep(r"in use"), "no 'in use' message:\n" + "\n".join(b.lines))
        expect(a.proc.poll() is None, "the first host died")
    finally:
        ra = a.stop()
    expect(ra == 0, f"first host exit {ra}")


# ---- check ----------------------------------------------------------------------------

def test_check_example_strategies():
    rc, out, err = run(["check", "strategies/sma_cross.lua", "strategies/rsi_reversion.lua"])
    expect_rc(rc, 0, out, err)
    oks = [l for l in out.splitlines() if l.startswith("ok")]
    expect(len(oks) == 2, out)


def test_check_failures():
    d = scratch({
        "syntax.lua": "strategy {}\n\nfunction on_bar(b\n",
        "nodecl.lua": "function on_bar(b) end\n",
        "good.lua": "strategy { params = { a = 1 } }\n",
    })
    rc, out, err = run(["check", "syntax.lua"], cwd=d)
    expect_rc(rc, 1, out, err)
    expect(re.search(r"syntax\.lua:\d+:", out + err), f"no file:line: {out!r} {err!r}")
    rc, out, err = run(["check", "nodecl.lua"], cwd=d)
    expect_rc(rc, 1, out, err)
    expect("strategy{" in out + err, out + err)
    rc, out, err = run(["check", "missing.lua"], cwd=d)
    expect_rc(rc, 1, out, err)
    expect("missing.lua" in out + err, out + err)
    rc, out, err = run(["check", "good.lua", "missing.lua"], cwd=d)
    expect_rc(rc, 1, out, err)
    expect(re.search(r"^ok\s+good\.lua", out, re.M), out)


def test_check_without_args_exits_2():
    rc, out, err = run(["check"])
    expect_rc(rc, 2, out, err)
    expect("usage" in err, err)


# ---- sandbox mode ---------------------------------------------------------------------

RUNAWAY = """
strategy { symbols = { "AAPL" } }
function on_trade(t) while true do end end
"""


def test_probe_failure_falls_back_to_the_interpreter():
    h = Host(sim('{ script = "ticker.lua" }, { script = "runaway.lua" }'),
             files={"ticker.lua": TICKER, "runaway.lua": RUNAWAY},
             args=["--for", "5s"], env={"LUATRADE_SBX_PROBE": "fail"})
    h.wait_for(r"sandbox mode mode=interpreter probe=failed")
    err = h.wait_for(r"strategy error id=runaway ")
    expect(err.kv.get("kind") == "cpu" and err.kv.get("fatal") == "yes", err)
    expect(err.kv.get("phase") == "on_trade", err)
    h.wait_for(r"strategy faulted; stopped alone id=runaway")
    h.wait_for(said("ticker", "tick every"))
    rc = h.wait_exit()
    expect(rc == 0, f"exit {rc}")
    expect(len(h.grep(said("ticker", "tick every"))) == 5, "the other strategy missed ticks")
    expect(h.grep(r"host stopped"), "no host stopped line")


def test_jit_off_in_config():
    h = Host(sim('{ script = "ticker.lua" }', extra='sandbox = { jit = "off" },'),
             files={"ticker.lua": TICKER}, args=["--for", "2s"])
    line = h.wait_for(r"sandbox mode")
    expect(line.kv.get("mode") == "interpreter" and "config" in line.kv.get("reason", ""), line)
    h.wait_for(said("ticker", "tick every"))
    expect(h.wait_exit() == 0, "exit not 0")


def test_signals_stop_a_sim_clock_run():
    """A simulated-clock run yields to libevent between batches: SIGINT stops it."""
    h = Host(config("", clock="sim"), args=["--for", "2592000s"])
    h.wait_for(r"host ready")
    rc = h.stop(signal.SIGINT, timeout=20)
    assert rc == 0, rc
    assert h.grep(r"signal received; shutting down signal=INT")


if __name__ == "__main__":
    main([v for k, v in list(globals().items()) if k.startswith("test_") and callable(v)])
