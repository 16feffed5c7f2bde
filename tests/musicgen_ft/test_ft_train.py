"""Whole runs of the tiny model on synthetic audio, in this process (CPU, one thread).

A run completes and learns; every checkpoint kind, the TensorBoard event file, the JSONL logs
and the cost state exist; the best model loads with ``from_pretrained``; an injected NaN, an
exhausted budget and an unwritable checkpoint folder each stop the run the way the plan asks.
"""

import json

import pytest
import torch

from musicgen_ft.ops.alerts import read_alerts
from musicgen_ft.checkpoint import load_checkpoint
from musicgen_ft.loop import NAN_ENV
from musicgen_ft.metrics import read_metrics
from musicgen_ft.exit_codes import ExitCode
from musicgen_ft.train import main

from ft_helpers import refusing_writes, tiny_config


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, dataset):
    """One complete tiny run (5 epochs, 10 optimizer steps)."""
    tmp = tmp_path_factory.mktemp("full")
    config = tiny_config(tmp, dataset)
    assert main(["--config", str(config)]) == ExitCode.OK
    return tmp / "run", config


def test_run_learns(finished_run):
    run, _ = finished_run
    records = read_metrics(run / "metrics.jsonl")
    train = [r["loss"] for r in records if r["kind"] == "train"]
    val = [r["loss"] for r in records if r["kind"] == "val"]
    assert len(train) == 10 and len(val) == 5
    # chance level is ln 64 = 4.16; the repetitive toy set is learnable
    assert abs(train[0] - 4.16) < 0.2
    assert train[-1] < train[0] - 0.3 and val[-1] < val[0] - 0.3
    assert {f"loss_per_codebook_cb{k}" for k in range(4)} <= set(records[0])


def test_a_clean_run_leaves_an_empty_alerts_log_and_stability_passes(finished_run):
    from evaluation.report import decide_run
    from evaluation.run_reader import read_run

    run, _ = finished_run
    # created when the run started, empty because nothing went wrong
    assert (run / "alerts.jsonl").is_file() and (run / "alerts.jsonl").read_text() == ""
    record = read_run(run)
    assert record.alerts == ()                          # "no alerts", not "no log" (None)
    stability = [r for r in decide_run(record).reasons if r.criterion == "stability"]
    assert "MISSING" not in {r.status for r in stability}
    assert [r.status for r in stability if "alert" in r.message] == ["PASS"]


def test_every_checkpoint_kind_exists(finished_run):
    ckpt = finished_run[0] / "checkpoints"
    names = sorted(p.name for p in ckpt.iterdir())
    assert names == ["best_model", "best_model.pt", "epoch_2.ckpt", "epoch_4.ckpt", "last.ckpt"]
    last = load_checkpoint(ckpt / "last.ckpt")
    assert (last["epoch"], last["global_step"], last["batch_in_epoch"]) == (5, 10, 0)
    assert load_checkpoint(ckpt / "epoch_4.ckpt")["global_step"] == 8
    for key in ("optimizer", "scheduler", "rng", "monitor"):
        assert last[key]


def test_best_model_exports_for_from_pretrained(finished_run):
    from transformers import MusicgenForConditionalGeneration

    ckpt = finished_run[0] / "checkpoints"
    best = torch.load(ckpt / "best_model.pt", weights_only=True)
    model = MusicgenForConditionalGeneration.from_pretrained(ckpt / "best_model")
    state = model.state_dict()
    assert best["model"] and all(torch.equal(state[k], v) for k, v in best["model"].items())
    records = read_metrics(finished_run[0] / "metrics.jsonl")
    assert best["val_loss"] == min(r["loss"] for r in records if r["kind"] == "val")


