"""The plan's cost dashboard: elapsed hours, spend, budget left, projection to the planned end.

Conventions
-----------
- Rates are dollars per hour, times are hours (``elapsed_time`` in the state file is seconds).
- ``cost`` is the spend the orchestrator recorded in its state when present (it knows about
  restarts and price changes); otherwise ``elapsed hours x spot rate``, the plan's formula.
  Both are reported.
- The projection to the planned end continues at the run's own burn rate (``cost / elapsed``),
  or at the spot rate before any time has elapsed.
- The defaults are the project's (:mod:`evaluation.criteria`): $0.39/h spot, $600 budget with a
  warning at 80%, 8 weeks (1344 h) planned, the decision at week 5 (840 h).
- Beside that calendar, ``measured`` projects hours and dollars from the throughput the
  trainer recorded (:mod:`evaluation.projection`).
"""

from __future__ import annotations

from dataclasses import dataclass

from .criteria import (BUDGET_USD, BUDGET_WARNING_FRACTION, DECISION_HOURS, HOURS_PER_WEEK,
                       PLANNED_HOURS, SPOT_RATE_USD_PER_HOUR)
from .projection import MeasuredProjection, measured_projection
from .run_folder import BUDGET_KEY, SPOT_RATE_KEY

__all__ = ["CostReport", "validate", "cost_report", "seed_projection"]


@dataclass(frozen=True)
class CostReport:
    """Result of :func:`cost_report`.

    Attributes
    ----------
    elapsed_hours : float
    spot_rate : float
        $/h used for the computed cost.
    computed_cost : float
        ``elapsed_hours * spot_rate``.
    recorded_cost : float or None
        The state's ``cost``.
    cost : float
        ``recorded_cost`` when present, else ``computed_cost``.
    budget, remaining, fraction_used : float
    warning_fraction : float
    planned_hours : float
    projected_cost : float
        Spend at ``planned_hours`` at the run's burn rate.
    status : str
        ``"OK"``, ``"WARNING"`` (at or above ``warning_fraction`` of the budget) or ``"OVER"``.
    measured : MeasuredProjection or None
        Hours and dollars from the trainer's measured throughput
        (:mod:`evaluation.projection`); ``None`` before the run has timed a step.
    """

    elapsed_hours: float
    spot_rate: float
    computed_cost: float
    recorded_cost: float | None
    cost: float
    budget: float
    remaining: float
    fraction_used: float
    warning_fraction: float
    planned_hours: float
    projected_cost: float
    status: str
    measured: MeasuredProjection | None = None

    @property
    def burn_rate(self) -> float:
        return self.cost / self.elapsed_hours if self.elapsed_hours > 0 else self.spot_rate

    def to_dict(self) -> dict:
        from dataclasses import asdict

        return asdict(self)

    def format(self) -> str:
        """The dashboard as text, in the plan's wording."""
        lines = [
            f"Elapsed: {self.elapsed_hours:.1f}h ({self.elapsed_hours / HOURS_PER_WEEK:.1f} weeks)",
            f"Cost: ${self.cost:.2f}" + ("" if self.recorded_cost is None else
                                         f" (recorded; {self.elapsed_hours:.1f}h x "
                                         f"${self.spot_rate:.2f}/h = ${self.computed_cost:.2f})"),
            f"Budget remaining: ${self.remaining:.2f} of ${self.budget:.2f} "
            f"({self.fraction_used:.0%} used) -> {self.status}",
            f"Projected at {self.planned_hours:.0f}h (planned end): ${self.projected_cost:.2f} "
            f"at ${self.burn_rate:.3f}/h"
            + (" -> OVER BUDGET" if self.projected_cost > self.budget else ""),
            "",
            self.measured.format() if self.measured is not None else
            "Measured throughput: none recorded yet (no timed optimizer step in the state)",
            "",
            "Week  Hours   Cost (plan)  Budget %",
        ]
        for week, hours, cost, frac in seed_projection(self.spot_rate, self.budget, self.planned_hours):
            mark = "  <- now" if hours - HOURS_PER_WEEK < self.elapsed_hours <= hours else ""
            lines.append(f"{week:>4}  {hours:>5.0f}  ${cost:>10.2f}  {frac:>7.0%}{mark}")
        return "\n".join(lines)


