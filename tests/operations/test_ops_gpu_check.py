"""``benchmarks/gpu_check.py``: skips cleanly without CUDA; on a CPU its sections still run."""

import json
import os
import subprocess
import sys

import pytest
import torch

from ops_helpers import ENV, REPO

SCRIPT = REPO / "benchmarks" / "gpu_check.py"

pytestmark = pytest.mark.skipif(torch.cuda.is_available(),
                                reason="a CUDA machine runs the real check instead")


def run_check(tmp_path, *args):
    out = tmp_path / "gpu_check.json"
    done = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out), *args],
                          cwd=tmp_path, env=dict(os.environ, **ENV), capture_output=True,
                          text=True, timeout=300)
    return done, json.loads(out.read_text())


def test_without_cuda_it_says_so_and_writes_skipped(tmp_path):
    done, report = run_check(tmp_path)
    assert done.returncode == 0, done.stderr
    assert "gpu_check: no CUDA device visible" in done.stdout and "skipped" in done.stdout
    assert report["skipped"] is True and report["reason"] == "no CUDA"
    assert report["cuda"] is False and report["sections"] == {}


def test_cpu_smoke_runs_what_a_cpu_can_within_the_budget(tmp_path):
    done, report = run_check(tmp_path, "--cpu-smoke")
    assert done.returncode == 0, done.stdout + done.stderr
    s = report["sections"]
    assert report["skipped"] is False and report["finished"] is True
    assert s["device"]["status"] == "ok" and s["device"]["device"] == "cpu"
    fp32 = s["precision_steps"]["tiny"]["precisions"]["fp32"]
    assert fp32["error"] is None and fp32["finite_loss"] and fp32["samples_per_s"] > 0
    assert s["oom_backoff"] == {"status": "not run", "reason": "needs CUDA"}
    rows = s["batch_sweep"]["rows"]
    assert [r["batch_size"] for r in rows] == [1, 2]
    assert all(r["samples_per_s"] > 0 and r["peak_memory_gb"] > 0 for r in rows)
    assert s["batch_sweep"]["gpu_watch"]["samples"] == 0          # no NVML/nvidia-smi here

    # too little time for the long sections: they are recorded as not run, not started
    done, report = run_check(tmp_path, "--cpu-smoke", "--budget-s", "40")
    assert done.returncode == 0, done.stdout + done.stderr
    assert report["sections"]["device"]["status"] == "ok"
    for name in ("precision_steps", "batch_sweep"):
        assert report["sections"][name]["status"] == "not run"
        assert "time budget" in report["sections"][name]["reason"]
