"""The report's figures, written as PNG files.

Every function draws on its own :class:`matplotlib.figure.Figure` (Agg canvas), never through
pyplot, so nothing depends on or changes the global backend, and no window opens on a server.
Each returns the path it wrote, or ``None`` when there is nothing to draw (the report then says
so instead of showing an empty plot).
"""

from __future__ import annotations

import os

import numpy as np

from logdrum.io.atomic import save_figure

from .criteria import BASELINE_BAND, DECISION_HOURS, HOURS_PER_WEEK, MIN_AUTHENTICITY

__all__ = ["plot_loss_curves", "plot_authenticity", "plot_cost", "plot_score_histograms"]

_COLORS = {"baseline": "tab:gray", "fine-tuned": "tab:blue"}


def _figure(size=(7.0, 4.0)):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=100)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def _save(fig, path):
    path = os.fspath(path)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_loss_curves(run, path, *, max_val_loss=None):
    """Train and validation loss against step, with the validation-loss threshold.

    Parameters
    ----------
    run : RunRecord
    path : str or os.PathLike
    max_val_loss : float, optional
        Drawn as a horizontal line.
    """
    ts, tv = run.curve("train_loss")
    vs, vv = run.curve("val_loss")
    if not ts and not vs:
        return None
    fig, ax = _figure()
    if ts:
        ax.plot(ts, tv, color="tab:blue", lw=1.2, label="train loss")
    if vs:
        ax.plot(vs, vv, color="tab:orange", lw=1.8, marker="o", ms=3, label="validation loss")
    if max_val_loss is not None:
        ax.axhline(max_val_loss, color="tab:red", ls="--", lw=1, label=f"threshold {max_val_loss:g}")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title("Loss curves")
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


def plot_authenticity(results, path, *, threshold=MIN_AUTHENTICITY, baseline_band=BASELINE_BAND):
    """Authenticity rates with their confidence intervals, the threshold and the plan's baseline band.

    Parameters
    ----------
    results : dict
        Label -> :class:`~evaluation.authenticity.AuthenticityResult` (e.g. "baseline", "fine-tuned").
    """
    results = {k: v for k, v in results.items() if v is not None}
    if not results:
        return None
    fig, ax = _figure((6.0, 4.0))
    labels = list(results)
    x = np.arange(len(labels))
    rates = np.array([results[k].rate for k in labels])
    err = np.array([[r - results[k].ci_low for k, r in zip(labels, rates)],
                    [results[k].ci_high - r for k, r in zip(labels, rates)]])
    ax.axhspan(*baseline_band, color="tab:gray", alpha=0.15, label="expected baseline 10-20%")
    ax.axhline(threshold, color="tab:red", ls="--", lw=1, label=f"GO threshold {threshold:.0%}")
    ax.bar(x, rates, color=[_COLORS.get(k, "tab:green") for k in labels], alpha=0.8, width=0.5)
    ax.errorbar(x, rates, yerr=err, fmt="none", ecolor="black", capsize=8, lw=1.5)
    for xi, k in zip(x, labels):
        r = results[k]
        ax.annotate(f"{r.rate:.0%}\n{r.k}/{r.n}", (xi, r.ci_high), textcoords="offset points",
                    xytext=(0, 4), ha="center", fontsize=9)
    ax.set_xticks(x, labels)
    ax.set_ylim(0, 1.15)
    ax.set_ylabel("share of clips with log drums")
    conf = next(iter(results.values())).confidence
    ax.set_title(f"Authenticity ({conf:.0%} Wilson intervals)")
    ax.legend(loc="upper left", fontsize=8)
    return _save(fig, path)


def plot_cost(cost, path, *, decision_hours=DECISION_HOURS):
    """Spend against the budget line: the plan's projection, the run's position and its projection.

    When the run recorded its throughput, the projection at the measured speed is drawn too:
    from the spend so far to the finish of the last epoch, with the week-5 point on the way.

    Parameters
    ----------
    cost : CostReport
    """
    if cost is None:
        return None
    fig, ax = _figure()
    m = cost.measured
    end = max(cost.planned_hours, cost.elapsed_hours, m.finish_hours if m else 0.0)
    h = np.array([0.0, end])
    ax.plot(h, h * cost.spot_rate, color="tab:gray", lw=1, ls=":",
            label=f"planned (${cost.spot_rate:.2f}/h)")
    weeks = np.arange(1, int(round(cost.planned_hours / HOURS_PER_WEEK)) + 1) * HOURS_PER_WEEK
    ax.plot(weeks, weeks * cost.spot_rate, "o", color="tab:gray", ms=3)
    ax.axhline(cost.budget, color="tab:red", lw=1.2, label=f"budget ${cost.budget:.0f}")
    ax.axhline(cost.warning_fraction * cost.budget, color="tab:orange", lw=1, ls="--",
               label=f"warning {cost.warning_fraction:.0%}")
    ax.axvline(decision_hours, color="black", lw=0.8, ls="-.", label="week 5 decision")
    ax.plot([0.0, cost.elapsed_hours], [0.0, cost.cost], color="tab:blue", lw=2, label="spent")
    ax.plot([cost.elapsed_hours, cost.planned_hours], [cost.cost, cost.projected_cost],
            color="tab:blue", lw=1.2, ls="--", label=f"projected ${cost.projected_cost:.0f}")
    ax.plot([cost.elapsed_hours], [cost.cost], "o", color="tab:blue")
    top = max(cost.budget, cost.projected_cost)
    if m is not None:
        ax.plot([cost.elapsed_hours, m.finish_hours], [cost.cost, m.finish_cost],
                color="tab:green", lw=1.8, ls="-.",
                label=f"measured speed: {m.epochs} epochs end at {m.finish_hours:.0f} h, "
                      f"${m.finish_cost:.0f}")
        ax.plot([m.finish_hours], [m.finish_cost], "o", color="tab:green")
        ax.plot([m.week5_hours], [m.week5_cost], "s", color="tab:green", ms=5,
                label=f"measured week-5 point ({m.week5_epochs:g} epochs): {m.week5_hours:.0f} h")
        top = max(top, m.finish_cost)
    ax.set_xlabel("hours")
    ax.set_ylabel("dollars")
    ax.set_title(f"Cost burn: ${cost.cost:.2f} after {cost.elapsed_hours:.0f} h")
    ax.set_xlim(0, end * 1.02)
    ax.set_ylim(0, top * 1.1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return _save(fig, path)


def plot_score_histograms(results, path, *, clip_threshold=None):
    """Histograms of per-clip detector scores, one per set, with the clip verdict threshold."""
    results = {k: v for k, v in results.items() if v is not None and len(v.scores)}
    if not results:
        return None
    fig, ax = _figure()
    bins = np.linspace(0.0, 1.0, 21)
    for label, r in results.items():
        ax.hist(r.scores, bins=bins, alpha=0.55, color=_COLORS.get(label, "tab:green"),
                label=f"{label} (n={len(r.scores)} readable)")
    if clip_threshold is not None:
        ax.axvline(clip_threshold, color="tab:red", ls="--", lw=1,
                   label=f"clip threshold {clip_threshold:g}")
    ax.set_xlabel("detector clip score")
    ax.set_ylabel("clips")
    ax.set_title("Detector scores per clip")
    ax.legend(fontsize=8)
    return _save(fig, path)
