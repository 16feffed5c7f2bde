"""The Day-0 pre-flight checks behind ``python -m musicgen_ft.preflight`` (:mod:`musicgen_ft.preflight`).

Each check returns a :class:`Check`: ``✓`` or ``✗`` with the reason. Checks: config sanity,
accelerator and its memory, run directory writable with free disk for the checkpoints, the
detector self-test (the five cases the detector must get right: silence, white noise, a
200 Hz tone, a 100 Hz log drum and a 50 ms kick), the dataset (every file the metadata names
decodes: 0 broken files), resume state (fresh, or which checkpoint and step; a halted run or an
exhausted budget fails, by the trainer's own rules), TensorBoard log directory, what will
watch the run, and throughput: a few real optimizer steps of the configured model on the
configured device (:mod:`.probe`) project the cost of the planned epochs, which fails above the
budget and names the settings that would fit. Nothing is modified: a probe file is written in the run directory (or, before the
first run, in its nearest existing parent) and removed again.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from evaluation.run_folder import CHECKPOINTS_DIR, TENSORBOARD_DIR
from logdrum.io.atomic import temp_name

OK, FAIL = "✓", "✗"


@dataclass
class Check:
    name: str
    ok: bool
    detail: str

    def line(self):
        return f"{OK if self.ok else FAIL} {self.name}: {self.detail}"


# ---- the plan's detector self-test ------------------------------------------------------
def detector_cases(sr=44100):
    """The plan's five cases: ``(name, audio, expect_log_drum)``."""
    import numpy as np

    from logdrum import synth

    return [
        ("silence", np.zeros(2 * sr), False),
        ("white noise", np.random.default_rng(0).standard_normal(2 * sr) * 0.1, False),
        ("200 Hz percussive tone (outside 50-150 Hz)", synth.log_drum(sr, 200.0, 0.4), False),
        ("100 Hz log drum", synth.log_drum(sr, 100.0, 0.4), True),
        ("kick (50 ms decay)", synth.kick(sr, tau=0.05), False),
    ]


def check_detector(sr=44100):
    import logdrum

    failed = []
    cases = detector_cases(sr)
    for name, audio, expect in cases:
        found = logdrum.detect_amapiano_log_drums(audio, sr) is not None
        if found != expect:
            failed.append(f"{name}: {'detected' if found else 'missed'}")
    passed = len(cases) - len(failed)
    if failed:
        return Check("detector self-test", False, f"{passed}/{len(cases)} passed; failed: "
                     + "; ".join(failed) + ". Do not proceed: fix the detector thresholds")
    return Check("detector self-test", True, f"{passed}/{len(cases)} passed (silence, noise, "
                 "200 Hz and kick rejected; 100 Hz log drum accepted)")


# ---- the other checks ------------------------------------------------------------------
def check_config(path):
    from ..config import ConfigError, load_config

    try:
        cfg = load_config(path)
    except ConfigError as exc:
        return None, Check("config", False, str(exc))
    detail = (f"{path} is valid (model {cfg.model}, batch {cfg.batch_size} x accum "
              f"{cfg.grad_accum_steps}, lr {cfg.lr:g}, {cfg.epochs} epochs, budget "
              f"${cfg.budget_usd:g})")
    return cfg, Check("config", True, detail)


def check_accelerator(cfg):
    import torch

    name = "accelerator"
    if cfg.device == "cpu":
        return Check(name, True, "none needed: device is 'cpu' (CPU run)")
    if not torch.cuda.is_available():
        return Check(name, False, f"no CUDA GPU visible (device {cfg.device!r} needs one; "
                                  f"check nvidia-smi and the driver)")
    index = (torch.device(cfg.device).index or 0) if cfg.device != "auto" else 0
    if index >= torch.cuda.device_count():
        return Check(name, False, f"{cfg.device} requested, {torch.cuda.device_count()} GPU(s) "
                                  f"visible")
    props = torch.cuda.get_device_properties(index)
    gib = props.total_memory / 2**30
    text = (f"{props.name}, {gib:.1f} GiB, compute {props.major}.{props.minor}, "
            f"{torch.cuda.device_count()} GPU(s)")
    if gib < cfg.preflight_min_gpu_memory_gb:
        return Check(name, False, f"{text}: below preflight_min_gpu_memory_gb "
                                  f"{cfg.preflight_min_gpu_memory_gb:g}")
    return Check(name, True, text)


