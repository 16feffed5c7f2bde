"""Disk full and read-only at every kind of save the run makes.

Full: a real tmpfs mount, filled to the last byte. Read-only: ``chattr +i`` (or, as in
test_ft_checkpoint.py, chmod or a read-only bind mount where that is what the machine allows)
on the folder or file the save writes. For each kind the previous good copy stays byte for
byte, no temp file is left, and ONE CRITICAL ``save_failed`` alert names the path and the free
space. Checkpoint-class saves (last.ckpt, epoch_k.ckpt, best_model.pt, best_model/, the code
cache) raise SaveError, which the trainer turns into exit code 5 (the subprocess test at the
end); the logs (orchestrator_state.json, metrics.jsonl) alert and training goes on.
"""

import contextlib
import json
import re

import pytest

from logdrum.io.atomic import is_temp_name

from musicgen_ft.ops.alerts import AlertLog, read_alerts
from musicgen_ft.checkpoint import CheckpointManager, SaveError, load_checkpoint
from musicgen_ft.ops.cost_tracker import CostTracker
from musicgen_ft.metrics import MetricsWriter, read_metrics
from musicgen_ft.exit_codes import ExitCode

from ft_helpers import make_dataset, refusing_writes, run_quiet, run_training, tiny_config
from test_ft_checkpoint import state


