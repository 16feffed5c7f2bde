"""The training loop: AdamW, warmup + cosine, gradient accumulation, clipping, mixed precision,
validation each epoch, checkpoints, guards and cost.

Exact resume: a checkpoint is taken only between optimizer steps and holds the model, optimizer,
scheduler, scaler, monitor, epoch, position in the epoch's batch order and every RNG state.
Batch order comes from ``(seed, epoch)`` and prompt dropout from ``(seed, epoch, batch)``, so
on CPU a run killed at any point and restarted ends with bit-identical weights.

Operations (docs/operations.md) hook in here: a spot-notice poller and SIGTERM share one stop
flag; CUDA out-of-memory splits micro-batches (:mod:`.oom`); a GPU utilisation watch; the
week-5 milestone (:mod:`.milestone`); alert delivery (:mod:`.notify`); the idle watchdog's
heartbeat; and DDP under torchrun (:mod:`.distributed`).
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
from .distributed import DistContext
from .gpu_watch import GpuWatch
from .metrics import MetricsWriter
from .milestone import Milestone
from .model import (build_model, codec_fingerprint, load_trainable_state, lm_loss,
                    set_train_mode, trainable_state)
from .monitor import DivergenceMonitor
from .notify import notifier_from_config
from .oom import OOMBackoff, OutOfMemoryAtMinimum, is_oom, split_batch
from .spot import SpotPoller
from .train import (EXIT_BUDGET, EXIT_ERROR, EXIT_HALTED, EXIT_NO_GO, EXIT_OK, EXIT_OOM,
                    EXIT_SAVE_FAILED)
from .watchdog import Heartbeat

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
    dist : DistContext, optional
        This process's place in a torchrun job (default: read from the environment).
    """

    def __init__(self, cfg, should_stop, dist=None):
        self.cfg = cfg
        self._stop = should_stop
        self._notice = None                 # a spot interruption notice, once polled
        self.dist = dist or DistContext()
        main = self.dist.is_main
        self.run_dir = cfg.run_path
        self.notifier = notifier_from_config(cfg) if main else None
        self.alerts = AlertLog(self.run_dir / "alerts.jsonl" if main else None, self.notifier)
        self.cost = CostTracker(self.run_dir, cfg.spot_rate_usd_per_hour, cfg.budget_usd,
                                write=main)
        self.alerts.count = int(self.cost.state.get("alerts", 0))
        self.nan_at = int(os.environ.get(NAN_ENV, "0") or 0)
        self.oom = OOMBackoff(self.run_dir, cfg.batch_size, cfg.grad_accum_steps, cfg.oom_backoff)
        self.milestone = Milestone(cfg)
        self.heartbeat = Heartbeat(self.run_dir)
        self.heartbeat.beat()
        self.watchers = []

    def should_stop(self):
        """True once SIGTERM/SIGINT or a spot notice arrived (this rank's view); a heartbeat."""
        self.heartbeat.beat()
        return bool(self._stop()) or self._notice is not None

    def _stop_now(self):
        """:meth:`should_stop` agreed by all ranks."""
        return self.dist.any(self.should_stop())

    def _signal_name(self):
        if self._notice is not None:
            return "spot interruption notice"
        return getattr(self._stop, "received", None) or "stop requested"

    def _on_spot_notice(self, notice):
        self._notice = notice
        self.alerts.emit("WARNING", "spot_interruption",
                         f"Spot interruption notice ({notice}): finishing the current step, "
                         f"then saving last.ckpt", notice=notice)

    # ---- setup -------------------------------------------------------------------------
    def run(self):
        """Train to the end or to a stop; returns the exit code."""
        cfg = self.cfg
        try:
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
            self.device = self.dist.setup(self.device)
            return self._run()
        finally:
            for w in self.watchers:
                w.stop()
            if self.notifier is not None:   # the last alerts of a stopping run still go out
                self.notifier.close(cfg.alert_timeout_s)
            self.dist.close()

    def _run(self):
        cfg = self.cfg
        with self.heartbeat.keep_alive():
            self.backend = build_model(cfg.model, seed=cfg.seed)
            self.backend.model.to(self.device)
        self.ckpts = CheckpointManager(self.run_dir / "checkpoints", self.alerts,
                                       cfg.keep_last_epoch_checkpoints)
        if not self._load_data():
            return EXIT_OK if self.should_stop() else EXIT_ERROR
        self._build_optimizer()
        resumed_from = self._resume()
        self.ddp = self.dist.wrap(self.backend.model)
        self._banner(resumed_from)
        self.metrics = (MetricsWriter(self.run_dir, purge_step=self.global_step or None)
                        if self.dist.is_main else _NoMetrics())
        self._start_watchers()
        try:
            return self._loop()
        except SaveError:
            return EXIT_SAVE_FAILED
        except OutOfMemoryAtMinimum as exc:
            self.alerts.emit("CRITICAL", "cuda_oom", str(exc))
            return EXIT_OOM
        finally:
            self.metrics.close()
            self.cost.update(alerts=self.alerts.count)

    def _start_watchers(self):
        cfg = self.cfg
        if not self.dist.is_main:
            return
        if cfg.spot_notice_url:
            self.watchers.append(SpotPoller(cfg.spot_notice_url, self._on_spot_notice,
                                            cfg.spot_poll_seconds).start())
        if not cfg.gpu_watch:
            log.info("GPU utilisation watch: off (gpu_watch is false)")
        elif not self.device.startswith("cuda"):
            log.info("GPU utilisation watch: off (training on %s)", self.device)
        else:
            self.watchers.append(GpuWatch(self.alerts, cfg.gpu_util_min_percent,
                                          cfg.gpu_util_window_s, cfg.gpu_util_interval_s).start())

    def _load_data(self):
        cfg, be = self.cfg, self.backend
        clips = read_metadata(cfg.metadata_path, cfg.prompt_template)
        train, val = split_clips(clips, cfg.val_fraction, cfg.seed)
        folder = cache_folder(cfg.cache_path, be, codec_fingerprint(be), cfg.segment_seconds,
                              cfg.min_segment_seconds)
        kw = dict(segment_seconds=cfg.segment_seconds, min_segment_seconds=cfg.min_segment_seconds,
                  should_stop=self.should_stop, progress=False)
        if self.dist.enabled:   # each rank fills the cache with its share, then all read it
            d = self.dist
            _, share = encode_clips((train + val)[d.rank::d.world], be, folder, **kw)
            if d.any(share["stopped"]):
                return False
            d.barrier()
        self.train_set, st = encode_clips(train, be, folder, **kw)
        self.val_set, sv = encode_clips(val, be, folder, **kw)
        skipped = st["skipped"] + sv["skipped"]
        log.info("Data: %d train segments (%d clips), %d val segments (%d clips); "
                 "encoded %d, from cache %d, skipped %d%s", len(self.train_set), len(train),
                 len(self.val_set), len(val), st["encoded"] + sv["encoded"],
                 st["cached"] + sv["cached"], len(skipped), f" {skipped[:5]}" if skipped else "")
        if self.dist.any(st["stopped"] or sv["stopped"]):
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
        # under torchrun a micro-batch spans all ranks: batch_size samples on each
        self.global_batch = cfg.batch_size * self.dist.world
        self.n_micro = len(epoch_batches(len(self.train_set), self.global_batch, cfg.seed, 0))
        self.steps_per_epoch = math.ceil(self.n_micro / cfg.grad_accum_steps)
        self.total_steps = self.steps_per_epoch * cfg.epochs
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, warmup_cosine(cfg.warmup_steps, self.total_steps))
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.precision == "fp16")
        self.monitor = DivergenceMonitor(cfg)
        self.epoch, self.batch_in_epoch, self.global_step = 0, 0, 0
        self.best_val = math.inf

    def _resume(self):
        # rank 0 first: it renames a corrupt last.ckpt, the others then see the same files
        state, path = self.ckpts.load_latest() if self.dist.is_main else (None, None)
        self.dist.barrier()
        if not self.dist.is_main:
            state, path = self.ckpts.load_latest()
        if state is None:
            # torch seeds itself randomly at start-up; a fresh run must not depend on that
            import random

            seed = self.cfg.seed + self.dist.rank
            torch.manual_seed(seed)
            np.random.seed(seed)
            random.seed(seed)
            return None
        load_trainable_state(self.backend.model, state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.monitor.load_state_dict(state["monitor"])
        self.epoch, self.batch_in_epoch = state["epoch"], state["batch_in_epoch"]
        self.global_step, self.best_val = state["global_step"], state["best_val_loss"]
        ranks = state.get("rng_ranks")
        if ranks and len(ranks) == self.dist.world:
            restore_rng(ranks[self.dist.rank])
        else:
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
        if self.oom.factor > 1:
            log.info("OOM back-off in force (%s): %s", self.oom.path.name, self.oom.describe())
        if self.dist.enabled:
            log.info("Data parallel: %d processes (%s), effective batch %d", self.dist.world,
                     self.dist.backend, self.global_batch * cfg.grad_accum_steps)
        if self.milestone.enabled:
            when = " or ".join(w for w in (
                cfg.milestone_hours is not None and f"{cfg.milestone_hours:g} h",
                cfg.milestone_step is not None and f"step {cfg.milestone_step}") if w)
            log.info("Week-5 milestone: %s", "done" if self.milestone.done else f"at {when}")
        if self.notifier is not None:
            log.info("Alerts (%s and up) also go to: %s", cfg.alert_min_level, ", ".join(
                t for t in (cfg.alert_webhook_url and "webhook",
                            cfg.alert_command and "command") if t))

    # ---- the loop ----------------------------------------------------------------------
    def _autocast(self):
        if self.precision == "fp32":
            return None
        dtype = torch.float16 if self.precision == "fp16" else torch.bfloat16
        return lambda: torch.autocast("cuda", dtype=dtype)

    def _state(self):
        """The checkpoint; under torchrun a collective (every rank's RNG state is gathered)."""
        state = self._state_dict()
        if self.dist.enabled:
            state["rng_ranks"] = self.dist.gather(capture_rng())
        return state

    def _save_last(self, reason):
        """Write last.ckpt on rank 0; every rank raises SaveError if that failed."""
        state = self._state()
        self._on_main(lambda: self.ckpts.save_last(state, reason))

    def _on_main(self, work):
        """Run checkpoint writing on rank 0 only; a failure there stops every rank."""
        failed = None
        if self.dist.is_main:
            try:
                work()
            except SaveError as exc:
                failed = exc
        if self.dist.any(failed is not None):
            raise failed or SaveError("rank 0 could not write a checkpoint")

    def _state_dict(self):
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
            batches = epoch_batches(len(self.train_set), self.global_batch, cfg.seed, self.epoch)
            set_train_mode(self.backend.model, True)
            for start in range(self.batch_in_epoch, len(batches), cfg.grad_accum_steps):
                group = batches[start:start + cfg.grad_accum_steps]
                code = self._step(group, start, interval)
                if code is not None:
                    return code
                if self._stop_now():
                    self._save_last(self._signal_name())
                    self.cost.update(global_step=self.global_step, epoch=self.epoch)
                    return EXIT_OK
            self.batch_in_epoch = len(batches)
            val = self._validate()
            if val is None:    # interrupted: resume re-runs validation of this epoch
                self._save_last(self._signal_name())
                return EXIT_OK
            self._end_epoch(val)
        log.info("Training complete: %d epochs, %d steps, best val loss %.4f, cost $%.2f",
                 cfg.epochs, self.global_step, self.best_val, self.cost.cost)
        self.cost.update(global_step=self.global_step, epoch=self.epoch, done=True)
        return EXIT_OK

    def _accumulate(self, group, start, step):
        """Forward and backward over the step's micro-batches (split per the OOM back-off).

        Returns the step's mean loss, per-codebook losses, samples and target tokens.
        """
        cfg, be = self.cfg, self.backend
        total, per_cb, seen, tokens = 0.0, torch.zeros(be.num_codebooks), 0, 0
        real_sum, real_cb, n_real = 0.0, torch.zeros(be.num_codebooks), 0
        for i, index in enumerate(group):
            rng = np.random.default_rng([cfg.seed, self.epoch, start + i])
            batch = make_batch(self.train_set, index, be, cond_dropout=cfg.cond_dropout, rng=rng)
            batch, real = self.dist.shard(batch)
            pieces = split_batch(batch, self.oom.factor)
            for j, (piece, w) in enumerate(pieces):
                self.oom.inject_fault(piece)
                last = i == len(group) - 1 and j == len(pieces) - 1
                with self.dist.no_sync(self.ddp, last):
                    loss, cb = lm_loss(be, piece, self.device, self._autocast(), module=self.ddp)
                    if step == self.nan_at and i == 0 and j == 0:
                        loss = loss * float("nan")
                    part = loss / len(group) if w == 1.0 else loss * w / len(group)
                    self.scaler.scale(part if real else part * 0.0).backward()
                if real:
                    total += loss.item() * w / len(group)
                    per_cb = per_cb + cb.cpu() * w / len(group)
                    real_sum, real_cb = real_sum + loss.item() * w, real_cb + cb.cpu() * w
            n_real += int(real)
            seen += len(index)
            tokens += int((batch["labels"] != -100).sum())
        if self.dist.enabled:   # the step's loss over every rank's rows, the same on all ranks
            sums = self.dist.sum([real_sum, n_real] + real_cb.tolist())
            total, per_cb = sums[0] / sums[1], torch.tensor(sums[2:]) / sums[1]
        return total, per_cb, seen, tokens

    def _accumulate_with_backoff(self, group, start, step):
        while True:
            try:
                return self._accumulate(group, start, step)
            except Exception as exc:
                if not is_oom(exc):
                    raise
                self.optimizer.zero_grad(set_to_none=True)
                message = self.oom.back_off(exc)     # OutOfMemoryAtMinimum when it cannot
                if self.dist.enabled:
                    # the other ranks are already waiting in the gradient all-reduce: stop all
                    # (torchrun ends them) and let the restart use the smaller micro-batch
                    raise OutOfMemoryAtMinimum(message + "; under torchrun the run stops and "
                                               "the restart uses it") from exc
                self.alerts.emit("WARNING", "cuda_oom", message, step=step)

    def _step(self, group, start, interval):
        """One optimizer step over a group of micro-batches; an exit code means stop."""
        cfg = self.cfg
        step = self.global_step + 1
        total, per_cb, seen, tokens = self._accumulate_with_backoff(group, start, step)
        interval["samples"] += seen
        interval["tokens"] += tokens
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
            self._save_last(f"stopped: {critical[0][1]}")
            return self._halt(critical[0], step, group, start, per_cb, applied=True)
        over_budget, milestone_due = self.dist.any(
            self.cost.over_budget(),
            self.dist.is_main and self.milestone.due(step, self.cost.elapsed))
        if over_budget:
            self._save_last("budget exhausted")
            self.alerts.emit("CRITICAL", "budget_exhausted",
                             f"Budget exhausted: ${self.cost.cost:.2f} of ${cfg.budget_usd:.2f} "
                             f"at step {step}; stopped with last.ckpt saved", step=step)
            self.cost.update(global_step=step, epoch=self.epoch, alerts=self.alerts.count)
            return EXIT_BUDGET
        if milestone_due:
            return self._milestone(step)
        if step % cfg.save_every_steps == 0:
            self._save_last(f"every {cfg.save_every_steps} steps")
        return None

    def _milestone(self, step):
        """The automatic week-5 decision; an exit code on NO-GO, else None (training goes on)."""
        self._save_last("before the week-5 milestone")
        self.cost.update(global_step=step, epoch=self.epoch, alerts=self.alerts.count)
        verdict = None
        if self.dist.is_main:
            verdict = self.milestone.run(self.backend, self.device, step, self.alerts)
        verdict = self.dist.broadcast(verdict)
        set_train_mode(self.backend.model, True)
        if verdict != "NO-GO":
            return None
        if self.dist.is_main:
            write_json_atomic(self.run_dir / HALT_FILE, {
                "code": "milestone_no_go", "step": step, "time": time.time(),
                "message": f"week-5 milestone decided NO-GO at step {step}; see "
                           f"{self.milestone.folder / 'ABORT.md'}"})
        log.critical("Stopped at step %d: week-5 NO-GO. Abort report: %s; checkpoints kept in %s",
                     step, self.milestone.folder / "ABORT.md", self.ckpts.folder)
        self.cost.update(global_step=step, epoch=self.epoch, alerts=self.alerts.count)
        return EXIT_NO_GO

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

    def _validate(self):
        """Mean validation loss and per-codebook losses; None if interrupted by a signal."""
        while True:
            try:
                return self._validate_pass()
            except Exception as exc:
                if not is_oom(exc) or self.dist.enabled:
                    raise
                self.alerts.emit("WARNING", "cuda_oom", self.oom.back_off(exc) + " (validation)",
                                 step=self.global_step)

    @torch.no_grad()
    def _validate_pass(self):
        cfg, be = self.cfg, self.backend
        if len(self.val_set) == 0:
            return (math.nan, [])
        set_train_mode(be.model, False)
        total, per_cb, n = 0.0, torch.zeros(be.num_codebooks), 0
        n_val = len(self.val_set)
        for first in range(0, n_val, self.global_batch):
            index = np.arange(first, min(first + self.global_batch, n_val))
            if self._stop_now():
                return None
            batch, real = self.dist.shard(make_batch(self.val_set, index, be))
            if not real:
                continue
            rows = batch["labels"].shape[0]
            for piece, w in split_batch(batch, self.oom.factor):
                self.oom.inject_fault(piece)
                loss, cb = lm_loss(be, piece, self.device, self._autocast())
                total += loss.item() * w * rows
                per_cb = per_cb + cb.cpu() * w * rows
            n += rows
        if self.dist.enabled:
            sums = self.dist.sum([total, n] + per_cb.tolist())
            total, n, per_cb = sums[0], sums[1], torch.tensor(sums[2:])
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
        self._save_last("epoch end")
        if improved:
            self._on_main(lambda: (
                self.ckpts.save_best(trainable_state(self.backend.model),
                                     {"val_loss": val_loss, "epoch": self.epoch,
                                      "global_step": self.global_step,
                                      "config": self.cfg.to_dict()}),
                self.ckpts.export_best(self.backend.model, self.backend.tokenizer)))
        if self.epoch % self.cfg.checkpoint_every_epochs == 0:
            state = self._state()
            self._on_main(lambda: self.ckpts.save_epoch(state, self.epoch))
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
        if not self.dist.is_main:   # every rank saw the same loss; rank 0 writes the files
            return EXIT_HALTED
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



class _NoMetrics:
    """Metrics sink of the ranks other than 0 (rank 0 writes TensorBoard and metrics.jsonl)."""

    def log(self, *args, **kwargs):
        pass

    def close(self):
        pass
