"""Cost tracker: machine time accumulated across restarts, in ``orchestrator_state.json``.

The file is what SEED.md's "Cost Tracking Dashboard" reads: ``elapsed_time`` (seconds),
``cost`` (hours x spot rate), ``epoch``, ``global_step``, ``best_val_loss``, ``restarts`` and
``alerts``. Time is counted while this process runs (a spot machine bills for all of it,
loading and encoding included) and written atomically at every log interval, so a SIGKILL
loses at most one interval of accounting.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

from .faults import file_kind, kill_point

STATE_FILE = "orchestrator_state.json"


def write_json_atomic(path, data):
    """Write JSON through a temp file in the same folder, fsync, then ``os.replace``."""
    write_text_atomic(path, json.dumps(data, indent=2))


def write_text_atomic(path, text):
    """Write text through a temp file in the same folder, fsync, then ``os.replace``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    kind = file_kind(path)
    with open(tmp, "w") as f:
        f.write(text[:len(text) // 2])
        f.flush()
        kill_point(f"write:{kind}")
        f.write(text[len(text) // 2:])
        f.flush()
        os.fsync(f.fileno())
    kill_point(f"replace:{kind}")
    os.replace(tmp, path)


class CostTracker:
    """Accumulate elapsed time and cost for one run directory.

    Parameters
    ----------
    run_dir : str or Path
    rate_usd_per_hour : float
        Spot price; cost = elapsed hours x rate.
    budget_usd : float
        Spending limit; :meth:`over_budget` turns true at it.
    clock : callable, optional
        Monotonic clock in seconds (``time.monotonic``).
    write : bool
        Write the state file on :meth:`update` (only rank 0 of a multi-GPU run does).
    """

    def __init__(self, run_dir, rate_usd_per_hour, budget_usd, clock=time.monotonic, write=True):
        self.path = Path(run_dir) / STATE_FILE
        self.rate = rate_usd_per_hour
        self.budget = budget_usd
        self.clock = clock
        self.write = write
        self.state = {"elapsed_time": 0.0, "cost": 0.0, "epoch": 0, "global_step": 0,
                      "best_val_loss": None, "restarts": 0, "alerts": 0}
        if self.path.exists():
            try:
                self.state.update(json.loads(self.path.read_text()))
                self.state["restarts"] += 1
            except (OSError, ValueError):
                pass   # unreadable state only loses accounting, never blocks training
        self._base = float(self.state["elapsed_time"])
        self._start = clock()

    @property
    def elapsed(self):
        """Seconds of machine time over all runs of this directory, including this one."""
        return self._base + (self.clock() - self._start)

    @property
    def cost(self):
        """Dollars spent so far."""
        return self.elapsed / 3600.0 * self.rate

    def over_budget(self):
        """True once the cost has reached the budget."""
        return self.cost >= self.budget

    def update(self, **fields):
        """Record progress fields (epoch, global_step, ...) and write the state file.

        Non-finite ``best_val_loss`` is stored as ``null`` so the file stays valid JSON.
        """
        self.state.update(fields)
        bv = self.state.get("best_val_loss")
        if bv is not None and not math.isfinite(bv):
            self.state["best_val_loss"] = None
        self.state["elapsed_time"] = round(self.elapsed, 3)
        self.state["cost"] = round(self.cost, 6)
        self.state["spot_rate_usd_per_hour"] = self.rate
        self.state["budget_usd"] = self.budget
        if not self.write:
            return self.state
        try:
            write_json_atomic(self.path, self.state)
        except OSError:
            pass   # accounting must not crash training; the checkpoint path reports disk trouble
        return self.state
