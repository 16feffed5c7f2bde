"""The training loop: epochs of optimizer steps, each over accumulated micro-batches.

Exact resume: a checkpoint is taken only between optimizer steps and holds the model, optimizer,
scheduler, scaler, monitor, epoch, position in the epoch's batch order and every RNG state.
Batch order comes from ``(seed, epoch)`` and prompt dropout from ``(seed, epoch, batch)``, so
on CPU a run killed at any point and restarted ends with bit-identical weights.

:class:`Trainer` is put together from one module per concern:

- :mod:`.startup`: data, optimizer set-up and step counts, watchers, the banner;
- :mod:`.optim`: AdamW, warmup + cosine, mixed precision, the device, one optimizer update;
- :mod:`.state`: what a checkpoint holds, and resume;
- :mod:`.val_loss`: the validation pass after every epoch;
- :mod:`.guards`: stop requests (signals, spot notice), the monitor's halt, the budget, the
  week-5 milestone.

Operations (docs/operations.md) hook in too: CUDA out-of-memory splits micro-batches
(:mod:`.ops.oom`); alert delivery (:mod:`.ops.notify`); the idle watchdog's heartbeat; and DDP under
torchrun (:mod:`.distributed`).
"""

from __future__ import annotations

import logging
import math
import os
import time

import numpy as np
import torch

from evaluation.run_folder import ALERTS_FILE, CHECKPOINTS_DIR, THROUGHPUT_KEY

from .checkpoint import CheckpointManager, SaveError, remove_leftovers
from .data import epoch_batches, make_batch
from .distributed import DistContext
from .exit_codes import ExitCode
from .faults import kill_point
from .guards import GuardsMixin
from .memory import apply_memory_options
from .metrics import MetricsWriter, NoMetrics
from .ops.alerts import AlertLog
from .ops.cost_tracker import CostTracker
from .ops.idle import Heartbeat
from .ops.milestone import Milestone
from .ops.notify import notifier_from_config
from .ops.oom import OOMBackoff, OutOfMemoryAtMinimum, is_oom, split_batch
from .model import build_model, lm_loss, set_train_mode, trainable_state
from .optim import (apply_update, autocast_for, pick_device_precision,  # noqa: F401
                    warmup_cosine)
from .startup import StartupMixin
from .state import StateMixin
from .throughput import Throughput
from .val_loss import ValidationMixin

# Test-only fault injection: make the loss NaN at this global step.
NAN_ENV = "MUSICGEN_FT_TEST_NAN_AT_STEP"

log = logging.getLogger("musicgen_ft")


