"""Before the first step: the data, the optimizer and step counts, the watchers, the banner.

The encoded data come from :mod:`.data` (EnCodec codes cached per clip; under torchrun each
rank encodes its share first). The watchers run beside the loop on rank 0: the spot notice
poller (:mod:`.ops.spot`) and the GPU utilisation watch (:mod:`.ops.gpu_watch`).
"""

from __future__ import annotations

import logging
import math

from .checkpoint import SaveError
from .data import cache_folder, encode_clips, epoch_batches, read_metadata, split_clips
from .integrity import warn
from .model import codec_fingerprint
from .monitor import DivergenceMonitor
from .ops.gpu_watch import GpuWatch
from .ops.savefail import save_failed
from .ops.spot import SpotPoller
from .optim import build_optimizer

log = logging.getLogger("musicgen_ft")


class StartupMixin:
    """:class:`~musicgen_ft.loop.Trainer`'s set-up after the model is built."""

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
            _, share = self._encode((train + val)[d.rank::d.world], folder, kw)
            if d.any(share["stopped"]):
                return False
            d.barrier()
        self.train_set, st = self._encode(train, folder, kw)
        self.val_set, sv = self._encode(val, folder, kw)
        skipped = st["skipped"] + sv["skipped"]
        for path, problem in st["torn"] + sv["torn"]:
            warn(self.alerts, path, problem, "set aside and encoded again")
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

    def _encode(self, clips, folder, kw):
        """:func:`encode_clips`; a cache write that fails (disk full, read-only) raises
        SaveError after a CRITICAL alert, like a failed checkpoint."""
        try:
            return encode_clips(clips, self.backend, folder, **kw)
        except OSError as exc:   # reads that fail are skipped inside: this is a write
            save_failed(self.alerts, "the code cache", folder, exc,
                        "The codes cached so far are kept; the run stops (exit code 5).")
            raise SaveError(f"could not write the code cache in {folder}: {exc}") from exc

    def _build_optimizer(self):
        cfg = self.cfg
        self.params = [p for p in self.backend.model.parameters() if p.requires_grad]
        # under torchrun a micro-batch spans all ranks: batch_size samples on each
        self.global_batch = cfg.batch_size * self.dist.world
        self.n_micro = len(epoch_batches(len(self.train_set), self.global_batch, cfg.seed, 0))
        self.steps_per_epoch = math.ceil(self.n_micro / cfg.grad_accum_steps)
        self.total_steps = self.steps_per_epoch * cfg.epochs
        self.optimizer, self.scheduler, self.scaler = build_optimizer(
            cfg, self.params, self.total_steps, self.precision)
        self.monitor = DivergenceMonitor(cfg)
        self.epoch, self.batch_in_epoch, self.global_step = 0, 0, 0
        self.best_val = math.inf

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
