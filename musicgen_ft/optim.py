"""Optimization: AdamW, the warmup + cosine schedule, mixed precision and one optimizer update.

The device and precision choice lives here too, since the precision decides both the autocast
context of the forward passes and whether GradScaler is on (fp16 only).
"""

from __future__ import annotations

import logging
import math

import torch

log = logging.getLogger("musicgen_ft")


def warmup_cosine(warmup, total):
    """LR factor: linear warmup over ``warmup`` steps, then cosine decay to 0 at ``total``."""
    def factor(step):
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    return factor


def pick_device_precision(cfg):
    """Resolve ``device`` and ``precision`` ("auto": bf16 on Ampere+, fp16 on older GPUs)."""
    device = cfg.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    precision = cfg.precision
    if device == "cpu":
        if precision in ("fp16", "bf16"):
            log.warning("precision %s is for CUDA; using fp32 on CPU", precision)
        return device, "fp32"
    if precision == "auto":
        # T4 (sm 7.5) reports emulated bf16 support; native bf16 needs sm 8.0+.
        precision = "bf16" if torch.cuda.get_device_capability(device)[0] >= 8 else "fp16"
    return device, precision


def autocast_for(precision, device_type="cuda"):
    """A factory of the forward passes' autocast context, or ``None`` for fp32.

    ``device_type="cpu"`` gives CPU autocast (bf16 works there; the benchmarks use it).
    """
    if precision == "fp32":
        return None
    dtype = torch.float16 if precision == "fp16" else torch.bfloat16
    return lambda: torch.autocast(device_type, dtype=dtype)


def build_optimizer(cfg, params, total_steps, precision):
    """AdamW over ``params``, its warmup + cosine schedule over ``total_steps``, a GradScaler.

    Returns ``(optimizer, scheduler, scaler)``; the scaler is enabled only for fp16.
    """
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay,
                                  betas=(cfg.adam_beta1, cfg.adam_beta2))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, warmup_cosine(cfg.warmup_steps, total_steps))
    scaler = torch.amp.GradScaler("cuda", enabled=precision == "fp16")
    return optimizer, scheduler, scaler


def apply_update(optimizer, scheduler, scaler, params, max_grad_norm):
    """Apply the accumulated gradients: unscale, clip, step, advance the schedule, clear.

    Returns ``(lr, grad_norm, scale, skipped)``: the LR the step used, the gradient norm before
    clipping, GradScaler's scale before the step, and whether GradScaler skipped the step
    (inf/NaN gradients under fp16).
    """
    scaler.unscale_(optimizer)
    grad_norm = torch.nn.utils.clip_grad_norm_(params, max_grad_norm).item()
    scale = scaler.get_scale()
    scaler.step(optimizer)
    scaler.update()
    skipped = scaler.is_enabled() and scaler.get_scale() < scale
    lr = scheduler.get_last_lr()[0]
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return lr, grad_norm, scale, skipped