def checkpoint_bytes(cfg):
    """Estimated size of one training checkpoint: the latest one's, else from the model."""
    from ..checkpoint import resume_candidates

    sizes = [p.stat().st_size for p in resume_candidates(cfg.run_path / CHECKPOINTS_DIR)
             if p.exists()]
    if sizes:
        return max(sizes), "size of the existing checkpoint"
    try:
        import torch
        from transformers import MusicgenConfig, MusicgenForConditionalGeneration

        from ..model import tiny_config, trainable_prefixes

        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        config = (tiny_config() if cfg.model == "tiny"
                  else MusicgenConfig.from_pretrained(cfg.model, local_files_only=True))
        with torch.device("meta"):
            model = MusicgenForConditionalGeneration(config)
        prefixes = trainable_prefixes(model)
        n = sum(p.numel() for k, p in model.named_parameters() if k.startswith(prefixes))
        # fp32 weights + two AdamW moments, plus a little for the rest of the state
        return 12 * n + (1 << 20), f"{n / 1e6:.1f} M trainable parameters"
    except Exception:   # not downloaded yet: say so, use the floor only
        return 0, "model size unknown: not in the local Hugging Face cache yet"


def _size(n):
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"


def _probe_write(folder):
    """Write, fsync and remove a small file in ``folder`` or, while it does not exist yet, in
    its nearest existing parent (the trainer creates it); raises OSError."""
    folder = Path(folder).absolute()
    while not folder.exists():
        folder = folder.parent
    probe = temp_name(folder / "preflight")
    with open(probe, "wb") as f:
        f.write(b"x" * 4096)
        f.flush()
        os.fsync(f.fileno())
    probe.unlink()
    return folder


def check_run_dir(cfg):
    name = "run dir"
    run = cfg.run_path
    try:
        where = _probe_write(run)
    except OSError as exc:
        return Check(name, False, f"{run} is not writable: {exc}")
    per, how = checkpoint_bytes(cfg)
    count = cfg.keep_last_epoch_checkpoints + 3      # epochs kept + last + best + a temp file
    need = count * per + cfg.min_free_disk_gb * 2**30
    free = shutil.disk_usage(where).free
    state = "writable" if where == run.absolute() else f"can be created in {where}"
    text = (f"{run} {state}; {_size(free)} free, need {_size(need)} ({count} checkpoints of "
            f"{_size(per)} [{how}] + min_free_disk_gb {cfg.min_free_disk_gb:g})")
    return Check(name, free >= need, text)


def check_dataset(cfg, workers=None):
    name = "dataset"
    meta = Path(cfg.metadata_path)
    from ..inputs import metadata_problem

    problem = metadata_problem(meta)
    if problem:   # the same line the trainer prints
        return Check(name, False, problem)
    try:
        from logdrum.dataset.validate import read_targets, validate

        from ..data import read_metadata

        read_metadata(meta, cfg.prompt_template)        # the columns the trainer needs
        total = len(read_targets(meta))
        broken = validate(meta, workers=workers, progress=False)
    except (OSError, ValueError, RuntimeError) as exc:
        return Check(name, False, f"{meta}: {exc}")
    if total == 0:
        return Check(name, False, f"{meta} lists no clips")
    if broken:
        shown = "; ".join(f"{b['problem']} {b['path']}" for b in broken[:5])
        more = f" (+{len(broken) - 5} more)" if len(broken) > 5 else ""
        return Check(name, False, f"Broken files: {len(broken)} / {total}: {shown}{more}; "
                                  f"details: python -m logdrum validate {meta}")
    return Check(name, True, f"Broken files: 0 / {total} ({meta})")


