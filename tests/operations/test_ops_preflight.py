"""``python -m musicgen_ft.preflight``: ✓/✗ per check, exit 0 only when all pass, --json."""

import json
import os
import subprocess
import sys


import logdrum
from musicgen_ft.ops.checks import check_detector
from musicgen_ft.preflight import main

from ops_helpers import REPO, ENV, make_dataset, refusing_writes, tiny_config

NAMES = ["config", "accelerator", "run dir", "detector self-test", "dataset", "resume state",
         "TensorBoard", "operations", "throughput"]


def test_cli_all_pass_then_json(tmp_path, ops_data, capsys):
    config = tiny_config(tmp_path, ops_data)
    env = dict(os.environ, **ENV)
    cmd = [sys.executable, "-m", "musicgen_ft.preflight", "--config", str(config), "--workers", "1"]
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.strip().splitlines()
    assert [ln.split(":")[0] for ln in lines[:-1]] == [f"✓ {n}" for n in NAMES]
    assert "✓ detector self-test: 5/5 passed" in done.stdout
    assert "✓ dataset: Broken files: 0 / 6" in done.stdout
    assert "✓ resume state: fresh start (no checkpoint)" in done.stdout
    assert "✓ throughput: " in done.stdout and "samples/s measured over 3 steps" in done.stdout
    assert lines[-1] == "9 of 9 checks passed: READY"
    assert not (tmp_path / "run").exists()        # the preflight changes nothing

    assert main(cmd[3:] + ["--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True
    assert [c["name"] for c in report["checks"]] == NAMES


def test_bad_config_exits_2_naming_the_key(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"batch_sise": 8}))
    assert main(["--config", str(bad)]) == 2
    out = capsys.readouterr().out
    assert "✗ config:" in out and "'batch_sise'" in out and "did you mean 'batch_size'" in out


def test_failures_each_say_why(tmp_path, capsys):
    csv = make_dataset(tmp_path / "data", n_clips=2, broken=1)
    run = tmp_path / "run"
    run.mkdir()
    (run / "halt.json").write_text(json.dumps({"code": "nan_loss", "message": "Loss is nan"}))
    config = tiny_config(tmp_path, csv, device="cuda")        # this machine has no GPU
    assert main(["--config", str(config), "--workers", "1", "--json"]) == 1
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert not checks["accelerator"]["ok"]
    assert "no CUDA GPU visible" in checks["accelerator"]["detail"]
    assert not checks["dataset"]["ok"]
    assert "Broken files: 1 / 3: undecodable audio/broken_0.wav" in checks["dataset"]["detail"]
    assert not checks["resume state"]["ok"]
    assert "run was halted (Loss is nan)" in checks["resume state"]["detail"]
    assert checks["detector self-test"]["ok"] and checks["run dir"]["ok"]

    (run / "halt.json").unlink()
    # what the trainer's accounting wrote: 600.50 $ at 0.39 $/h
    (run / "orchestrator_state.json").write_text(json.dumps(
        {"cost": 600.5, "elapsed_time": 600.5 / 0.39 * 3600}))
    config = tiny_config(tmp_path, csv, min_free_disk_gb=1e9)   # an exabyte free: no
    assert main(["--config", str(config), "--workers", "1"]) == 1
    out = capsys.readouterr().out
    assert "✗ resume state: budget exhausted: $600.50 of $600.00" in out
    assert "✗ run dir:" in out and "need" in out


def test_unwritable_run_dir(tmp_path, ops_data, capsys):
    run = tmp_path / "run"
    run.mkdir()
    config = tiny_config(tmp_path, ops_data)
    with refusing_writes(run):
        assert main(["--config", str(config), "--workers", "1"]) == 1
    out = capsys.readouterr().out
    assert "✗ run dir:" in out and "is not writable" in out
    assert "✗ TensorBoard:" in out


def test_detector_self_test_reports_a_broken_detector(monkeypatch):
    # a detector that finds nothing misses the one case that must be accepted
    monkeypatch.setattr(logdrum, "detect_amapiano_log_drums", lambda audio, sr: None)
    check = check_detector()
    assert not check.ok
    assert "4/5 passed; failed: 100 Hz log drum: missed" in check.detail
    assert check.line().startswith("✗ detector self-test")


def test_retired_backend_key_is_a_clear_config_error(tmp_path, ops_data, capsys):
    config = tiny_config(tmp_path, ops_data, backend="audiocraft")
    assert main(["--config", str(config)]) == 2              # the config itself is unusable
    out = capsys.readouterr().out
    assert "✗ config:" in out and "'backend' is not supported" in out
    assert "MusicgenForConditionalGeneration" in out
    from musicgen_ft.exit_codes import ExitCode
    from musicgen_ft.train import main as train_main

    assert train_main(["--config", str(config)]) == ExitCode.CONFIG
    err = capsys.readouterr().err
    assert "'backend' is not supported" in err and "Traceback" not in err


def test_throughput_probe_fails_when_the_epochs_overrun_the_budget(tmp_path, ops_data, capsys):
    # a real probe of the tiny model on this CPU, at a price no speed can meet
    config = tiny_config(tmp_path, ops_data, spot_rate_usd_per_hour=1e9)
    assert main(["--config", str(config), "--workers", "1", "--json"]) == 1
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    probe = checks["throughput"]
    assert not probe["ok"] and checks["config"]["ok"]
    assert "samples/s measured over 3 steps (batch 4 x accum 2, fp32" in probe["detail"]
    assert "5 epochs end at $" in probe["detail"] and "OVER BUDGET" in probe["detail"]
    # the alternative with the same effective batch (8) was probed too, and did not fit either
    assert "no probed setting fits (batch 8 x accum 1, fp32 (" in probe["detail"]

    assert main(["--config", str(config), "--workers", "1", "--probe-steps", "0"]) == 0
    assert "✓ throughput: probe skipped (--probe-steps 0)" in capsys.readouterr().out


def test_throughput_probe_counts_what_is_already_spent(tmp_path, ops_data):
    from musicgen_ft.config import load_config
    from musicgen_ft.ops.checks import check_throughput

    # $1 per second: the 5 tiny epochs (50 samples) cost well under $10 at any sane speed
    cfg = load_config(tiny_config(tmp_path, ops_data, spot_rate_usd_per_hour=3600.0,
                                  budget_usd=10.0))
    fresh = check_throughput(cfg, steps=2)
    assert fresh.ok and "5 epochs end at $" in fresh.detail and "of $10.00" in fresh.detail
    cfg.run_path.mkdir()
    (cfg.run_path / "orchestrator_state.json").write_text(json.dumps(
        {"elapsed_time": 9.99, "cost": 9.99, "global_step": 0}))
    spent = check_throughput(cfg, steps=2)
    assert not spent.ok and "of $10.00 -> OVER BUDGET" in spent.detail


def test_advice_names_the_settings_that_fit():
    from musicgen_ft.ops.probe import ProbeResult, advice

    tried = [ProbeResult("batch 16 x accum 2, fp16", 9.0, finish_cost=400.0, fits=True),
             ProbeResult("batch 8 x accum 4, bf16", 7.0, finish_cost=550.0, fits=True),
             ProbeResult("batch 32 x accum 1, fp16", error="out of memory: CUDA out of memory")]
    assert advice(tried) == ("would fit: batch 16 x accum 2, fp16 (9 samples/s, $400.00); "
                             "batch 8 x accum 4, bf16 (7 samples/s, $550.00)")
    assert advice(tried[2:]).startswith("no probed setting fits (batch 32 x accum 1, fp16 "
                                        "(out of memory: CUDA out of memory)); lower epochs")
