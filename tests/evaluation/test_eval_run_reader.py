"""Reading a run directory: state, metrics (with resume duplicates), alerts, TensorBoard fallback."""

import json
import math

import pytest
from evalhelpers import healthy_metrics, healthy_state, write_run

from evaluation.run_reader import read_run


def test_full_run(tmp_path):
    run = write_run(tmp_path / "run", state=healthy_state(), metrics=healthy_metrics(),
                    alerts=[{"level": "INFO", "message": "saved", "step": 10, "time": 1.0},
                            {"level": "warn", "message": "loss high", "step": 20, "time": 2.0},
                            {"level": "ERROR", "message": "NaN", "step": 30, "time": 3.0}])
    r = read_run(run)
    assert r.problems == ()
    assert r.metrics_source == "metrics.jsonl"
    steps, train = r.curve("train_loss")
    assert steps[:3] == [0, 10, 20] and train[0] == pytest.approx(5.0)
    vsteps, val = r.curve("val_loss")
    assert vsteps == [50, 100, 150, 200] and val[-1] == pytest.approx(3.2)
    assert r.best_val_loss == 3.2
    assert r.elapsed_hours == 840.0 and r.recorded_cost == 327.6
    assert [a.level for a in r.alerts] == ["INFO", "WARNING", "CRITICAL"]
    assert r.alerts_at("CRITICAL")[0].message == "NaN"
    assert r.nonfinite_losses == 0


def test_resume_duplicates_and_malformed_lines(tmp_path):
    metrics = [{"step": 0, "train_loss": 5.0}, {"step": 10, "train_loss": 4.8},
               {"step": 20, "train_loss": 9.9},   # logged, then the spot instance died
               {"step": 10, "train_loss": 4.7},   # resumed from the checkpoint at step 10
               {"step": 20, "train_loss": 4.5}, {"step": 30, "val_loss": 4.1},
               {"step": 40, "train_loss": float("nan")}]
    run = write_run(tmp_path / "run", metrics=metrics,
                    raw_metrics_lines=['{"step": 50, "train_lo', '{"train_loss": 1.0}', "[1, 2]"])
    r = read_run(run)
    steps, vals = r.curve("train_loss")
    assert steps == [0, 10, 20, 40]
    assert vals[:3] == [5.0, 4.7, 4.5] and math.isnan(vals[3])
    assert r.nonfinite_losses == 1
    assert r.best_val_loss == 4.1  # no state: the lowest logged val_loss
    problems = "\n".join(r.problems)
    assert "line 8: not valid JSON" in problems
    assert "line 9: no integer 'step'" in problems
    assert "line 10: not a JSON object" in problems
    assert "orchestrator_state.json: missing" in problems and "alerts.jsonl: missing" in problems
    assert r.state is None and r.alerts is None and r.elapsed_hours is None


def test_best_val_loss_sources(tmp_path):
    r = read_run(write_run(tmp_path / "a", state=healthy_state(best_val_loss=float("inf")),
                           metrics=[{"step": 5, "val_loss": 3.9}, {"step": 9, "val_loss": 3.7}]))
    assert r.best_val_loss == 3.7  # "inf" is the orchestrator's "no validation yet"
    r = read_run(write_run(tmp_path / "b", state=healthy_state(best_val_loss=None), metrics=[]))
    assert r.best_val_loss is None
    r = read_run(write_run(tmp_path / "c", metrics=[{"step": 5, "val_loss": float("nan")}]))
    assert math.isnan(r.best_val_loss)


def test_bad_state_and_missing_dir(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "orchestrator_state.json").write_text("{not json")
    r = read_run(run)
    assert r.state is None and any("cannot read" in p for p in r.problems)
    (run / "orchestrator_state.json").write_text(json.dumps([1, 2]))
    assert read_run(run).state is None
    with pytest.raises(ValueError, match="run directory not found"):
        read_run(tmp_path / "nope")


def test_tensorboard_fallback(tmp_path):
    torch_tb = pytest.importorskip("torch.utils.tensorboard")
    run = write_run(tmp_path / "run", state=healthy_state(best_val_loss=None))
    # two writers, as after a restart: two event files in sub-folders
    for sub, steps in (("first", range(0, 30, 10)), ("resumed", range(30, 60, 10))):
        w = torch_tb.SummaryWriter(log_dir=str(run / "tensorboard" / sub))
        for s in steps:
            w.add_scalar("train/loss", 5.0 - s / 100, s)
            w.add_scalar("learning_rate", 1e-4, s)
            w.add_scalar("gpu/util", 90.0, s)
            if s % 20 == 0:
                w.add_scalar("val/loss", 4.5 - s / 100, s)
        w.close()
    r = read_run(run)
    assert r.metrics_source == "tensorboard"
    steps, vals = r.curve("train_loss")
    assert steps == [0, 10, 20, 30, 40, 50]
    assert vals == pytest.approx([5.0, 4.9, 4.8, 4.7, 4.6, 4.5])
    vsteps, vvals = r.curve("val_loss")
    assert vsteps == [0, 20, 40] and r.best_val_loss == pytest.approx(4.1)
    assert r.curve("lr")[1][0] == pytest.approx(1e-4)
    assert all(set(m) <= {"step", "train_loss", "val_loss", "lr"} for m in r.metrics)


def test_metrics_file_preferred_over_tensorboard(tmp_path):
    run = write_run(tmp_path / "run", metrics=[{"step": 1, "train_loss": 2.0}])
    (run / "tensorboard").mkdir()
    assert read_run(run).metrics_source == "metrics.jsonl"
    (run / "metrics.jsonl").unlink()
    r = read_run(run)
    assert r.metrics_source is None and any("no event files" in p for p in r.problems)


def test_state_written_by_the_cost_tracker_is_read_by_the_dashboard(tmp_path):
    # writer (musicgen_ft) and reader (evaluation) share one contract: evaluation.run_folder
    from evaluation.cost import cost_report
    from evaluation.run_reader import read_run
    from musicgen_ft.ops.cost_tracker import CostTracker

    now = [0.0]
    tracker = CostTracker(tmp_path, rate_usd_per_hour=0.5, budget_usd=100.0, clock=lambda: now[0])
    now[0] = 3600.0
    tracker.update(epoch=1)
    r = cost_report(read_run(str(tmp_path)))
    assert (r.spot_rate, r.budget) == (0.5, 100.0)
    assert r.elapsed_hours == pytest.approx(1.0) and r.cost == pytest.approx(0.5)
