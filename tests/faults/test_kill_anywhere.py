"""The kill-anywhere campaign in CI: a real tiny fine-tune, SIGKILLed at every phase of its life
(start-up, code caching, steps, every kind of save and inside it, validation, the milestone, the
final export) and at random moments, restarted with the same command until it exits 0, ends
exactly where an uninterrupted run ends. ``campaign.py`` beside this file runs long versions."""

import json
import os
import signal
import subprocess

import pytest

import campaign
from musicgen_ft.faults import KILL_ENV

KILLS = 32          # planned phase targets: every phase once, the rest at random occurrences
RANDOM_KILLS = 3    # restarts the harness kills at a random moment


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return campaign.ft.make_dataset(tmp_path_factory.mktemp("campaign_data"), n_clips=6,
                                    seconds=2.4)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, data):
    return campaign.reference_run(tmp_path_factory.mktemp("campaign_reference"), data)


def test_reference_passes_every_phase(reference):
    _, trace, _ = reference
    expected = {"startup", "startup:resumed", "encode", "write:codes.npz", "replace:codes.npz",
                "step", "validate", "rotate", "finish", "milestone:generate", "milestone:report",
                "export:model", "export:written", "export:swap"}
    for kind in ("last.ckpt", "epoch_.ckpt", "best_model.pt", "orchestrator_state.json",
                 "decision.json"):
        expected |= {f"write:{kind}", f"replace:{kind}"}
    assert expected <= set(trace), sorted(expected - set(trace))
    assert trace["step"] == 12 and trace["encode"] == 6


@pytest.mark.slow
def test_killed_anywhere_it_comes_back_to_the_same_end(reference, data, tmp_path):
    ref_dir, trace, wall = reference
    targets = campaign.plan_targets(trace, KILLS, seed=0)
    result = campaign.run_campaign(tmp_path, data, targets, RANDOM_KILLS, seed=0,
                                   max_life=wall)
    assert result.problems == [], "\n".join(result.problems + result.outputs[-1:])
    assert sorted(result.target_kills) == sorted(result.targets)     # every target fired
    assert {t.rpartition(":")[0] for t in result.target_kills} == set(trace)
    assert len(result.target_kills) >= 30
    assert campaign.compare(result.run_dir, ref_dir) == []


def _run(config, **env):
    proc = subprocess.run(campaign.command(config), cwd=campaign.REPO, capture_output=True,
                          text=True, env=dict(os.environ, **campaign.ENV, **env), timeout=600)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.slow
def test_a_kill_inside_the_export_does_not_block_restarts(reference, data, tmp_path):
    """Issue 11's crash, as an operator met it: SIGKILL inside ``export_best`` left the temp
    FOLDER ``checkpoints/.best_model.tmp/`` and every restart died on it (IsADirectoryError).
    Real command, real SIGKILL, restarted with the same command."""
    ref_dir, _, _ = reference
    config = campaign.make_config(tmp_path, data)
    folder = tmp_path / "run" / "checkpoints"

    # killed after save_pretrained wrote the model into the temp folder, before the tokenizer
    code, out = _run(config, **{KILL_ENV: "export:model:1"})
    assert code == -signal.SIGKILL, out
    left = list(folder.glob(".best_model.*tmp"))          # the folder of the bug
    assert len(left) == 1 and (left[0] / "config.json").is_file()
    assert not (folder / "best_model").exists()

    # the restart replays epoch 1's end; killed between the renames of epoch 2's export swap
    code, out = _run(config, **{KILL_ENV: "export:swap:2"})
    assert code == -signal.SIGKILL, out
    assert f"Removed {left[0]} left by an interrupted write" in out
    assert not (folder / "best_model").exists()
    assert (folder / "best_model.old" / "model.safetensors").is_file()   # the previous export

    code, out = _run(config)
    assert code == 0, out
    assert "Restored best_model from best_model.old" in out
    assert campaign.compare(tmp_path / "run", ref_dir) == []


@pytest.mark.slow
def test_a_kill_after_a_no_go_cannot_train_past_it(data, tmp_path):
    """``milestone/decision.json`` marks the milestone done, so it must come after
    ``halt.json``: killed while the NO-GO's halt file is being written, the restart decides
    again and stops, instead of finding the milestone done and training on."""
    from musicgen_ft.exit_codes import ExitCode

    config = campaign.make_config(tmp_path, data, milestone_min_authenticity=0.35,
                                  milestone_max_val_loss=3.5)
    code, out = _run(config, **{KILL_ENV: "write:halt.json:1"})
    assert code == -signal.SIGKILL, out
    code, out = _run(config)
    assert code == ExitCode.NO_GO, out
    run = tmp_path / "run"
    assert json.loads((run / "milestone" / "decision.json").read_text())["verdict"] == "NO-GO"
    assert json.loads((run / "halt.json").read_text())["code"] == "milestone_no_go"
