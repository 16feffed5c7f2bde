"""Atomic file writes: the one way every file that another process or a restart reads is written.

A reader (a resumed run, a second worker, the evaluation) must see either the old file or the
new one, never half of one. So the new content goes to a temporary name in the *same* folder
(``os.replace`` is atomic only within one file system), is flushed and fsynced, replaces the old
name in one step, and the folder is fsynced so the rename itself survives a power cut. On any
error the temporary file is removed and the old file is left as it was.

Temporary names all follow :func:`temp_name`: ``.NAME.PID.tmp``. A process killed mid-write leaves
one behind; :func:`is_temp_name` recognises them (and the ``.NAME.tmp`` and ``.NAME.PID.tmp.npz``
names of earlier versions), and :func:`remove_stale_temps` removes them at the next start, files
and folders alike, except those of another process that is still alive.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_write", "atomic_path", "write_json_atomic", "fsync_dir", "temp_name",
           "is_temp_name", "remove_path", "find_temps", "remove_stale_temps", "save_figure",
           "write_csv_atomic"]

_TEMP = re.compile(r"\.(?P<base>.+?)(?:\.(?P<pid>\d+))?\.tmp(?:\.[A-Za-z0-9]+)?")


def temp_name(path):
    """The temporary sibling of ``path`` this process writes before replacing ``path``.

    The process id keeps two writers of one folder (two workers, two runs sharing a cache)
    from writing the same temporary file.
    """
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def is_temp_name(name):
    """True for a name :func:`temp_name` makes (a leftover of a killed writer)."""
    return _TEMP.fullmatch(os.path.basename(os.fspath(name))) is not None


def _owned_by_live_process(name):
    pid = _TEMP.fullmatch(name).group("pid")
    if pid is None or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:      # it exists but belongs to another user
        return True
    return True


def find_temps(folder, depth=0):
    """Temp files and folders in ``folder`` and ``depth`` levels of its sub-folders.

    Hidden folders (``.git``, a temp folder) are not entered: nothing here writes into one,
    and a misconfigured folder (a home, a repository) is then scanned shallowly only.
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
    """Delete the temp files and folders that killed writers left in ``folder``.

    A temp named after another process that is still alive (a second worker writing into a
    shared cache) is left to its owner.

    Parameters
    ----------
    folder : str or os.PathLike
        Missing is fine (nothing to do).
    depth : int
        Also look this many levels of sub-folders down.

    Returns
    -------
    list of Path
        What was removed (the caller says so in its own log).
    """
    removed = []
    for path in find_temps(folder, depth):
        if _owned_by_live_process(path.name):
            continue
        remove_path(path)
        removed.append(path)
    return removed


def fsync_dir(folder):
    """fsync a folder so that a rename inside it is durable; a no-op where that is unsupported."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_path(path):
    """Remove a file, a link or a whole folder; no error when it is already gone."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


@contextmanager
def atomic_path(path, *, before_replace=None):
    """Yield a temporary path to create ``path``'s new content at; put it in place on success.

    For writers that need a path rather than an open file (a hard link, a symlink, a library
    that saves by name). The caller creates a *file* at the yielded path; it is fsynced,
    renamed over ``path`` and the folder fsynced. If the block raises, the temporary file is
    removed, ``path`` is untouched and the exception propagates.

    ``before_replace``, if given, is called once the new content is complete and durable, just
    before the rename: the window a fault-injection test kills a writer in.
    """
    path = Path(path)
    tmp = temp_name(path)
    remove_path(tmp)
    try:
        yield tmp
        if not tmp.is_symlink():
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
        if before_replace is not None:
            before_replace()
        os.replace(tmp, path)
    except BaseException:
        remove_path(tmp)
        raise
    fsync_dir(path.parent)


@contextmanager
def atomic_write(path, mode="w", *, before_replace=None, **open_kwargs):
    """Open a temporary file for writing; on success it replaces ``path`` atomically.

    Parameters
    ----------
    path : str or os.PathLike
    mode : {"w", "wb"}
    before_replace : callable, optional
        As for :func:`atomic_path`.
    **open_kwargs
        Passed to :func:`open` (``encoding``, ``newline``).

    Examples
    --------
    >>> with atomic_write("table.csv", newline="") as f:   # doctest: +SKIP
    ...     f.write("a,b\\n")
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write mode must be 'w' or 'wb', got {mode!r}")
    if mode == "w":
        open_kwargs.setdefault("encoding", "utf-8")
    with atomic_path(path, before_replace=before_replace) as tmp:
        with open(tmp, mode, **open_kwargs) as f:
            yield f
            f.flush()


def save_figure(fig, path, **savefig_kwargs):
    """``fig.savefig`` through :func:`atomic_write` (PNG unless ``format`` says otherwise)."""
    savefig_kwargs.setdefault("format", "png")
    with atomic_write(path, "wb") as f:
        fig.savefig(f, **savefig_kwargs)
    return path


def write_csv_atomic(path, fields, rows):
    """Write ``rows`` (dicts) under the header ``fields`` as a CSV with :func:`atomic_write`."""
    import csv

    with atomic_write(path, newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(fields), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def write_json_atomic(path, data):
    """Write ``data`` as indented JSON to ``path`` with :func:`atomic_write`."""
    with atomic_write(path) as f:
        json.dump(data, f, indent=2)
