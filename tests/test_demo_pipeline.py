"""The main job end to end: ``python -m musicgen_ft.demo --quick`` as a real subprocess, then
every artefact it claims to have written is opened and checked.

The quick run is the same pipeline as ``make demo`` with fewer and shorter clips, fewer steps
and fewer samples (about a minute on two idle cores). It writes only under ``--out``.
"""

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_demo(*args, timeout=400):
    return subprocess.run([sys.executable, "-m", "musicgen_ft.demo", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """``(out folder, stdout, summary)`` of one quick demo run."""
    out = tmp_path_factory.mktemp("demo") / "demo_out"
    proc = run_demo("--quick", "--out", out)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    summary = json.loads((out / "demo_summary.json").read_text())
    return out, proc.stdout, summary


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def assert_png(path):
    import matplotlib.image as mpimg

    path = Path(path)
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, path
    assert len(data) > 5000, (path, len(data))
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100, (path, img.shape)
    assert float(np.std(img)) > 0.01, f"{path} is blank"


def test_ends_with_the_decision_and_says_what_it_means(demo):
    out, stdout, summary = demo
    last = [line for line in stdout.splitlines() if line.startswith("DECISION: ")]
    assert len(last) == 1
    verdict = last[0].split()[1]
    decision = json.loads((out / "report" / "decision.json").read_text())
    assert verdict == decision["verdict"] == summary["report"]["verdict"]
    assert verdict in ("GO", "CONDITIONAL-GO", "NO-GO")
    # the decision closes the output: nothing but its reasons after it
    tail = stdout.rstrip().splitlines()[stdout.rstrip().splitlines().index(last[0]) + 1:]
    assert len(tail) == len(decision["reasons"])
    assert "What the numbers mean" in stdout
    for n in range(1, 7):
        assert f"[{n}/6]" in stdout
    # every artefact it points at exists
    for p in (summary["dataset"]["metadata_csv"], summary["report"]["markdown"],
              summary["report"]["decision_json"], summary["training"]["config"]):
        assert Path(p).is_file(), p


def test_corpus_is_in_the_real_mtat_layout(demo):
    from logdrum.dataset.mtat import MTAT_TAGS, read_annotations

    out, _, summary = demo
    root = out / "mtat"
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == list("0123456789abcdef")
    text = (root / "annotations_final.csv").read_text(encoding="utf-8")
    header = [h.strip('"') for h in text.splitlines()[0].split("\t")]
    assert header == ["clip_id", *MTAT_TAGS, "mp3_path"]      # every field quoted
    clips, tags = read_annotations(root / "annotations_final.csv")
    assert tags == list(MTAT_TAGS) and len(clips) == summary["corpus"]["clips"]
    playable = 0
    for c in clips:
        path = root / c.mp3_path
        assert c.mp3_path[0] in "0123456789abcdef" and c.mp3_path.endswith(".mp3")
        assert path.exists(), path
        if path.stat().st_size == 0:
            continue
        info = sf.info(path)
        assert info.samplerate == 16000 and info.channels == 1 and info.format == "MP3"
        playable += 1
    assert playable == len(clips) - 1       # one planted empty file
    assert summary["corpus"]["log drums"] >= 2 and summary["corpus"]["no log drums"] >= 2


def test_dataset_rows_point_at_valid_audio(demo):
    from logdrum.dataset.build import METADATA_FIELDS
    from logdrum.dataset.validate import validate

    out, _, summary = demo
    rows = read_csv(out / "dataset" / "training_metadata.csv")
    assert len(rows) == summary["dataset"]["selected"] == summary["size"]["log_drum_clips"]
    assert list(rows[0]) == list(METADATA_FIELDS)
    scores = [float(r["amapiano_proxy_score"]) for r in rows]
    assert scores == sorted(scores, reverse=True) and all(0.0 <= s <= 1.0 for s in scores)
    for r in rows:
        assert (out / "dataset" / r["file_path"]).is_file()
        assert float(r["duration"]) > 0
    assert validate(out / "dataset", workers=1, progress=False) == []
    # the filter picked (almost) only clips with log drums, whatever their tags said
    assert summary["dataset"]["selected_with_log_drums"] >= len(rows) - 1
    assert summary["dataset"]["best_audio_score_without_log_drums"] < 0.5
    assert summary["validate"] == {"corpus_broken": 2, "dataset_broken": 0}


def test_no_broken_clip_is_selected(demo):
    # the planted truncated file is a CBR mp3 without a Xing header: it decodes without error,
    # so build-dataset must exclude it for its length
    _, stdout, summary = demo
    assert summary["dataset"]["selected_broken"] == []
    assert summary["dataset"]["failed"] == 1 and summary["dataset"]["wrong_duration"] == 1
    assert "KNOWN GAP" not in stdout


def test_training_was_killed_resumed_and_finished(demo):
    from musicgen_ft.checkpoint import load_checkpoint

    out, stdout, summary = demo
    t = summary["training"]
    run = out / "run"
    log = (run / "train.log").read_text()
    assert log.count("Starting fresh training") == 1
    assert log.count("RESUMING from checkpoint") == 1
    assert "-- SIGKILL at step" in stdout
    assert t["resumed_from_step"] < t["killed_at_step"] < t["planned_steps"]
    assert t["final_step"] == t["planned_steps"]
    ckpts = run / "checkpoints"
    for name in ("last.ckpt", "best_model.pt", "best_model/config.json"):
        assert (ckpts / name).stat().st_size > 0, name
    assert list(ckpts.glob("epoch_*.ckpt"))
    assert any((ckpts / "best_model").glob("*.safetensors"))
    last = load_checkpoint(ckpts / "last.ckpt")
    assert last["global_step"] == t["planned_steps"] and last["epoch"] == t["epochs"]
    state = json.loads((run / "orchestrator_state.json").read_text())
    assert state["restarts"] == 1 and state["global_step"] == t["planned_steps"]
    steps = {json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()
             if line.strip()}
    assert steps >= set(range(1, t["planned_steps"] + 1))
    # it learned something: below chance for 64 codes
    assert t["best_val_loss"] < t["chance_loss"] == pytest.approx(math.log(64))
    assert t["last_train_loss"] < t["first_train_loss"]


def test_samples_are_real_audio(demo):
    out, _, summary = demo
    n = summary["size"]["samples"]
    for name in ("finetuned", "baseline"):
        wavs = sorted((out / "samples" / name).glob("*.wav"))
        assert len(wavs) == n, name
        for w in wavs:
            x, sr = sf.read(w)
            assert sr == 32000
            assert abs(len(x) / sr - summary["size"]["sample_seconds"]) < 0.2
            assert np.isfinite(x).all() and np.abs(x).max() > 0


def test_report_and_plots(demo):
    out, _, summary = demo
    rep = out / "report"
    md = (rep / "report.md").read_text()
    decision = json.loads((rep / "decision.json").read_text())
    assert decision["verdict"] in md and len(md) > 500
    assert {r["criterion"] for r in decision["reasons"]} >= {"authenticity", "validation loss", "cost", "stability"}
    # the trainer creates alerts.jsonl at the start: the kill drill's restart may WARN, but the
    # alerts are known ("no alerts"), never MISSING
    assert (out / "run" / "alerts.jsonl").is_file()
    assert "MISSING" not in {r["status"] for r in decision["reasons"] if r["criterion"] == "stability"}
    auth = json.loads((rep / "authenticity.json").read_text())
    assert len(auth["fine-tuned"]["clips"]) == len(auth["baseline"]["clips"]) == summary["size"]["samples"]
    assert decision["authenticity"]["fine-tuned"]["rate"] == summary["report"]["authenticity"]["fine-tuned"]
    # the metric is checked on the training clips themselves: it must find the log drums there
    assert summary["report"]["authenticity"]["training clips"] >= 0.75
    plots = summary["report"]["plots"]
    assert set(plots) == {"loss_curves", "authenticity", "cost", "score_histograms"}
    for path in [*plots.values(), summary["report"]["detections_png"],
                 out / "dataset" / "score_histogram.png"]:
        assert_png(path)


def test_refuses_a_folder_it_did_not_make(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    proc = run_demo("--quick", "--out", tmp_path, timeout=60)
    assert proc.returncode == 1
    assert "not made by this demo" in proc.stderr
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_bad_arguments_exit_2():
    proc = run_demo("--steps", "3", timeout=60)
    assert proc.returncode == 2 and "--steps" in proc.stderr
