"""Cost projected from the trainer's measured throughput, beside the plan's calendar table.

The plan's table (the plan's cost projections) assumes the run takes 8 weeks of machine time
(1344 h) and decides at week 5 (840 h). The trainer records what it actually achieves
(``throughput`` in ``orchestrator_state.json``, see :mod:`musicgen_ft.throughput`): samples per
second over timed optimizer steps, and the samples per epoch. From those:

- hours per epoch = samples per epoch / samples per second;
- the week-5 point is the same share of the planned epochs as 840 h is of 1344 h (5/8):
  its hours and dollars at the measured speed;
- the last epoch: all planned epochs at the measured speed;
- the finish at the run's pace: machine time already spent plus the epochs still to train.

Timed steps leave out start-up, EnCodec encoding, validation and checkpoint writes, so the
projected hours are training-step hours, a lower bound on machine time; the finish figure
adds the time actually spent so far, overheads included.
"""

from __future__ import annotations

from dataclasses import dataclass

from .run_folder import THROUGHPUT_KEY

__all__ = ["MeasuredProjection", "measured_projection"]


@dataclass(frozen=True)
class MeasuredProjection:
    """Result of :func:`measured_projection` (hours, dollars at ``spot_rate``).

    Attributes
    ----------
    samples_per_s, seconds_per_step : float
        Running averages over ``steps_timed`` optimizer steps (every start of the run).
    samples_per_epoch, epochs : int
    hours_per_epoch : float
    week5_epochs, week5_hours, week5_cost : float
        The plan's decision point as a share of the planned epochs.
    total_hours, total_cost : float
        All ``epochs`` at the measured speed.
    epochs_at_decision_hours : float
        Epochs the run gets through in the plan's 840 h at this speed (at most ``epochs``).
    finish_hours, finish_cost : float
        Time and money already spent plus the epochs still to train.
    fits_budget : bool
        ``finish_cost <= budget``.
    setting : str
        Batch, accumulation, device and precision the speed was measured with.
    """

    samples_per_s: float
    seconds_per_step: float
    steps_timed: int
    samples_per_epoch: int
    epochs: int
    hours_per_epoch: float
    week5_epochs: float
    week5_hours: float
    week5_cost: float
    total_hours: float
    total_cost: float
    decision_hours: float
    planned_hours: float
    epochs_at_decision_hours: float
    finish_hours: float
    finish_cost: float
    spot_rate: float
    budget: float
    fits_budget: bool
    setting: str

    def format(self) -> str:
        """Text lines for the dashboard, the measured figures beside the plan's."""
        seed5, seed_end = self.decision_hours, self.planned_hours
        rows = [(f"Week 5 ({self.week5_epochs:g} of {self.epochs} epochs)", self.week5_hours,
                 self.week5_cost, seed5),
                (f"Last epoch ({self.epochs} epochs)", self.total_hours, self.total_cost,
                 seed_end)]
        lines = [
            f"Measured throughput: {self.samples_per_s:.3g} samples/s, "
            f"{self.seconds_per_step:.3g} s per optimizer step ({self.steps_timed} timed steps; "
            f"{self.setting})",
            f"Hours per epoch: {_hours(self.hours_per_epoch)} h ({self.samples_per_epoch} samples; "
            f"training steps only)",
            f"{'':<28}{'measured':>21}{'plan':>20}",
        ]
        for label, hours, cost, seed_hours in rows:
            lines.append(f"{label:<28}{_hours(hours):>10}h ${cost:>8.2f}"
                         f"{seed_hours:>9.0f}h ${seed_hours * self.spot_rate:>8.2f}")
        lines.append(f"In the plan's {seed5:.0f} h: {self.epochs_at_decision_hours:.3g} of "
                     f"{self.epochs} epochs")
        lines.append(f"At the run's pace: finish after {_hours(self.finish_hours)}h, "
                     f"${self.finish_cost:.2f} of ${self.budget:.2f} -> "
                     + ("fits the budget" if self.fits_budget else "OVER BUDGET"))
        return "\n".join(lines)


def _hours(h):
    # a tiny test run takes seconds: keep two significant digits instead of printing 0.0
    return f"{h:,.1f}" if h >= 0.1 else f"{h:.2g}"


def _number(d, key):
    v = d.get(key)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def measured_projection(state, *, spot_rate, budget, elapsed_hours, cost, planned_hours,
                        decision_hours):
    """Project hours and dollars from the ``throughput`` a run recorded in its state.

    Parameters
    ----------
    state : dict
        ``orchestrator_state.json``.
    spot_rate, budget : float
        $/h and $.
    elapsed_hours, cost : float
        Machine time and money spent so far.
    planned_hours, decision_hours : float
        The plan's calendar (1344 h, 840 h); their ratio places the week-5 point in epochs.

    Returns
    -------
    MeasuredProjection or None
        ``None`` when the state holds no measured speed yet (no timed step, or a run written
        before throughput was recorded).
    """
    tp = state.get(THROUGHPUT_KEY)
    if not isinstance(tp, dict):
        return None
    sps, per_epoch, epochs = (_number(tp, k) for k in ("samples_per_s", "samples_per_epoch",
                                                       "epochs"))
    if not sps or sps <= 0 or not per_epoch or not epochs:
        return None
    hpe = per_epoch / sps / 3600.0
    week5_epochs = epochs * min(1.0, decision_hours / planned_hours)
    steps_per_epoch = _number(tp, "steps_per_epoch")
    step = _number(state, "global_step") or 0.0
    done = min(epochs, step / steps_per_epoch) if steps_per_epoch else (
        _number(state, "epoch") or 0.0)
    remaining_hours = max(0.0, epochs - done) * hpe
    finish_cost = cost + remaining_hours * spot_rate
    setting = ", ".join(str(s) for s in (
        tp.get("model"),
        tp.get("batch_size") and f"batch {tp['batch_size']} x accum {tp.get('grad_accum_steps')}",
        tp.get("device"), tp.get("precision")) if s)
    return MeasuredProjection(
        samples_per_s=sps, seconds_per_step=_number(tp, "seconds_per_step") or 0.0,
        steps_timed=int(_number(tp, "steps") or 0), samples_per_epoch=int(per_epoch),
        epochs=int(epochs), hours_per_epoch=hpe, week5_epochs=week5_epochs,
        week5_hours=week5_epochs * hpe, week5_cost=week5_epochs * hpe * spot_rate,
        total_hours=epochs * hpe, total_cost=epochs * hpe * spot_rate,
        decision_hours=decision_hours, planned_hours=planned_hours,
        epochs_at_decision_hours=min(epochs, decision_hours / hpe),
        finish_hours=elapsed_hours + remaining_hours, finish_cost=finish_cost,
        spot_rate=spot_rate, budget=budget, fits_budget=finish_cost <= budget,
        setting=setting or "setting not recorded")