class Trainer(StartupMixin, StateMixin, ValidationMixin, GuardsMixin):
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
        if main:   # temp files and folders of writes a kill interrupted, cache included:
            remove_leftovers(self.run_dir, depth=2)   # checkpoints/, milestone/, codes_cache/x/
            remove_leftovers(cfg.cache_path, depth=1)
        self.notifier = notifier_from_config(cfg) if main else None
        self.alerts = AlertLog(self.run_dir / ALERTS_FILE if main else None, self.notifier)
        self.cost = CostTracker(self.run_dir, cfg.spot_rate_usd_per_hour, cfg.budget_usd,
                                write=main, alerts=self.alerts)
        self.alerts.count = int(self.cost.state.get("alerts", 0))
        # running average over every start of the run (continued from the state file)
        self.speed = Throughput(self.cost.state.get(THROUGHPUT_KEY),
                                segment_seconds=cfg.segment_seconds)
        self.nan_at = int(os.environ.get(NAN_ENV, "0") or 0)
        self.oom = OOMBackoff(self.run_dir, cfg.batch_size, cfg.grad_accum_steps, cfg.oom_backoff)
        self.milestone = Milestone(cfg)
        self.heartbeat = Heartbeat(self.run_dir)
        self.heartbeat.beat()
        self.watchers = []

    def run(self):
        """Train to the end or to a stop; returns the exit code."""
        cfg = self.cfg
        try:
            refused = self._refuse_start()
            if refused is not None:
                return refused
            self.cost.update()   # count this start (and bill its start-up) even if killed soon
            if cfg.torch_threads:
                torch.set_num_threads(cfg.torch_threads)
            self.device, self.precision = pick_device_precision(cfg)
            self.autocast = autocast_for(self.precision)
            self.device = self.dist.setup(self.device)
            return self._run()
        except SaveError:   # before the loop: code cache, rebuilt best model (alert is out)
            return ExitCode.SAVE_FAILED
        finally:
            for w in self.watchers:
                w.stop()
            if self.notifier is not None:   # the last alerts of a stopping run still go out
                self.notifier.close(cfg.alert_timeout_s)
            self.dist.close()

    def _run(self):
        cfg = self.cfg
        kill_point("startup")
        with self.heartbeat.keep_alive():
            self.backend = build_model(cfg.model, seed=cfg.seed)
            apply_memory_options(self.backend.model, cfg)
            self.backend.model.to(self.device)
        self.ckpts = CheckpointManager(self.run_dir / CHECKPOINTS_DIR, self.alerts,
                                       cfg.keep_last_epoch_checkpoints)
        if not self._load_data():
            return ExitCode.OK if self.should_stop() else ExitCode.ERROR
        self._build_optimizer()
        self.speed.plan.update(
            samples_per_epoch=len(self.train_set), steps_per_epoch=self.steps_per_epoch,
            epochs=cfg.epochs, batch_size=cfg.batch_size, grad_accum_steps=cfg.grad_accum_steps,
            device=self.device, precision=self.precision, model=cfg.model)
        resumed_from = self._resume()
        self.ddp = self.dist.wrap(self.backend.model)
        self._banner(resumed_from)
        self.metrics = (MetricsWriter(self.run_dir, purge_step=self.global_step or None,
                                      resume_epoch=self.epoch, alerts=self.alerts)
                        if self.dist.is_main else NoMetrics())
        self._start_watchers()
        kill_point("startup:resumed")
        try:
            return self._loop()
        except SaveError:
            return ExitCode.SAVE_FAILED
        except OutOfMemoryAtMinimum as exc:
            self.alerts.emit("CRITICAL", "cuda_oom", str(exc))
            return ExitCode.OOM
        finally:
            self.metrics.close()
            self.cost.update(alerts=self.alerts.count, **{THROUGHPUT_KEY: self.speed.summary()})

    # ---- the loop ----------------------------------------------------------------------
    def _loop(self):
        cfg = self.cfg
        interval = {"t": time.monotonic(), "samples": 0, "tokens": 0}
        if self.global_step and self._budget_and_milestone_due(self.global_step)[1]:
            # killed during the milestone: decide at the checkpoint's step, as an
            # uninterrupted run did, not one step later
            code = self._milestone(self.global_step)
            if code is not None:
                return code
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
                    return ExitCode.OK
            self.batch_in_epoch = len(batches)
            val = self._validate()
            if val is None:    # interrupted: resume re-runs validation of this epoch
                self._save_last(self._signal_name())
                return ExitCode.OK
            self._end_epoch(val)
        kill_point("finish")
        log.info("Training complete: %d epochs, %d steps, best val loss %.4f, cost $%.2f",
                 cfg.epochs, self.global_step, self.best_val, self.cost.cost)
        self.cost.update(global_step=self.global_step, epoch=self.epoch, done=True)
        return ExitCode.OK

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
                    loss, cb = lm_loss(be, piece, self.device, self.autocast, module=self.ddp)
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
        self.speed.start_step()
        total, per_cb, seen, tokens = self._accumulate_with_backoff(group, start, step)
        interval["samples"] += seen
        interval["tokens"] += tokens
        alerts = self.monitor.check(step, total)
        critical = [a for a in alerts if a[0] == "CRITICAL"]
        if critical and critical[0][1] == "nan_loss":
            return self._halt(critical[0], step, group, start, per_cb)
        lr, grad_norm, scale, skipped = apply_update(self.optimizer, self.scheduler, self.scaler,
                                                     self.params, cfg.max_grad_norm)
        self.speed.end_step(seen, tokens)
        self.global_step = step
        self.batch_in_epoch = start + len(group)
        kill_point("step")
        for level, code, message in alerts:
            self.alerts.emit(level, code, message, step=step, loss=total)
        if skipped:   # normal with fp16: GradScaler found inf/NaN grads and lowered its scale
            log.info("fp16 step %d skipped by GradScaler (scale %.0f)", step, scale)
        if step % cfg.log_every_steps == 0 or step == 1:
            self._log_step(step, total, per_cb, lr, grad_norm, interval)
        if critical:
            self._save_last(f"stopped: {critical[0][1]}")
            return self._halt(critical[0], step, group, start, per_cb, applied=True)
        over_budget, milestone_due = self._budget_and_milestone_due(step)
        if over_budget:
            return self._stop_over_budget(step)
        if milestone_due:
            return self._milestone(step)
        if step % cfg.save_every_steps == 0:
            self._save_last(f"every {cfg.save_every_steps} steps")
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
        speed = self.speed.summary()
        self.metrics.log("train", step, loss=loss, loss_per_codebook=per_cb.tolist(), lr=lr,
                         grad_norm=grad_norm, samples_per_s=sps, tokens_per_s=tps,
                         step_seconds=self.speed.last_step_seconds,
                         measured_samples_per_s=speed["samples_per_s"], epoch=self.epoch + 1)
        self.cost.update(global_step=step, epoch=self.epoch, alerts=self.alerts.count,
                         **{THROUGHPUT_KEY: speed})

    def _end_epoch(self, val):
        val_loss, _ = val
        improved = math.isfinite(val_loss) and val_loss < self.best_val
        if improved:
            self.best_val = val_loss
        self.epoch += 1
        self.batch_in_epoch = 0
        # last.ckpt goes last: a kill before it replays this epoch's end, so best_model and
        # epoch_k are always written (a kill after it would have resumed past them)
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
        self._save_last("epoch end")
        best = self.best_val if math.isfinite(self.best_val) else None
        self.cost.update(global_step=self.global_step, epoch=self.epoch, best_val_loss=best,
                         alerts=self.alerts.count)
