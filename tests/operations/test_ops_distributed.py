"""Multi-GPU path on CPU: ``python -m torch.distributed.run --nproc_per_node=2`` (torchrun) runs
the same entry point with DDP on gloo, as real subprocesses.

Rank 0 alone writes; 2 ranks x batch 2 learn like one process with batch 4 (the same global
micro-batches); SIGTERM to torchrun saves last.ckpt with both ranks' RNG states, and a restart
under torchrun ends with bit-identical weights to the uninterrupted DDP run.
"""

import json
import signal
import socket

import pytest
import torch

from musicgen_ft.checkpoint import load_checkpoint
from musicgen_ft.metrics import read_metrics
from musicgen_ft.exit_codes import ExitCode
from musicgen_ft.train import main

from ops_helpers import tiny_config, train_steps, wait_for

DDP = dict(batch_size=2, epochs=4, save_every_steps=3)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(spawn, config):
    return spawn("torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
                 f"--master_port={free_port()}", "-m", "musicgen_ft.train", "--config", config)


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory, ops_data, ops_cache):
    """An uninterrupted 2-process run: (run dir, its output)."""
    from ops_helpers import start

    tmp = tmp_path_factory.mktemp("ddp")
    config = tiny_config(tmp, ops_data, cache_dir=str(ops_cache), **DDP)
    proc = torchrun(lambda *a: start(*a), config)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    return tmp / "run", out


def test_rank0_writes_and_ddp_matches_one_process(ddp_run, tmp_path, ops_data, ops_cache):
    run, out = ddp_run
    assert "Data parallel: 2 processes (gloo), effective batch 8" in out
    assert "[rank 1]" not in out                     # rank 1 logs errors only
    assert train_steps(run) == list(range(1, 9))     # one metrics line per step, not two
    last = load_checkpoint(run / "checkpoints" / "last.ckpt")
    assert len(last["rng_ranks"]) == 2
    assert not torch.equal(last["rng_ranks"][0]["torch"], last["rng_ranks"][1]["torch"])

    single = tiny_config(tmp_path, ops_data, cache_dir=str(ops_cache), **{**DDP, "batch_size": 4})
    assert main(["--config", str(single)]) == ExitCode.OK
    val = lambda d: [r["loss"] for r in read_metrics(d / "metrics.jsonl") if r["kind"] == "val"]
    ddp_val, one_val = val(run), val(tmp_path / "run")
    assert len(ddp_val) == len(one_val) == 4
    # same data per step; only the decoder's dropout masks differ between the two set-ups
    assert max(abs(a - b) for a, b in zip(ddp_val, one_val)) < 0.02
    assert ddp_val[-1] < ddp_val[0] - 0.2


def test_sigterm_under_torchrun_then_resume_is_exact(ddp_run, tmp_path, ops_data, ops_cache,
                                                     spawn):
    config = tiny_config(tmp_path, ops_data, cache_dir=str(ops_cache), **DDP)
    run = tmp_path / "run"
    proc = torchrun(spawn, config)
    wait_for(lambda: len(train_steps(run)) >= 4, 240, "step 4", proc)
    proc.send_signal(signal.SIGTERM)               # torchrun passes it on to both workers
    out, _ = proc.communicate(timeout=120)
    assert "Received SIGTERM" in out and "💾 Saved last.ckpt (SIGTERM" in out
    saved = load_checkpoint(run / "checkpoints" / "last.ckpt")
    assert 4 <= saved["global_step"] < 8 and len(saved["rng_ranks"]) == 2

    proc = torchrun(spawn, config)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    assert "RESUMING from checkpoint: last.ckpt" in out
    final = load_checkpoint(run / "checkpoints" / "last.ckpt")
    reference = load_checkpoint(ddp_run[0] / "checkpoints" / "last.ckpt")
    assert final["global_step"] == reference["global_step"] == 8
    for key, value in reference["model"].items():
        assert torch.equal(final["model"][key], value), key
    assert json.loads((run / "orchestrator_state.json").read_text())["restarts"] == 1
