"""Cost tracker: machine time accumulated across restarts, in ``orchestrator_state.json``.

The file's keys are :data:`evaluation.run_folder.STATE_KEYS` (the contract the cost dashboard
``python -m evaluation cost`` reads): ``elapsed_time`` (seconds), ``cost`` (hours x spot rate),
``epoch``, ``global_step``, ``best_val_loss``, ``restarts``, ``alerts``, the rate and the budget. Time is counted while this process runs (a spot machine bills for all of it,
loading and encoding included) and written atomically at every log interval, so a SIGKILL
loses at most one interval of accounting.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from evaluation.run_folder import BUDGET_KEY, SPOT_RATE_KEY, STATE_FILE

from ..faults import write_json_atomic

__all__ = ["CostTracker"]


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
    alerts : AlertLog, optional
        Receives one CRITICAL alert when the state file cannot be written (training goes on:
        the budget is guarded in memory; a checkpoint on the same full disk stops the run).
    """

    def __init__(self, run_dir, rate_usd_per_hour, budget_usd, clock=time.monotonic, write=True,
                 alerts=None):
        self.path = Path(run_dir) / STATE_FILE
        self.rate = rate_usd_per_hour
        self.budget = budget_usd
        self.clock = clock
        self.write = write
        self.alerts = alerts
        self._failing = False     # alert once per run of failed writes, not every interval
        self.state = {"elapsed_time": 0.0, "cost": 0.0, "epoch": 0, "global_step": 0,
                      "best_val_loss": None, "restarts": 0, "alerts": 0}
        self.problem = None   # why an existing state file was unusable; the trainer alerts
        if self.path.exists():
            try:
                saved = json.loads(self.path.read_text())
                if not isinstance(saved, dict):
                    raise ValueError(f"a JSON {type(saved).__name__}, not an object")
                for key, kind in (("elapsed_time", float), ("restarts", int), ("alerts", int)):
                    kind(saved.get(key, 0))   # the fields arithmetic is done on
                self.state.update(saved)
                self.state["restarts"] += 1
            except (OSError, ValueError, TypeError) as exc:
                # unreadable state only loses accounting, never blocks training
                self.problem = f"{type(exc).__name__}: {exc}"
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
        self.state[SPOT_RATE_KEY] = self.rate
        self.state[BUDGET_KEY] = self.budget
        if not self.write:
            return self.state
        try:
            write_json_atomic(self.path, self.state)
        except OSError as exc:   # accounting must not crash training (the temp file is gone)
            if self.alerts is not None and not self._failing:
                from .savefail import save_failed

                save_failed(self.alerts, "the cost state", self.path, exc,
                            "The previous state file is intact; training goes on.")
            self._failing = True
        else:
            self._failing = False
        return self.state
