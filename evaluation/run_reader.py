"""Read what a training run leaves on disk: state, metrics, alerts (TensorBoard as a fallback).

Layout of ``RUN_DIR`` (written by ``musicgen_ft``; every file is optional here, and what is
missing or malformed is listed in :attr:`RunRecord.problems` rather than guessed):

``orchestrator_state.json``
    One JSON object: ``elapsed_time`` (s), ``cost`` ($), ``epoch``, ``global_step``,
    ``best_val_loss``, ``restarts``, ``alerts`` (count), and when present ``spot_rate_per_hour``
    and ``budget``.
``metrics.jsonl``
    One JSON object per line with ``step`` and ``train_loss`` and/or ``val_loss``; optionally
    ``epoch``, ``lr``. After a resume the steps since the last checkpoint appear twice; the later
    line wins, because that is the run that continued.
``alerts.jsonl``
    One JSON object per line: ``level`` (INFO, WARNING, CRITICAL), ``message``, ``step``, ``time``.
    ``WARN`` reads as WARNING, ``ERROR``/``FATAL`` as CRITICAL.
``tensorboard/``
    Event files (any sub-folders). Read only when ``metrics.jsonl`` is missing: scalar tags with
    "loss" and one of "val"/"valid"/"eval" give ``val_loss``, other "loss" tags ``train_loss``,
    "lr"/"learning_rate" give ``lr``.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field

__all__ = ["Alert", "RunRecord", "read_run", "validate", "STATE_FILE", "METRICS_FILE",
           "ALERTS_FILE", "TENSORBOARD_DIR"]

STATE_FILE = "orchestrator_state.json"
_STATE_ALIASES = {"budget": "budget_usd", "spot_rate_per_hour": "spot_rate_usd_per_hour"}
METRICS_FILE = "metrics.jsonl"
ALERTS_FILE = "alerts.jsonl"
TENSORBOARD_DIR = "tensorboard"

_LEVELS = {"INFO": "INFO", "WARNING": "WARNING", "WARN": "WARNING", "CRITICAL": "CRITICAL",
           "ERROR": "CRITICAL", "FATAL": "CRITICAL"}


@dataclass(frozen=True)
class Alert:
    """One line of ``alerts.jsonl``."""

    level: str
    message: str
    step: int | None = None
    time: float | str | None = None


@dataclass(frozen=True)
class RunRecord:
    """Everything read from a run directory.

    Attributes
    ----------
    run_dir : str
    state : dict or None
        ``orchestrator_state.json``; ``None`` when missing or unreadable.
    metrics : tuple of dict
        Metric records in file order (``step`` always present).
    metrics_source : str or None
        ``"metrics.jsonl"``, ``"tensorboard"`` or ``None``.
    alerts : tuple of Alert or None
        ``None`` when there is no ``alerts.jsonl`` (unknown, not "no alerts").
    problems : tuple of str
        Missing files, malformed lines, values that could not be read.
    """

    run_dir: str
    state: dict | None
    metrics: tuple
    metrics_source: str | None
    alerts: tuple | None
    problems: tuple = field(default=())

    def curve(self, key):
        """``(steps, values)`` of one metric, one value per step (the last logged), by step."""
        by_step = {}
        for m in self.metrics:
            v = m.get(key)
            if v is not None:
                by_step[m["step"]] = float(v)
        steps = sorted(by_step)
        return steps, [by_step[s] for s in steps]

    def _state_number(self, key):
        if not self.state or self.state.get(key) is None:
            return None
        try:
            return float(self.state[key])
        except (TypeError, ValueError):
            return None

    @property
    def best_val_loss(self):
        """The state's ``best_val_loss``, else the lowest logged ``val_loss``; ``None`` if neither.

        An infinite value (the initial "no validation yet") reads as ``None``; NaN is kept, since
        it means the validation loss diverged.
        """
        v = self._state_number("best_val_loss")
        if v is not None and not math.isinf(v):
            return v
        _, vals = self.curve("val_loss")
        if not vals:
            return None
        finite = [x for x in vals if math.isfinite(x)]
        return min(finite) if finite else float("nan")

    @property
    def elapsed_hours(self):
        v = self._state_number("elapsed_time")
        return None if v is None else v / 3600.0

    @property
    def recorded_cost(self):
        return self._state_number("cost")

    @property
    def nonfinite_losses(self) -> int:
        """Logged train/val losses that are NaN or infinite (every occurrence, not per step)."""
        return sum(1 for m in self.metrics for k in ("train_loss", "val_loss")
                   if m.get(k) is not None and not math.isfinite(float(m[k])))

    def alerts_at(self, level):
        return tuple(a for a in (self.alerts or ()) if a.level == level)


def validate(run_dir):
    """Check that ``run_dir`` is a directory; raise ``ValueError`` otherwise."""
    run_dir = os.fspath(run_dir)
    if not os.path.isdir(run_dir):
        raise ValueError(f"{run_dir}: run directory not found")
    return run_dir


def _read_jsonl(path, problems):
    rows = []
    name = os.path.basename(path)
    with open(path, encoding="utf-8", errors="replace") as f:   # garbage bytes: bad lines
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                # a half-written last line after a kill is normal; say so, keep the rest
                problems.append(f"{name} line {i}: not valid JSON, skipped")
                continue
            if not isinstance(obj, dict):
                problems.append(f"{name} line {i}: not a JSON object, skipped")
                continue
            rows.append((i, obj))
    return rows


def _read_metrics(path, problems):
    out = []
    for i, obj in _read_jsonl(path, problems):
        try:
            obj["step"] = int(obj["step"])
        except (KeyError, TypeError, ValueError):
            problems.append(f"{METRICS_FILE} line {i}: no integer 'step', skipped")
            continue
        out.append(obj)
    return out


def _read_alerts(path, problems):
    out = []
    for i, obj in _read_jsonl(path, problems):
        level = _LEVELS.get(str(obj.get("level", "")).upper())
        if level is None:
            problems.append(f"{ALERTS_FILE} line {i}: unknown level {obj.get('level')!r}, read as WARNING")
            level = "WARNING"
        step = obj.get("step")
        out.append(Alert(level=level, message=str(obj.get("message", "")),
                         step=int(step) if isinstance(step, (int, float)) else None,
                         time=obj.get("time")))
    return out


def _tag_key(tag):
    t = tag.lower()
    if "loss" in t:
        return "val_loss" if any(w in t for w in ("val", "eval")) else "train_loss"
    if t.rsplit("/", 1)[-1] in ("lr", "learning_rate") or t.startswith("lr"):
        return "lr"
    if t.rsplit("/", 1)[-1] == "epoch":
        return "epoch"
    return None


def _read_tensorboard(tb_dir, problems):
    try:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ImportError:  # pragma: no cover - depends on the install
        problems.append("tensorboard is not installed: event files not read")
        return []
    by_step = {}
    folders = sorted({root for root, _d, files in os.walk(tb_dir)
                      if any("tfevents" in f for f in files)})
    for folder in folders:
        acc = EventAccumulator(folder, size_guidance={"scalars": 0})
        acc.Reload()
        for tag in acc.Tags().get("scalars", []):
            key = _tag_key(tag)
            if key is None:
                continue
            for ev in acc.Scalars(tag):
                by_step.setdefault(int(ev.step), {"step": int(ev.step)})[key] = float(ev.value)
    if not folders:
        problems.append(f"{TENSORBOARD_DIR}/ holds no event files")
    return [by_step[s] for s in sorted(by_step)]


def read_run(run_dir):
    """Read a run directory (see the module docstring for its layout).

    Parameters
    ----------
    run_dir : str or os.PathLike

    Returns
    -------
    RunRecord

    Raises
    ------
    ValueError
        ``run_dir`` is not a directory.
    """
    run_dir = validate(run_dir)
    problems = []

    state = None
    path = os.path.join(run_dir, STATE_FILE)
    if os.path.exists(path):
        try:
            with open(path, encoding="utf-8") as f:
                state = json.load(f)
            if not isinstance(state, dict):
                problems.append(f"{STATE_FILE}: not a JSON object")
                state = None
            else:
                # musicgen_ft writes the money keys with their unit in the name
                for short, long in _STATE_ALIASES.items():
                    if state.get(short) is None and state.get(long) is not None:
                        state[short] = state[long]
        except (OSError, json.JSONDecodeError) as exc:
            problems.append(f"{STATE_FILE}: cannot read ({exc})")
    else:
        problems.append(f"{STATE_FILE}: missing")

    metrics, source = [], None
    path = os.path.join(run_dir, METRICS_FILE)
    tb_dir = os.path.join(run_dir, TENSORBOARD_DIR)
    if os.path.exists(path):
        metrics, source = _read_metrics(path, problems), METRICS_FILE
    elif os.path.isdir(tb_dir):
        metrics, source = _read_tensorboard(tb_dir, problems), "tensorboard"
    else:
        problems.append(f"{METRICS_FILE} and {TENSORBOARD_DIR}/: missing, no loss curves")

    alerts = None
    path = os.path.join(run_dir, ALERTS_FILE)
    if os.path.exists(path):
        alerts = tuple(_read_alerts(path, problems))
    else:
        problems.append(f"{ALERTS_FILE}: missing")

    return RunRecord(run_dir=run_dir, state=state, metrics=tuple(metrics),
                     metrics_source=source if metrics else None, alerts=alerts,
                     problems=tuple(problems))
