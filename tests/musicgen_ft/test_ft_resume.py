"""Kill tests in real subprocesses: a run that is SIGKILLed (mid-epoch, or while a checkpoint
is half written) or SIGTERMed, then restarted with the same command, ends with bit-identical
weights and optimizer state to a run that was never interrupted (CPU, one thread).

The kill lands wherever the process happens to be when the test sees a given step in
``metrics.jsonl``; only the kill during a save uses a fault-injection pause
(``MUSICGEN_FT_TEST_SAVE_PAUSE``) so that the temp file is reliably half written.
"""

import json
import signal
import time

import pytest
import torch

from musicgen_ft.ops.alerts import read_alerts
from musicgen_ft.checkpoint import PAUSE_ENV, load_checkpoint

from ft_helpers import run_training, start_training, tiny_config, train_steps

# 10 train segments (5 clips x 2), batch 2, accumulation 2: 5 micro-batches, 3 optimizer steps
# per epoch, 12 steps in all; last.ckpt every 2 steps (steps 2, 4, 8, 10 are mid-epoch) and
# at each epoch end (3, 6, 9, 12); epoch_2.ckpt at step 6, epoch_4.ckpt at step 12.
RESUME = dict(epochs=4, batch_size=2, grad_accum_steps=2, save_every_steps=2, warmup_steps=3)


def config_for(tmp_path, data, cache, **extra):
    return tiny_config(tmp_path, data, cache_dir=str(cache), **{**RESUME, **extra})


@pytest.fixture(scope="module")
def reference(tmp_path_factory, data, cache):
    """Final state of an uninterrupted run."""
    tmp = tmp_path_factory.mktemp("reference")
    code, out = run_training(config_for(tmp, data, cache))
    assert code == 0, out
    return load_checkpoint(tmp / "run" / "checkpoints" / "last.ckpt")


def assert_same_final_state(run_dir, reference):
    final = load_checkpoint(run_dir / "checkpoints" / "last.ckpt")
    assert final["global_step"] == reference["global_step"] == 12
    assert final["model"].keys() == reference["model"].keys()
    for key, value in reference["model"].items():
        assert torch.equal(final["model"][key], value), key
    for pid, st in reference["optimizer"]["state"].items():
        for name, value in st.items():
            assert torch.equal(final["optimizer"]["state"][pid][name], value), (pid, name)
    assert final["best_val_loss"] == reference["best_val_loss"]


def wait_for_step(proc, run_dir, step, timeout=90):
    """Poll metrics.jsonl until a train record with ``step`` or later appears."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"run ended (rc {proc.returncode}) before step {step}:\n"
                                 + proc.stdout.read())
        reached = [s for s in train_steps(run_dir) if s >= step]
        if reached:
            return reached[0]
        time.sleep(0.005)
    raise AssertionError(f"no step {step} within {timeout} s")


def kill(proc, sig):
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=60)
    return proc.returncode, out


def test_sigkill_mid_epoch_twice_and_a_torn_last_ckpt(tmp_path, data, cache, reference):
    config = config_for(tmp_path, data, cache)
    run = tmp_path / "run"

    proc = start_training(config)
    seen = wait_for_step(proc, run, 5)
    code, _ = kill(proc, signal.SIGKILL)
    assert code == -signal.SIGKILL
    resumed_at = load_checkpoint(run / "checkpoints" / "last.ckpt")
    assert resumed_at["global_step"] <= seen    # steps after the checkpoint are replayed

    proc = start_training(config)
    wait_for_step(proc, run, 9)
    code, out = kill(proc, signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert f"RESUMING from checkpoint: last.ckpt (epoch {resumed_at['epoch'] + 1}, batch " \
        f"{resumed_at['batch_in_epoch']}, step {resumed_at['global_step']})" in out

    # the disk tore last.ckpt: the restart must fall back to epoch_2.ckpt, not crash
    last = run / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[:5000])
    code, out = run_training(config)
    assert code == 0, out
    assert "RESUMING from checkpoint: epoch_2.ckpt (epoch 3, batch 0, step 6)" in out
    assert any(a["code"] == "corrupt_checkpoint" and a["level"] == "WARNING"
               for a in read_alerts(run / "alerts.jsonl"))
    assert_same_final_state(run, reference)


def test_sigkill_during_a_checkpoint_write(tmp_path, data, cache, reference):
    config = config_for(tmp_path, data, cache)
    folder = tmp_path / "run" / "checkpoints"
    proc = start_training(config, {PAUSE_ENV: "1.5"})
    deadline = time.monotonic() + 90

    def torn():
        # the temp file logdrum.io.atomic names after last.ckpt and the writer's pid
        found = list(folder.glob(".last.ckpt.*.tmp")) if folder.exists() else []
        return found[0] if found else folder / ".last.ckpt.none.tmp"

    def half_written():
        try:
            return torn().stat().st_size >= 65536
        except FileNotFoundError:
            return False

    # wait for a save of last.ckpt that replaces an existing one, paused half way through
    while not ((folder / "last.ckpt").exists() and half_written()):
        assert proc.poll() is None and time.monotonic() < deadline, "no second save seen"
        time.sleep(0.005)
    code, _ = kill(proc, signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert half_written()
    left = torn()
    with pytest.raises(Exception):
        torch.load(left, weights_only=True)                 # really half written
    before = load_checkpoint(folder / "last.ckpt")          # the previous one is whole

    code, out = run_training(config)
    assert code == 0, out
    assert f"step {before['global_step']})" in out.split("RESUMING from checkpoint: last.ckpt")[1]
    assert not left.exists()
    assert_same_final_state(tmp_path / "run", reference)


def test_sigterm_checkpoints_exits_0_promptly_and_resumes(tmp_path, data, cache, reference):
    config = config_for(tmp_path, data, cache)
    run = tmp_path / "run"
    proc = start_training(config)
    wait_for_step(proc, run, 3)
    sent = time.monotonic()
    code, out = kill(proc, signal.SIGTERM)
    took = time.monotonic() - sent
    assert code == 0, out
    assert took < 10
    assert "Received SIGTERM" in out and "💾 Saved last.ckpt (SIGTERM" in out
    saved = load_checkpoint(run / "checkpoints" / "last.ckpt")
    last_logged = max(json.loads(line)["step"] for line in
                      (run / "metrics.jsonl").read_text().splitlines())
    assert saved["global_step"] == last_logged              # nothing trained was lost

    code, out = run_training(config)
    assert code == 0, out
    assert f"step {saved['global_step']})" in out.split("RESUMING from checkpoint: last.ckpt")[1]
    assert_same_final_state(run, reference)
