"""Config validation: the shipped configs load; every mistake fails at start, naming its key."""

import json

import pytest

from musicgen_ft.config import ConfigError, TrainConfig, config_from_dict, load_config
from musicgen_ft.exit_codes import ExitCode
from musicgen_ft.train import main

from ft_helpers import REPO


@pytest.mark.parametrize("name", ["musicgen_small.json", "tiny.json"])
def test_shipped_configs_are_valid(name):
    cfg = load_config(REPO / "musicgen_ft" / "configs" / name)
    assert isinstance(cfg, TrainConfig)


def test_real_config_has_the_seed_defaults():
    cfg = load_config(REPO / "musicgen_ft" / "configs" / "musicgen_small.json")
    assert cfg.model == "facebook/musicgen-small"
    assert (cfg.batch_size, cfg.grad_accum_steps, cfg.lr, cfg.warmup_steps, cfg.epochs) == \
        (8, 4, 1e-5, 500, 20)
    assert cfg.checkpoint_every_epochs == 2
    assert (cfg.spot_rate_usd_per_hour, cfg.budget_usd) == (0.39, 600.0)
    assert cfg.max_grad_norm == 1.0
    # an empty config means the same run: the dataclass defaults are the plan's too
    assert config_from_dict({}) == cfg.__class__(**{**cfg.to_dict()})


@pytest.mark.parametrize("data, key, words", [
    ({"batch_sise": 8}, "batch_sise", "did you mean 'batch_size'"),
    ({"batch_size": "8"}, "batch_size", "integer"),
    ({"batch_size": 8.5}, "batch_size", "integer"),
    ({"epochs": True}, "epochs", "integer"),
    ({"lr": "1e-5"}, "lr", "number"),
    ({"lr": -1e-5}, "lr", "> 0"),
    ({"batch_size": 0}, "batch_size", "> 0"),
    ({"budget_usd": -1}, "budget_usd", ">= 0"),
    ({"val_fraction": 1.0}, "val_fraction", "[0, 1)"),
    ({"precision": "fp8"}, "precision", "one of"),
    ({"device": "tpu"}, "device", "cuda"),
    ({"segment_seconds": 1.0, "min_segment_seconds": 2.0}, "min_segment_seconds", "longer"),
    ({"prompt_template": "amapiano"}, "prompt_template", "{tags}"),
    ({"model": " "}, "model", "empty"),
])
def test_bad_values_name_the_key(data, key, words):
    with pytest.raises(ConfigError) as info:
        config_from_dict(data)
    assert repr(key) in str(info.value)
    assert words in str(info.value)


def test_comment_keys_are_allowed_and_nan_is_not():
    assert config_from_dict({"_comment": "why"}).batch_size == 8
    with pytest.raises(ConfigError, match="'lr'.*finite"):
        config_from_dict({"lr": float("nan")})


def test_command_line_reports_config_errors(tmp_path, capsys):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"grad_acumulation": 4, "run_dir": str(tmp_path / "run")}))
    assert main(["--config", str(path)]) == ExitCode.CONFIG
    err = capsys.readouterr().err
    assert "'grad_acumulation'" in err and "grad_accum_steps" in err
    assert not (tmp_path / "run").exists()          # nothing started

    path.write_text("{not json")
    assert main(["--config", str(path)]) == ExitCode.CONFIG
    assert "not valid JSON" in capsys.readouterr().err

    assert main(["--config", str(tmp_path / "missing.json")]) == ExitCode.CONFIG
    assert "cannot read config file" in capsys.readouterr().err
