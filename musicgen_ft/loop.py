"""The training loop: AdamW, warmup + cosine, gradient accumulation, clipping, mixed precision,
validation each epoch, checkpoints, guards and cost.

Exact resume: a checkpoint is taken only between optimizer steps and holds the model, optimizer,
scheduler, scaler, monitor, epoch, position in the epoch's batch order and every RNG state.
Batch order comes from ``(seed, epoch)`` and prompt dropout from ``(seed, epoch, batch)``, so
on CPU a run killed at any point and restarted ends with bit-identical weights.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time

import numpy as np
import torch

from .alerts import AlertLog
from .checkpoint import FORMAT, CheckpointManager, SaveError, capture_rng, restore_rng
from .config import resume_differences
from .cost import CostTracker, write_json_atomic
from .data import cache_folder, encode_clips, epoch_batches, make_batch, read_metadata, split_clips
from .metrics import MetricsWriter
from .model import (build_model, codec_fingerprint, load_trainable_state, lm_loss,
                    set_train_mode, trainable_state)
from .monitor import DivergenceMonitor
from .train import EXIT_BUDGET, EXIT_ERROR, EXIT_HALTED, EXIT_OK, EXIT_SAVE_FAILED

HALT_FILE = "halt.json"
# Test-only fault injection: make the loss NaN at this global step.
NAN_ENV = "MUSICGEN_FT_TEST_NAN_AT_STEP"

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


class Trainer:
    """One run of :func:`musicgen_ft.train.main`: set up, resume, loop, stop.

    Parameters
    ----------
    cfg : TrainConfig
    should_stop : callable
        True once SIGTERM/SIGINT arrived.
    """

    def __init__(self, cfg, should_stop):
        self.cfg = cfg
        self.should_stop = should_stop
        self.run_dir = cfg.run_path
        self.alerts = AlertLog(self.run_dir / "alerts.jsonl")
        self.cost = CostTracker(self.run_dir, cfg.spot_rate_usd_per_hour, cfg.budget_usd)
        self.alerts.count = int(self.cost.state.get("alerts", 0))
        self.nan_at = int(os.environ.get(NAN_ENV, "0") or 0)

    def _signal_name(self):
        return getattr(self.should_stop, "received", None) or "stop requested"

    # ---- setup -------------------------------------------------------------------------
    def run(self):
        """Train to the end or to a stop; returns the exit code."""
        cfg = self.cfg
        halt = self.run_dir / HALT_FILE
        if halt.exists():
            log.critical("Run was halted earlier (%s). Inspect alerts.jsonl, then delete %s "
                         "to continue.", json.loads(halt.read_text()).get("message"), halt)
            return EXIT_HALTED
        if self.cost.over_budget():
            self.alerts.emit("CRITICAL", "budget_exhausted",
                             f"Budget exhausted before start: ${self.cost.cost:.2f} of "
                             f"${cfg.budget_usd:.2f}; raise budget_usd to continue")
            return EXIT_BUDGET
        if cfg.torch_threads:
            torch.set_num_threads(cfg.torch_threads)
        self.device, self.precision = pick_device_precision(cfg)
        self.backend = build_model(cfg.model, seed=cfg.seed)
        self.backend.model.to(self.device)
        self.ckpts = CheckpointManager(self.run_dir / "checkpoints", self.alerts,
                                       cfg.keep_last_epoch_checkpoints)
        if not self._load_data():
            return EXIT_OK if self.should_stop() else EXIT_ERROR
        self._build_optimizer()
        resumed_from = self._resume()
        self._banner(resumed_from)
        self.metrics = MetricsWriter(self.run_dir, purge_step=self.global_step or None)
        try:
            return self._loop()
        except SaveError:
            return EXIT_SAVE_FAILED
        finally:
            self.metrics.close()
            self.cost.update(alerts=self.alerts.count)

    def _load_data(self):
        cfg, be = self.cfg, self.backend
        clips = read_metadata(cfg.metadata_path, cfg.prompt_template)
        train, val = split_clips(clips, cfg.val_fraction, cfg.seed)
        folder = cache_folder(cfg.cache_path, be, codec_fingerprint(be), cfg.segment_seconds,
                              cfg.min_segment_seconds)
        kw = dict(segment_seconds=cfg.segment_seconds, min_segment_seconds=cfg.min_segment_seconds,
                  should_stop=self.should_stop, progress=False)
        self.train_set, st = encode_clips(train, be, folder, **kw)
        self.val_set, sv = encode_clips(val, be, folder, **kw)
        skipped = st["skipped"] + sv["skipped"]
        log.info("Data: %d train segments (%d clips), %d val segments (%d clips); "
                 "encoded %d, from cache %d, skipped %d%s", len(self.train_set), len(train),
                 len(self.val_set), len(val), st["encoded"] + sv["encoded"],
                 st["cached"] + sv["cached"], len(skipped), f" {skipped[:5]}" if skipped else "")
        if st["stopped"] or sv["stopped"]:
            log.info("Stopped during encoding; cached codes are kept. Run again to continue.")
            return False
        if len(self.train_set) == 0:
            log.error("No training segments: every clip failed to decode or is too short")
            return False
        return True

    def _build_optimizer(self):
        cfg = self.cfg
        self.params = [p for p in self.backend.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(self.params, lr=cfg.lr, weight_decay=cfg.weight_decay,
                                           betas=(cfg.adam_beta1, cfg.adam_beta2))
        self.n_micro = len(epoch_batches(len(self.train_set), cfg.batch_size, cfg.seed, 0))
        self.steps_per_epoch = math.ceil(self.n_micro / cfg.grad_accum_steps)
        self.total_steps = self.steps_per_epoch * cfg.epochs
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, warmup_cosine(cfg.warmup_steps, self.total_steps))
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.precision == "fp16")
        self.monitor = DivergenceMonitor(cfg)
        self.epoch, self.batch_in_epoch, self.global_step = 0, 0, 0
        self.best_val = math.inf

    def _resume(self):
        state, path = self.ckpts.load_latest()
        if state is None:
            # torch seeds itself randomly at start-up; a fresh run must not depend on that
            import random

            torch.manual_seed(self.cfg.seed)
            np.random.seed(self.cfg.seed)
            random.seed(self.cfg.seed)
            return None
        load_trainable_state(self.backend.model, state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.monitor.load_state_dict(state["monitor"])
        self.epoch, self.batch_in_epoch = state["epoch"], state["batch_in_epoch"]
        self.global_step, self.best_val = state["global_step"], state["best_val_loss"]
        restore_rng(state["rng"])
        changed = resume_differences(state["config"], self.cfg)
        if changed:
            self.alerts.emit("WARNING", "config_changed",
                             f"Config changed since the checkpoint in {changed}; resume is no "
                             f"longer exact", keys=changed)
        return path

    def _banner(self, resumed_from):
        cfg = self.cfg
        n_train = sum(p.numel() for p in self.params)
        line = "=" * 50
        log.info(line)
        log.info("PHASE 2.5: MusicGen fine-tune")
        log.info(line)
        log.info("Model: %s (%s trainable params)", cfg.model, f"{n_train:,}")
        log.info("Device: %s (%s) | Batch %d x accum %d | LR %.2e (warmup %d, cosine) | "
                 "Epochs %d (%d steps/epoch)", self.device, self.precision, cfg.batch_size,
                 cfg.grad_accum_steps, cfg.lr, cfg.warmup_steps, cfg.epochs, self.steps_per_epoch)
        if resumed_from is None:
            log.info("🆕 Starting fresh training")
        else:
            log.info("🔄 RESUMING from checkpoint: %s (epoch %d, batch %d, step %d)",
                     resumed_from.name, self.epoch + 1, self.batch_in_epoch, self.global_step)
        log.info("Cost so far: $%.2f of $%.2f (restart %d)", self.cost.cost, cfg.budget_usd,
                 self.cost.state["restarts"])

    # ---- the loop ----------------------------------------------------------------------
    def _autocast(self):
        if self.precision == "fp32":
            return None
        dtype = torch.float16 if self.precision == "fp16" else torch.bfloat16
        return lambda: torch.autocast("cuda", dtype=dtype)

    def _state(self):
        return {"format": FORMAT, "model": trainable_state(self.backend.model),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
                "epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch,
                "global_step": self.global_step, "best_val_loss": self.best_val,
                "monitor": self.monitor.state_dict(), "rng": capture_rng(),
                "config": self.cfg.to_dict()}

    def _loop(self):
        cfg = self.cfg
        interval = {"t": time.monotonic(), "samples": 0, "tokens": 0}
        while self.epoch < cfg.epochs:
            batches = epoch_batches(len(self.train_set), cfg.batch_size, cfg.seed, self.epoch)
            set_train_mode(self.backend.model, True)
            for start in range(self.batch_in_epoch, len(batches), cfg.grad_accum_steps):
                group = batches[start:start + cfg.grad_accum_steps]
                code = self._step(group, start, interval)
                if code is not None:
                    return code
                if self.should_stop():
                    self.ckpts.save_last(self._state(), self._signal_name())
                    self.cost.update(global_step=self.global_step, epoch=self.epoch)
                    return EXIT_OK
            self.batch_in_epoch = len(batches)
            val = self._validate()
            if val is None:    # interrupted: resume re-runs validation of this epoch
                self.ckpts.save_last(self._state(), self._signal_name())
                return EXIT_OK
            self._end_epoch(val)
        log.info("Training complete: %d epochs, %d steps, best val loss %.4f, cost $%.2f",
                 cfg.epochs, self.global_step, self.best_val, self.cost.cost)
        self.cost.update(global_step=self.global_step, epoch=self.epoch, done=True)
        return EXIT_OK

    def _step(self, group, start, interval):
        """One optimizer step over a group of micro-batches; an exit code means stop."""
        cfg, be = self.cfg, self.backend
        step = self.global_step + 1
        total, per_cb = 0.0, 0.0
        for i, index in enumerate(group):
            rng = np.random.default_rng([cfg.seed, self.epoch, start + i])
            batch = make_batch(self.train_set, index, be, cond_dropout=cfg.cond_dropout, rng=rng)
            loss, cb = lm_loss(be, batch, self.device, self._autocast())
            if step == self.nan_at and i == 0:
                loss = loss * float("nan")
            self.scaler.scale(loss / len(group)).backward()
            total += loss.item() / len(group)
            per_cb = per_cb + cb.cpu() / len(group)
            interval["samples"] += len(index)
            interval["tokens"] += int((batch["labels"] != -100).sum())
        alerts = self.monitor.check(step, total)
        critical = [a for a in alerts if a[0] == "CRITICAL"]
        if critical and critical[0][1] == "nan_loss":
            return self._halt(critical[0], step, group, start, per_cb)
        self.scaler.unscale_(self.optimizer)
        grad_norm = torch.nn.utils.clip_grad_norm_(self.params, cfg.max_grad_norm).item()
        scale = self.scaler.get_scale()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        skipped = self.scaler.is_enabled() and self.scaler.get_scale() < scale
        lr = self.scheduler.get_last_lr()[0]
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.global_step = step
        self.batch_in_epoch = start + len(group)
        for level, code, message in alerts:
            self.alerts.emit(level, code, message, step=step, loss=total)
        if skipped:   # normal with fp16: GradScaler found inf/NaN grads and lowered its scale
            log.info("fp16 step %d skipped by GradScaler (scale %.0f)", step, scale)
        if step % cfg.log_every_steps == 0 or step == 1:
            self._log_step(step, total, per_cb, lr, grad_norm, interval)
        if critical:
            self.ckpts.save_last(self._state(), f"stopped: {critical[0][1]}")
            return self._halt(critical[0], step, group, start, per_cb, applied=True)
        if self.cost.over_budget():
            self.ckpts.save_last(self._state(), "budget exhausted")
            self.alerts.emit("CRITICAL", "budget_exhausted",
                             f"Budget exhausted: ${self.cost.cost:.2f} of ${cfg.budget_usd:.2f} "
                             f"at step {step}; stopped with last.ckpt saved", step=step)
            self.cost.update(global_step=step, epoch=self.epoch, alerts=self.alerts.count)
            return EXIT_BUDGET
        if step % cfg.save_every_steps == 0:
            self.ckpts.save_last(self._state(), f"every {cfg.save_every_steps} steps")
        return None

    def _log_step(self, step, loss, per_cb, lr, grad_norm, interval):
        now = time.monotonic()
        dt = max(now - interval["t"], 1e-9)
        sps, tps = interval["samples"] / dt, interval["tokens"] / dt
        interval.update(t=now, samples=0, tokens=0)
        micro = self.batch_in_epoch
        log.info("Epoch %d/%d | Batch %d/%d | Step %d | Loss: %.3f | LR: %.2e | grad %.2f | "
                 "%.1f samples/s", self.epoch + 1, self.cfg.epochs, micro, self.n_micro, step,
                 loss, lr, grad_norm, sps)
        self.metrics.log("train", step, loss=loss, loss_per_codebook=per_cb.tolist(), lr=lr,
                         grad_norm=grad_norm, samples_per_s=sps, tokens_per_s=tps,
                         epoch=self.epoch + 1)
        self.cost.update(global_step=step, epoch=self.epoch, alerts=self.alerts.count)

    @torch.no_grad()
    def _validate(self):
        """Mean validation loss and per-codebook losses; None if interrupted by a signal."""
        cfg, be = self.cfg, self.backend
        if len(self.val_set) == 0:
            return (math.nan, [])
        set_train_mode(be.model, False)
        total, per_cb, n = 0.0, 0.0, 0
        n_val = len(self.val_set)
        for first in range(0, n_val, cfg.batch_size):
            index = np.arange(first, min(first + cfg.batch_size, n_val))
            if self.should_stop():
                return None
            batch = make_batch(self.val_set, index, be)
            loss, cb = lm_loss(be, batch, self.device, self._autocast())
            total += loss.item() * len(index)
            per_cb = per_cb + cb.cpu() * len(index)
            n += len(index)
        val, per_cb = total / n, (per_cb / n).tolist()
        self.metrics.log("val", self.global_step, loss=val, loss_per_codebook=per_cb,
                         epoch=self.epoch + 1)
        log.info("Epoch %d/%d | Validation loss: %.4f | per codebook %s", self.epoch + 1,
                 cfg.epochs, val, " ".join(f"{x:.3f}" for x in per_cb))
        return val, per_cb

    def _end_epoch(self, val):
        val_loss, _ = val
        improved = math.isfinite(val_loss) and val_loss < self.best_val
        if improved:
            self.best_val = val_loss
        self.epoch += 1
        self.batch_in_epoch = 0
        self.ckpts.save_last(self._state(), "epoch end")
        if improved:
            self.ckpts.save_best(trainable_state(self.backend.model),
                                 {"val_loss": val_loss, "epoch": self.epoch,
                                  "global_step": self.global_step, "config": self.cfg.to_dict()})
            self.ckpts.export_best(self.backend.model, self.backend.tokenizer)
        if self.epoch % self.cfg.checkpoint_every_epochs == 0:
            self.ckpts.save_epoch(self._state(), self.epoch)
        best = self.best_val if math.isfinite(self.best_val) else None
        self.cost.update(global_step=self.global_step, epoch=self.epoch, best_val_loss=best,
                         alerts=self.alerts.count)

    def _halt(self, alert, step, group, start, per_cb, applied=False):
        """Stop on a CRITICAL monitor alert: diagnostics, ``halt.json``, exit code 3.

        ``applied`` means the step's update went in and its alerts were already emitted (a
        stall); a NaN step is never applied and its alert is emitted here.
        """
        level, code, message = alert
        if not applied:
            self.alerts.emit(level, code, message, step=step)
        diag_dir = self.run_dir / "diagnostics"
        diag_dir.mkdir(exist_ok=True)
        diag = {"code": code, "message": message, "step": step, "epoch": self.epoch + 1,
                "batch_in_epoch": start, "applied_update": applied,
                "lr": self.scheduler.get_last_lr()[0],
                "loss_per_codebook": [float(x) for x in torch.as_tensor(per_cb).flatten()],
                "recent_losses": self.monitor.state_dict()["window"][-50:],
                "clip_ids": [[self.train_set.clip_ids[i] for i in idx] for idx in group],
                "last_checkpoint_step": self.ckpts.last_step}
        write_json_atomic(diag_dir / f"{code}_step{step}.json", diag)
        write_json_atomic(self.run_dir / HALT_FILE, {"code": code, "message": message,
                                                     "step": step, "time": time.time()})
        log.critical("Stopped at step %d (%s). Last good checkpoint: step %s. Diagnostics in %s",
                     step, code, diag["last_checkpoint_step"], diag_dir)
        self.cost.update(global_step=self.global_step, epoch=self.epoch, alerts=self.alerts.count)
        return EXIT_HALTED

