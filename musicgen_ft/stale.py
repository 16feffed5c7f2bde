"""Leftovers of a killed run: find and remove its temp files and folders at start-up.

Every atomic write of the run goes through a hidden temp entry in the target's folder, named
``.<name>.tmp`` or, where two processes may write the same folder, ``.<name>.<pid>.tmp``
(``.<stem>.<pid>.tmp.npz`` for the code cache). A SIGKILL between creating one and its
``os.replace`` leaves it behind: a file, or a folder for the ``save_pretrained`` export. At
start-up :func:`remove_stale_temps` deletes them all, files and folders alike; a temp that
carries the pid of another live process (a rank still encoding into a shared code cache) is
left to its owner.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

TEMP_NAME = re.compile(r"\.(?P<base>.+?)(?:\.(?P<pid>\d+))?\.tmp(?:\.[A-Za-z0-9]+)?")

log = logging.getLogger("musicgen_ft")


def is_temp_name(name):
    """True for a name the run's atomic writes use for their temp files and folders."""
    return TEMP_NAME.fullmatch(name) is not None


def _owned_by_live_process(name):
    pid = TEMP_NAME.fullmatch(name).group("pid")
    if pid is None or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:      # it exists but belongs to someone else
        return True
    return True


def find_temps(folder, depth=0):
    """Temp files and folders in ``folder`` and ``depth`` levels of its sub-folders.

    Hidden folders (``.git``, a temp folder) are not entered: the run writes none, and a
    misconfigured ``run_dir`` (a home or a repository) is then scanned shallowly only.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = []
    top = len(folder.parts)
    for root, dirs, files in os.walk(folder):
        found += [Path(root) / name for name in files + dirs if is_temp_name(name)]
        deep_enough = len(Path(root).parts) - top >= depth
        dirs[:] = [] if deep_enough else [d for d in dirs if not d.startswith(".")]
    return sorted(found)


def remove_stale_temps(folder, depth=0):
    """Delete the temp files and folders a killed run left in ``folder``.

    Parameters
    ----------
    folder : str or Path
        Missing is fine (nothing to do).
    depth : int
        Also look this many levels of sub-folders down.

    Returns
    -------
    list of Path
        What was removed (logged at INFO).
    """
    removed = []
    for path in find_temps(folder, depth):
        if _owned_by_live_process(path.name):
            continue
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        except FileNotFoundError:
            continue
        removed.append(path)
        log.info("Removed %s left by an interrupted write", path)
    return removed