def test_tensorboard_event_file(finished_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = list((finished_run[0] / "tensorboard").glob("events.out.tfevents.*"))
    assert events
    acc = EventAccumulator(str(finished_run[0] / "tensorboard"))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    expected = {"train/loss", "val/loss", "train/lr", "train/grad_norm", "train/samples_per_s",
                "train/tokens_per_s"} | {f"{s}/loss_per_codebook_cb{k}" for s in ("train", "val")
                                         for k in range(4)}
    assert expected <= tags
    assert [e.step for e in acc.Scalars("train/loss")] == list(range(1, 11))


def test_logs_state_and_a_second_start_does_nothing(finished_run):
    run, config = finished_run
    log = (run / "train.log").read_text()
    assert "🆕 Starting fresh training" in log and "Model: tiny" in log
    assert "Epoch 3/5 | Batch 2/3 | Step 5 | Loss:" in log
    assert "💾 Saved last.ckpt (every 5 steps, step 5)" in log
    state = json.loads((run / "orchestrator_state.json").read_text())
    assert state["global_step"] == 10 and state["epoch"] == 5 and state["elapsed_time"] > 0
    assert state["best_val_loss"] == pytest.approx(
        torch.load(run / "checkpoints" / "best_model.pt", weights_only=True)["val_loss"])
    n_metrics = len(read_metrics(run / "metrics.jsonl"))
    assert main(["--config", str(config)]) == ExitCode.OK
    assert len(read_metrics(run / "metrics.jsonl")) == n_metrics
    assert "🔄 RESUMING from checkpoint: last.ckpt (epoch 6, batch 0, step 10)" in \
        (run / "train.log").read_text()
    assert json.loads((run / "orchestrator_state.json").read_text())["restarts"] == 1


def test_nan_loss_stops_critical_and_keeps_the_good_checkpoint(tmp_path, dataset, monkeypatch):
    monkeypatch.setenv(NAN_ENV, "7")
    config = tiny_config(tmp_path, dataset)
    assert main(["--config", str(config)]) == ExitCode.HALTED
    run = tmp_path / "run"
    alerts = read_alerts(run / "alerts.jsonl")
    assert ("CRITICAL", "nan_loss") in [(a["level"], a["code"]) for a in alerts]
    last = load_checkpoint(run / "checkpoints" / "last.ckpt")
    assert last["global_step"] == 6                 # the epoch-3 checkpoint, before step 7
    assert all(torch.isfinite(v).all() for v in last["model"].values())
    diag = json.loads((run / "diagnostics" / "nan_loss_step7.json").read_text())
    assert diag["last_checkpoint_step"] == 6 and not diag["applied_update"]
    assert (run / "checkpoints" / "last.ckpt").stat().st_mtime <= \
        (run / "diagnostics" / "nan_loss_step7.json").stat().st_mtime
    assert (run / "halt.json").exists()
    # the same command does not blindly resume into the same divergence
    monkeypatch.delenv(NAN_ENV)
    assert main(["--config", str(config)]) == ExitCode.HALTED
    assert load_checkpoint(run / "checkpoints" / "last.ckpt")["global_step"] == 6


def test_stuck_loss_stops_critical_with_a_checkpoint(tmp_path, dataset):
    # the plan's "stuck at 4.5+ for 500 steps", scaled down: every loss of 3 steps >= 1.0
    config = tiny_config(tmp_path, dataset, stall_steps=3, stall_loss=1.0)
    assert main(["--config", str(config)]) == ExitCode.HALTED
    run = tmp_path / "run"
    alerts = [(a["level"], a["code"]) for a in read_alerts(run / "alerts.jsonl")]
    assert alerts == [("CRITICAL", "loss_stuck")]               # once, not twice
    assert load_checkpoint(run / "checkpoints" / "last.ckpt")["global_step"] == 3
    diag = json.loads((run / "diagnostics" / "loss_stuck_step3.json").read_text())
    assert diag["applied_update"] and diag["last_checkpoint_step"] == 3
    assert json.loads((run / "halt.json").read_text())["code"] == "loss_stuck"


def test_budget_exhausted_checkpoints_and_stops(tmp_path, dataset):
    # $1000 per second of machine time: loading alone spends the $5 budget
    config = tiny_config(tmp_path, dataset, spot_rate_usd_per_hour=3.6e6, budget_usd=5.0)
    assert main(["--config", str(config)]) == ExitCode.BUDGET
    run = tmp_path / "run"
    assert load_checkpoint(run / "checkpoints" / "last.ckpt")["global_step"] == 1
    state = json.loads((run / "orchestrator_state.json").read_text())
    assert state["cost"] >= 5.0 and state["alerts"] >= 1
    assert read_alerts(run / "alerts.jsonl")[-1]["code"] == "budget_exhausted"
    assert read_alerts(run / "alerts.jsonl")[-1]["level"] == "CRITICAL"
    assert main(["--config", str(config)]) == ExitCode.BUDGET      # and stays stopped
    assert load_checkpoint(run / "checkpoints" / "last.ckpt")["global_step"] == 1


def test_unwritable_checkpoint_folder_stops_and_keeps_the_good_checkpoint(tmp_path, dataset):
    assert main(["--config", str(tiny_config(tmp_path, dataset, epochs=1))]) == ExitCode.OK
    folder = tmp_path / "run" / "checkpoints"
    good = (folder / "last.ckpt").read_bytes()
    with refusing_writes(folder):
        code = main(["--config", str(tiny_config(tmp_path, dataset, epochs=2))])
    assert code == ExitCode.SAVE_FAILED
    assert (folder / "last.ckpt").read_bytes() == good
    alerts = read_alerts(tmp_path / "run" / "alerts.jsonl")
    assert [a["level"] for a in alerts if a["code"] == "save_failed"] == ["CRITICAL"]


def test_pretrained_directory_is_the_production_path(tmp_path, dataset):
    """``model`` naming a from_pretrained directory (as "facebook/musicgen-small" names the hub
    copy): the model and an AutoTokenizer load from it, train, and the export carries both."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    from musicgen_ft.model import build_model

    words = ["<pad>", "</s>", "<unk>", "electronic", "techno", "beat", "house", "drums", "amapiano",
             "log", "drum", "piano", "bass", ","]
    word_level = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    word_level.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=word_level, pad_token="<pad>",
                                        eos_token="</s>", unk_token="<unk>")
    pretrained = tmp_path / "pretrained"
    build_model("tiny").model.save_pretrained(pretrained)
    tokenizer.save_pretrained(pretrained)

    config = tiny_config(tmp_path, dataset, model=str(pretrained), epochs=2)
    assert main(["--config", str(config)]) == ExitCode.OK
    export = tmp_path / "run" / "checkpoints" / "best_model"
    assert AutoTokenizer.from_pretrained(export)("house, beat")["input_ids"]
    loaded = build_model(str(export))
    assert loaded.num_codebooks == 4 and loaded.codebook_size == 64
    # the frozen codec came through from_pretrained with its initialised codebooks
    books = [layer.codebook.embed for layer in loaded.model.audio_encoder.quantizer.layers]
    assert all(b.abs().sum() > 0 for b in books)
