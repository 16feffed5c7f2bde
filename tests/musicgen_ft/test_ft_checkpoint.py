"""Checkpoints: atomic writes, fallback from a corrupt last.ckpt, failed saves on a real
unwritable or full directory, keep-last-K, RNG capture.

We run as root in CI containers, where chmod does not stop writes. The unwritable directory is
made with, in order of preference: chmod 0500 (non-root), ``chattr +i`` (immutable: refuses
even root, EPERM), or a read-only bind mount (EROFS). The full disk is a 256 KiB tmpfs mount.
A test is skipped only when none of these is permitted on the machine.
"""

import numpy as np
import pytest
import torch

from musicgen_ft.ops.alerts import AlertLog, read_alerts
from musicgen_ft.checkpoint import (CheckpointManager, SaveError, atomic_save, capture_rng,
                                    load_checkpoint, restore_rng)

from ft_helpers import refusing_writes, run_quiet


def state(step, size=16):
    """A training checkpoint with every required key (model: a few random tensors)."""
    gen = torch.Generator().manual_seed(step)
    return {"format": 1, "model": {"w": torch.randn(size, size, generator=gen)},
            "optimizer": {"state": {}, "param_groups": []}, "scheduler": {}, "epoch": step // 10,
            "batch_in_epoch": step % 10, "global_step": step, "rng": capture_rng(),
            "monitor": {}, "config": {}}


@pytest.fixture
def manager(tmp_path):
    return CheckpointManager(tmp_path / "checkpoints", AlertLog(tmp_path / "alerts.jsonl"),
                             keep_last=2)


def test_atomic_save_round_trip_and_no_temp_left(manager):
    manager.save_last(state(3), "test")
    loaded = load_checkpoint(manager.last)
    assert loaded["global_step"] == 3 and torch.equal(loaded["model"]["w"], state(3)["model"]["w"])
    assert not list(manager.folder.glob(".*tmp"))


def test_truncated_last_falls_back_to_newest_epoch_checkpoint(manager, tmp_path):
    manager.save_epoch(state(20), 2)
    manager.save_epoch(state(40), 4)
    manager.save_last(state(47), "test")
    data = manager.last.read_bytes()
    manager.last.write_bytes(data[: len(data) // 2])          # torn by a dying disk
    loaded, path = manager.load_latest()
    assert path.name == "epoch_4.ckpt" and loaded["global_step"] == 40
    alerts = read_alerts(tmp_path / "alerts.jsonl")
    assert [(a["level"], a["code"]) for a in alerts] == [("WARNING", "corrupt_checkpoint")]
    assert (manager.folder / "last.ckpt.corrupt").exists()   # kept for diagnosis, out of the way


def test_garbage_everywhere_means_fresh_start_not_crash(manager):
    manager.last.write_bytes(b"")
    manager.epoch_path(2).write_bytes(b"PK\x03\x04 not really a zip")
    torch.save({"just": "weights"}, manager.epoch_path(4))    # readable, but not a checkpoint
    assert manager.load_latest() == (None, None)


def test_keep_last_k_epoch_checkpoints(manager):
    for epoch in (2, 4, 6, 8):
        manager.save_epoch(state(epoch * 10), epoch)
    assert [p.name for p in manager.epoch_checkpoints()] == ["epoch_8.ckpt", "epoch_6.ckpt"]


def test_stale_temp_files_are_cleaned_on_start(tmp_path):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    (folder / ".last.ckpt.tmp").write_bytes(b"half a checkpoint")
    CheckpointManager(folder, AlertLog(tmp_path / "alerts.jsonl"))
    assert not (folder / ".last.ckpt.tmp").exists()


def test_failed_save_in_unwritable_directory_keeps_the_good_checkpoint(manager, tmp_path):
    manager.save_last(state(10), "good")
    good = manager.last.read_bytes()
    with refusing_writes(manager.folder) as how:
        with pytest.raises(SaveError):
            manager.save_last(state(11), "doomed")
    assert manager.last.read_bytes() == good, how
    assert load_checkpoint(manager.last)["global_step"] == 10
    assert not list(manager.folder.glob(".*tmp"))
    alerts = read_alerts(tmp_path / "alerts.jsonl")
    assert [(a["level"], a["code"]) for a in alerts] == [("CRITICAL", "save_failed")]


def test_failed_save_on_full_disk_keeps_the_good_checkpoint(tmp_path):
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    if not run_quiet("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)):
        pytest.skip("cannot mount a tmpfs here (needs CAP_SYS_ADMIN)")
    try:
        manager = CheckpointManager(folder, AlertLog(tmp_path / "alerts.jsonl"))
        manager.save_last(state(10), "good")
        good = manager.last.read_bytes()
        with pytest.raises(SaveError):
            manager.save_last(state(11, size=300), "too big: 360 KB on a 256 KiB disk")
        assert manager.last.read_bytes() == good
        assert not list(folder.glob(".*tmp"))           # the partial temp file is gone
        assert read_alerts(tmp_path / "alerts.jsonl")[-1]["level"] == "CRITICAL"
    finally:
        run_quiet("umount", str(folder))


def test_atomic_save_reports_missing_folder(tmp_path):
    with pytest.raises(SaveError):
        atomic_save({"a": 1}, tmp_path / "not_a_folder" / "x.ckpt")


def test_rng_state_round_trip():
    import random

    saved = capture_rng()
    expected = (torch.rand(3), np.random.rand(3), random.random())
    torch.rand(10), np.random.rand(10), random.random()
    restore_rng(saved)
    again = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(expected[0], again[0])
    assert np.array_equal(expected[1], again[1]) and expected[2] == again[2]
