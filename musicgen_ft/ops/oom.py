"""CUDA out-of-memory back-off: same effective batch, smaller pieces.

The launch checklist's answer to an out-of-memory error is "reduce batch size (8 -> 4)". Done by hand that
changes the effective batch and breaks resume; done here, the step that ran out of memory is
redone with every micro-batch split in two (half the micro-batch, twice the accumulation), so
the effective batch, the data order and the learning-rate schedule stay exactly as configured.
The split factor is written to ``<run_dir>/oom_backoff.json`` at once (atomically), so a
resumed run starts with the smaller size instead of running out of memory again.

Each piece's loss is weighted by its share of the micro-batch's target tokens, so the summed
gradient equals the unsplit micro-batch's gradient (the loss is a mean over target tokens).

Test hook: ``MUSICGEN_FT_TEST_OOM_ABOVE=N`` makes every forward pass over more than ``N``
samples raise ``torch.OutOfMemoryError``, as a GPU with room for ``N`` samples would (``0``: every
pass); this is how the back-off is exercised on CPU.
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path

import torch

from evaluation.run_folder import OOM_STATE_FILE
from logdrum.io.atomic import write_json_atomic

FAULT_ENV = "MUSICGEN_FT_TEST_OOM_ABOVE"

log = logging.getLogger("musicgen_ft")


class OutOfMemoryAtMinimum(RuntimeError):
    """Out of memory with micro-batches of one sample: nothing left to halve."""


def is_oom(exc):
    """True for CUDA out-of-memory errors (the typed one, or an older RuntimeError text)."""
    oom_type = getattr(torch, "OutOfMemoryError", None) or torch.cuda.OutOfMemoryError
    return isinstance(exc, oom_type) or (isinstance(exc, RuntimeError)
                                         and "out of memory" in str(exc).lower())


def split_batch(batch, factor):
    """Split a batch from :func:`musicgen_ft.data.make_batch` into up to ``factor`` pieces.

    Returns
    -------
    list of (dict, float)
        Each piece and its weight: its share of the batch's target tokens (the weights sum to 1).
    """
    n = batch["labels"].shape[0]
    if factor <= 1 or n <= 1:
        return [(batch, 1.0)]
    size = math.ceil(n / factor)
    total = int((batch["labels"] != -100).sum())
    pieces = []
    for start in range(0, n, size):
        piece = {k: v[start:start + size] for k, v in batch.items()}
        tokens = int((piece["labels"] != -100).sum())
        pieces.append((piece, tokens / total if total else piece["labels"].shape[0] / n))
    return pieces


class OOMBackoff:
    """The current split factor of one run, persisted in ``oom_backoff.json``.

    Parameters
    ----------
    run_dir : str or Path
    batch_size, grad_accum_steps : int
        The configured micro-batch and accumulation (the effective batch to keep).
    enabled : bool
        With ``False`` an out-of-memory error is not caught here.
    """

    def __init__(self, run_dir, batch_size, grad_accum_steps, enabled=True):
        self.path = Path(run_dir) / OOM_STATE_FILE
        self.batch_size, self.grad_accum_steps = batch_size, grad_accum_steps
        self.enabled = enabled
        self.factor = 1
        if self.path.exists():
            try:
                saved = json.loads(self.path.read_text())
                if saved.get("batch_size") == batch_size:
                    self.factor = max(1, int(saved["factor"]))
                else:
                    log.info("Ignoring %s: it was for batch_size %s", self.path.name,
                             saved.get("batch_size"))
            except (OSError, ValueError, KeyError, TypeError):
                log.warning("Unreadable %s; starting with the configured micro-batch", self.path)
        fault = os.environ.get(FAULT_ENV, "")
        self.fault_above = int(fault) if fault.strip() else None

    @property
    def micro_batch(self):
        """Samples per forward pass now."""
        return math.ceil(self.batch_size / self.factor)

    @property
    def accumulation(self):
        """Forward passes per optimizer step now."""
        return self.grad_accum_steps * self.factor

    def describe(self):
        return f"micro-batch {self.micro_batch} x accumulation {self.accumulation}"

    def inject_fault(self, batch):
        """Test hook: raise an out-of-memory error for a piece larger than the fault limit."""
        if self.fault_above is not None and batch["labels"].shape[0] > self.fault_above:
            oom_type = getattr(torch, "OutOfMemoryError", None) or torch.cuda.OutOfMemoryError
            raise oom_type(f"CUDA out of memory (injected by {FAULT_ENV}={self.fault_above}: "
                           f"{batch['labels'].shape[0]} samples)")

    def back_off(self, exc):
        """Halve the micro-batch after an out-of-memory error; returns the WARNING message.

        Raises
        ------
        OutOfMemoryAtMinimum
            When the micro-batch is already one sample (or back-off is off).
        """
        if not self.enabled or self.micro_batch <= 1:
            raise OutOfMemoryAtMinimum(
                f"CUDA out of memory with {self.describe()}: {exc}") from exc
        before = self.describe()
        self.factor *= 2
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        write_json_atomic(self.path, {"factor": self.factor, "batch_size": self.batch_size,
                                      "grad_accum_steps": self.grad_accum_steps,
                                      "micro_batch": self.micro_batch,
                                      "accumulation": self.accumulation})
        return (f"CUDA out of memory with {before}; retrying the step with {self.describe()} "
                f"(same effective batch {self.batch_size * self.grad_accum_steps}), "
                f"kept for resume in {self.path.name}")
