"""The CRITICAL alert for a save that failed: which file, why, and how much room is left.

A full disk and a read-only or immutable file look alike from inside the run (``ENOSPC``,
``EROFS``, ``EPERM``); the free space on that disk tells the operator which one it is.
"""

from __future__ import annotations

import shutil
from pathlib import Path


def free_space(path):
    """``"1.2 GiB free"`` (or MiB, KiB) on the disk holding ``path``, or why it is unknown."""
    folder = Path(path)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError as exc:
        return f"free space unknown ({exc.strerror})"
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if free >= size:
            return f"{free / size:.1f} {unit} free"
    return f"{free} bytes free"


def save_failed(alerts, what, path, error, consequence):
    """Record a failed save as a CRITICAL ``save_failed`` alert.

    Parameters
    ----------
    alerts : AlertLog
    what : str
        What was being saved (``"last.ckpt (epoch end)"``, ``"the code cache"``).
    path : str or Path
        The file or folder that could not be written.
    error : BaseException
        The underlying error (its text says disk full, read-only, permission denied).
    consequence : str
        What stays good and what happens next, e.g. ``"The previous checkpoint is intact."``.
    """
    free = free_space(path)
    alerts.emit("CRITICAL", "save_failed",
                f"Could not write {what} at {path}: {error} ({free} on that disk). "
                f"{consequence} Free some space or make it writable, then run the same "
                f"command again.", path=str(path), free=free)
