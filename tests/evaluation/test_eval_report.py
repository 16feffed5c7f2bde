"""The GO/NO-GO report built from real run directories and real audio folders written here."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from evalhelpers import clip_set, healthy_metrics, healthy_state, write_run, write_wav

from evaluation.decision import Thresholds
from evaluation.report import build_report

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLOTS = ("loss_curves", "authenticity", "cost", "score_histograms")


def assert_png_image(path):
    import matplotlib.image as mpimg

    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(path) > 5000
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] >= 200 and img.shape[1] >= 300
    assert float(np.std(img[..., :3])) > 0.01, "a blank image"


def sample_folder(path, k, n, extra=()):
    path.mkdir(parents=True)
    for i, clip in enumerate(clip_set(k, n)):
        write_wav(path / f"clip{i:02d}.wav", clip)
    for name, data in extra:
        (path / name).write_bytes(data)
    return path


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("samples")
    return {"good": sample_folder(root / "finetuned", 9, 10),
            "base": sample_folder(root / "baseline", 1, 10),
            "poor": sample_folder(root / "poor", 2, 10, [("broken.wav", b"RIFF\x00\x00")])}


def test_go_report(tmp_path, folders):
    run = write_run(tmp_path / "run", state=healthy_state(), metrics=healthy_metrics(),
                    alerts=[{"level": "INFO", "message": "checkpoint saved", "step": 100, "time": 1.0}])
    rep = build_report(run, tmp_path / "out", samples=folders["good"], baseline=folders["base"])
    assert rep.decision.verdict == "GO", rep.decision.format()
    assert (rep.candidate.k, rep.candidate.n, rep.baseline.k, rep.baseline.n) == (9, 10, 1, 10)
    assert rep.comparison.significantly_better
    assert sorted(rep.plots) == sorted(PLOTS)
    for name in PLOTS:
        assert_png_image(tmp_path / "out" / f"{name}.png")
    md = (tmp_path / "out" / "report.md").read_text()
    assert "## Decision: **GO**" in md
    for name in PLOTS:
        assert f"({name}.png)" in md
    assert "| fine-tuned |" in md and "9/10" in md and "Budget remaining: $272.40" in md
    d = json.loads((tmp_path / "out" / "decision.json").read_text())
    assert d["verdict"] == "GO" and d["authenticity"]["fine-tuned"]["k"] == 9
    assert d["cost"]["cost"] == pytest.approx(327.6)
    clips = json.loads((tmp_path / "out" / "authenticity.json").read_text())
    assert len(clips["fine-tuned"]["clips"]) == 10


def test_no_go_report_lists_every_reason(tmp_path, folders):
    metrics = healthy_metrics() + [{"step": 210, "train_loss": float("nan")},
                                   {"step": 250, "val_loss": 4.2}]
    run = write_run(tmp_path / "run",
                    state=healthy_state(best_val_loss=3.9, cost=650.0, restarts=9, alerts=2),
                    metrics=metrics,
                    alerts=[{"level": "CRITICAL", "message": "Loss is NaN or Inf!", "step": 210, "time": 9},
                            {"level": "WARNING", "message": "Loss unusually high", "step": 205, "time": 8}])
    rep = build_report(run, tmp_path / "out", samples=folders["poor"], baseline=folders["base"])
    d = rep.decision
    assert d.verdict == "NO-GO"
    failed = sorted({r.criterion for r in d.with_status("FAIL")})
    assert failed == ["authenticity", "cost", "stability", "validation loss"]
    assert rep.candidate.n == 11 and rep.candidate.n_unreadable == 1  # broken.wav stays in n
    md = (tmp_path / "out" / "report.md").read_text()
    assert "## Decision: **NO-GO**" in md
    for text in ("Loss is NaN or Inf!", "Loss unusually high", "$650.00", "broken.wav",
                 "exceeds the $600.00 budget", "above the 3.5 threshold", "NaN or Inf"):
        assert text in md, text


def test_missing_everything_is_not_a_pass(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "cost.png").write_bytes(b"stale")  # left by an earlier report
    rep = build_report(run, out)
    assert rep.decision.verdict == "CONDITIONAL-GO"
    missing = sorted(r.criterion for r in rep.decision.with_status("MISSING"))
    assert missing == ["authenticity", "cost", "stability", "validation loss"]
    assert rep.plots == {} and not list(out.glob("*.png"))
    md = (out / "report.md").read_text()
    assert "authenticity not measured" in md and "cost unknown" in md
    assert "orchestrator_state.json: missing" in md
    strict = build_report(run, tmp_path / "strict", thresholds=Thresholds(on_missing="NO-GO"))
    assert strict.decision.verdict == "NO-GO"


def test_report_is_reproducible(tmp_path, folders):
    run = write_run(tmp_path / "run", state=healthy_state(), metrics=healthy_metrics(), alerts=[])
    for out in ("a", "b"):
        build_report(run, tmp_path / out, samples=folders["poor"])
    for name in ("report.md", "decision.json", "authenticity.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_budget_from_state_and_override(tmp_path):
    run = write_run(tmp_path / "run", state=healthy_state(budget_usd=300.0, cost=250.0),
                    metrics=healthy_metrics(), alerts=[])
    rep = build_report(run, tmp_path / "o1")
    assert rep.decision.thresholds.budget == 300.0 and rep.cost.status == "WARNING"
    rep = build_report(run, tmp_path / "o2", budget=1000.0)
    assert rep.cost.status == "OK" and [r.status for r in rep.decision.reasons
                                        if r.criterion == "cost"] == ["PASS"]


def test_cli_report(tmp_path, folders):
    run = write_run(tmp_path / "run", state=healthy_state(), metrics=healthy_metrics(), alerts=[])
    out = subprocess.run([sys.executable, "-m", "evaluation", "report", "--run", str(run),
                          "--samples", str(folders["good"]), "--out", str(tmp_path / "out"), "--strict"],
                         capture_output=True, text=True, cwd=REPO, timeout=180)
    assert out.returncode == 0, out.stderr
    assert "Decision: GO" in out.stdout  # baseline missing is INFO, not MISSING
    assert_png_image(tmp_path / "out" / "authenticity.png")
    bad = subprocess.run([sys.executable, "-m", "evaluation", "report", "--run", str(run),
                          "--samples", str(tmp_path / "nope"), "--out", str(tmp_path / "o")],
                         capture_output=True, text=True, cwd=REPO, timeout=180)
    assert bad.returncode == 2 and "samples directory not found" in bad.stderr
