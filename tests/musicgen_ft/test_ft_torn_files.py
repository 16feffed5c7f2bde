"""Torn and foreign files: every artefact a run reads back, truncated, emptied or replaced by
garbage, then the real ``python -m musicgen_ft.train`` restarted on it in a subprocess.

Each bad copy must give a WARNING alert naming the file, a recovery (an older checkpoint, a
rebuild, a re-encode) and exit 0; never a traceback, never a fresh start from step 0 while a
good checkpoint exists. The 8 artefacts x 3 kinds of damage are 24 cases; to keep CI short
they run in 6 restarts, each damaging one independent group of four artefacts (within a group
no recovery needs another member: the two checkpoints, the two best-model copies and the cost
state and alert log, whose counts are compared, sit in different groups).
"""

import io
import json
import random
import shutil

import numpy as np
import pytest
import torch

from musicgen_ft.ops.alerts import AlertLog, read_alerts
from musicgen_ft.checkpoint import load_checkpoint, resume_candidates

from ft_helpers import make_dataset, run_training, tiny_config

# 3 optimizer steps per epoch, 12 in all: last.ckpt and epoch_4.ckpt at step 12, epoch_2.ckpt
# at step 6; the loss stays above 1.0, so steps 11 and 12 raise a high_loss WARNING each
SETTINGS = dict(epochs=4, batch_size=2, grad_accum_steps=2, save_every_steps=2, warmup_steps=3,
                alert_high_loss=1.0, alert_high_loss_after_step=10)

ARTEFACTS = {   # name: where it lies, relative to the case folder
    "last.ckpt": "run/checkpoints/last.ckpt",
    "epoch_k.ckpt": "run/checkpoints/epoch_4.ckpt",
    "best_model.pt": "run/checkpoints/best_model.pt",
    "best_model/": "run/checkpoints/best_model/model.safetensors",
    "orchestrator_state.json": "run/orchestrator_state.json",
    "metrics.jsonl": "run/metrics.jsonl",
    "alerts.jsonl": "run/alerts.jsonl",
    "code cache file": "cache/*/c000-*.npz",
}
# the code cache is read before alerts.jsonl is repaired: its WARNING must not be swallowed
GROUPS = {"A": ["last.ckpt", "best_model.pt", "orchestrator_state.json", "metrics.jsonl"],
          "B": ["epoch_k.ckpt", "best_model/", "alerts.jsonl", "code cache file"]}


