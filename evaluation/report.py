"""The GO/NO-GO report: read a run directory and sample folders, decide, write Markdown + PNGs.

What it writes into ``out_dir``:

``report.md``
    For a person: the decision and every reason, authenticity with intervals, the baseline
    comparison, training (loss curves, alerts), the cost dashboard, score histograms, and the
    files that were missing or malformed.
``decision.json``
    The same numbers for machines: verdict, reasons, thresholds, authenticity summaries,
    comparison, cost, run problems.
``authenticity.json``
    Per-clip verdicts, scores and events of each sample set.
``loss_curves.png``, ``authenticity.png``, ``cost.png``, ``score_histograms.png``
    Each only when there is something to draw.

Everything comes from the files named on the command line; the report carries no timestamp, so
the same inputs give byte-identical ``report.md`` and ``decision.json``.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from logdrum.io.atomic import atomic_write
from logdrum.io.jsonsafe import to_json

from .authenticity import authenticity
from .compare import compare
from .cost import cost_report
from .criteria import DECISION_HOURS, PLANNED_HOURS
from .decision import Thresholds, go_no_go
from .decision import validate as validate_thresholds
from .run_folder import BUDGET_KEY
from .run_reader import read_run

__all__ = ["Report", "validate", "decide_run", "build_report"]


@dataclass(frozen=True)
class Report:
    """What :func:`build_report` measured, decided and wrote.

    Attributes
    ----------
    decision : Decision
    run : RunRecord
    cost : CostReport or None
    candidate, baseline : AuthenticityResult or None
    comparison : Comparison or None
    markdown_path, decision_path : str
    plots : dict
        Name -> PNG path, for the plots that were drawn.
    """

    decision: object
    run: object
    cost: object
    candidate: object
    baseline: object
    comparison: object
    markdown_path: str
    decision_path: str
    plots: dict


def validate(run_dir, out_dir, samples=None, baseline=None):
    """Check the folders before any work; raise ``ValueError`` that says what is wrong."""
    if not os.path.isdir(os.fspath(run_dir)):
        raise ValueError(f"{os.fspath(run_dir)}: run directory not found")
    for name, d in (("samples", samples), ("baseline", baseline)):
        if d is not None and not os.path.isdir(os.fspath(d)):
            raise ValueError(f"{os.fspath(d)}: {name} directory not found")
    if os.path.exists(os.fspath(out_dir)) and not os.path.isdir(os.fspath(out_dir)):
        raise ValueError(f"{os.fspath(out_dir)}: output path exists and is not a directory")


def decide_run(run, *, candidate=None, comparison=None, cost=None, thresholds=None):
    """Apply :func:`~evaluation.decision.go_no_go` to what a run left on disk."""
    state = run.state or {}
    return go_no_go(
        authenticity=candidate, best_val_loss=run.best_val_loss,
        cost=None if cost is None else cost.cost,
        projected_cost=None if cost is None else cost.projected_cost,
        alerts=run.alerts, nonfinite_losses=run.nonfinite_losses,
        restarts=state.get("restarts"), elapsed_hours=run.elapsed_hours,
        comparison=comparison, thresholds=thresholds,
    )


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return lines


def _image(plots, name, title, missing):
    return [f"![{title}]({name}.png)", ""] if name in plots else [f"_{missing}_", ""]


def _markdown(rep, run_dir, samples, baseline, t):
    d, run, cost = rep.decision, rep.run, rep.cost
    state = run.state or {}
    md = [f"# GO/NO-GO report: `{run_dir}`", "", f"## Decision: **{d.verdict}**", ""]
    md += _table(["status", "criterion", "finding"],
                 [(r.status, r.criterion, r.message) for r in d.reasons]) + [""]
    md += ["Rule: any FAIL gives NO-GO; otherwise a MISSING input gives "
           f"{t.on_missing}; otherwise any WARN gives CONDITIONAL-GO; otherwise GO.", ""]

    md += ["## Authenticity", "",
           "Share of generated clips in which the log-drum detector (`logdrum.analyze`) finds "
           "log drums. Unreadable clips stay in n and count as clips without log drums.", ""]
    sets = [("fine-tuned", samples, rep.candidate), ("baseline", baseline, rep.baseline)]
    rows = [(label, f"`{folder}`", f"{r.k}/{r.n}", f"{r.rate:.1%}",
             f"[{r.ci_low:.1%}, {r.ci_high:.1%}]", r.n_unreadable)
            for label, folder, r in sets if r is not None]
    if rows:
        md += _table(["set", "folder", "with log drums", "rate", "95% CI", "unreadable"], rows) + [""]
    else:
        md += ["_No sample folders given (`--samples`, `--baseline`): authenticity not measured._", ""]
    if rep.comparison is not None:
        md += [f"Comparison: {rep.comparison.summary()} "
               f"(Newcombe interval, pooled two-proportion z-test, z = {rep.comparison.z:.2f}).", ""]
    md += _image(rep.plots, "authenticity", "authenticity", "no authenticity measured")
    for label, _folder, r in sets:
        if r is not None and r.n_unreadable:
            md += [f"Unreadable {label} clips:", ""] + [f"- `{n}`: {e}" for n, e in r.unreadable] + [""]
    md += _image(rep.plots, "score_histograms", "score histograms", "no clip scores to show")

    md += ["## Training", ""]
    md += _table(["quantity", "value"], [
        ("epoch", state.get("epoch", "-")), ("global step", state.get("global_step", "-")),
        ("best validation loss", "-" if run.best_val_loss is None else f"{run.best_val_loss:.4f}"),
        ("restarts", state.get("restarts", "-")),
        ("alerts (state count)", state.get("alerts", "-")),
        ("metrics source", run.metrics_source or "none"),
        ("NaN/Inf losses logged", run.nonfinite_losses),
    ]) + [""]
    if run.elapsed_hours is not None and run.elapsed_hours < DECISION_HOURS:
        md += [f"Note: this decision is taken at {run.elapsed_hours:.0f} h, before the plan's week-5 "
               f"point ({DECISION_HOURS:.0f} h).", ""]
    md += _image(rep.plots, "loss_curves", "loss curves", "no loss values logged")
    if run.alerts is None:
        md += ["_No alerts log (`alerts.jsonl`)._", ""]
    else:
        serious = [a for a in run.alerts if a.level in ("WARNING", "CRITICAL")]
        md += [f"Alerts: {len(run.alerts)} logged, {len(run.alerts_at('WARNING'))} WARNING, "
               f"{len(run.alerts_at('CRITICAL'))} CRITICAL.", ""]
        if serious:
            md += _table(["level", "step", "message"],
                         [(a.level, "-" if a.step is None else a.step, a.message)
                          for a in serious[:50]]) + [""]
            if len(serious) > 50:
                md += [f"... and {len(serious) - 50} more in `alerts.jsonl`.", ""]

    md += ["## Cost", ""]
    if cost is None:
        md += ["_No orchestrator state: cost unknown._", ""]
    else:
        md += ["```", cost.format(), "```", ""]
    md += _image(rep.plots, "cost", "cost burn", "no cost to plot")

    md += ["## Inputs", "", f"- run: `{run_dir}`", f"- samples: `{samples or '-'}`",
           f"- baseline: `{baseline or '-'}`", ""]
    md += _table(["threshold", "value"], [(k, v) for k, v in dataclasses.asdict(t).items()]) + [""]
    if run.problems:
        md += ["Missing or malformed run files:", ""] + [f"- {p}" for p in run.problems] + [""]
    return "\n".join(md)


def _dump(path, obj):
    with atomic_write(path) as f:
        f.write(to_json(obj) + "\n")


def build_report(run_dir, out_dir, *, samples=None, baseline=None, thresholds=None, budget=None,
                 spot_rate=None, planned_hours=PLANNED_HOURS, confidence=0.95):
    """Measure, decide and write the report.

    Parameters
    ----------
    run_dir : str or os.PathLike
        The training run (see :mod:`evaluation.run_folder` for its layout).
    out_dir : str or os.PathLike
        Created if missing; existing report files are overwritten.
    samples, baseline : str or os.PathLike, optional
        Folders of audio generated by the fine-tuned and by the base model.
    thresholds : Thresholds, optional
    budget : float, optional
        Dollars; default the state's ``budget_usd``, else ``thresholds.budget``.
    spot_rate : float, optional
        $/h; default the state's ``spot_rate_usd_per_hour``, else the project's default.
    planned_hours : float
        Planned length of the run, for the cost projection.
    confidence : float
        Level of every interval.

    Returns
    -------
    Report
    """
    validate(run_dir, out_dir, samples, baseline)
    run_dir, out_dir = os.fspath(run_dir), os.fspath(out_dir)
    t = Thresholds() if thresholds is None else thresholds
    validate_thresholds(t)
    run = read_run(run_dir)
    if budget is None and run.state and run.state.get(BUDGET_KEY):
        budget = float(run.state[BUDGET_KEY])
    if budget is not None:
        t = dataclasses.replace(t, budget=float(budget))

    try:
        cost = cost_report(run, spot_rate=spot_rate, budget=t.budget,
                           warning_fraction=t.budget_warning_fraction, planned_hours=planned_hours)
    except ValueError:
        cost = None  # no state or no elapsed time: the decision reports cost as MISSING
    candidate = None if samples is None else authenticity(samples, confidence=confidence)
    base = None if baseline is None else authenticity(baseline, confidence=confidence)
    comparison = (compare(base, candidate, confidence=confidence)
                  if candidate is not None and base is not None else None)
    decision = decide_run(run, candidate=candidate, comparison=comparison, cost=cost, thresholds=t)

    os.makedirs(out_dir, exist_ok=True)
    rep = Report(decision=decision, run=run, cost=cost, candidate=candidate, baseline=base,
                 comparison=comparison, markdown_path=os.path.join(out_dir, "report.md"),
                 decision_path=os.path.join(out_dir, "decision.json"),
                 plots=_draw_plots(rep_dir=out_dir, run=run, cost=cost, thresholds=t,
                                   sets={"baseline": base, "fine-tuned": candidate}))
    _write_files(rep, out_dir, run_dir, samples, baseline, t)
    return rep


def _draw_plots(rep_dir, run, cost, thresholds, sets):
    """The report's PNGs, ``{name: path}``; a plot with no data is skipped and its old file removed."""
    from logdrum import DEFAULT_CONFIG

    from . import plots as P

    drawn = {
        "loss_curves": P.plot_loss_curves(run, os.path.join(rep_dir, "loss_curves.png"),
                                          max_val_loss=thresholds.max_val_loss),
        "authenticity": P.plot_authenticity(sets, os.path.join(rep_dir, "authenticity.png"),
                                            threshold=thresholds.min_authenticity),
        "cost": P.plot_cost(cost, os.path.join(rep_dir, "cost.png")),
        "score_histograms": P.plot_score_histograms(
            sets, os.path.join(rep_dir, "score_histograms.png"),
            clip_threshold=DEFAULT_CONFIG.clip_threshold),
    }
    plots = {k: v for k, v in drawn.items() if v is not None}
    for name in set(drawn) - set(plots):
        # a stale plot from an earlier report would contradict this one
        stale = os.path.join(rep_dir, f"{name}.png")
        if os.path.exists(stale):
            os.remove(stale)
    return plots


def _write_files(rep, out_dir, run_dir, samples, baseline, thresholds):
    """``report.md``, ``decision.json`` and ``authenticity.json``."""
    with atomic_write(rep.markdown_path) as f:
        f.write(_markdown(rep, run_dir, samples, baseline, thresholds))
    sets = (("fine-tuned", rep.candidate), ("baseline", rep.baseline))
    _dump(rep.decision_path, {
        **rep.decision.to_dict(),
        "inputs": {"run": run_dir, "samples": samples and os.fspath(samples),
                   "baseline": baseline and os.fspath(baseline)},
        "authenticity": {k: (None if r is None else r.to_dict(clips=False)) for k, r in sets},
        "comparison": None if rep.comparison is None else rep.comparison.to_dict(),
        "cost": None if rep.cost is None else rep.cost.to_dict(),
        "best_val_loss": rep.run.best_val_loss,
        "run_problems": list(rep.run.problems),
    })
    _dump(os.path.join(out_dir, "authenticity.json"),
          {k: (None if r is None else r.to_dict()) for k, r in sets})