def check_resume(cfg):
    from evaluation.run_folder import HALT_FILE, OOM_STATE_FILE, STATE_FILE

    from ..checkpoint import load_checkpoint, resume_candidates
    from .cost_tracker import CostTracker
    from .halt import read_halt

    name = "resume state"
    run = cfg.run_path
    halted = read_halt(run)
    if halted is not None:
        return Check(name, False, f"run was halted ({halted}); read alerts.jsonl, fix, then "
                                  f"delete {run / HALT_FILE}")
    notes = []
    if (run / STATE_FILE).exists():
        # the trainer's own accounting, read-only: the same rule decides here and at start-up
        cost = CostTracker(run, cfg.spot_rate_usd_per_hour, cfg.budget_usd, write=False)
        if cost.over_budget():
            return Check(name, False, f"budget exhausted: ${cost.cost:.2f} of "
                                      f"${cfg.budget_usd:.2f}; raise budget_usd to continue")
        notes.append(f"${cost.cost:.2f} of ${cfg.budget_usd:.2f} spent")
    if (run / OOM_STATE_FILE).exists():
        notes.append(f"OOM back-off in force ({OOM_STATE_FILE})")
    bad = []
    for path in resume_candidates(run / CHECKPOINTS_DIR):
        if not path.exists():
            continue
        try:
            st = load_checkpoint(path)
        except ValueError:
            bad.append(path.name)
            continue
        fallback = f" ({', '.join(bad)} unreadable: falls back)" if bad else ""
        text = (f"resuming from {path.name}: epoch {st['epoch'] + 1}, batch "
                f"{st['batch_in_epoch']}, step {st['global_step']}{fallback}")
        return Check(name, True, "; ".join([text] + notes))
    if bad:
        return Check(name, True, f"fresh start: no readable checkpoint ({', '.join(bad)} "
                                 f"unreadable)")
    return Check(name, True, "; ".join(["fresh start (no checkpoint)"] + notes))


def check_tensorboard(cfg):
    name = "TensorBoard"
    try:
        import tensorboard  # noqa: F401
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except ImportError as exc:
        return Check(name, False, f"tensorboard not importable: {exc}")
    tb = cfg.run_path / TENSORBOARD_DIR
    try:
        _probe_write(tb)
    except OSError as exc:
        return Check(name, False, f"{tb} not writable: {exc}")
    return Check(name, True, f"{tb} writable; view with: tensorboard --logdir {tb} --port 6006")


def check_operations(cfg):
    """What will watch the run (always passes; it says what is on and off)."""
    from .gpu_watch import find_reader

    parts = [f"spot notice poll {'on: ' + cfg.spot_notice_url if cfg.spot_notice_url else 'off'}",
             "alert delivery " + (", ".join(t for t in (cfg.alert_webhook_url and "webhook",
                                                        cfg.alert_command and "command") if t)
                                  or "off (alerts.jsonl and the log only)"),
             f"idle watchdog {'runs ' + repr(cfg.idle_command) if cfg.idle_command else 'alert only'}"
             f" after {cfg.idle_timeout_s / 3600:g} h",
             f"GPU watch {'off' if not cfg.gpu_watch else (find_reader()[0] or 'off (no NVML/nvidia-smi)')}",
             "milestone " + (" or ".join(w for w in (
                 cfg.milestone_hours is not None and f"at {cfg.milestone_hours:g} h",
                 cfg.milestone_step is not None and f"at step {cfg.milestone_step}") if w) or "off")]
    return Check("operations", True, "; ".join(parts))


def check_throughput(cfg, steps=3):
    """Probe a few real optimizer steps; fail when the planned epochs overrun the budget."""
    from evaluation.run_folder import STATE_FILE

    from .probe import probe_check

    name = "throughput"
    if steps <= 0:
        return Check(name, True, "probe skipped (--probe-steps 0): cost not projected")
    try:
        state = json.loads((cfg.run_path / STATE_FILE).read_text())
    except (OSError, ValueError):
        state = {}
    ok, detail = probe_check(cfg, steps=steps, state=state if isinstance(state, dict) else {})
    return Check(name, ok, detail)


def run_checks(config_path, *, workers=None, probe_steps=3):
    """Every check, in order; a config that cannot be read stops after the first line."""
    cfg, first = check_config(config_path)
    if cfg is None:
        return [first]
    checks = [first]
    steps = [("accelerator", lambda: check_accelerator(cfg)),
             ("run dir", lambda: check_run_dir(cfg)),
             ("detector self-test", check_detector),
             ("dataset", lambda: check_dataset(cfg, workers)),
             ("resume state", lambda: check_resume(cfg)),
             ("TensorBoard", lambda: check_tensorboard(cfg)),
             ("operations", lambda: check_operations(cfg)),
             ("throughput", lambda: check_throughput(cfg, probe_steps))]
    for name, fn in steps:
        try:
            checks.append(fn())
        except Exception as exc:   # a check that crashes is a failed check, not a traceback
            checks.append(Check(name, False, f"check crashed: {type(exc).__name__}: {exc}"))
    return checks
