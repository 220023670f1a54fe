"""Record and replay: a live run (wall clock, sim feed) records its market data; a
backtest replaying the recording through the unchanged strategy reproduces every order
and fill of the live session exactly, and a changed strategy trades differently on the
same recording."""
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lua"))
import bt  # noqa: E402
from harness import Host, main  # noqa: E402

PROBE = os.path.join(os.path.dirname(__file__), "replay_probe.lua")

CONFIG = """
return {
  seed = 7,
  feed = { kind = "sim", rate = 2000, trade_ratio = 0.4, symbols = {
    AAPL = { price = 190, vol = 0.3, tick = 0.01, spread = 1, max_lots = 5 },
    MSFT = { price = 410, vol = 0.25, tick = 0.01, spread = 2, max_lots = 5 } } },
  strategies = { { script = "probe.lua" } },
  venue = { slippage_bps = 1, commission_per_share = 0.005 },
  record = "rec/",
}
"""

MSG = re.compile(r'strategy log id=probe msg="?((?:order|fill) [^"]*)"?$')


def strategy_lines(lines):
    return [m.group(1) for m in (MSG.search(l) for l in lines) if m]


def live_session():
    files = {"probe.lua": open(PROBE).read()}
    h = Host(CONFIG, files=files, args=("--for", "8s"), listen=False)
    rc = h.wait_exit(timeout=60)
    assert rc == 0, f"live run exit {rc}"
    return h


def test_replay_reproduces_live_orders():
    h = live_session()
    live = strategy_lines(h.lines)
    recs = sorted(os.listdir(h.path("rec")))
    bt.check(recs and all(r.endswith(".ltr") for r in recs), f"recordings: {recs}")
    res = bt.backtest(h.path("probe.lua"), "--replay", h.path("rec"), "--config",
                      h.path("config.lua"), cwd=h.dir)
    bt.check(res.rc == 0, "replay failed", res)
    replayed = strategy_lines(res.read("log.txt").decode().splitlines())
    orders = [l for l in live if l.startswith("order ") and "status=FILLED" in l]
    bt.check(len(orders) >= 10, f"the live run filled only {len(orders)} orders")
    for i, (a, b) in enumerate(zip(live, replayed)):
        bt.check(a == b, f"line {i + 1} differs:\n live:   {a}\n replay: {b}")
    bt.check(len(live) == len(replayed),
             f"live {len(live)} lines, replay {len(replayed)}")
    # a changed strategy on the same recording trades differently
    with open(h.path("probe2.lua"), "w") as f:
        f.write(open(PROBE).read().replace("qty = 5", "qty = 7"))
    res2 = bt.backtest(h.path("probe2.lua"), "--replay", h.path("rec"), "--config",
                       h.path("config.lua"), cwd=h.dir, out="out2")
    bt.check(res2.rc == 0, "replay of the changed strategy failed", res2)
    changed = strategy_lines(res2.read("log.txt").decode().splitlines())
    bt.check(any("qty=7" in l for l in changed) and changed != replayed,
             "the changed strategy did not trade its own way")
    shutil.rmtree(h.dir, ignore_errors=True)


if __name__ == "__main__":
    main([test_replay_reproduces_live_orders])
