#!/usr/bin/env python3
"""Fault isolation through the real binary (DESIGN.md §5): a faulted strategy (CPU budget,
memory cap, error storm) is stopped alone, with a STRATEGY_ERROR log line that says which
script, why and where; the others keep receiving every event; the host stays healthy.
A runaway JIT-compiled loop is stopped within 2x its budget."""
import re

from harness import Host, config, main

# Counts every quote and trade it sees and checks the feed's per-symbol n has no gaps.
WITNESS = """
strategy { name = "witness" }
local last, count, gaps = {}, 0, 0
local function see(e, kind)
  local key = e.symbol .. kind
  if last[key] and e.n ~= last[key] + 1 then gaps = gaps + 1 end
  last[key] = e.n
  count = count + 1
  if count % 2000 == 0 then log.info("witness count=%d gaps=%d", count, gaps) end
end
function on_quote(q) see(q, "q") end
function on_trade(t) see(t, "t") end
function on_stop() log.info("witness final count=%d gaps=%d", count, gaps) end
"""


def counts(line):
    return {k: int(v) for k, v in re.findall(r"(count|gaps)=(\d+)", line)}


def run_fault(culprit, extra, kind):
    """Runs the culprit beside the witness; returns (error line, witness count at the fault,
    final witness line)."""
    h = Host(config('{ script = "s/culprit.lua" }, { script = "s/witness.lua" }', rate=20000,
                    extra=extra),
             {"s/culprit.lua": culprit, "s/witness.lua": WITNESS})
    err = h.wait_for(r"ERROR strategy error id=culprit ")
    kv = err.kv
    assert kv["kind"] == kind and kv["fatal"] == "yes", err
    h.wait_for(r"strategy faulted; stopped alone id=culprit")
    at_fault = counts(h.wait_for(r"witness count="))["count"]
    # the witness keeps receiving events after the fault
    later = at_fault
    while later < at_fault + 10000:
        later = counts(h.wait_for(r"witness count="))["count"]
    assert h.stop() == 0
    final = h.wait_for(r"witness final")
    assert counts(final)["gaps"] == 0, f"the witness lost events: {final}"
    assert counts(final)["count"] >= later
    assert h.grep(r"host stopped"), "the host did not shut down cleanly"
    return err, final


def test_runaway_jit_loop_stopped_within_twice_its_budget():
    culprit = """strategy { name = "culprit" }
local n = 0
function on_trade(t)
  n = n + 1
  if n < 300 then return end
  local x = 0
  while true do x = x + 1 end
end
"""
    err, _ = run_fault(culprit, "sandbox = { callback_ms = 50 },", "cpu")
    assert err.kv["file"] == "s/culprit.lua" and err.kv["line"] == "7", err
    assert err.kv["phase"] == "on_trade", err
    assert float(err.kv["elapsed_ms"]) <= 100.0, f"stopped after {err.kv['elapsed_ms']} ms: {err}"


def test_pcall_wrapped_runaway_cannot_swallow_the_stop():
    culprit = """strategy { name = "culprit" }
function on_trade(t)
  while true do pcall(function() while true do end end) end
end
"""
    err, _ = run_fault(culprit, "sandbox = { callback_ms = 50 },", "cpu")
    assert float(err.kv["elapsed_ms"]) <= 100.0, err


def test_memory_cap_faults_alone():
    culprit = """strategy { name = "culprit" }
local hoard = {}
function on_trade(t)
  for i = 1, 1e6 do hoard[#hoard + 1] = { i, t.price } end
end
"""
    err, _ = run_fault(culprit, "sandbox = { memory_mb = 8, callback_ms = 2000 },", "memory")
    assert err.kv["file"] == "s/culprit.lua", err


def test_error_storm_faults_alone():
    culprit = """strategy { name = "culprit" }
function on_trade(t)
  error("bad trade " .. t.n)
end
"""
    h = Host(config('{ script = "s/culprit.lua" }, { script = "s/witness.lua" }', rate=5000,
                    extra='sandbox = { max_errors = 5, error_window = "60s" },'),
             {"s/culprit.lua": culprit, "s/witness.lua": WITNESS})
    first = h.wait_for(r"ERROR strategy error id=culprit ")
    assert first.kv["fatal"] == "no" and first.kv["kind"] == "runtime", first
    assert first.kv["line"] == "3" and "bad trade" in first.kv["msg"], first
    storm = h.wait_for(r"ERROR strategy error id=culprit .*kind=error_storm")
    assert storm.kv["fatal"] == "yes", storm
    h.wait_for(r"strategy faulted; stopped alone id=culprit")
    assert len(h.grep(r"strategy error id=culprit")) == 5
    h.wait_for(r"witness count=4000")
    assert h.stop() == 0
    assert counts(h.wait_for(r"witness final"))["gaps"] == 0


def test_receiver_too_full_for_an_event_faults_alone():
    receiver = """strategy { name = "culprit" }
function on_start() state.hoard = string.rep("h", 12 * 1024 * 1024) end
function on_event(e) log.info("got %d bytes", #e.data.blob) end
"""
    sender = """strategy { name = "sender", every = "100ms" }
local n = 0
function on_timer()
  n = n + 1
  if n == 3 then signal("big", { blob = string.rep("x", 60000) }) end
end
"""
    h = Host(config('{ script = "s/culprit.lua" }, { script = "s/sender.lua" }, '
                    '{ script = "s/witness.lua" }', rate=2000, extra="sandbox = { memory_mb = 12 },"),
             {"s/culprit.lua": receiver, "s/sender.lua": sender, "s/witness.lua": WITNESS})
    err = h.wait_for(r"ERROR strategy error id=culprit ")
    assert err.kv["kind"] == "memory" and err.kv["fatal"] == "yes", err
    h.wait_for(r"strategy faulted; stopped alone id=culprit")
    h.wait_for(r"witness count=4000")
    assert h.stop() == 0
    assert counts(h.wait_for(r"witness final"))["gaps"] == 0


if __name__ == "__main__":
    main([test_runaway_jit_loop_stopped_within_twice_its_budget,
          test_pcall_wrapped_runaway_cannot_swallow_the_stop, test_memory_cap_faults_alone,
          test_error_storm_faults_alone, test_receiver_too_full_for_an_event_faults_alone])