@contextlib.contextmanager
def small_disk(folder, size="4m"):
    folder.mkdir(parents=True)
    if not run_quiet("mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)):
        pytest.skip("cannot mount a tmpfs here (needs CAP_SYS_ADMIN)")
    try:
        yield folder
    finally:
        run_quiet("umount", "-l", str(folder))   # lazy: a failed test may hold a file open


def fill(folder):
    """Take every free byte of the disk holding ``folder``."""
    with open(folder / "filler", "wb", buffering=0) as f:   # unbuffered: close() has no more
        for size in (1 << 16, 1 << 10, 1):                   # to write, and nothing is left
            try:
                while f.write(b"\0" * size):
                    pass
            except OSError:
                pass


@contextlib.contextmanager
def immutable(path):
    """``chattr +i`` one file (refusing_writes does folders)."""
    if not run_quiet("chattr", "+i", str(path)):
        pytest.skip("chattr +i not permitted here")
    try:
        yield
    finally:
        run_quiet("chattr", "-i", str(path))


@contextlib.contextmanager
def broken(how, folder, file=None):
    """The disk under ``folder`` made full, or ``folder`` (or ``file``) refusing writes."""
    if how == "full":
        fill(folder)
        try:
            yield
        finally:
            (folder / "filler").unlink()
    elif file is not None:
        with immutable(file):
            yield
    else:
        with refusing_writes(folder):
            yield


def the_critical_alert(alerts_path, path):
    """The one CRITICAL alert about ``path`` (a full disk may fail other files too)."""
    critical = [a for a in read_alerts(alerts_path)
                if a["level"] == "CRITICAL" and a.get("path") == str(path)]
    assert len(critical) == 1, read_alerts(alerts_path)
    alert = critical[0]
    assert alert["code"] == "save_failed" and alert["path"] == str(path)
    assert str(path) in alert["message"] and alert["free"] in alert["message"]
    assert re.fullmatch(r"[\d.]+ (GiB|MiB|KiB|bytes) free", alert["free"]), alert["free"]
    return alert


def no_temps(folder):
    return [p.name for p in folder.rglob(".*tmp*")] == []


# ---- checkpoint-class saves: SaveError, previous copy intact ----------------------------
def save_kinds():
    def last(m):
        return m.last, lambda: m.save_last(state(10), "good"), lambda: m.save_last(state(11), "x")

    def epoch(m):
        return (m.epoch_path(2), lambda: m.save_epoch(state(20), 2),
                lambda: m.save_epoch(state(40), 2))

    def best(m):
        return (m.best, lambda: m.save_best(state(10)["model"], {"val_loss": 2.0}),
                lambda: m.save_best(state(11)["model"], {"val_loss": 1.0}))

    return {"last.ckpt": last, "epoch_k.ckpt": epoch, "best_model.pt": best}


@pytest.mark.parametrize("how", ["full", "read-only"])
@pytest.mark.parametrize("kind", list(save_kinds()))
def test_checkpoint_saves_keep_the_previous_file(tmp_path, kind, how):
    with small_disk(tmp_path / "disk") as disk:
        manager = CheckpointManager(disk / "checkpoints", AlertLog(tmp_path / "alerts.jsonl"))
        path, good_save, doomed_save = save_kinds()[kind](manager)
        good_save()
        good = path.read_bytes()
        with broken(how, manager.folder, path if how == "read-only" else None):
            with pytest.raises(SaveError):
                doomed_save()
        assert path.read_bytes() == good
        assert no_temps(manager.folder)
        the_critical_alert(tmp_path / "alerts.jsonl", path)


@pytest.fixture(scope="module")
def tiny_backend():
    from musicgen_ft.model import build_model

    return build_model("tiny", seed=0)


@pytest.mark.parametrize("how", ["full", "read-only"])
def test_best_model_export_keeps_the_previous_export(tmp_path, tiny_backend, how):
    with small_disk(tmp_path / "disk", size="8m") as disk:
        manager = CheckpointManager(disk / "checkpoints", AlertLog(tmp_path / "alerts.jsonl"))
        manager.export_best(tiny_backend.model, tiny_backend.tokenizer)
        before = {p.name: p.read_bytes() for p in manager.best_export.iterdir()}
        with broken(how, manager.folder):
            with pytest.raises(SaveError):
                manager.export_best(tiny_backend.model, tiny_backend.tokenizer)
        assert {p.name: p.read_bytes() for p in manager.best_export.iterdir()} == before
        assert not [p for p in manager.folder.iterdir() if is_temp_name(p.name)]
        the_critical_alert(tmp_path / "alerts.jsonl", manager.best_export)


# ---- the logs: one CRITICAL alert, previous content intact, training goes on ------------
@pytest.mark.parametrize("how", ["full", "read-only"])
def test_cost_state_keeps_the_previous_file_and_alerts_once(tmp_path, how):
    with small_disk(tmp_path / "disk") as disk:
        alerts = AlertLog(tmp_path / "alerts.jsonl")
        cost = CostTracker(disk, 0.39, 600.0, alerts=alerts)
        cost.update(global_step=5)
        good = cost.path.read_bytes()
        with broken(how, disk):
            cost.update(global_step=6)       # no exception: accounting never stops training
            cost.update(global_step=7)
        assert cost.path.read_bytes() == good and json.loads(good)["global_step"] == 5
        assert no_temps(disk)
        the_critical_alert(tmp_path / "alerts.jsonl", cost.path)
        cost.update(global_step=8)           # the disk is back: writes resume
        assert json.loads(cost.path.read_text())["global_step"] == 8


# TensorBoard's writer thread dies of the full disk (as it does in a run); its traceback is
# expected here
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
@pytest.mark.parametrize("how", ["full", "read-only"])
def test_metrics_keep_the_records_written_and_alert_once(tmp_path, how):
    with small_disk(tmp_path / "disk") as disk:
        alerts = AlertLog(tmp_path / "alerts.jsonl")
        path = disk / "metrics.jsonl"
        if how == "read-only":              # an immutable file cannot even be opened to append
            path.write_text(json.dumps({"kind": "train", "step": 1, "loss": 5.0}) + "\n")
            with immutable(path):
                writer = MetricsWriter(disk, alerts=alerts)
                writer.log("train", 2, loss=4.0)
                writer.close()
        else:
            writer = MetricsWriter(disk, alerts=alerts)
            writer.log("train", 1, loss=5.0)
            fill(disk)
            for step in (2, 3):
                writer.log("train", step, loss=4.0, loss_per_codebook=[1.0] * 2000)
            writer.close()
            the_critical_alert(tmp_path / "alerts.jsonl", disk / "tensorboard")
        assert [r["step"] for r in read_metrics(path)][:1] == [1]
        the_critical_alert(tmp_path / "alerts.jsonl", path)


# ---- the exit code, from the real command -------------------------------------------------
def test_full_disk_under_the_code_cache_stops_with_exit_5(tmp_path):
    data = make_dataset(tmp_path / "data", n_clips=3, seconds=2.4)
    with small_disk(tmp_path / "cache", size="64k") as cache:
        fill(cache)
        config = tiny_config(tmp_path, data, cache_dir=str(cache), epochs=1)
        code, out = run_training(config)
        assert code == ExitCode.SAVE_FAILED, out
        assert "Traceback" not in out
        assert no_temps(cache)
        alert = the_critical_alert(tmp_path / "run" / "alerts.jsonl",
                                   next(p for p in cache.iterdir() if p.is_dir()))
        assert "code cache" in alert["message"] and "exit code 5" in alert["message"]


def test_disk_filling_up_mid_run_stops_with_exit_5_and_resumes_once_there_is_room(tmp_path):
    """The whole run dir on a 1.8 MB disk: the tiny run's checkpoints (0.56 MB each, written
    beside the previous one) fill it within the first epochs. The run stops with exit 5 and the
    last good checkpoint; once the disk is grown, the same command resumes and finishes."""
    data = make_dataset(tmp_path / "data", n_clips=6, seconds=2.4)
    config = tiny_config(tmp_path, data, epochs=2, batch_size=2, grad_accum_steps=2,
                         save_every_steps=2, warmup_steps=3)
    with small_disk(tmp_path / "run", size="1800k") as run:
        code, out = run_training(config)
        assert code == ExitCode.SAVE_FAILED, out
        assert "Traceback" not in out
        alert = [a for a in read_alerts(run / "alerts.jsonl") if a["level"] == "CRITICAL"][-1]
        assert alert["code"] == "save_failed" and alert["free"] in alert["message"]
        good = load_checkpoint(run / "checkpoints" / "last.ckpt")["global_step"]
        assert good > 0 and no_temps(run)
        assert run_quiet("mount", "-o", "remount,size=16m", str(run))   # room again
        code, out = run_training(config)
        assert code == 0, out
        assert "RESUMING from checkpoint: last.ckpt" in out and f"step {good})" in out
        assert load_checkpoint(run / "checkpoints" / "last.ckpt")["global_step"] == 6
