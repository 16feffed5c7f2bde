"""Checkpoints that survive any interruption.

Files in ``<run_dir>/checkpoints/``:

- ``last.ckpt``: full training state, at the end of every epoch, every N steps and on
  SIGTERM/SIGINT. Resume reads it.
- ``epoch_{k}.ckpt``: full training state every few epochs, keep-last-K, for rollback and as
  the fallback when ``last.ckpt`` is unreadable.
- ``best_model.pt``: the trained weights (decoder + text projection) at the best validation
  loss, plus ``best_model/``, the whole model as a transformers directory (``save_pretrained``)
  that ``MusicgenForConditionalGeneration.from_pretrained`` loads.

Every file is written atomically (:mod:`logdrum.io.atomic`): to a hidden temp file in the same
folder, flushed and fsynced, then ``os.replace``-d over the old one (and the folder fsynced), so
a kill during a save leaves the previous file whole; the temp files and folders a kill leaves
behind are removed when the next run opens the folder. A save that fails (disk full, permission denied) removes
its temp file, leaves the previous checkpoint untouched and raises :class:`SaveError`.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

import torch

from logdrum.io.atomic import fsync_dir, remove_path, remove_stale_temps, temp_name

from .faults import atomic_write, kill_point
from .ops.savefail import save_failed

FORMAT = 1
LAST_FILE = "last.ckpt"
BEST_FILE = "best_model.pt"
BEST_EXPORT_DIR = "best_model"
TRAIN_KEYS = ("format", "model", "optimizer", "scheduler", "epoch", "batch_in_epoch",
              "global_step", "rng", "monitor", "config")
# Test-only fault injection: pause this many seconds halfway through writing each checkpoint,
# so a test can SIGKILL the process while a temp file is half written.
PAUSE_ENV = "MUSICGEN_FT_TEST_SAVE_PAUSE"

log = logging.getLogger("musicgen_ft")


class SaveError(OSError):
    """A checkpoint could not be written; the previous one is intact."""


def _fsync_tree(folder):
    """fsync every file under ``folder`` and the folders themselves (before a rename commits
    them: after a power cut the renamed folder must not hold empty files)."""
    for root, _, files in os.walk(folder):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                os.fsync(f.fileno())
        fsync_dir(root)


def atomic_save(obj, path):
    """``torch.save`` to ``path`` atomically (:func:`logdrum.io.atomic.atomic_write`).

    Raises
    ------
    SaveError
        When anything goes wrong; the temp file is removed and ``path`` is untouched.
    """
    pause = float(os.environ.get(PAUSE_ENV, "0") or 0)
    try:
        with atomic_write(path, "wb", pause=pause) as f:
            torch.save(obj, f)
    except (OSError, RuntimeError) as exc:   # torch reports write failures as RuntimeError
        raise SaveError(f"could not write {path}: {exc}") from exc


def remove_leftovers(folder, depth=0):
    """Remove (and log) the temp files and folders of writes a kill interrupted."""
    for path in remove_stale_temps(folder, depth):
        log.info("Removed %s left by an interrupted write", path)


def capture_rng():
    """Every RNG state a training step can touch (torch CPU and CUDA, numpy, random)."""
    import random

    import numpy as np

    np_state = np.random.get_state()
    return {
        "torch": torch.random.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"key": torch.from_numpy(np_state[1].astype("int64")), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached": float(np_state[4])},
        "python": random.getstate(),
    }


def restore_rng(state):
    """Restore :func:`capture_rng` output."""
    import random

    import numpy as np

    torch.random.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    npst = state["numpy"]
    np.random.set_state(("MT19937", npst["key"].numpy().astype("uint32"), npst["pos"],
                         npst["has_gauss"], npst["cached"]))
    random.setstate(state["python"])


def load_checkpoint(path):
    """Load and check a training checkpoint.

    Raises
    ------
    ValueError
        If the file is truncated, corrupt or not a training checkpoint of this format.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:   # a torn zip raises a variety of errors; all mean "unusable"
        raise ValueError(f"{path} is unreadable ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict) or any(k not in state for k in TRAIN_KEYS):
        raise ValueError(f"{path} is not a training checkpoint")
    if state["format"] != FORMAT:
        raise ValueError(f"{path} has checkpoint format {state['format']}, expected {FORMAT}")
    return state


def epoch_checkpoints(folder):
    """The ``epoch_{k}.ckpt`` files in ``folder``, newest (highest k) first."""
    found = []
    for p in Path(folder).glob("epoch_*.ckpt"):
        m = re.fullmatch(r"epoch_(\d+)\.ckpt", p.name)
        if m:
            found.append((int(m.group(1)), p))
    return [p for _, p in sorted(found, reverse=True)]


def resume_candidates(folder):
    """The checkpoints a resume tries, in order: ``last.ckpt`` (listed even when missing), then
    the ``epoch_{k}.ckpt`` files newest first."""
    return [Path(folder) / LAST_FILE] + epoch_checkpoints(folder)


class CheckpointManager:
    """Write and find the checkpoints of one run.

    Parameters
    ----------
    folder : str or Path
        ``<run_dir>/checkpoints``; created if missing.
    alerts : AlertLog
        Receives a CRITICAL alert for a failed save, a WARNING for a fallback.
    keep_last : int
        How many ``epoch_{k}.ckpt`` files to keep.
    """

    def __init__(self, folder, alerts, keep_last=3):
        self.folder = Path(folder)
        self.alerts = alerts
        self.keep_last = keep_last
        self.last_step = None       # global step of the newest good last.ckpt, for diagnostics
        self.folder.mkdir(parents=True, exist_ok=True)
        remove_leftovers(self.folder)   # files and export folders a killed save left
        self._recover_export()

    @property
    def last(self):
        return self.folder / LAST_FILE

    @property
    def best(self):
        return self.folder / BEST_FILE

    @property
    def best_export(self):
        return self.folder / BEST_EXPORT_DIR

    def epoch_path(self, epoch):
        return self.folder / f"epoch_{epoch}.ckpt"

    def epoch_checkpoints(self):
        """``epoch_{k}.ckpt`` files, newest (highest k) first."""
        return epoch_checkpoints(self.folder)

    def _save(self, obj, path, what):
        try:
            atomic_save(obj, path)
        except SaveError as exc:
            save_failed(self.alerts, f"{path.name} ({what})", path, exc.__cause__ or exc,
                        "The previous checkpoint is intact; the run stops (exit code 5).")
            raise
        log.info("💾 Saved %s (%s, step %s)", path.name, what, obj.get("global_step"))
        return path

    def save_last(self, state, reason):
        """Write ``last.ckpt``; ``reason`` (e.g. ``"epoch end"``, ``"SIGTERM"``) is logged."""
        path = self._save(state, self.last, reason)
        self.last_step = state["global_step"]
        return path

    def save_epoch(self, state, epoch):
        """Write ``epoch_{epoch}.ckpt`` and delete the oldest beyond ``keep_last``."""
        path = self._save(state, self.epoch_path(epoch), f"epoch {epoch}")
        kill_point("rotate")
        for old in self.epoch_checkpoints()[self.keep_last:]:
            old.unlink(missing_ok=True)
            log.info("Removed old %s (keep last %d)", old.name, self.keep_last)
        return path

    def save_best(self, model_state, meta):
        """Write ``best_model.pt``: the trained weights and ``meta`` (val loss, step, ...)."""
        return self._save({"format": FORMAT, "model": model_state, **meta}, self.best,
                          f"best, val loss {meta.get('val_loss', float('nan')):.4f}")

    def export_best(self, model, tokenizer=None):
        """Write the whole model to ``best_model/`` with ``save_pretrained``.

        Written to a temp folder, fsynced, and swapped in with renames, so a kill leaves either
        the old or the new export complete (between the two renames the old one is under
        ``best_model.old``, which the next start-up puts back).
        """
        from transformers.utils import logging as hf_logging

        from .memory import has_lora, merged_state_dict

        hf_logging.disable_progress_bar()   # a bar per save clutters the training log
        tmp = temp_name(self.best_export)
        old = self.folder / "best_model.old"
        try:
            remove_path(tmp)
            # LoRA adapters are merged, so the export loads without peft (docs/training.md)
            model.save_pretrained(tmp, state_dict=merged_state_dict(model) if has_lora(model)
                                  else None)
            kill_point("export:model")
            if tokenizer is not None and hasattr(tokenizer, "save_pretrained"):
                tokenizer.save_pretrained(tmp)
            _fsync_tree(tmp)
            kill_point("export:written")
            shutil.rmtree(old, ignore_errors=True)
            if self.best_export.exists():
                os.replace(self.best_export, old)
            kill_point("export:swap")
            os.replace(tmp, self.best_export)
            fsync_dir(self.folder)
            shutil.rmtree(old, ignore_errors=True)
        except (OSError, RuntimeError) as exc:
            remove_path(tmp)
            save_failed(self.alerts, "the best-model export", self.best_export, exc,
                        "The previous export is intact; the run stops (exit code 5).")
            raise SaveError(str(exc)) from exc
        log.info("💾 Exported best model to %s (from_pretrained-ready)", self.best_export)

    def _recover_export(self):
        """Finish an export swap that a kill interrupted: ``best_model.old`` is the previous
        complete export; it goes back if ``best_model/`` is missing, else it is stale."""
        old = self.folder / "best_model.old"
        if not old.exists():
            return
        if self.best_export.exists():
            shutil.rmtree(old, ignore_errors=True)
        else:
            try:
                os.replace(old, self.best_export)
            except FileNotFoundError:   # another rank of this job just did it
                return
            log.info("Restored %s from %s (an export was interrupted)", self.best_export.name,
                     old.name)

    def load_latest(self):
        """The newest readable training checkpoint.

        Tries ``last.ckpt``, then ``epoch_{k}.ckpt`` newest first. An unreadable file is
        renamed to ``*.corrupt`` with a WARNING alert, and the next one is tried.

        Returns
        -------
        (dict, Path) or (None, None)
            The checkpoint and where it came from, or nothing to resume from.
        """
        candidates = resume_candidates(self.folder)
        for path in candidates:
            if not path.exists():
                continue
            try:
                state = load_checkpoint(path)
            except ValueError as exc:
                fallback = "the next older checkpoint" if path != candidates[-1] else "nothing"
                self.alerts.emit("WARNING", "corrupt_checkpoint",
                                 f"{exc}; falling back to {fallback}", path=str(path))
                try:
                    os.replace(path, path.with_name(path.name + ".corrupt"))
                except OSError:
                    pass
                continue
            self.last_step = state["global_step"]
            return state, path
        return None, None
