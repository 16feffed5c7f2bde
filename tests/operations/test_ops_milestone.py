"""The automatic week-5 milestone, end to end with the tiny model: transformers' ``generate``
writes real wav files, ``evaluation`` measures them with the detector and decides, the report is
written; NO-GO stops the run with an abort report and the checkpoint kept; GO lets it finish
with exactly the weights of a run without the milestone (the RNG is restored)."""

import json

import soundfile as sf
import torch

from musicgen_ft.ops.alerts import read_alerts
from musicgen_ft.checkpoint import load_checkpoint
from musicgen_ft.exit_codes import ExitCode
from musicgen_ft.train import main

from ops_helpers import tiny_config

MILESTONE = dict(milestone_step=4, milestone_samples=3, milestone_sample_seconds=1.0,
                 milestone_prompts=["amapiano, log drum, piano", "house, drums"])


def test_no_go_stops_with_an_abort_report_and_keeps_the_checkpoint(tmp_path, ops_data, ops_cache,
                                                                   capsys):
    config = tiny_config(tmp_path, ops_data, cache_dir=str(ops_cache), **MILESTONE)
    run = tmp_path / "run"
    assert main(["--config", str(config)]) == ExitCode.NO_GO
    folder = run / "milestone"
    wavs = sorted((folder / "samples").glob("*.wav"))
    assert [w.name for w in wavs] == ["sample_000.wav", "sample_001.wav", "sample_002.wav"]
    for w in wavs:
        info = sf.info(w)
        assert info.samplerate == 32000 and 0.8 < info.duration < 1.2
    prompts = json.loads((folder / "samples" / "prompts.json").read_text())
    assert [p["prompt"] for p in prompts] == ["amapiano, log drum, piano", "house, drums",
                                              "amapiano, log drum, piano"]
    decision = json.loads((folder / "report" / "decision.json").read_text())
    assert decision["verdict"] == "NO-GO"
    assert decision["authenticity"]["fine-tuned"]["n"] == 3
    summary = json.loads((folder / "decision.json").read_text())
    assert summary["verdict"] == "NO-GO" and summary["step"] == 4 and summary["clips"] == 3
    assert (folder / "report" / "report.md").read_text().startswith("# GO/NO-GO report")
    abort = (folder / "ABORT.md").read_text()
    assert "NO-GO" in abort and "[FAIL] validation loss" in abort
    assert load_checkpoint(run / "checkpoints" / "last.ckpt")["global_step"] == 4
    assert json.loads((run / "halt.json").read_text())["code"] == "milestone_no_go"
    alerts = read_alerts(run / "alerts.jsonl")
    assert [(a["level"], a["code"]) for a in alerts] == [("CRITICAL", "milestone_no_go")]
    # the same command again refuses to train on, and does not decide again
    assert main(["--config", str(config)]) == ExitCode.HALTED
    assert "week-5 milestone decided NO-GO" in capsys.readouterr().out
    assert json.loads((folder / "decision.json").read_text())["time"] == summary["time"]


def test_go_continues_and_leaves_training_unchanged(tmp_path, ops_data, ops_cache):
    (tmp_path / "a").mkdir()
    plain = tiny_config(tmp_path / "a", ops_data, cache_dir=str(ops_cache), milestone_hours=None)
    assert main(["--config", str(plain)]) == ExitCode.OK
    config = tiny_config(tmp_path / "a", ops_data, cache_dir=str(ops_cache),
                         run_dir=str(tmp_path / "go"), milestone_min_authenticity=0.0,
                         milestone_max_val_loss=100.0, **MILESTONE)
    assert main(["--config", str(config)]) == ExitCode.OK
    run = tmp_path / "go"
    summary = json.loads((run / "milestone" / "decision.json").read_text())
    assert summary["verdict"] == "GO", summary["reasons"]
    alerts = read_alerts(run / "alerts.jsonl")
    assert [(a["level"], a["code"], a["step"]) for a in alerts] == [("INFO", "milestone_go", 4)]
    a = load_checkpoint(tmp_path / "a" / "run" / "checkpoints" / "last.ckpt")
    b = load_checkpoint(run / "checkpoints" / "last.ckpt")
    assert a["global_step"] == b["global_step"] == 10
    for key, value in a["model"].items():
        assert torch.equal(b["model"][key], value), key
    # a restart after the decision does not run the milestone again
    assert main(["--config", str(config)]) == ExitCode.OK
    assert [x["code"] for x in read_alerts(run / "alerts.jsonl")] == ["milestone_go"]
