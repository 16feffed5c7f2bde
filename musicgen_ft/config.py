"""Training configuration: one JSON file validated into a frozen dataclass.

Defaults are the project's plan for MusicGen-small on a 16 GB T4 spot instance: batch 8,
gradient accumulation 4, lr 1e-5 with 500 warmup steps then cosine, 20 epochs, an epoch
checkpoint every 2 epochs; the spot rate, budget, week-5 milestone and its thresholds come
from :mod:`evaluation.criteria`, the alert thresholds from the divergence table in
docs/training.md. Everything is checked at start, before any model is loaded:
unknown keys, wrong types and impossible values raise :class:`ConfigError` with a message
that names the key. Relative paths are taken relative to the current working directory.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib.util
import json
import typing
from dataclasses import dataclass
from pathlib import Path

from evaluation.criteria import (BUDGET_USD, DECISION_HOURS, MAX_VAL_LOSS, MIN_AUTHENTICITY,
                                 SPOT_RATE_USD_PER_HOUR)
from evaluation.run_folder import ALERT_LEVELS

PRECISIONS = ("auto", "fp32", "fp16", "bf16")
#: Config keys that earlier versions accepted, with what to do instead.
RETIRED_KEYS = {
    "backend": "the fine-tune has one backend, transformers' MusicgenForConditionalGeneration "
               "(audiocraft's MusicGen network, ported); audiocraft itself is not supported "
               "(its 1.3.0 release pins torch 2.1 and numpy<2). Remove the key",
}
# where AWS announces a spot reclaim two minutes ahead (IMDS; 404 until then)
AWS_SPOT_URL = "http://169.254.169.254/latest/meta-data/spot/instance-action"
DEFAULT_MILESTONE_PROMPTS = (
    "amapiano, log drum, piano",
    "amapiano, deep house, log drum bass, shakers",
    "south african house, log drum, jazzy piano",
    "electronic, beat, bass, drums",
    "house, drums, bass, piano",
)


class ConfigError(ValueError):
    """A configuration problem; the message names the offending key."""


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a fine-tuning run (see ``docs/training.md`` for each one)."""

    # what to train on, and where the run lives
    model: str = "facebook/musicgen-small"
    metadata_path: str = "datasets/amapiano_proxy/training_metadata.csv"
    run_dir: str = "checkpoints/phase_2_5"
    cache_dir: typing.Optional[str] = None          # default: <run_dir>/codes_cache
    # data
    segment_seconds: float = 10.0
    min_segment_seconds: float = 2.0                 # shorter tails are dropped, longer padded
    val_fraction: float = 0.1
    prompt_template: str = "{tags}"
    cond_dropout: float = 0.1                        # empty prompt, for classifier-free guidance
    seed: int = 1234
    # optimisation
    batch_size: int = 8
    grad_accum_steps: int = 4
    lr: float = 1e-5
    warmup_steps: int = 500
    weight_decay: float = 0.01
    adam_beta1: float = 0.9
    adam_beta2: float = 0.95
    max_grad_norm: float = 1.0
    epochs: int = 20
    precision: str = "auto"                          # auto: bf16 if supported, else fp16 on CUDA
    device: str = "auto"
    torch_threads: typing.Optional[int] = None
    # memory options for a 16 GB T4 (docs/training.md "Sizing")
    gradient_checkpointing: bool = False             # recompute decoder activations in backward
    lora_rank: typing.Optional[int] = None           # null: full fine-tune; else LoRA ([lora] extra)
    lora_alpha: float = 16.0
    lora_dropout: float = 0.0
    lora_targets: typing.Tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2")
    # checkpoints and logs
    save_every_steps: int = 250
    checkpoint_every_epochs: int = 2
    keep_last_epoch_checkpoints: int = 3
    log_every_steps: int = 10
    # guards: the divergence alerts of docs/training.md
    alert_high_loss: float = 10.0
    alert_high_loss_after_step: int = 100
    stall_steps: int = 500
    stall_loss: float = 4.5
    stall_min_improvement: float = 0.01
    spike_factor: float = 2.0
    # cost
    spot_rate_usd_per_hour: float = SPOT_RATE_USD_PER_HOUR
    budget_usd: float = BUDGET_USD
    # operations (docs/operations.md)
    preflight_min_gpu_memory_gb: float = 14.0        # a T4 shows ~14.6 GiB usable
    min_free_disk_gb: float = 20.0                   # besides room for the checkpoints
    spot_notice_url: typing.Optional[str] = None     # AWS_SPOT_URL on EC2
    spot_poll_seconds: float = 5.0
    oom_backoff: bool = True                         # halve micro-batch, double accumulation
    gpu_watch: bool = True
    gpu_util_min_percent: float = 50.0
    gpu_util_window_s: float = 600.0
    gpu_util_interval_s: float = 10.0
    milestone_hours: typing.Optional[float] = DECISION_HOURS  # week 5 of machine time; null: off
    milestone_step: typing.Optional[int] = None      # or at this optimizer step
    milestone_samples: int = 50
    milestone_prompts: typing.Tuple[str, ...] = DEFAULT_MILESTONE_PROMPTS
    milestone_sample_seconds: float = 10.0
    milestone_guidance_scale: float = 3.0
    milestone_min_authenticity: float = MIN_AUTHENTICITY
    milestone_max_val_loss: float = MAX_VAL_LOSS
    milestone_strict: bool = False                   # a missing input gives NO-GO
    alert_webhook_url: typing.Optional[str] = None
    alert_command: typing.Optional[str] = None
    alert_min_level: str = "WARNING"
    alert_retries: int = 3
    alert_timeout_s: float = 10.0
    alert_retry_backoff_s: float = 1.0
    idle_timeout_s: float = 7200.0                   # the plan's 2-hour auto-shutdown
    idle_command: typing.Optional[str] = None        # e.g. "sudo shutdown -h now"
    idle_check_seconds: float = 30.0

    @property
    def run_path(self):
        """The run directory as a :class:`~pathlib.Path`."""
        return Path(self.run_dir)

    @property
    def cache_path(self):
        """Where encoded EnCodec codes are cached."""
        return Path(self.cache_dir) if self.cache_dir else self.run_path / "codes_cache"

    def to_dict(self):
        """Plain dict of every setting (what a checkpoint stores)."""
        return dataclasses.asdict(self)


