"""The pieces under the kill-anywhere campaign: the kill-point hook (real subprocesses, real
SIGKILL), start-up removal of the temp files and folders a kill leaves, the interrupted export
swap, and the de-duplication of ``metrics.jsonl`` on resume."""

import json
import os
import signal
import subprocess
import sys

import pytest

from musicgen_ft.ops.alerts import AlertLog
from musicgen_ft.checkpoint import CheckpointManager
from musicgen_ft.faults import write_json_atomic
from musicgen_ft.faults import KILL_ENV, LOG_ENV, parse_targets, read_trace
from musicgen_ft.metrics import purge_replayed, read_metrics
from logdrum.io.atomic import find_temps, is_temp_name, remove_stale_temps

HIT_THREE_TIMES = ("from musicgen_ft.faults import kill_point\n"
                   "for _ in range(3):\n"
                   "    kill_point('step')\n"
                   "print('survived', flush=True)\n")


def hit(env):
    proc = subprocess.run([sys.executable, "-c", HIT_THREE_TIMES], capture_output=True,
                          text=True, env=dict(os.environ, **env), timeout=60)
    return proc.returncode, proc.stdout + proc.stderr


def test_kill_point_sigkills_at_the_nth_occurrence(tmp_path):
    log = tmp_path / "trace.log"
    code, out = hit({KILL_ENV: "step:2", LOG_ENV: str(log)})
    assert code == -signal.SIGKILL
    assert "SIGKILL at step:2" in out and "survived" not in out
    assert read_trace(log) == {"step": 2}


def test_counts_run_on_across_processes_that_share_a_fault_log(tmp_path):
    env = {KILL_ENV: "step:5", LOG_ENV: str(tmp_path / "trace.log")}
    assert hit(env)[0] == 0                      # occurrences 1-3
    code, out = hit(env)                         # 4, then 5 is the target
    assert code == -signal.SIGKILL and "SIGKILL at step:5" in out
    assert hit(env)[0] == 0                      # a fired target does not fire again


def test_no_environment_no_kill():
    code, out = hit({KILL_ENV: "", LOG_ENV: ""})
    assert code == 0 and "survived" in out


def test_kill_targets_are_checked():
    assert parse_targets("write:last.ckpt:3, step:1") == {("write:last.ckpt", 3), ("step", 1)}
    for bad in ("step", "step:0", "step:x", ":3"):
        with pytest.raises(ValueError, match=KILL_ENV):
            parse_targets(bad)


def test_read_trace_ignores_a_torn_last_line(tmp_path):
    (tmp_path / "t").write_text("step\nvalidate\nste")
    assert read_trace(tmp_path / "t") == {"step": 1, "validate": 1}


@pytest.mark.parametrize("name", [
    ".last.ckpt.tmp", ".epoch_12.ckpt.tmp", ".best_model.tmp",
    ".orchestrator_state.json.4242.tmp", ".c001-0a1b2c3d4e.4242.tmp.npz",
    ".metrics.jsonl.77.tmp", ".watchdog_fired.json.tmp", ".preflight.31.tmp"])
def test_the_runs_temp_names_are_recognised(name):
    assert is_temp_name(name)


@pytest.mark.parametrize("name", [
    "last.ckpt", "epoch_3.ckpt", "best_model", "best_model.pt", "metrics.jsonl", ".tmp",
    ".gitignore", "heartbeat", "notes.tmp", "c001-0a1b2c3d4e.npz"])
def test_other_names_are_not_temps(name):
    assert not is_temp_name(name)


def test_the_real_writers_temp_names_are_recognised(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (seen.append(os.path.basename(a)),
                                                     real_replace(a, b)))
    write_json_atomic(tmp_path / "orchestrator_state.json", {"a": 1})
    from musicgen_ft.checkpoint import atomic_save
    from musicgen_ft.data import _save_npz_atomic

    atomic_save({"x": 1}, tmp_path / "last.ckpt")
    _save_npz_atomic(tmp_path / "c000-0123456789.npz", codes=[1, 2])
    assert len(seen) == 3 and all(is_temp_name(n) for n in seen), seen


def test_stale_temp_files_and_folders_are_removed_at_any_depth(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    files = [tmp_path / ".orchestrator_state.json.123.tmp",
             tmp_path / "checkpoints" / ".last.ckpt.tmp",
             tmp_path / "milestone" / f".decision.json.{dead.pid}.tmp",
             tmp_path / "codes_cache" / "v1-x" / f".c000-abc.{os.getpid()}.tmp.npz"]
    folder = tmp_path / "checkpoints" / ".best_model.tmp"
    mine = tmp_path / "checkpoints" / "last.ckpt"
    for f in files + [folder / "config.json", mine]:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("x")
    # a rank still encoding into a shared cache: a live process that is not this one
    alive = tmp_path / "codes_cache" / "v1-x" / f".c001-abc.{os.getppid()}.tmp.npz"
    alive.write_text("x")
    deep = tmp_path / "a" / "b" / "c" / ".last.ckpt.tmp"     # deeper than the run writes
    hidden = tmp_path / ".git" / ".index.tmp"                # a folder the run never writes
    for f in (deep, hidden):
        f.parent.mkdir(parents=True)
        f.write_text("x")
    removed = remove_stale_temps(tmp_path, depth=2)
    assert sorted(removed) == sorted(files + [folder])
    assert find_temps(tmp_path, depth=2) == [alive] and mine.exists()
    assert deep.exists() and hidden.exists()


def test_checkpoint_manager_survives_the_export_temp_folder(tmp_path):
    """The crash of issue 11 at unit level: a temp FOLDER made ``Path.unlink`` fail."""
    folder = tmp_path / "checkpoints"
    (folder / ".best_model.tmp").mkdir(parents=True)
    (folder / ".best_model.tmp" / "model.safetensors").write_bytes(b"half")
    CheckpointManager(folder, AlertLog(tmp_path / "alerts.jsonl"))
    assert not (folder / ".best_model.tmp").exists()


def test_an_interrupted_export_swap_is_finished_at_start_up(tmp_path):
    folder = tmp_path / "checkpoints"
    (folder / "best_model.old").mkdir(parents=True)
    (folder / "best_model.old" / "config.json").write_text("previous")
    CheckpointManager(folder, AlertLog(tmp_path / "alerts.jsonl"))     # killed between renames
    assert (folder / "best_model" / "config.json").read_text() == "previous"
    (folder / "best_model.old").mkdir()
    (folder / "best_model.old" / "config.json").write_text("older")
    CheckpointManager(folder, AlertLog(tmp_path / "alerts.jsonl"))     # killed after both
    assert (folder / "best_model" / "config.json").read_text() == "previous"
    assert not (folder / "best_model.old").exists()


def test_resume_drops_the_metrics_it_will_write_again(tmp_path):
    path = tmp_path / "metrics.jsonl"
    records = [{"kind": "train", "step": s} for s in (1, 2, 3)] + [
        {"kind": "val", "step": 3, "epoch": 1}] + [{"kind": "train", "step": s} for s in (4, 5)]
    text = "".join(json.dumps(r) + "\n" for r in records)
    path.write_text(text + '{"kind": "train", "st')          # torn by the kill
    purge_replayed(path, step=3, epoch=0)   # checkpoint at step 3, before epoch 1's validation
    kept = [(r["kind"], r["step"]) for r in read_metrics(path)]
    assert kept == [("train", 1), ("train", 2), ("train", 3)]
    path.write_text(text)
    purge_replayed(path, step=5, epoch=1)                    # nothing to drop: untouched
    assert path.read_text() == text
