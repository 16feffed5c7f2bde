"""The command line: ``python -m musicgen_ft.demo [--out DIR] [--quick] ...``."""

from __future__ import annotations

import argparse
import sys

from .common import FULL, QUICK, DemoError
from .pipeline import run_demo


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="python -m musicgen_ft.demo",
        description="The whole job end to end on synthetic audio: corpus, dataset, validation, "
                    "fine-tune with a kill and resume, samples, authenticity, GO/NO-GO report.")
    p.add_argument("--out", default="demo_out", help="output folder (default: demo_out); a "
                   "folder from an earlier demo run is wiped, any other non-empty one refused")
    p.add_argument("--quick", action="store_true",
                   help=f"a smaller run for tests: {QUICK.log_drum_clips + QUICK.other_clips + 2} clips, "
                        f"about {QUICK.steps} steps, {QUICK.samples} samples per model")
    p.add_argument("--steps", type=int, default=None, help="optimizer steps to aim for")
    p.add_argument("--samples", type=int, default=None, help="generated clips per model")
    p.add_argument("--workers", type=int, default=None, help="processes for scanning (default: up to 2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the training run and generation")
    args = p.parse_args(argv)
    for name in ("steps", "samples", "workers"):
        v = getattr(args, name)
        if v is not None and v < 1:
            p.error(f"--{name} must be >= 1, got {v}")
    if args.steps is not None and args.steps < 8:
        p.error("--steps must be >= 8 (the run is killed and resumed part-way)")
    return args


def main(argv=None):
    """Run the demo as the command line does; returns the exit code (0, 1 or 2)."""
    args = parse_args(argv)
    size = QUICK if args.quick else FULL
    overrides = {k: v for k, v in (("steps", args.steps), ("samples", args.samples)) if v is not None}
    if overrides:
        from dataclasses import replace

        size = replace(size, **overrides)
        size = replace(size, save_every_steps=max(2, min(size.save_every_steps, size.steps // 4)))
    try:
        run_demo(args.out, size, workers=args.workers, seed=args.seed)
    except DemoError as exc:
        print(f"\ndemo failed: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0
