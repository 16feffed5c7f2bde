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


class MetricsWriter:
    """Write scalars to TensorBoard and ``metrics.jsonl``.

    Parameters
    ----------
    run_dir : str or Path
    purge_step : int, optional
        Global step of the checkpoint a resumed run starts from.
    resume_epoch : int, optional
        Epochs that checkpoint had completed. With it, ``metrics.jsonl`` keeps only what was
        logged before the checkpoint (see :func:`purge_replayed`).
    """

    def __init__(self, run_dir, purge_step=None, resume_epoch=None):
        from torch.utils.tensorboard import SummaryWriter

        run_dir = Path(run_dir)
        self.tb = SummaryWriter(log_dir=str(run_dir / "tensorboard"), purge_step=purge_step)
        if resume_epoch is not None:
            purge_replayed(run_dir / "metrics.jsonl", purge_step or 0, resume_epoch)
        self.jsonl = open(run_dir / "metrics.jsonl", "a")

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
        for name, value in flat.items():
            if math.isfinite(value):
                self.tb.add_scalar(f"{kind}/{name}", value, step)
        record = {"kind": kind, "step": step, "time": time.time(), **{
            k: (v if math.isfinite(v) else str(v)) for k, v in flat.items()}}
        if "loss" in record:
            record[f"{kind}_loss"] = record["loss"]
        self.jsonl.write(json.dumps(record) + "\n")
        self.jsonl.flush()

    def close(self):
        """Flush and close both outputs."""
        self.tb.flush()
        self.tb.close()
        self.jsonl.close()


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
    from .cost import write_text_atomic

    path = Path(path)
    if not path.exists():
        return
    lines = path.read_text().splitlines()
    kept = []
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if rec.get("kind") == "train" and rec.get("step", 0) > step:
            continue
        if rec.get("kind") == "val" and rec.get("epoch", 0) > epoch:
            continue
        kept.append(line)
    if len(kept) != len(lines):
        write_text_atomic(path, "".join(line + "\n" for line in kept))


def read_metrics(path):
    """Records of a ``metrics.jsonl`` file (a torn last line from a kill is ignored)."""
    out = []
    for line in Path(path).read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out