def damage(path, kind):
    data = path.read_bytes()
    if kind == "truncated":
        path.write_bytes(data[:len(data) // 2])
    elif kind == "zero-length":
        path.write_bytes(b"")
    else:   # garbage of the same length
        path.write_bytes(random.Random(len(data)).randbytes(len(data)))


def locate(folder, name):
    found = sorted(folder.glob(ARTEFACTS[name]))
    assert len(found) == 1, (name, found)
    return found[0]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A finished run and its code cache: the files every case damages a copy of."""
    tmp = tmp_path_factory.mktemp("torn_base")
    data = make_dataset(tmp / "data", n_clips=6, seconds=2.4)
    code, out = run_training(tiny_config(tmp, data, **SETTINGS))
    assert code == 0, out
    assert len(read_alerts(tmp / "run" / "alerts.jsonl")) == 2     # the case for alerts.jsonl
    return tmp, data


def restart_on_copy(base, tmp_path, damaged):
    folder, data = base
    for sub in ("run", "cache"):
        shutil.copytree(folder / sub, tmp_path / sub)
    originals = {name: locate(tmp_path, name).read_bytes() for name in ARTEFACTS}
    for name, kind in damaged.items():
        damage(locate(tmp_path, name), kind)
    code, out = run_training(tiny_config(tmp_path, data, **SETTINGS))
    return code, out, originals


def resumed_state(run):
    """What the next restart would resume from (the first readable candidate)."""
    for path in resume_candidates(run / "checkpoints"):
        if path.exists():
            return load_checkpoint(path)
    raise AssertionError("no checkpoint left")


def assert_strict_jsonl(path):
    lines = [line for line in path.read_bytes().split(b"\n") if line.strip()]
    assert all(isinstance(json.loads(line), dict) for line in lines), path
    return len(lines)


def assert_recovered(name, tmp_path, originals, out):
    run, ckpts = tmp_path / "run", tmp_path / "run" / "checkpoints"
    path = locate(tmp_path, name) if "*" in ARTEFACTS[name] else tmp_path / ARTEFACTS[name]
    if name == "last.ckpt":           # the older epoch_4.ckpt, same step, is resumed
        assert "RESUMING from checkpoint: epoch_4.ckpt" in out
        assert (ckpts / "last.ckpt.corrupt").exists()
    elif name == "epoch_k.ckpt":      # set aside: neither resumed nor counted as kept
        assert not path.exists() and (ckpts / "epoch_4.ckpt.corrupt").exists()
        assert "RESUMING from checkpoint: last.ckpt" in out
    elif name == "best_model.pt":     # rebuilt from best_model/: the same weights
        rebuilt = torch.load(path, weights_only=True)["model"]
        original = torch.load(io.BytesIO(originals[name]), weights_only=True)["model"]
        assert rebuilt.keys() == original.keys()
        assert all(torch.equal(rebuilt[k], v) for k, v in original.items())
        assert (ckpts / "best_model.pt.corrupt").exists()
    elif name == "best_model/":       # exported again from best_model.pt: the same bytes
        assert path.read_bytes() == originals[name]
        assert (ckpts / "best_model.corrupt").is_dir()
    elif name == "orchestrator_state.json":
        state = json.loads(path.read_text())
        assert state["global_step"] == 12 and state["restarts"] == 0    # accounting restarted
        assert (run / "orchestrator_state.json.corrupt").exists()
    elif name in ("metrics.jsonl", "alerts.jsonl"):
        assert_strict_jsonl(path)
    elif name == "code cache file":   # encoded again: the same codes
        with np.load(path) as now, np.load(io.BytesIO(originals[name])) as before:
            assert np.array_equal(now["codes"], before["codes"])
            assert np.array_equal(now["n_valid"], before["n_valid"])
        assert path.with_name(path.name + ".corrupt").exists()
    warned = [a for a in read_alerts(run / "alerts.jsonl") if a["level"] == "WARNING"
              and str(path.parent if name == "best_model/" else path) == a.get("path")]
    assert warned, f"no WARNING alert names {path}"


@pytest.mark.parametrize("kind", ["truncated", "zero-length", "garbage"])
@pytest.mark.parametrize("group", list(GROUPS))
def test_torn_artefacts_warn_and_recover(base, tmp_path, group, kind):
    code, out, originals = restart_on_copy(base, tmp_path, {n: kind for n in GROUPS[group]})
    assert code == 0, out
    assert "Traceback" not in out and "Starting fresh" not in out
    final = resumed_state(tmp_path / "run")
    reference = load_checkpoint(base[0] / "run" / "checkpoints" / "last.ckpt")
    assert final["global_step"] == 12
    assert all(torch.equal(final["model"][k], v) for k, v in reference["model"].items())
    for name in GROUPS[group]:
        assert_recovered(name, tmp_path, originals, out)
    assert_strict_jsonl(tmp_path / "run" / "alerts.jsonl")


def test_both_newest_checkpoints_torn_resumes_from_the_oldest_and_ends_identical(base, tmp_path):
    """last.ckpt and epoch_4.ckpt both torn: back to epoch_2.ckpt (step 6), not to step 0, and
    the six steps trained again end bit-identical to the run that was never damaged."""
    code, out, _ = restart_on_copy(base, tmp_path, {"last.ckpt": "truncated",
                                                    "epoch_k.ckpt": "garbage"})
    assert code == 0, out
    assert "RESUMING from checkpoint: epoch_2.ckpt" in out and "step 6)" in out
    final = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt")
    reference = load_checkpoint(base[0] / "run" / "checkpoints" / "last.ckpt")
    assert final["global_step"] == 12
    for key, value in reference["model"].items():
        assert torch.equal(final["model"][key], value), key
    for pid, st in reference["optimizer"]["state"].items():
        for name, value in st.items():
            assert torch.equal(final["optimizer"]["state"][pid][name], value), (pid, name)
    codes = [a["code"] for a in read_alerts(tmp_path / "run" / "alerts.jsonl")]
    assert codes.count("corrupt_checkpoint") + codes.count("corrupt_file") >= 2


def test_an_alert_after_a_torn_line_lands_on_a_line_of_its_own(tmp_path):
    path = tmp_path / "alerts.jsonl"
    path.write_text('{"level": "WARNING", "code": "high_loss"}\n{"level": "WARN')   # torn
    AlertLog(path).emit("WARNING", "corrupt_file", "found at start-up")
    assert [a["code"] for a in read_alerts(path)] == ["high_loss", "corrupt_file"]
