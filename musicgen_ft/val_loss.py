"""The validation pass after every epoch: mean and per-codebook loss over the held-out segments.

Under torchrun each rank evaluates its share of every batch and the sums are combined; a CUDA
out-of-memory error splits the batches further (:mod:`.ops.oom`) and the pass starts over.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import torch

from .data import make_batch
from .faults import kill_point
from .model import lm_loss, set_train_mode
from .ops.oom import is_oom, split_batch

log = logging.getLogger("musicgen_ft")


class ValidationMixin:
    """:class:`~musicgen_ft.loop.Trainer`'s validation.

    Uses the trainer's ``cfg``, ``backend``, ``val_set``, ``global_batch``, ``dist``, ``oom``,
    ``device``, ``autocast``, ``metrics``, ``alerts``, ``epoch``, ``global_step`` and its
    ``_stop_now``.
    """

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
            kill_point("validate")
            batch, real = self.dist.shard(make_batch(self.val_set, index, be))
            if not real:
                continue
            rows = batch["labels"].shape[0]
            for piece, w in split_batch(batch, self.oom.factor):
                self.oom.inject_fault(piece)
                loss, cb = lm_loss(be, piece, self.device, self.autocast)
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
