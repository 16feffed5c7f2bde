"""The week-5 decision: GO, CONDITIONAL-GO or NO-GO, with every reason.

Conventions
-----------
Each criterion of the plan's "Success Criteria" gives one or more :class:`Reason` with a status:

``PASS``     the criterion is met.
``WARN``     met, but with a caveat a person must look at (the authenticity interval reaches
             below the threshold; spend at or above 80% of the budget; warning alerts; unreadable
             clips; no significant gain over the baseline; ...).
``FAIL``     not met.
``MISSING``  the input was not supplied or could not be read. A missing input never passes.
``INFO``     context that does not affect the verdict.

The verdict: any FAIL gives **NO-GO**; otherwise any MISSING gives ``Thresholds.on_missing``
(CONDITIONAL-GO by default, NO-GO if you want a strict gate); otherwise any WARN gives
**CONDITIONAL-GO**; otherwise **GO**.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from .criteria import (BASELINE_BAND, BUDGET_USD, BUDGET_WARNING_FRACTION, MAX_RESTARTS_PER_DAY,
                       MAX_VAL_LOSS, MIN_AUTHENTICITY)
from .run_folder import normalise_level

__all__ = ["Thresholds", "Reason", "Decision", "validate", "go_no_go", "GO", "CONDITIONAL_GO",
           "NO_GO", "STATUSES"]

GO, CONDITIONAL_GO, NO_GO = "GO", "CONDITIONAL-GO", "NO-GO"
STATUSES = ("PASS", "INFO", "WARN", "MISSING", "FAIL")


@dataclass(frozen=True)
class Thresholds:
    """The plan's success criteria; every one can be changed.

    Attributes
    ----------
    min_authenticity : float
        Authenticity rate at or above which the criterion passes (seed: 35%).
    max_val_loss : float
        Best validation loss at or below which the criterion passes (seed: 3.5).
    budget : float
        Dollars (seed: $600).
    budget_warning_fraction : float
        Share of the budget from which spend is a warning (seed: 80%).
    max_restarts_per_day : float
        Spot interruptions per day above which stability is a warning (seed: 3).
    warn_if_interval_below : bool
        Warn when the rate passes but its confidence interval reaches below the threshold.
    on_missing : str
        Verdict when nothing fails but an input is missing: CONDITIONAL-GO or NO-GO.
    """

    min_authenticity: float = MIN_AUTHENTICITY
    max_val_loss: float = MAX_VAL_LOSS
    budget: float = BUDGET_USD
    budget_warning_fraction: float = BUDGET_WARNING_FRACTION
    max_restarts_per_day: float = MAX_RESTARTS_PER_DAY
    warn_if_interval_below: bool = True
    on_missing: str = CONDITIONAL_GO


@dataclass(frozen=True)
class Reason:
    """One finding behind the decision."""

    criterion: str
    status: str
    message: str

    def __str__(self):
        return f"[{self.status}] {self.criterion}: {self.message}"


@dataclass(frozen=True)
class Decision:
    """Result of :func:`go_no_go`."""

    verdict: str
    reasons: tuple
    thresholds: Thresholds

    def with_status(self, status):
        return tuple(r for r in self.reasons if r.status == status)

    def to_dict(self) -> dict:
        return {"verdict": self.verdict, "reasons": [asdict(r) for r in self.reasons],
                "thresholds": asdict(self.thresholds)}

    def format(self) -> str:
        return "\n".join([f"Decision: {self.verdict}"] + [f"  {r}" for r in self.reasons])


def validate(thresholds):
    """Check a :class:`Thresholds`; raise ``ValueError`` that says what is wrong."""
    t = thresholds
    if not isinstance(t, Thresholds):
        raise ValueError(f"thresholds must be a Thresholds, got {type(t).__name__}")
    if not 0.0 <= t.min_authenticity <= 1.0:
        raise ValueError(f"min_authenticity must lie in [0, 1], got {t.min_authenticity!r}")
    if not t.budget > 0:
        raise ValueError(f"budget must be > 0, got {t.budget!r}")
    if not 0.0 < t.budget_warning_fraction <= 1.0:
        raise ValueError(f"budget_warning_fraction must lie in (0, 1], got {t.budget_warning_fraction!r}")
    if not t.max_restarts_per_day >= 0:
        raise ValueError(f"max_restarts_per_day must be >= 0, got {t.max_restarts_per_day!r}")
    if t.on_missing not in (CONDITIONAL_GO, NO_GO):
        raise ValueError(f"on_missing must be {CONDITIONAL_GO!r} or {NO_GO!r}, got {t.on_missing!r}")


def _authenticity(auth, t):
    c = "authenticity"
    if auth is None:
        return [Reason(c, "MISSING", "not measured: no generated samples were evaluated")]
    rate = float(getattr(auth, "rate", auth))
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"authenticity rate must lie in [0, 1], got {rate!r}")
    counts = f" ({auth.k}/{auth.n} clips)" if hasattr(auth, "k") else ""
    ci = ""
    if hasattr(auth, "ci_low"):
        ci = f", {auth.confidence:.0%} CI [{auth.ci_low:.1%}, {auth.ci_high:.1%}]"
    text = f"{rate:.1%}{counts}{ci}"
    out = []
    if rate < t.min_authenticity:
        out.append(Reason(c, "FAIL", f"{text} is below the {t.min_authenticity:.0%} threshold"))
    elif t.warn_if_interval_below and getattr(auth, "ci_low", 1.0) < t.min_authenticity:
        out.append(Reason(c, "WARN", f"{text} meets the {t.min_authenticity:.0%} threshold, but the "
                                     f"interval reaches below it: evaluate more clips"))
    else:
        out.append(Reason(c, "PASS", f"{text} meets the {t.min_authenticity:.0%} threshold"))
    unreadable = getattr(auth, "n_unreadable", 0)
    if unreadable:
        out.append(Reason(c, "WARN", f"{unreadable} of {auth.n} clips could not be read; they count "
                                     f"as clips without log drums"))
    return out


def _baseline(comparison):
    c = "baseline comparison"
    if comparison is None:
        low, high = BASELINE_BAND
        return [Reason(c, "INFO", f"no baseline measured; the plan expects {low:.0%}-{high:.0%} "
                                  f"for the base model")]
    if comparison.significantly_better:
        return [Reason(c, "PASS", comparison.summary())]
    return [Reason(c, "WARN", comparison.summary())]


def _val_loss(loss, t):
    c = "validation loss"
    if loss is None:
        return [Reason(c, "MISSING", "no validation loss recorded")]
    loss = float(loss)
    if not math.isfinite(loss):
        return [Reason(c, "FAIL", f"best validation loss is {loss} (diverged)")]
    if loss > t.max_val_loss:
        return [Reason(c, "FAIL", f"best {loss:.3f} is above the {t.max_val_loss:g} threshold")]
    return [Reason(c, "PASS", f"best {loss:.3f} is within the {t.max_val_loss:g} threshold")]


def _cost(cost, projected, t):
    c = "cost"
    if cost is None:
        return [Reason(c, "MISSING", "no cost recorded (no orchestrator state)")]
    cost = float(cost)
    warn_at = t.budget_warning_fraction * t.budget
    if not math.isfinite(cost) or cost > t.budget:
        out = [Reason(c, "FAIL", f"${cost:.2f} exceeds the ${t.budget:.2f} budget")]
    elif cost >= warn_at:
        out = [Reason(c, "WARN", f"${cost:.2f} is {cost / t.budget:.0%} of the ${t.budget:.2f} "
                                 f"budget (warning from {t.budget_warning_fraction:.0%})")]
    else:
        out = [Reason(c, "PASS", f"${cost:.2f} is {cost / t.budget:.0%} of the ${t.budget:.2f} budget")]
    if projected is not None and projected > t.budget:
        out.append(Reason(c, "WARN", f"projected ${projected:.2f} at the planned end exceeds the "
                                     f"${t.budget:.2f} budget"))
    return out


def _level_message(alert):
    # Alert objects from run_reader, or plain dicts as written in alerts.jsonl
    if isinstance(alert, dict):
        return normalise_level(alert.get("level", "")), str(alert.get("message", ""))
    return normalise_level(alert.level), str(alert.message)


def _stability(alerts, nonfinite_losses, restarts, elapsed_hours, t):
    c = "stability"
    out = []
    if alerts is None:
        out.append(Reason(c, "MISSING", "no alerts log: divergence alerts cannot be checked"))
    else:
        pairs = [_level_message(a) for a in alerts]
        crit = [m for lv, m in pairs if lv == "CRITICAL"]
        warn = [m for lv, m in pairs if lv == "WARNING"]
        if crit:
            out.append(Reason(c, "FAIL", f"{len(crit)} CRITICAL alert(s): " + "; ".join(crit[:3])
                              + (" ..." if len(crit) > 3 else "")))
        if warn:
            out.append(Reason(c, "WARN", f"{len(warn)} WARNING alert(s): " + "; ".join(warn[:3])
                              + (" ..." if len(warn) > 3 else "")))
        if not crit and not warn:
            out.append(Reason(c, "PASS", f"no WARNING or CRITICAL alerts ({len(alerts)} logged)"))
    if nonfinite_losses:
        out.append(Reason(c, "FAIL", f"{nonfinite_losses} logged loss value(s) are NaN or Inf"))
    if restarts is not None and elapsed_hours:
        per_day = float(restarts) / (elapsed_hours / 24.0)
        if per_day > t.max_restarts_per_day:
            out.append(Reason(c, "WARN", f"{restarts} restarts in {elapsed_hours:.1f} h = "
                                         f"{per_day:.1f}/day (above {t.max_restarts_per_day:g}/day)"))
    return out


def go_no_go(*, authenticity=None, best_val_loss=None, cost=None, projected_cost=None,
             alerts=None, nonfinite_losses=0, restarts=None, elapsed_hours=None,
             comparison=None, thresholds=None):
    """Decide GO / CONDITIONAL-GO / NO-GO from the plan's success criteria.

    Parameters
    ----------
    authenticity : AuthenticityResult or float, optional
        The fine-tuned model's measured authenticity (a result adds the interval and unreadable
        clips to the reasons).
    best_val_loss : float, optional
    cost, projected_cost : float, optional
        Spend so far and at the planned end, in dollars.
    alerts : sequence of Alert or dict, optional
        The run's alerts (``level``, ``message``); ``None`` means unknown, an empty sequence
        means none were raised.
    nonfinite_losses : int
        NaN/Inf loss values seen in the logs.
    restarts : int, optional
        Spot interruptions survived; with ``elapsed_hours`` checked against
        ``max_restarts_per_day``.
    elapsed_hours : float, optional
    comparison : Comparison, optional
        Candidate vs baseline (:func:`evaluation.compare`).
    thresholds : Thresholds, optional

    Returns
    -------
    Decision

    Examples
    --------
    >>> d = go_no_go(authenticity=0.40, best_val_loss=3.2, cost=330.0, alerts=[])
    >>> d.verdict
    'GO'
    >>> go_no_go(authenticity=0.20, best_val_loss=3.2, cost=330.0, alerts=[]).verdict
    'NO-GO'
    """
    t = Thresholds() if thresholds is None else thresholds
    validate(t)
    reasons = (_authenticity(authenticity, t) + _baseline(comparison) + _val_loss(best_val_loss, t)
               + _cost(cost, projected_cost, t)
               + _stability(alerts, nonfinite_losses, restarts, elapsed_hours, t))
    statuses = {r.status for r in reasons}
    if "FAIL" in statuses:
        verdict = NO_GO
    elif "MISSING" in statuses:
        verdict = t.on_missing
    elif "WARN" in statuses:
        verdict = CONDITIONAL_GO
    else:
        verdict = GO
    return Decision(verdict=verdict, reasons=tuple(reasons), thresholds=t)
