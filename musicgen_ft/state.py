"""The trainer's checkpointed state: capture it for a checkpoint, restore it on resume.

A checkpoint is taken only between optimizer steps and holds the trained weights, optimizer,
scheduler, scaler, monitor, epoch, position in the epoch's batch order and every RNG state
(every rank's under torchrun). Writing the files is :mod:`.checkpoint`'s job; this module
decides what goes in them and puts it back.
"""

from __future__ import annotations

import numpy as np
import torch

from .checkpoint import FORMAT, SaveError, capture_rng, restore_rng
from .config import resume_differences
from .integrity import check_after_resume, check_before_resume
from .model import load_trainable_state, trainable_state


class StateMixin:
    """:class:`~musicgen_ft.loop.Trainer`'s resume and checkpoint capture.

    Uses the trainer's ``cfg``, ``dist``, ``alerts``, ``ckpts``, ``backend``, ``optimizer``,
    ``scheduler``, ``scaler``, ``monitor`` and its position (``epoch``, ``batch_in_epoch``,
    ``global_step``, ``best_val``).
    """

    def _resume(self):
        if self.dist.is_main:   # torn epoch checkpoints and logs, before anything reads them
            check_before_resume(self.ckpts, self.alerts, self.cost, self.run_dir)
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
        if self.dist.is_main:   # may load best_model.pt's weights to export them again
            check_after_resume(self.ckpts, self.alerts, self.backend, self.run_dir,
                               state["global_step"], {"val_loss": state["best_val_loss"],
                                                      "config": self.cfg.to_dict()})
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
