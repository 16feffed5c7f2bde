"""The ``logdrum`` command line (also ``python -m logdrum``).

All command-line code of the package is here: each subcommand is an ``_add_<name>`` function
that adds its parser and a ``_cmd_<name>`` function that calls the library and prints. The
library modules themselves never parse arguments or print.
"""

from __future__ import annotations

import argparse
import os
import sys

from .dataset.build import AUDIO_MODES
from .dataset.layout import DEFAULT_TOLERANCE
from .io.jsonsafe import to_json

__all__ = ["main"]



def _cmd_detect(args) -> int:
    from .io.audio import AudioReadError, load_audio
    from .core.detector import analyze

    failed = 0
    results = []
    for path in args.files:
        try:
            audio, sr = load_audio(path)
            a = analyze(audio, sr)
        except (AudioReadError, ValueError) as exc:
            failed += 1
            results.append({"file": path, "error": str(exc)})
            if not args.json:
                print(f"{path}: ERROR {exc}", file=sys.stderr)
            continue
        if args.json:
            results.append({"file": path, **a.to_dict()})
        else:
            verdict = "LOG DRUMS" if a.holds_log_drums else "no log drums"
            reasons = ", ".join(f"{k}: {v}" for k, v in sorted(a.rejected_by_reason().items()))
            print(f"{path}: {verdict} (score {a.score:.2f}, {len(a.events)} events, "
                  f"{a.duration_s:.1f} s)")
            if a.events:
                print(a.events_table())
            if reasons:
                print(f"  rejected candidates: {reasons}")
    if args.json:
        print(to_json(results))
    return 1 if failed else 0


def _add_detect(subparsers):
    p = subparsers.add_parser("detect", help="find log drums in audio files and print the events")
    p.add_argument("files", nargs="+", metavar="FILE", help="audio files (wav, flac, ogg, mp3)")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(func=_cmd_detect)


def _add_batch_arguments(p):
    """The ``--workers``, ``--dask`` and ``--no-progress`` options shared by batch commands."""
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker processes (default: all cores)")
    p.add_argument("--dask", default=None, metavar="ADDRESS",
                   help="run on a Dask cluster: a scheduler address, or 'local'")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bar")


def _add_duration_arguments(p, *, expected, tolerance):
    """``--expected-duration`` and ``--tolerance``: the clip-length check of build and validate."""
    p.add_argument("--expected-duration", type=float, default=None, metavar="SECONDS",
                   help=f"expected clip length ({expected})")
    p.add_argument("--tolerance", type=float, default=None, metavar="FRACTION",
                   help=f"a clip whose length is off the expected by more than this fraction "
                        f"is broken ({tolerance})")


def _cmd_scan(args) -> int:
    from .dataset.scan import scan

    try:
        rows = scan(args.paths, args.out, workers=args.workers, dask=args.dask,
                    progress=args.progress)
    except KeyboardInterrupt:
        print(f"\ninterrupted: finished rows are saved in {args.out}; run the same command "
              f"again to resume", file=sys.stderr)
        return 130
    except (OSError, RuntimeError, ValueError) as exc:  # unreachable scheduler, locked or foreign CSV
        print(f"scan: {exc}", file=sys.stderr)
        return 2
    errors = [r for r in rows if r["error"]]
    with_ld = sum(1 for r in rows if r["score"] and float(r["score"]) >= 0.5)
    print(f"{len(rows)} files scored into {args.out}: {with_ld} with score >= 0.5, "
          f"{len(errors)} errors")
    for r in errors[:20]:
        print(f"  {r['path']}: {r['error']}", file=sys.stderr)
    return 0


def _add_scan(subparsers):
    p = subparsers.add_parser("scan", help="score every audio file under some paths into a CSV")
    p.add_argument("paths", nargs="+", metavar="PATH", help="audio files or folders (recursive)")
    p.add_argument("--out", required=True, help="results CSV (appended to and resumed)")
    _add_batch_arguments(p)
    p.set_defaults(func=_cmd_scan)


