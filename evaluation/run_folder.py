"""The run folder's contract: file names, state keys, alert levels and the one JSONL reader.

A training run (``musicgen_ft``) writes these files; the evaluation, the pre-flight checks, the
demo and the tests read them. Every one of them names the files and keys through this module,
so the writer and its readers cannot drift apart. Layout of ``RUN_DIR``:

``orchestrator_state.json`` (:data:`STATE_FILE`)
    One JSON object, rewritten atomically: :data:`STATE_KEYS`.
``metrics.jsonl`` (:data:`METRICS_FILE`)
    One JSON object per line with ``step`` and ``train_loss`` and/or ``val_loss``; optionally
    ``epoch``, ``lr``. After a resume the steps since the last checkpoint appear twice; the
    later line wins, because that is the run that continued.
``alerts.jsonl`` (:data:`ALERTS_FILE`)
    One JSON object per line: ``time``, ``level`` (one of :data:`ALERT_LEVELS`), ``code``,
    ``message`` and details such as ``step``. Created empty when a run starts, so a missing file
    means "unknown", an empty one "no alerts".
``halt.json`` (:data:`HALT_FILE`)
    Written when the run stopped itself (divergence, NO-GO); a restart refuses to train while it
    exists.
``oom_backoff.json`` (:data:`OOM_STATE_FILE`)
    The micro-batch the out-of-memory back-off settled on.
``tensorboard/`` (:data:`TENSORBOARD_DIR`)
    Event files; read by the evaluation only when ``metrics.jsonl`` is missing.
``checkpoints/`` (:data:`CHECKPOINTS_DIR`)
    ``last.ckpt``, ``epoch_K.ckpt``, ``best_model.pt`` and the ``best_model/`` export.

Other names in ``RUN_DIR`` belong to the module that alone writes and reads them: the idle
watchdog's ``heartbeat``, ``watchdog.lock`` and ``watchdog_fired.json``
(:mod:`musicgen_ft.ops.idle`), the week-5 milestone's ``milestone/`` folder
(:mod:`musicgen_ft.ops.milestone`), ``diagnostics/`` of a halted run (:mod:`musicgen_ft.guards`),
``codes_cache/`` (the default ``cache_dir`` of :mod:`musicgen_ft.config`), ``train.log`` and the
checkpoint file names (:mod:`musicgen_ft.checkpoint`).

Every JSONL file is appended a line at a time; a process killed mid-write leaves a torn last
line. :func:`read_jsonl` is the one reader, and it skips such a line and says so.
"""

from __future__ import annotations

import json
import os

__all__ = ["STATE_FILE", "METRICS_FILE", "ALERTS_FILE", "HALT_FILE", "OOM_STATE_FILE",
           "TENSORBOARD_DIR", "CHECKPOINTS_DIR", "STATE_KEYS", "SPOT_RATE_KEY", "BUDGET_KEY",
           "THROUGHPUT_KEY",
           "ALERT_LEVELS", "normalise_level", "read_jsonl"]

STATE_FILE = "orchestrator_state.json"
METRICS_FILE = "metrics.jsonl"
ALERTS_FILE = "alerts.jsonl"
HALT_FILE = "halt.json"
OOM_STATE_FILE = "oom_backoff.json"
TENSORBOARD_DIR = "tensorboard"
CHECKPOINTS_DIR = "checkpoints"

SPOT_RATE_KEY = "spot_rate_usd_per_hour"
BUDGET_KEY = "budget_usd"
#: The trainer's measured speed (:class:`musicgen_ft.throughput.Throughput`): totals, rates and
#: the run's plan, read by the cost projection (:mod:`evaluation.projection`).
THROUGHPUT_KEY = "throughput"
#: Keys of ``orchestrator_state.json``: machine time in seconds over every restart, dollars
#: spent, progress, the best validation loss (``null`` before the first validation), spot
#: interruptions survived, alerts raised, and the rate and budget the run was given.
STATE_KEYS = ("elapsed_time", "cost", "epoch", "global_step", "best_val_loss", "restarts",
              "alerts", SPOT_RATE_KEY, BUDGET_KEY, THROUGHPUT_KEY)

#: Alert levels, least to most severe: INFO (no action), WARNING (watch closely), CRITICAL
#: (intervene now; the run stops).
ALERT_LEVELS = ("INFO", "WARNING", "CRITICAL")
_LEVEL_SYNONYMS = {"WARN": "WARNING", "ERROR": "CRITICAL", "FATAL": "CRITICAL"}


def normalise_level(level):
    """The :data:`ALERT_LEVELS` name of ``level`` (``WARN`` -> ``WARNING``, ...), or ``None``."""
    name = str(level).upper()
    name = _LEVEL_SYNONYMS.get(name, name)
    return name if name in ALERT_LEVELS else None


def read_jsonl(path, problems=None):
    """The JSON objects of a JSONL file, with their line numbers.

    Blank lines are ignored. A line that is not a JSON object (the torn last line a kill leaves,
    or garbage) is skipped and described in ``problems``; reading never fails on content.

    Parameters
    ----------
    path : str or os.PathLike
    problems : list, optional
        Receives one message per skipped line.

    Returns
    -------
    list of (int, dict)
        ``(line_number, object)``; empty when the file does not exist.
    """
    name = os.path.basename(os.fspath(path))
    rows = []
    try:
        f = open(path, encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return rows
    with f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                why = None if isinstance(obj, dict) else "not a JSON object"
            except json.JSONDecodeError:
                why = "not valid JSON"
            if why:
                if problems is not None:
                    problems.append(f"{name} line {i}: {why}, skipped")
                continue
            rows.append((i, obj))
    return rows
