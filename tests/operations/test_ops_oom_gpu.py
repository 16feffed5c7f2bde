"""CUDA out-of-memory back-off (through the injectable fault, on CPU) and the GPU watch.

The fault ``MUSICGEN_FT_TEST_OOM_ABOVE=N`` makes a forward pass over more than N samples raise
``torch.OutOfMemoryError``, as a GPU with room for N samples would. The GPU watch reads a real
``nvidia-smi`` when there is one; here a stand-in executable on PATH prints the same CSV.
"""

import json
import os
import stat

import pytest
import torch

from musicgen_ft.ops.alerts import AlertLog, read_alerts
from musicgen_ft.checkpoint import load_checkpoint
from musicgen_ft.data import make_batch
from musicgen_ft.ops.gpu_watch import GpuWatch, find_reader, parse_nvidia_smi
from musicgen_ft.model import build_model, lm_loss
from evaluation.run_folder import OOM_STATE_FILE as STATE_FILE
from musicgen_ft.ops.oom import FAULT_ENV, split_batch
from musicgen_ft.ops.checks import check_resume
from musicgen_ft.config import load_config
from musicgen_ft.exit_codes import ExitCode
from musicgen_ft.train import main

from ops_helpers import tiny_config


def test_split_pieces_give_the_same_gradient_as_the_whole_batch():
    from musicgen_ft.data import CodeSet

    backend = build_model("tiny", seed=0)
    backend.model.eval()                          # no dropout: gradients are comparable
    g = torch.Generator().manual_seed(0)
    codes = torch.randint(0, 64, (5, 4, 20), generator=g, dtype=torch.int16)
    n_valid = torch.tensor([20, 7, 20, 13, 20])   # padding: pieces hold different token counts
    data = CodeSet(codes, n_valid, ["a, b", "house", "amapiano, log drum", "", "x"], list("abcde"))
    batch = make_batch(data, [0, 1, 2, 3, 4], backend)
    params = [p for p in backend.model.parameters() if p.requires_grad]

    def grads(factor):
        backend.model.zero_grad(set_to_none=True)
        pieces = split_batch(batch, factor)
        assert abs(sum(w for _, w in pieces) - 1.0) < 1e-12
        for piece, w in pieces:
            assert piece["labels"].shape[0] <= -(-5 // factor)
            loss, _ = lm_loss(backend, piece, "cpu")
            (loss * w).backward()
        return len(pieces), [p.grad.clone() for p in params]

    n1, whole = grads(1)
    for factor in (2, 4):
        n, split = grads(factor)
        assert n > 1
        for a, b in zip(whole, split):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_oom_halves_the_micro_batch_keeps_it_on_resume(tmp_path, ops_data, ops_cache, monkeypatch,
                                                        capsys):
    monkeypatch.setenv(FAULT_ENV, "2")            # room for 2 samples; batch_size is 4
    config = tiny_config(tmp_path, ops_data, cache_dir=str(ops_cache), epochs=2)
    run = tmp_path / "run"
    assert main(["--config", str(config)]) == ExitCode.OK
    oom = [a for a in read_alerts(run / "alerts.jsonl") if a["code"] == "cuda_oom"]
    assert len(oom) == 1 and oom[0]["level"] == "WARNING" and oom[0]["step"] == 1
    assert "micro-batch 4 x accumulation 2" in oom[0]["message"]
    assert "micro-batch 2 x accumulation 4" in oom[0]["message"]
    saved = json.loads((run / STATE_FILE).read_text())
    assert (saved["factor"], saved["micro_batch"], saved["accumulation"]) == (2, 2, 4)
    last = load_checkpoint(run / "checkpoints" / "last.ckpt")
    assert last["global_step"] == 4               # the failed step was redone, none skipped

    # resume for two more epochs: the fault is still there, but the kept size fits it
    config2 = tiny_config(tmp_path, ops_data, cache_dir=str(ops_cache), epochs=4)
    capsys.readouterr()
    assert main(["--config", str(config2)]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "OOM back-off in force (oom_backoff.json): micro-batch 2 x accumulation 4" in out
    assert [a["code"] for a in read_alerts(run / "alerts.jsonl")].count("cuda_oom") == 1
    assert load_checkpoint(run / "checkpoints" / "last.ckpt")["global_step"] == 8
    resume = check_resume(load_config(config2))
    assert resume.ok and "resuming from last.ckpt" in resume.detail
    assert "OOM back-off in force" in resume.detail


def test_oom_with_one_sample_stops_with_critical(tmp_path, ops_data, ops_cache, monkeypatch):
    monkeypatch.setenv(FAULT_ENV, "0")            # nothing fits
    config = tiny_config(tmp_path, ops_data, cache_dir=str(ops_cache), epochs=1)
    assert main(["--config", str(config)]) == ExitCode.OOM
    alerts = [a for a in read_alerts(tmp_path / "run" / "alerts.jsonl") if a["code"] == "cuda_oom"]
    assert [a["level"] for a in alerts] == ["WARNING", "WARNING", "CRITICAL"]   # 4 -> 2 -> 1 -> stop
    assert "micro-batch 1 x accumulation 8" in alerts[-1]["message"]


def fake_nvidia_smi(folder, utils_file):
    """An executable named nvidia-smi that prints the query CSV from ``utils_file``."""
    exe = folder / "nvidia-smi"
    exe.write_text(f"#!/bin/sh\ncase \"$*\" in *--query-gpu=index,utilization.gpu*) "
                   f"cat {utils_file};; *) exit 9;; esac\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return exe


def test_gpu_watch_off_without_gpu_tools(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("PATH", str(tmp_path))     # no nvidia-smi; pynvml is not installed here
    assert find_reader() == (None, None)
    watch = GpuWatch(AlertLog(tmp_path / "alerts.jsonl"), min_percent=50, window=60, interval=10)
    with caplog.at_level("INFO", logger="musicgen_ft"):
        watch.start()
        watch.stop()
    assert not watch.on
    assert "GPU utilisation watch: off (no NVML and no working nvidia-smi)" in caplog.text


def test_gpu_watch_warns_once_per_window_below_threshold(tmp_path, monkeypatch):
    utils = tmp_path / "utils.csv"
    utils.write_text("0, 20, 3000, 15360\n1, 95, 9000, 15360\n")
    fake_nvidia_smi(tmp_path, utils)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    source, reader = find_reader()
    assert source == "nvidia-smi"
    alerts = AlertLog(tmp_path / "alerts.jsonl")
    watch = GpuWatch(alerts, min_percent=50, window=60, interval=10)
    assert watch.sample(now=0.0) is None          # no verdict before a full window
    for t in range(10, 70, 10):
        means = watch.sample(now=float(t))
    assert means == {0: 20.0, 1: 95.0}
    got = read_alerts(tmp_path / "alerts.jsonl")
    assert [(a["level"], a["code"]) for a in got] == [("WARNING", "low_gpu_utilization")]
    assert "GPU 0 20%" in got[0]["message"] and "configuration error?" in got[0]["message"]
    utils.write_text("0, 90, 3000, 15360\n1, 95, 9000, 15360\n")
    for t in range(70, 200, 10):                  # busy again: the window average recovers
        watch.sample(now=float(t))
    assert len(read_alerts(tmp_path / "alerts.jsonl")) == 1
    with pytest.raises(ValueError):
        parse_nvidia_smi("0, 20\n")
