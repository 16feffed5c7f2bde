"""The trainer's measured throughput: what is timed, and that a restart continues the average."""

import json
import signal
import time

import pytest

from musicgen_ft.checkpoint import load_checkpoint
from musicgen_ft.throughput import Throughput

from ft_helpers import run_training, start_training, tiny_config, train_steps


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_warmup_step_is_left_out_and_totals_continue():
    clock = Clock()
    t = Throughput(segment_seconds=10.0, plan={"epochs": 20}, clock=clock)
    for seconds, samples in ((9.0, 8), (2.0, 8), (2.0, 4)):    # the first step is warm-up
        t.start_step()
        clock.now += seconds
        t.end_step(samples, samples * 100)
    s = t.summary()
    assert (s["steps"], s["samples"], s["tokens"], s["seconds"]) == (2, 12, 1200, 4.0)
    assert s["samples_per_s"] == 3.0 and s["seconds_per_step"] == 2.0
    assert s["tokens_per_s"] == 300.0 and s["audio_seconds_per_s"] == 30.0
    assert s["epochs"] == 20

    # a restart continues the sums (its own first step is warm-up again)
    again = Throughput(json.loads(json.dumps(s)), segment_seconds=10.0, clock=clock)
    for seconds in (50.0, 4.0):
        again.start_step()
        clock.now += seconds
        again.end_step(8, 800)
    s2 = again.summary()
    assert (s2["steps"], s2["samples"], s2["seconds"]) == (3, 20, 8.0)
    assert s2["samples_per_s"] == 2.5 and s2["epochs"] == 20      # the plan is kept


def test_nothing_timed_yet_gives_no_rates():
    s = Throughput(segment_seconds=1.0).summary()
    assert s["steps"] == 0 and s["samples_per_s"] is None and s["seconds_per_step"] is None


def state_of(run):
    return json.loads((run / "orchestrator_state.json").read_text())


def wait_for_step(proc, run, step, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read()
        if any(s >= step for s in train_steps(run)):
            return
        time.sleep(0.005)
    raise AssertionError(f"no step {step} within {timeout} s")


def test_sigkilled_run_keeps_its_throughput_and_the_restart_adds_to_it(tmp_path, dataset):
    # 5 train clips -> 10 segments; batch 2 x accum 2: 3 steps per epoch, 4 epochs = 12 steps
    config = tiny_config(tmp_path, dataset, epochs=4, batch_size=2, grad_accum_steps=2,
                         save_every_steps=2, warmup_steps=3)
    run = tmp_path / "run"
    proc = start_training(config)
    wait_for_step(proc, run, 5)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    killed = state_of(run)
    first = killed["throughput"]
    # written at every logged step together with global_step; step 1 is warm-up
    assert killed["global_step"] >= 4 and first["steps"] == killed["global_step"] - 1
    assert first["samples_per_s"] > 0 and first["seconds"] > 0
    assert first["samples_per_s"] == pytest.approx(first["samples"] / first["seconds"])
    assert (first["samples_per_epoch"], first["steps_per_epoch"], first["epochs"]) == (10, 3, 4)
    assert (first["device"], first["precision"], first["model"]) == ("cpu", "fp32", "tiny")
    resumed_at = load_checkpoint(run / "checkpoints" / "last.ckpt")["global_step"]

    code, out = run_training(config)
    assert code == 0, out
    state = state_of(run)
    final = state["throughput"]
    assert state["restarts"] == 1 and state["global_step"] == 12
    # the restart timed steps resumed_at+2 .. 12 (its first step is warm-up) on top of the first
    assert final["steps"] == first["steps"] + (12 - resumed_at - 1)
    assert final["seconds"] > first["seconds"] and final["samples"] > first["samples"]
    assert final["samples_per_s"] == pytest.approx(final["samples"] / final["seconds"])
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    timed = [r for r in records if r.get("kind") == "train" and "measured_samples_per_s" in r]
    assert timed and all(r["step_seconds"] > 0 for r in timed)
    assert timed[-1]["measured_samples_per_s"] == pytest.approx(final["samples_per_s"])