def seed_projection(spot_rate=SPOT_RATE_USD_PER_HOUR, budget=BUDGET_USD, planned_hours=PLANNED_HOURS):
    """The plan's week-by-week table: ``[(week, hours, cost, fraction of budget)]``."""
    weeks = int(round(planned_hours / HOURS_PER_WEEK))
    hours = [HOURS_PER_WEEK * w for w in range(1, weeks + 1)]
    return [(w, h, h * spot_rate, h * spot_rate / budget) for w, h in enumerate(hours, 1)]


def validate(*, elapsed_hours, spot_rate, budget, warning_fraction, planned_hours):
    """Check the dashboard's inputs; raise ``ValueError`` that says what is wrong."""
    if elapsed_hours is None:
        raise ValueError("elapsed time unknown: the state has no 'elapsed_time'")
    if not elapsed_hours >= 0:
        raise ValueError(f"elapsed hours must be >= 0, got {elapsed_hours!r}")
    if not spot_rate > 0:
        raise ValueError(f"spot rate must be > 0 $/h, got {spot_rate!r}")
    if not budget > 0:
        raise ValueError(f"budget must be > 0 $, got {budget!r}")
    if not 0 < warning_fraction <= 1:
        raise ValueError(f"warning fraction must lie in (0, 1], got {warning_fraction!r}")
    if not planned_hours > 0:
        raise ValueError(f"planned hours must be > 0, got {planned_hours!r}")


def cost_report(state_or_run, *, spot_rate=None, budget=None,
                warning_fraction=BUDGET_WARNING_FRACTION, planned_hours=PLANNED_HOURS):
    """Build the cost dashboard from a run's state.

    Parameters
    ----------
    state_or_run : dict or RunRecord
        The ``orchestrator_state.json`` object, or a :class:`~evaluation.run_reader.RunRecord`.
    spot_rate, budget : float, optional
        Override; else the state's ``spot_rate_usd_per_hour`` / ``budget_usd``, else the defaults of
        :mod:`evaluation.criteria`.
    warning_fraction : float
        Share of the budget at which the status turns to WARNING.
    planned_hours : float
        Planned length of the run.

    Returns
    -------
    CostReport

    Examples
    --------
    >>> r = cost_report({"elapsed_time": 840 * 3600})
    >>> round(r.cost, 2), round(r.remaining, 2), round(r.projected_cost, 2), r.status
    (327.6, 272.4, 524.16, 'OK')
    """
    state = getattr(state_or_run, "state", state_or_run)
    if state is None:
        raise ValueError("no orchestrator state: cannot compute cost")
    if spot_rate is None:
        spot_rate = float(state.get(SPOT_RATE_KEY) or SPOT_RATE_USD_PER_HOUR)
    if budget is None:
        budget = float(state.get(BUDGET_KEY) or BUDGET_USD)
    elapsed = state.get("elapsed_time")
    elapsed_hours = None if elapsed is None else float(elapsed) / 3600.0
    validate(elapsed_hours=elapsed_hours, spot_rate=spot_rate, budget=budget,
             warning_fraction=warning_fraction, planned_hours=planned_hours)
    computed = elapsed_hours * spot_rate
    recorded = state.get("cost")
    recorded = None if recorded is None else float(recorded)
    cost = computed if recorded is None else recorded
    burn = cost / elapsed_hours if elapsed_hours > 0 else spot_rate
    projected = cost + max(0.0, planned_hours - elapsed_hours) * burn
    fraction = cost / budget
    status = "OVER" if cost > budget else "WARNING" if fraction >= warning_fraction else "OK"
    measured = measured_projection(state, spot_rate=spot_rate, budget=budget,
                                   elapsed_hours=elapsed_hours, cost=cost,
                                   planned_hours=planned_hours,
                                   decision_hours=min(DECISION_HOURS, planned_hours))
    return CostReport(elapsed_hours=elapsed_hours, spot_rate=spot_rate, computed_cost=computed,
                      recorded_cost=recorded, cost=cost, budget=budget, remaining=budget - cost,
                      fraction_used=fraction, warning_fraction=warning_fraction,
                      planned_hours=planned_hours, projected_cost=projected, status=status,
                      measured=measured)
