"""The ``logdrum`` command line (also ``python -m logdrum``).

Each subcommand lives in its own module with a ``register(subparsers)`` function that adds its
parser and sets ``func``; this file only collects them.
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys

from .jsonsafe import to_json

__all__ = ["main"]

# module names (relative to logdrum) that provide a register(subparsers) function
_COMMAND_MODULES = ["cli", "demo", "scan", "dataset", "validate_dataset"]


def _format_events(analysis) -> str:
    lines = [f"  {'onset_s':>8} {'f0_hz':>7} {'decay_ms':>8} {'glide':>6} {'peak_dbfs':>9} {'conf':>5}"]
    for e in analysis.events:
        glide = f"{e.glide_ratio:6.2f}" if math.isfinite(e.glide_ratio) else f"{'-':>6}"
        lines.append(f"  {e.onset_s:8.3f} {e.f0_hz:7.1f} {e.decay_ms:8.0f} {glide} {e.peak_dbfs:9.1f} {e.confidence:5.2f}")
    return "\n".join(lines)


def _cmd_detect(args) -> int:
    from .audio_io import AudioReadError, load_audio
    from .detector import analyze

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
                print(_format_events(a))
            if reasons:
                print(f"  rejected candidates: {reasons}")
    if args.json:
        print(to_json(results))
    return 1 if failed else 0


def register(subparsers):
    p = subparsers.add_parser("detect", help="find log drums in audio files and print the events")
    p.add_argument("files", nargs="+", metavar="FILE", help="audio files (wav, flac, ogg, mp3)")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(func=_cmd_detect)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="logdrum", description="Find amapiano log drums in audio.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in _COMMAND_MODULES:
        importlib.import_module(f"logdrum.{name}").register(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
