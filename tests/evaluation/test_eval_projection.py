"""Cost projected from measured throughput: a real tiny run's folder, and the arithmetic."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from evalhelpers import write_run

from evaluation.cost import cost_report
from evaluation.report import build_report
from evaluation.run_reader import read_run

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "eval_ft_helpers", REPO / "tests" / "musicgen_ft" / "ft_helpers.py")
ft = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ft)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """The folder a real two-epoch tiny training run leaves."""
    tmp = tmp_path_factory.mktemp("tiny_run")
    csv = ft.make_dataset(tmp / "data")
    code, out = ft.run_training(ft.tiny_config(tmp, csv, epochs=2))
    assert code == 0, out
    return tmp / "run"


def test_dashboard_of_a_real_run_projects_from_its_measured_speed(tiny_run):
    state = json.loads((tiny_run / "orchestrator_state.json").read_text())
    tp = state["throughput"]
    r = cost_report(read_run(tiny_run))
    m = r.measured
    assert m is not None and m.samples_per_s == tp["samples_per_s"] > 0
    assert (m.samples_per_epoch, m.epochs) == (tp["samples_per_epoch"], 2)
    assert m.hours_per_epoch == pytest.approx(tp["samples_per_epoch"] / tp["samples_per_s"] / 3600)
    assert m.week5_epochs == pytest.approx(2 * 840 / 1344)     # the plan's week 5 of 8
    assert m.week5_cost == pytest.approx(m.week5_epochs * m.hours_per_epoch * 0.39)
    assert m.total_cost == pytest.approx(2 * m.hours_per_epoch * 0.39)
    # the run is finished: its finish is what it spent
    assert m.finish_hours == pytest.approx(r.elapsed_hours)
    assert m.finish_cost == pytest.approx(r.cost) and m.fits_budget
    text = r.format()
    assert "Measured throughput:" in text and "tiny, batch 4 x accum 2, cpu, fp32" in text
    assert "Week 5 (1.25 of 2 epochs)" in text and "Last epoch (2 epochs)" in text
    assert "840h $  327.60" in text and "1344h $  524.16" in text      # the plan's, beside
    assert "Week  Hours   Cost (plan)" in text                          # and its table stays


def test_cli_and_report_show_the_projection(tiny_run, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-m", "evaluation", "cost", "--run", str(tiny_run),
                          "--json"], capture_output=True, text=True, cwd=REPO, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    measured = json.loads(out.stdout)["measured"]
    assert measured["samples_per_s"] > 0 and measured["epochs"] == 2
    rep = build_report(tiny_run, tmp_path / "report")
    md = Path(rep.markdown_path).read_text()
    assert "Hours per epoch:" in md and "Week 5 (1.25 of 2 epochs)" in md
    decision = json.loads(Path(rep.decision_path).read_text())
    assert decision["cost"]["measured"]["hours_per_epoch"] == pytest.approx(
        measured["hours_per_epoch"])
    assert Path(rep.plots["cost"]).stat().st_size > 0


def seed_run_state(**throughput):
    # musicgen-small as the plan sizes it: ~7,200 training clips of 10 s, 20 epochs
    tp = {"samples_per_s": 2.0, "samples_per_epoch": 7200, "epochs": 20, "steps_per_epoch": 225,
          "steps": 400, "seconds_per_step": 16.0, "batch_size": 8, "grad_accum_steps": 4,
          "device": "cuda", "precision": "fp16", "model": "facebook/musicgen-small"}
    tp.update(throughput)
    return {"elapsed_time": 10 * 3600, "cost": 3.9, "global_step": 450, "epoch": 2,
            "throughput": tp, "spot_rate_per_hour": 0.39, "budget": 600.0}


def test_projection_arithmetic(tmp_path):
    # 7200 samples at 2 samples/s: 1 h per epoch; week 5 = 12.5 of 20 epochs
    r = cost_report(read_run(write_run(tmp_path / "run", state=seed_run_state())))
    m = r.measured
    assert m.hours_per_epoch == pytest.approx(1.0)
    assert (m.week5_epochs, m.week5_hours, m.week5_cost) == pytest.approx((12.5, 12.5, 4.875))
    assert (m.total_hours, m.total_cost) == pytest.approx((20.0, 7.8))
    assert m.epochs_at_decision_hours == 20                         # done long before 840 h
    # 450 of 4500 steps done in 10 h: 18 epochs left at 1 h each
    assert (m.finish_hours, m.finish_cost) == pytest.approx((28.0, 3.9 + 18 * 0.39))
    assert m.fits_budget and "fits the budget" in r.format()

    # 100x slower: 100 h per epoch, 2000 h for 20 epochs, $780 > $600
    slow = cost_report(seed_run_state(samples_per_s=0.02))
    assert slow.measured.total_cost == pytest.approx(780.0)
    assert slow.measured.epochs_at_decision_hours == pytest.approx(8.4)
    assert not slow.measured.fits_budget
    assert "OVER BUDGET" in slow.measured.format()


def test_no_throughput_recorded_says_so():
    r = cost_report({"elapsed_time": 3600})
    assert r.measured is None
    assert "Measured throughput: none recorded yet" in r.format()
    assert cost_report(seed_run_state(samples_per_s=None)).measured is None
