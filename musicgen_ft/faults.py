"""Test-only fault injection: SIGKILL the training process at a named point of its life.

The kill-anywhere campaign (``tests/faults/campaign.py``) kills the run at every phase, then
restarts it with the same command until it finishes. The run marks its phases with
:func:`kill_point` (``"startup"``, ``"step"``, ``"write:last.ckpt"``, ...); with nothing set in
the environment a kill point is a global lookup and does nothing.

Environment
-----------
``MUSICGEN_FT_KILL_AT``
    Comma-separated targets ``phase:n``: SIGKILL at the n-th occurrence of ``phase`` (the phase
    name may itself contain ``:``; the number after the last one counts).
``MUSICGEN_FT_FAULT_LOG``
    A file that records every occurrence, one phase name a line (the trace of a run). When set,
    occurrences are counted over every process that appended to it, so one fixed
    ``MUSICGEN_FT_KILL_AT`` list given to every restart fires each target once, in order; when
    unset, counts start at zero in each process. Meant for one training process at a time
    (under torchrun every rank would count in the same file).
"""

from __future__ import annotations

import io
import json
import os
import signal
import sys
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from logdrum.io import atomic

KILL_ENV = "MUSICGEN_FT_KILL_AT"
LOG_ENV = "MUSICGEN_FT_FAULT_LOG"


def parse_targets(text):
    """``"step:3,write:last.ckpt:1"`` -> ``{("step", 3), ("write:last.ckpt", 1)}``."""
    targets = set()
    for item in (text or "").split(","):
        if not item.strip():
            continue
        phase, _, n = item.strip().rpartition(":")
        if not phase or not n.isdigit() or int(n) < 1:
            raise ValueError(f"{KILL_ENV}: {item!r} is not 'phase:n' with n >= 1")
        targets.add((phase, int(n)))
    return targets


def read_trace(path):
    """Occurrence counts of each phase in a fault log (a torn last line is ignored)."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return Counter()
    lines = text.split("\n")[:-1]   # the part after the last newline was never finished
    return Counter(line for line in lines if line)


class _Injector:
    """The process's targets and counts; built once from the environment."""

    def __init__(self, targets, log_path):
        self.targets = targets
        self.log_path = log_path
        self.counts = read_trace(log_path) if log_path else Counter()
        self.fd = (os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                   if log_path else None)

    def hit(self, phase):
        self.counts[phase] += 1
        n = self.counts[phase]
        if self.fd is not None:
            os.write(self.fd, f"{phase}\n".encode())   # one small O_APPEND write: whole or absent
        if (phase, n) in self.targets:
            print(f"musicgen_ft.faults: SIGKILL at {phase}:{n}", file=sys.stderr, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)


_UNSET = object()
# Built from the environment at the first kill point, not at import, so that a process forked
# from a pre-loaded parent (the campaign's fast restarts) reads its own counts. Module state is
# the point here (the hook is process-wide and test-only), not a pattern for the rest of the code.
_injector = _UNSET


def _get():
    global _injector
    if _injector is _UNSET:
        targets = parse_targets(os.environ.get(KILL_ENV))
        log_path = os.environ.get(LOG_ENV) or None
        _injector = _Injector(targets, log_path) if targets or log_path else None
    return _injector


def active():
    """True when fault injection is configured for this process."""
    return _get() is not None


def kill_point(phase):
    """Mark one occurrence of ``phase``; SIGKILL this process if it is a target."""
    injector = _injector if _injector is not _UNSET else _get()
    if injector is not None:
        injector.hit(phase)


class MidWrite(io.RawIOBase):
    """A file wrapper that, after its first write, passes ``kill_point(phase)`` and then
    sleeps ``pause`` seconds: a kill there leaves a half-written file behind.

    Parameters
    ----------
    f : file object
        Opened for binary writing.
    phase : str or None
        Kill point name (``None``: none).
    pause : float
        Seconds to sleep once ``pause_after`` bytes are written (a test's window to kill).
    pause_after : int
    """

    def __init__(self, f, phase=None, pause=0.0, pause_after=65536):
        self.f, self.phase, self.pause, self.pause_after = f, phase, pause, pause_after
        self.written, self.marked, self.paused = 0, False, False

    def writable(self):
        return True

    def write(self, data):
        n = self.f.write(data)
        self.written += n
        if not self.marked and self.phase is not None:
            self.marked = True
            self.f.flush()
            kill_point(self.phase)
        if not self.paused and self.pause > 0 and self.written >= self.pause_after:
            self.paused = True
            self.f.flush()
            time.sleep(self.pause)
        return n

    def flush(self):
        self.f.flush()


def mid_write(f, phase):
    """``f`` itself, or a :class:`MidWrite` wrapper when fault injection is on."""
    return MidWrite(f, phase) if active() else f


def file_kind(path):
    """A save's kind for phase names: digits dropped (``epoch_4.ckpt`` -> ``epoch_.ckpt``)."""
    return "".join(c for c in Path(path).name if not c.isdigit())


@contextmanager
def atomic_write(path, mode="w", *, kind=None, pause=0.0, **open_kwargs):
    """:func:`logdrum.io.atomic.atomic_write` with the two kill points of a save.

    ``write:KIND`` fires after the first bytes are written (a kill leaves a half-written temp
    file) and ``replace:KIND`` once the content is durable, just before the rename (a kill
    leaves a whole temp file and the old target). With no fault injection configured this is
    the plain atomic write. ``kind`` names the file in the phases (default
    :func:`file_kind`); ``pause`` (seconds) sleeps once after 64 KiB, for tests that kill from
    outside.
    """
    kind = kind or file_kind(path)
    with atomic.atomic_write(path, mode, before_replace=lambda: kill_point(f"replace:{kind}"),
                             **open_kwargs) as f:
        if pause > 0:
            yield MidWrite(f, f"write:{kind}", pause)
        else:
            yield mid_write(f, f"write:{kind}")


def write_json_atomic(path, data):
    """JSON through :func:`atomic_write`; written in two halves, so that a kill at
    ``write:KIND`` really leaves half a file."""
    text = json.dumps(data, indent=2)
    with atomic_write(path) as f:
        f.write(text[:len(text) // 2])
        f.write(text[len(text) // 2:])
