"""Alerts: one line in the log and one JSON line in ``alerts.jsonl`` per alert.

Levels are :data:`evaluation.run_folder.ALERT_LEVELS`: INFO (green, no action), WARNING
(yellow, monitor closely), CRITICAL (red, immediate intervention; the run stops).

``alerts.jsonl`` exists from the start of a run (rank 0 creates it empty), so a run without
alerts leaves an empty file: the evaluation reads that as "no alerts" (stability PASS), while a
missing file means "unknown" (MISSING).
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

from evaluation.run_folder import ALERT_LEVELS, read_jsonl

__all__ = ["AlertLog", "read_alerts"]

log = logging.getLogger("musicgen_ft")


class AlertLog:
    """Append-only alert sink.

    Parameters
    ----------
    path : str or Path or None
        The ``alerts.jsonl`` file; created empty here if it does not exist, never truncated (a
        resumed run appends to it). ``None`` records nothing and creates nothing (the non-zero
        ranks of a multi-GPU run: rank 0 records every alert once).
    notifier : musicgen_ft.ops.notify.Notifier, optional
        Also delivers each alert (webhook or command) without blocking.
    """

    def __init__(self, path, notifier=None):
        self.path = None if path is None else Path(path)
        self.count = 0
        self.notifier = notifier
        self.create()

    def create(self):
        """Create an empty ``alerts.jsonl`` unless it exists; an existing one keeps its alerts
        (a torn last line is ended with a newline)."""
        if self.path is None:
            return
        try:
            # O_APPEND without O_TRUNC: a resumed run's earlier alerts stay
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    os.write(fd, b"\n")    # end a torn last line: it must not swallow the next
            finally:
                os.close(fd)
        except OSError as exc:
            # not fatal here: the run dir's own checks (checkpoints) report a real disk problem
            log.error("could not create %s: %s", self.path, exc)

    def emit(self, level, code, message, **details):
        """Record one alert.

        Parameters
        ----------
        level : {"INFO", "WARNING", "CRITICAL"}
        code : str
            Short machine-readable reason, e.g. ``"nan_loss"`` or ``"budget_exhausted"``.
        message : str
            What happened, for a person.
        **details
            JSON-serialisable context (step, loss, ...).
        """
        if level not in ALERT_LEVELS:
            raise ValueError(f"alert level must be one of {ALERT_LEVELS}, got {level!r}")
        self.count += 1
        if self.path is None:
            return
        icon = {"INFO": "", "WARNING": "WARNING: ", "CRITICAL": "ALERT (CRITICAL): "}[level]
        log.log(getattr(logging, level), "%s%s", icon, message)
        record = {"time": time.time(), "level": level, "code": code, "message": message, **details}
        try:
            with open(self.path, "a") as f:
                f.write(json.dumps(record, default=float) + "\n")
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            # The disk may be the very thing that failed; the log line above still stands.
            log.error("could not append to %s: %s", self.path, exc)
        if self.notifier is not None:
            self.notifier.send(record)


def read_alerts(path):
    """All alerts recorded in an ``alerts.jsonl`` file (empty list if there is none).

    A line that is not a JSON object (torn by a kill or a bad disk) is skipped.
    """
    return [obj for _, obj in read_jsonl(path)]
