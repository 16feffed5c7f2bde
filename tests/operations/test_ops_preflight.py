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
         "TensorBoard", "operations"]


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
    assert lines[-1] == "8 of 8 checks passed: READY"
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
