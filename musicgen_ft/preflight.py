"""Day-0 pre-flight: ``python -m musicgen_ft.preflight --config config.json [--json]``.

Runs every check of the launch checklist that a program can run (:mod:`musicgen_ft.ops.checks`)
and prints one line per check, ``✓`` or ``✗`` with the reason::

    ✓ config: musicgen_ft/configs/musicgen_small.json is valid (facebook/musicgen-small, ...)
    ✗ accelerator: no CUDA GPU visible (device 'auto' would train on the CPU)
    ...
    8 of 9 checks passed: NOT READY

Exit code 0 only when every check passed, 1 when one failed, 2 when the config itself cannot be
read. ``--json`` prints ``{"ok": ..., "checks": [{"name", "ok", "detail"}, ...]}`` instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from .exit_codes import ExitCode
from .ops.checks import run_checks

__all__ = ["main"]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m musicgen_ft.preflight",
                                     description="Day-0 checks before a training run.")
    parser.add_argument("--config", required=True)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--workers", type=int, default=None,
                        help="processes for the dataset check (default: all cores)")
    parser.add_argument("--probe-steps", type=int, default=3,
                        help="optimizer steps timed by the throughput probe (0: skip it)")
    args = parser.parse_args(argv)
    checks = run_checks(args.config, workers=args.workers, probe_steps=args.probe_steps)
    ok = all(c.ok for c in checks)
    if args.json:
        print(json.dumps({"ok": ok, "checks": [asdict(c) for c in checks]}, indent=2,
                         ensure_ascii=False))
    else:
        for c in checks:
            print(c.line())
        passed = sum(c.ok for c in checks)
        print(f"{passed} of {len(checks)} checks passed: {'READY' if ok else 'NOT READY'}")
    if len(checks) == 1 and not ok:
        return ExitCode.CONFIG   # the config itself cannot be read, as the trainer says
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
