"""Throughput probe: a few real optimizer steps, and whether the planned epochs fit the budget.

Preflight (``python -m musicgen_ft.preflight``) runs it before the first training run. The probe
builds the configured model on the configured device and precision and times optimizer steps
exactly as the trainer takes them (the same batch assembly, loss, accumulation, GradScaler and
AdamW update), on random codes of the configured segment length: speed depends on the shapes,
not on the values. The first step is warm-up and not timed.

From the measured samples per second, the epochs still to train (all of them on a fresh run)
and the money already spent (``orchestrator_state.json``) it projects the dollars to the last
epoch with :func:`evaluation.projection.measured_projection`, the same arithmetic as the cost
dashboard. When they exceed the budget, the probe times alternative settings (a larger
micro-batch with the same effective batch, another precision on CUDA, and gradient
checkpointing / LoRA where the configuration has those keys) and says which would fit.
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

# alternatives tried when the configured setting does not fit (each changes one thing)
BATCH_FACTORS = (2, 4)
LORA_RANK = 16


@dataclasses.dataclass
class ProbeResult:
    """One probed setting: its speed, or why it could not run."""

    setting: str
    samples_per_s: float | None = None
    seconds_per_step: float | None = None
    peak_memory_gb: float | None = None
    memory_kind: str = ""
    loss: float | None = None
    grad_scale: float | None = None
    skipped_steps: int = 0
    error: str | None = None
    finish_cost: float | None = None
    fits: bool | None = None


def describe(cfg, precision):
    """The setting in words: batch, accumulation, precision and memory options."""
    parts = [f"batch {cfg.batch_size} x accum {cfg.grad_accum_steps}", precision]
    if getattr(cfg, "gradient_checkpointing", False):
        parts.append("gradient checkpointing")
    if getattr(cfg, "lora_rank", 0):
        parts.append(f"LoRA rank {cfg.lora_rank}")
    return ", ".join(parts)


def samples_per_epoch(cfg):
    """Training segments per epoch, from the audio headers of the training clips.

    An unreadable file contributes nothing, as the trainer skips it.
    """
    from logdrum.io.audio import AudioReadError, audio_duration

    from ..data import count_segments, read_metadata, split_clips

    train, _ = split_clips(read_metadata(cfg.metadata_path, cfg.prompt_template),
                           cfg.val_fraction, cfg.seed)
    durations = []
    for clip in train:
        try:
            durations.append(audio_duration(clip.path))
        except AudioReadError:   # the dataset check names broken files; here they count 0
            continue
    return sum(count_segments(d, cfg.segment_seconds, cfg.min_segment_seconds)
               for d in durations)


def _random_batch(backend, batch_size, segment_seconds, seed):
    from ..data import CodeSet, make_batch

    frame_rate = backend.model.config.audio_encoder.frame_rate
    frames = max(1, math.ceil(segment_seconds * frame_rate))
    gen = np.random.default_rng(seed)
    import torch

    codes = torch.from_numpy(gen.integers(0, backend.codebook_size,
                                          (batch_size, backend.num_codebooks, frames),
                                          dtype=np.int16))
    n_valid = torch.full((batch_size,), frames)
    prompts = ["amapiano, log drum, piano"] * batch_size
    data = CodeSet(codes, n_valid, prompts, [str(i) for i in range(batch_size)])
    return make_batch(data, np.arange(batch_size), backend)


def measure(cfg, *, steps=3, warmup=1, backend=None):
    """Time ``steps`` optimizer steps of ``cfg``'s model, device, precision and batch.

    Parameters
    ----------
    cfg : TrainConfig
    steps, warmup : int
        Timed steps, after ``warmup`` untimed ones.
    backend : Backend, optional
        A model already built for ``cfg`` (reused, e.g. across batch sizes); by default the
        probe builds ``cfg.model`` and frees it afterwards.

    Returns
    -------
    ProbeResult
        ``error`` holds the reason when the setting could not run (out of memory, no model).
    """
    import torch

    from ..memory import apply_memory_options
    from ..model import build_model, lm_loss, set_train_mode
    from ..optim import apply_update, autocast_for, build_optimizer, pick_device_precision

    result = ProbeResult(describe(cfg, cfg.precision))
    owned = backend is None
    try:
        device, precision = pick_device_precision(cfg)
        result.setting = describe(cfg, precision)
        if owned:
            backend = build_model(cfg.model, seed=cfg.seed)
            apply_memory_options(backend.model, cfg)   # as the trainer does
        model = backend.model.to(device)
        set_train_mode(model, True)
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer, scheduler, scaler = build_optimizer(cfg, params, warmup + steps + 1, precision)
        batch = _random_batch(backend, cfg.batch_size, cfg.segment_seconds, cfg.seed)
        autocast = autocast_for(precision)
        if device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats(device)
        times = []
        for i in range(warmup + steps):
            t0 = time.perf_counter()
            for _ in range(cfg.grad_accum_steps):
                loss, _ = lm_loss(backend, batch, device, autocast)
                scaler.scale(loss / cfg.grad_accum_steps).backward()
            _, _, _, skipped = apply_update(optimizer, scheduler, scaler, params,
                                            cfg.max_grad_norm)
            if i >= warmup:
                times.append(time.perf_counter() - t0)
                result.skipped_steps += int(skipped)
        samples = cfg.batch_size * cfg.grad_accum_steps
        result.seconds_per_step = sum(times) / len(times)
        result.samples_per_s = samples / result.seconds_per_step
        result.peak_memory_gb = _peak_memory_gb(device)
        result.memory_kind = ("CUDA max allocated" if device.startswith("cuda")
                              else "process peak RSS")
        result.loss = float(loss.item())
        result.grad_scale = float(scaler.get_scale()) if scaler.is_enabled() else None
    except Exception as exc:   # out of memory or a model that cannot be built: say which
        from .oom import is_oom

        kind = "out of memory" if is_oom(exc) else type(exc).__name__
        result.error = f"{kind}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
    finally:
        optimizer = model = params = batch = None   # free the memory before the next probe
        if owned:
            backend = None
        else:   # a step that ran out of memory leaves gradients on the shared model
            backend.model.zero_grad(set_to_none=True)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    return result


def _peak_memory_gb(device):
    import torch

    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated(device) / 2**30
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20   # KiB on Linux


def alternatives(cfg):
    """Config variants worth probing when ``cfg`` does not fit, one change each."""
    import torch

    out = []
    effective = cfg.batch_size * cfg.grad_accum_steps
    for f in BATCH_FACTORS:
        batch = cfg.batch_size * f
        if batch <= effective and effective % batch == 0:      # same effective batch
            out.append({"batch_size": batch, "grad_accum_steps": effective // batch})
    device = cfg.device if cfg.device != "auto" else ("cuda" if torch.cuda.is_available()
                                                      else "cpu")
    if device.startswith("cuda"):
        bf16 = torch.cuda.get_device_capability(device)[0] >= 8
        for p in ("fp16", "bf16") if bf16 else ("fp16",):
            if p != cfg.precision:
                out.append({"precision": p})
    names = {f.name for f in dataclasses.fields(cfg)}
    if "gradient_checkpointing" in names and not cfg.gradient_checkpointing:
        # checkpointing trades speed for memory: worth it only with the larger micro-batch
        big = cfg.batch_size * 2
        if effective % big == 0:
            out.append({"gradient_checkpointing": True, "batch_size": big,
                        "grad_accum_steps": effective // big})
    if "lora_rank" in names and not cfg.lora_rank:
        out.append({"lora_rank": LORA_RANK})
    return out


def _project(result, cfg, per_epoch, state):
    """Fill ``finish_cost`` and ``fits`` of a measured result."""
    from evaluation.projection import measured_projection

    spent_h = float(state.get("elapsed_time") or 0.0) / 3600.0
    spent = float(state.get("cost") or spent_h * cfg.spot_rate_usd_per_hour)
    steps_per_epoch = max(1, math.ceil(math.ceil(per_epoch / cfg.batch_size)
                                       / cfg.grad_accum_steps))
    proj = measured_projection(
        {"global_step": state.get("global_step", 0),
         "throughput": {"samples_per_s": result.samples_per_s, "samples_per_epoch": per_epoch,
                        "epochs": cfg.epochs, "steps_per_epoch": steps_per_epoch}},
        spot_rate=cfg.spot_rate_usd_per_hour, budget=cfg.budget_usd, elapsed_hours=spent_h,
        cost=spent, planned_hours=1.0, decision_hours=1.0)
    result.finish_cost, result.fits = proj.finish_cost, proj.fits_budget
    return proj


def probe_check(cfg, *, steps=3, state=None, time_budget_s=600.0):
    """The preflight line: ``(ok, detail)``.

    Parameters
    ----------
    cfg : TrainConfig
    steps : int
        Timed optimizer steps per setting (after one warm-up step).
    state : dict, optional
        The run's ``orchestrator_state.json`` (money spent, steps done); empty for a fresh run.
    time_budget_s : float
        Alternatives are probed until this much time has passed.
    """
    t_start = time.monotonic()
    state = state or {}
    per_epoch = samples_per_epoch(cfg)
    if per_epoch == 0:
        return False, "no training samples to project from (see the dataset check)"
    first = measure(cfg, steps=steps)
    if first.error:
        return False, f"probe of {first.setting} failed: {first.error}"
    proj = _project(first, cfg, per_epoch, state)
    text = (f"{first.samples_per_s:.3g} samples/s measured over {steps} steps ({first.setting}, "
            f"{first.memory_kind} {first.peak_memory_gb:.2f} GiB): {proj.hours_per_epoch:.3g} h "
            f"per epoch of {per_epoch} samples, {proj.epochs} epochs end at "
            f"${proj.finish_cost:.2f} of ${cfg.budget_usd:.2f}")
    if proj.fits_budget:
        return True, text
    tried = []
    for change in alternatives(cfg):
        if time.monotonic() - t_start > time_budget_s:
            tried.append(ProbeResult(", ".join(f"{k}={v}" for k, v in change.items()),
                                     error="not probed: probe time budget spent"))
            continue
        r = measure(dataclasses.replace(cfg, **change), steps=steps)
        if r.error is None:
            _project(r, cfg, per_epoch, state)
        tried.append(r)
    return False, text + " -> OVER BUDGET; " + advice(tried)


def advice(tried):
    """Which probed settings would fit, in words (the ✗ line's second half)."""
    fit = sorted((r for r in tried if r.fits), key=lambda r: r.finish_cost)
    if fit:
        return "would fit: " + "; ".join(f"{r.setting} ({r.samples_per_s:.3g} samples/s, "
                                          f"${r.finish_cost:.2f})" for r in fit)
    shown = "; ".join(f"{r.setting} ({r.error})" if r.error else
                      f"{r.setting} ({r.samples_per_s:.3g} samples/s, ${r.finish_cost:.2f})"
                      for r in tried)
    return ("no probed setting fits" + (f" ({shown})" if shown else "")
            + "; lower epochs, raise budget_usd, or cut per-step work (a larger micro-batch "
              "with gradient checkpointing, fp16/bf16 on a GPU, LoRA adapters)")