_POSITIVE = {"segment_seconds", "min_segment_seconds", "batch_size", "grad_accum_steps", "lr",
             "max_grad_norm", "epochs", "save_every_steps", "checkpoint_every_epochs",
             "keep_last_epoch_checkpoints", "log_every_steps", "alert_high_loss", "stall_steps",
             "stall_loss", "spike_factor", "torch_threads", "spot_poll_seconds",
             "gpu_util_window_s", "gpu_util_interval_s", "milestone_hours", "milestone_step",
             "milestone_samples", "milestone_sample_seconds", "alert_timeout_s",
             "idle_timeout_s", "idle_check_seconds", "lora_rank", "lora_alpha"}
_NON_NEGATIVE = {"warmup_steps", "weight_decay", "alert_high_loss_after_step",
                 "stall_min_improvement", "spot_rate_usd_per_hour", "budget_usd", "seed",
                 "preflight_min_gpu_memory_gb", "min_free_disk_gb", "milestone_guidance_scale",
                 "milestone_max_val_loss", "alert_retries", "alert_retry_backoff_s"}
_FRACTIONS = {"val_fraction", "cond_dropout", "lora_dropout"}   # in [0, 1)
_BETAS = {"adam_beta1", "adam_beta2"}                   # in [0, 1)


def _check_type(key, value, hint):
    optional = typing.get_origin(hint) is typing.Union and type(None) in typing.get_args(hint)
    if optional:
        if value is None:
            return None
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    if hint is bool and not isinstance(value, bool):
        raise ConfigError(f"config key {key!r}: expected true or false, got {value!r}")
    if typing.get_origin(hint) is tuple:
        if (not isinstance(value, (list, tuple)) or not value
                or not all(isinstance(v, str) and v.strip() for v in value)):
            raise ConfigError(f"config key {key!r}: expected a non-empty list of non-empty "
                              f"strings, got {value!r}")
        return tuple(value)
    # bool is an int in Python; a JSON true for a count is a mistake, not a 1.
    if hint is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"config key {key!r}: expected an integer, got {value!r}")
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"config key {key!r}: expected a number, got {value!r}")
        value = float(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise ConfigError(f"config key {key!r}: must be finite, got {value!r}")
    if hint is str and not isinstance(value, str):
        raise ConfigError(f"config key {key!r}: expected a string, got {value!r}")
    return value


def _check_values(cfg):
    for key in _POSITIVE:
        value = getattr(cfg, key)
        if value is not None and value <= 0:
            raise ConfigError(f"config key {key!r}: must be > 0, got {value!r}")
    for key in _NON_NEGATIVE:
        if getattr(cfg, key) < 0:
            raise ConfigError(f"config key {key!r}: must be >= 0, got {getattr(cfg, key)!r}")
    for key in _FRACTIONS | _BETAS:
        if not 0.0 <= getattr(cfg, key) < 1.0:
            raise ConfigError(f"config key {key!r}: must be in [0, 1), got {getattr(cfg, key)!r}")
    if cfg.min_segment_seconds > cfg.segment_seconds:
        raise ConfigError(f"config key 'min_segment_seconds': {cfg.min_segment_seconds} is longer "
                          f"than segment_seconds {cfg.segment_seconds}")
    if cfg.precision not in PRECISIONS:
        raise ConfigError(f"config key 'precision': must be one of {PRECISIONS}, "
                          f"got {cfg.precision!r}")
    if cfg.device != "auto" and not (cfg.device == "cpu" or cfg.device.startswith("cuda")):
        raise ConfigError(f"config key 'device': must be 'auto', 'cpu' or 'cuda[:n]', "
                          f"got {cfg.device!r}")
    if "{tags}" not in cfg.prompt_template:
        raise ConfigError("config key 'prompt_template': must contain '{tags}', "
                          f"got {cfg.prompt_template!r}")
    for key in ("model", "metadata_path", "run_dir"):
        if not getattr(cfg, key).strip():
            raise ConfigError(f"config key {key!r}: must not be empty")
    _check_operations(cfg)


def _check_operations(cfg):
    if cfg.alert_min_level not in ALERT_LEVELS:
        raise ConfigError(f"config key 'alert_min_level': must be one of {ALERT_LEVELS}, "
                          f"got {cfg.alert_min_level!r}")
    if not 0.0 <= cfg.gpu_util_min_percent <= 100.0:
        raise ConfigError(f"config key 'gpu_util_min_percent': must be in [0, 100], "
                          f"got {cfg.gpu_util_min_percent!r}")
    if not 0.0 <= cfg.milestone_min_authenticity <= 1.0:
        raise ConfigError(f"config key 'milestone_min_authenticity': must be in [0, 1], "
                          f"got {cfg.milestone_min_authenticity!r}")
    for key in ("spot_notice_url", "alert_webhook_url"):
        url = getattr(cfg, key)
        if url is not None and not url.startswith(("http://", "https://")):
            raise ConfigError(f"config key {key!r}: must be an http:// or https:// URL, "
                              f"got {url!r}")
    for key in ("alert_command", "idle_command"):
        if getattr(cfg, key) is not None and not getattr(cfg, key).strip():
            raise ConfigError(f"config key {key!r}: must not be empty (use null to turn it off)")
    if cfg.lora_rank is not None and importlib.util.find_spec("peft") is None:
        raise ConfigError("config key 'lora_rank': LoRA needs the optional peft package "
                          "(pip install \".[lora]\"), or set it to null")


def config_from_dict(data, *, source="config"):
    """Validate a mapping into a :class:`TrainConfig`.

    Raises
    ------
    ConfigError
        On an unknown key (with the closest known key suggested), a wrong type or an
        impossible value; the message names the key.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a JSON object at the top level, "
                          f"got {type(data).__name__}")
    hints = typing.get_type_hints(TrainConfig)
    known = [f.name for f in dataclasses.fields(TrainConfig)]
    values = {}
    for key, value in data.items():
        if key.startswith("_"):            # "_comment" keys document a config file
            continue
        if key in RETIRED_KEYS:
            raise ConfigError(f"{source}: config key {key!r} is not supported: {RETIRED_KEYS[key]}")
        if key not in hints:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{source}: unknown config key {key!r}{hint}")
        values[key] = _check_type(key, value, hints[key])
    cfg = TrainConfig(**values)
    _check_values(cfg)
    return cfg


def load_config(path):
    """Read and validate a JSON config file.

    Parameters
    ----------
    path : str or Path
        The JSON file.

    Returns
    -------
    TrainConfig
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {str(path)!r}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc}") from None
    return config_from_dict(data, source=str(path))


# keys whose change makes a checkpoint's position or data order meaningless
RESUME_KEYS = ("model", "metadata_path", "segment_seconds", "min_segment_seconds", "val_fraction",
               "seed", "batch_size", "grad_accum_steps", "epochs", "warmup_steps", "lora_alpha",
               "lora_dropout")


def resume_differences(saved, cfg):
    """Keys in :data:`RESUME_KEYS` whose value differs from a checkpoint's saved config."""
    current = cfg.to_dict()
    return [k for k in RESUME_KEYS if k in saved and saved[k] != current[k]]