def _cmd_build(args) -> int:
    from .dataset.build import build_dataset
    from .dataset.layout import METADATA_FILE, SUMMARY_FILE

    try:
        s = build_dataset(args.mtat, args.out, top=args.top, min_score=args.min_score,
                          audio=args.audio, workers=args.workers, dask=args.dask,
                          progress=args.progress, expected_duration=args.expected_duration,
                          tolerance=args.tolerance)
    except KeyboardInterrupt:
        print("\ninterrupted: scores so far are saved; run the same command again to resume",
              file=sys.stderr)
        return 130
    except (OSError, RuntimeError, ValueError) as exc:
        print(f"build-dataset: {exc}", file=sys.stderr)
        return 2
    cut = "-" if s["score_cut"] is None else f"{s['score_cut']:.3f}"
    expected = ("-" if s["expected_duration"] is None else
                f"{s['expected_duration']:.2f} s +/- {s['duration_tolerance'] * 100:g}%, "
                f"{s['expected_duration_source']}")
    print(f"{s['selected']} of {s['clips']} clips selected (score >= {cut}) into "
          f"{os.path.join(args.out, METADATA_FILE)}; {s['failed']} clips failed to decode, "
          f"{s['wrong_duration']} excluded for their length (expected {expected}); "
          f"all listed in {os.path.join(args.out, SUMMARY_FILE)}")
    for f in (s["failed_clips"] + s["wrong_duration_clips"])[:20]:
        print(f"  {f['mtat_path']}: {f['error']}", file=sys.stderr)
    return 0


def _add_build_dataset(subparsers):
    p = subparsers.add_parser("build-dataset", help="rank MagnaTagATune clips and write a training set")
    p.add_argument("--mtat", required=True, metavar="ROOT",
                   help="MagnaTagATune folder (annotations_final.csv and mp3 folders 0-f)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    pick = p.add_mutually_exclusive_group()
    pick.add_argument("--top", type=int, default=None, help="keep the N best clips (default 8000)")
    pick.add_argument("--min-score", type=float, default=None, metavar="X",
                      help="keep every clip scoring at least X")
    p.add_argument("--audio", choices=AUDIO_MODES, default="link",
                   help="put the audio in DIR/audio as hard links (default), copies, symlinks, "
                        "or leave it in place (none)")
    _add_duration_arguments(p, expected="MTAT: ~29.1 s; default: the corpus median",
                            tolerance=f"default {DEFAULT_TOLERANCE:g}")
    _add_batch_arguments(p)
    p.set_defaults(func=_cmd_build)


def _cmd_validate(args) -> int:
    from .dataset.validate import PROBLEMS, read_targets, validate

    try:
        n = len(read_targets(args.target))
        broken = validate(args.target, expected_duration=args.expected_duration,
                          tolerance=args.tolerance, workers=args.workers, dask=args.dask,
                          progress=args.progress)
    except (OSError, RuntimeError, ValueError) as exc:
        print(f"validate: {exc}", file=sys.stderr)
        return 2
    counts = {p: sum(b["problem"] == p for b in broken) for p in PROBLEMS}
    print(f"Broken files: {len(broken)} / {n}")
    for p, c in counts.items():
        if c:
            print(f"  {p}: {c}")
    for b in broken:
        print(f"{b['problem']}\t{b['path']}\t{b['detail']}")
    return 1 if broken else 0


def _add_validate(subparsers):
    p = subparsers.add_parser("validate", help="find missing, empty, truncated, undecodable, "
                                               "silent or mis-sized audio in a dataset")
    p.add_argument("target", metavar="DIR_or_CSV",
                   help="build-dataset folder, training_metadata.csv, MTAT root or scan CSV")
    _add_duration_arguments(p, expected="default: the one build-dataset recorded in summary.json, "
                                        "else the median of all clips",
                            tolerance=f"default: the build's, else {DEFAULT_TOLERANCE:g}")
    _add_batch_arguments(p)
    p.set_defaults(func=_cmd_validate)


def _cmd_demo(args) -> int:
    from .demo import run_demo

    results = run_demo(args.out)
    return 0 if results else 1


def _add_demo(subparsers):
    p = subparsers.add_parser("demo", help="run the main job on built-in synthetic audio")
    p.add_argument("--out", default="demo_out", help="folder for the figure (default: demo_out)")
    p.set_defaults(func=_cmd_demo)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="logdrum", description="Find amapiano log drums in audio.")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_detect, _add_demo, _add_scan, _add_build_dataset, _add_validate):
        add(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
