"""Metrics: TensorBoard scalars and a plain JSONL log, written side by side.

TensorBoard (``<run_dir>/tensorboard``): ``train/loss``, ``train/loss_cb{k}``, ``val/loss``,
``val/loss_cb{k}``, ``train/lr``, ``train/grad_norm``, ``train/samples_per_s``,
``train/tokens_per_s``. On resume the writer purges events after the checkpoint's step, so
steps replayed after a kill are not drawn twice.

JSONL (``<run_dir>/metrics.jsonl``): one object per logged step or validation pass, flushed
at once so ``tail -f`` and the tests see it immediately. On every start the records written
after the checkpoint the run resumes from (steps a kill made it replay, a torn last line) are
dropped, so each step appears once. ``loss`` is repeated as ``train_loss``
or ``val_loss``, the names :func:`evaluation.read_run` reads (loss curves in the GO/NO-GO report).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from evaluation.run_folder import METRICS_FILE, TENSORBOARD_DIR, read_jsonl


class MetricsWriter:
    """Write scalars to TensorBoard and ``metrics.jsonl``.

    Parameters
    ----------
    run_dir : str or Path
    purge_step : int, optional
        Global step of the checkpoint a resumed run starts from.
    alerts : AlertLog, optional
        Receives one CRITICAL alert when ``metrics.jsonl`` or the TensorBoard log cannot be
        written (training goes on; a checkpoint on the same full disk stops the run).
        TensorBoard's writer thread dies at the first failed write, so TensorBoard stays off
        until the next start.
    resume_epoch : int, optional
        Epochs that checkpoint had completed. With it, ``metrics.jsonl`` keeps only what was
        logged before the checkpoint (see :func:`purge_replayed`).
    """

    def __init__(self, run_dir, purge_step=None, alerts=None, resume_epoch=None):
        from torch.utils.tensorboard import SummaryWriter

        run_dir = Path(run_dir)
        self.alerts = alerts
        self._failing = set()     # what is failing now: alert once, not at every step
        self.tb_dir = run_dir / TENSORBOARD_DIR
        self.tb = SummaryWriter(log_dir=str(self.tb_dir), purge_step=purge_step)
        self.jsonl = None
        try:
            if resume_epoch is not None:
                purge_replayed(run_dir / METRICS_FILE, purge_step or 0, resume_epoch)
            self.jsonl = open(run_dir / METRICS_FILE, "a")
        except OSError as exc:   # read-only or immutable: TensorBoard still records the run
            self._failed(METRICS_FILE, run_dir / METRICS_FILE, exc)

    def log(self, kind, step, **scalars):
        """Record scalars for ``step``.

        Parameters
        ----------
        kind : {"train", "val"}
            Prefix of the TensorBoard tags and the ``kind`` field of the JSONL record.
        step : int
        **scalars
            Floats, or lists of floats (per-codebook losses), logged as ``name_cb{k}``.
        """
        flat = {}
        for name, value in scalars.items():
            if isinstance(value, (list, tuple)):
                for k, v in enumerate(value):
                    flat[f"{name}_cb{k}"] = float(v)
            elif value is not None:
                flat[name] = float(value)
        try:
            for name, value in flat.items():
                if math.isfinite(value) and self.tb is not None:
                    self.tb.add_scalar(f"{kind}/{name}", value, step)
        except OSError as exc:   # re-raised from the writer thread, which is dead now
            self.tb = None
            self._failed("the TensorBoard log", self.tb_dir, exc)
        record = {"kind": kind, "step": step, "time": time.time(), **{
            k: (v if math.isfinite(v) else str(v)) for k, v in flat.items()}}
        if "loss" in record:
            record[f"{kind}_loss"] = record["loss"]
        if self.jsonl is None:
            return
        try:
            self.jsonl.write(json.dumps(record) + "\n")
            self.jsonl.flush()
        except OSError as exc:
            self._failed(METRICS_FILE, self.jsonl.name, exc)
        else:
            self._failing.discard(METRICS_FILE)

    def _failed(self, what, path, exc):
        if self.alerts is not None and what not in self._failing:
            from .ops.savefail import save_failed

            save_failed(self.alerts, what, path, exc,
                        "The records written so far are kept; training goes on.")
        self._failing.add(what)

    def close(self):
        """Flush and close both outputs."""
        for out in (self.tb, self.jsonl):
            try:
                if out is not None:
                    out.close()      # SummaryWriter.close flushes
            except OSError:
                pass   # a full disk: log() has already raised the alert


class NoMetrics:
    """The metrics sink of ranks other than 0 (rank 0 writes TensorBoard and metrics.jsonl)."""

    def log(self, *args, **kwargs):
        pass

    def close(self):
        pass


def purge_replayed(path, step, epoch):
    """Drop the records a resumed run is about to write again.

    A run resumed from a checkpoint at global step ``step`` after ``epoch`` completed epochs
    replays the train steps after ``step`` and the validation of epochs after ``epoch``; their
    records from before the kill go (a torn last line too). The file is rewritten atomically,
    and only when something goes.
    """
    from .faults import atomic_write

    path = Path(path)
    if not path.exists():
        return
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    kept = []
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if not isinstance(rec, dict):   # a foreign line: not a record of ours
            continue
        if rec.get("kind") == "train" and rec.get("step", 0) > step:
            continue
        if rec.get("kind") == "val" and rec.get("epoch", 0) > epoch:
            continue
        kept.append(line)
    if len(kept) != len(lines):
        with atomic_write(path) as f:
            f.write("".join(line + "\n" for line in kept))


def read_metrics(path):
    """Records of a ``metrics.jsonl`` file (a torn or garbage line is skipped)."""
    return [obj for _, obj in read_jsonl(path)]
