"""The ``python -m evaluation`` command line.

Subcommands
-----------
``authenticity DIR [--json]``
    The share of audio files in DIR with log drums, its 95% Wilson interval and the per-clip
    verdicts. Exit status 1 when some files could not be read (they are counted and listed).
``compare BASELINE_DIR CANDIDATE_DIR [--json]``
    Difference of the two rates with its interval and the two-proportion test.
``report --run RUN_DIR [--samples DIR] [--baseline DIR] --out DIR``
    The GO/NO-GO report (Markdown, PNG plots, decision.json). Exit status 0 when written.
``cost --run RUN_DIR [--json]``
    The plan's cost dashboard, and the projection from the run's measured throughput.
"""

from __future__ import annotations

import argparse
import sys

from logdrum.io.jsonsafe import to_json

from .criteria import BUDGET_USD, MAX_VAL_LOSS, MIN_AUTHENTICITY, PLANNED_HOURS, SPOT_RATE_USD_PER_HOUR

__all__ = ["main", "build_parser"]


def format_authenticity(r, label="") -> str:
    head = f"{label}: " if label else ""
    lines = [f"{head}authenticity {r.rate:.1%} ({r.k}/{r.n} clips with log drums), "
             f"{r.confidence:.0%} CI [{r.ci_low:.1%}, {r.ci_high:.1%}]"]
    if r.n_unreadable:
        lines.append(f"  {r.n_unreadable} unreadable (counted as no log drums):")
        lines += [f"    {name}: {err}" for name, err in r.unreadable]
    return "\n".join(lines)


def _progress(stream):
    def show(i, n, clip):
        stream.write(f"\r  {i}/{n} {clip.name[-60:]:<60}")
        if i == n:
            stream.write("\n")
        stream.flush()
    return show if stream.isatty() else None


def _cmd_authenticity(args) -> int:
    from .authenticity import authenticity

    r = authenticity(args.dir, recursive=args.recursive, progress=_progress(sys.stderr))
    if args.json:
        print(to_json(r.to_dict()))
    else:
        print(format_authenticity(r))
        for c in r.clips:
            if c.readable:
                verdict = "LOG DRUMS" if c.holds_log_drums else "no log drums"
                print(f"  {c.name}: {verdict} (score {c.score:.2f}, {len(c.events)} events)")
    return 1 if r.n_unreadable else 0


def _cmd_compare(args) -> int:
    from .authenticity import authenticity
    from .compare import compare

    base = authenticity(args.baseline, recursive=args.recursive)
    cand = authenticity(args.candidate, recursive=args.recursive)
    c = compare(base, cand)
    if args.json:
        print(to_json({"baseline": base.to_dict(clips=False), "candidate": cand.to_dict(clips=False),
                       "comparison": c.to_dict()}))
    else:
        print(format_authenticity(base, "baseline"))
        print(format_authenticity(cand, "candidate"))
        print(c.summary())
    return 0


def _cmd_cost(args) -> int:
    from .cost import cost_report
    from .run_reader import read_run

    run = read_run(args.run)
    r = cost_report(run, spot_rate=args.spot_rate, budget=args.budget,
                    planned_hours=args.planned_hours)
    print(to_json(r.to_dict()) if args.json else r.format())
    return 0


def _cmd_report(args) -> int:
    from .decision import Thresholds
    from .report import build_report

    t = Thresholds(min_authenticity=args.min_authenticity, max_val_loss=args.max_val_loss,
                   on_missing="NO-GO" if args.strict else "CONDITIONAL-GO")
    rep = build_report(args.run, out_dir=args.out, samples=args.samples, baseline=args.baseline,
                       thresholds=t, budget=args.budget, spot_rate=args.spot_rate,
                       planned_hours=args.planned_hours)
    print(rep.decision.format())
    print(f"report: {rep.markdown_path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m evaluation",
        description="Authenticity metric, baseline comparison, cost dashboard and GO/NO-GO report.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("authenticity", help="share of audio files with log drums, with a 95%% CI")
    p.add_argument("dir", metavar="DIR", help="folder of wav/flac/ogg/mp3 files")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument("--recursive", action="store_true", help="scan sub-folders too")
    p.set_defaults(func=_cmd_authenticity)

    p = sub.add_parser("compare", help="baseline vs candidate authenticity with a significance test")
    p.add_argument("baseline", metavar="BASELINE_DIR")
    p.add_argument("candidate", metavar="CANDIDATE_DIR")
    p.add_argument("--json", action="store_true")
    p.add_argument("--recursive", action="store_true")
    p.set_defaults(func=_cmd_compare)

    def run_options(p):
        p.add_argument("--run", required=True, metavar="RUN_DIR", help="training run directory")
        p.add_argument("--spot-rate", type=float, default=None,
                       help=f"$/h (default: the state's, else {SPOT_RATE_USD_PER_HOUR:g})")
        p.add_argument("--budget", type=float, default=None,
                       help=f"$ (default: the state's budget, else {BUDGET_USD:g})")
        p.add_argument("--planned-hours", type=float, default=PLANNED_HOURS,
                       help=f"planned length of the run (default: {PLANNED_HOURS:g} h)")

    p = sub.add_parser("cost", help="the cost dashboard of a training run")
    run_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_cost)

    p = sub.add_parser("report", help="write the GO/NO-GO report of a training run")
    run_options(p)
    p.add_argument("--samples", metavar="DIR", help="audio generated by the fine-tuned model")
    p.add_argument("--baseline", metavar="DIR", help="audio generated by the base model")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for report.md and plots")
    p.add_argument("--min-authenticity", type=float, default=MIN_AUTHENTICITY)
    p.add_argument("--max-val-loss", type=float, default=MAX_VAL_LOSS)
    p.add_argument("--strict", action="store_true",
                   help="missing inputs give NO-GO instead of CONDITIONAL-GO")
    p.set_defaults(func=_cmd_report)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as exc:
        # bad input (no such folder, no clips, no state): say what is wrong, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
