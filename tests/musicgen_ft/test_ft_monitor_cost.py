"""Divergence monitor (the plan's alert table) and the cost tracker."""

import json
import math

from musicgen_ft.ops.alerts import AlertLog, read_alerts
from musicgen_ft.config import TrainConfig
from musicgen_ft.ops.cost_tracker import CostTracker
from musicgen_ft.monitor import DivergenceMonitor


def codes(alerts):
    return [(level, code) for level, code, _ in alerts]


def run(monitor, losses, start=1):
    out = []
    for i, loss in enumerate(losses, start):
        out.extend((i, level, code) for level, code in codes(monitor.check(i, loss)))
    return out


def test_healthy_decreasing_loss_raises_nothing():
    m = DivergenceMonitor(TrainConfig(stall_steps=50))
    # a fine-tune from pretrained weights: starts near 4.6 and settles towards 3.4
    losses = [1.2 * math.exp(-i / 150) + 3.4 + 0.05 * math.sin(i) for i in range(400)]
    assert run(m, losses) == []


def test_nan_and_inf_are_critical():
    m = DivergenceMonitor(TrainConfig())
    assert codes(m.check(5, float("nan"))) == [("CRITICAL", "nan_loss")]
    assert codes(m.check(6, float("inf"))) == [("CRITICAL", "nan_loss")]


def test_high_loss_warns_only_after_step_100():
    m = DivergenceMonitor(TrainConfig())
    assert m.check(50, 11.0) == []
    assert ("WARNING", "high_loss") in codes(m.check(101, 11.0))


def test_spike_warns_against_the_running_mean():
    m = DivergenceMonitor(TrainConfig())
    run(m, [4.0] * 30)
    assert ("WARNING", "loss_spike") in codes(m.check(31, 8.5))
    assert codes(m.check(32, 4.1)) == []


def test_stuck_above_4_5_for_the_window_is_critical():
    m = DivergenceMonitor(TrainConfig(stall_steps=20))
    alerts = run(m, [4.9 - 0.001 * i for i in range(20)])
    assert alerts == [(20, "CRITICAL", "loss_stuck")]


def test_not_improving_is_critical_once_per_stretch():
    m = DivergenceMonitor(TrainConfig(stall_steps=20))
    flat = [3.5 + 0.01 * (i % 2) for i in range(80)]
    alerts = run(m, flat)
    assert [a[2] for a in alerts] == ["loss_not_improving"] * 3
    assert [a[0] for a in alerts] == [40, 60, 80]


def test_monitor_state_round_trip_continues_identically():
    losses = [5.0 - 0.01 * i + (3.0 if i == 40 else 0.0) for i in range(60)]
    whole = DivergenceMonitor(TrainConfig(stall_steps=10))
    expected = run(whole, losses)
    first = DivergenceMonitor(TrainConfig(stall_steps=10))
    got = run(first, losses[:25])
    second = DivergenceMonitor(TrainConfig(stall_steps=10))
    second.load_state_dict(first.state_dict())
    got += run(second, losses[25:], start=26)
    assert got == expected and expected   # and there was something to compare


def test_alert_log_writes_levels(tmp_path):
    log = AlertLog(tmp_path / "alerts.jsonl")
    log.emit("WARNING", "high_loss", "loss 11", step=3)
    log.emit("CRITICAL", "nan_loss", "nan", step=4)
    records = read_alerts(tmp_path / "alerts.jsonl")
    assert [(r["level"], r["code"], r["step"]) for r in records] == \
        [("WARNING", "high_loss", 3), ("CRITICAL", "nan_loss", 4)]
    assert log.count == 2


def test_alert_log_is_created_empty_and_never_truncated(tmp_path):
    path = tmp_path / "alerts.jsonl"
    AlertLog(None).emit("WARNING", "high_loss", "loss 11")     # ranks > 0: nothing on disk
    assert not path.exists()
    AlertLog(path)                                              # a run starts: empty file
    assert path.is_file() and path.read_text() == "" and read_alerts(path) == []
    AlertLog(path).emit("WARNING", "high_loss", "loss 11", step=3)
    AlertLog(path)                                              # a resumed run keeps the old alerts
    assert [(r["code"], r["step"]) for r in read_alerts(path)] == [("high_loss", 3)]


class Clock:
    """A clock the test advances by hand (the tracker's only input besides the file)."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_cost_accumulates_across_restarts(tmp_path):
    clock = Clock()
    first = CostTracker(tmp_path, 0.39, 600.0, clock=clock)
    clock.now += 1800                         # half an hour
    first.update(epoch=1, global_step=100, best_val_loss=float("inf"))
    state = json.loads((tmp_path / "orchestrator_state.json").read_text())
    assert state["elapsed_time"] == 1800 and abs(state["cost"] - 0.195) < 1e-9
    assert state["restarts"] == 0 and state["best_val_loss"] is None
    for key in ("elapsed_time", "cost", "epoch", "global_step", "best_val_loss", "restarts",
                "alerts"):
        assert key in state

    clock.now += 5000                         # the machine was gone: not billed to this run
    second = CostTracker(tmp_path, 0.39, 600.0, clock=clock)
    clock.now += 3600
    state = second.update(global_step=200)
    assert state["elapsed_time"] == 5400 and state["restarts"] == 1
    assert abs(state["cost"] - 1.5 * 0.39) < 1e-9
    assert state["epoch"] == 1                # carried over


def test_budget(tmp_path):
    clock = Clock()
    tracker = CostTracker(tmp_path, 3600.0, 10.0, clock=clock)   # $1 per second
    clock.now += 9.5
    assert not tracker.over_budget()
    clock.now += 0.5
    assert tracker.over_budget()
