"""Entry point: ``python -m musicgen_ft.train --config config.json``.

The same command starts a fresh run or resumes the last one in the configured run directory;
after a spot interruption, just run it again. The exit code says why it ended
(:class:`musicgen_ft.exit_codes.ExitCode`: 0 done or stopped cleanly, 1 error, 2 config,
3 halted by the divergence monitor, 4 budget, 5 save failed, 6 NO-GO at week 5, 7 out of memory).

Under ``torchrun --nproc_per_node=K`` the same command trains with DDP (docs/operations.md).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

from .config import ConfigError, load_config
from .exit_codes import ExitCode
from .inputs import metadata_problem


log = logging.getLogger("musicgen_ft")


class StopSignals:
    """Turn SIGTERM and SIGINT into a flag the loop checks between optimizer steps.

    A spot instance gets SIGTERM about two minutes before it is reclaimed; one optimizer step
    of musicgen-small takes seconds, so finishing the step and writing ``last.ckpt`` fits.
    Used as a context manager; the previous handlers come back on exit.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self):
        self.received = None
        self._old = {}

    def __call__(self):
        """True once a stop signal has arrived."""
        return self.received is not None

    def _handle(self, signum, frame):
        self.received = signal.Signals(signum).name
        log.warning("Received %s: finishing the current step, then saving last.ckpt",
                    self.received)

    def __enter__(self):
        for sig in self.SIGNALS:
            self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self._old.items():
            signal.signal(sig, handler)
        return False


def setup_logging(run_dir, rank=0):
    """Log to stdout and ``<run_dir>/train.log``; returns the handlers to remove later.

    Under torchrun only rank 0 writes the log; the other ranks print errors, marked with their rank.
    """
    if rank:
        fmt = logging.Formatter(f"%(asctime)s %(levelname)-7s [rank {rank}] %(message)s",
                                "%Y-%m-%d %H:%M:%S")
        handlers = [logging.StreamHandler(sys.stdout)]
    else:
        fmt = logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", "%Y-%m-%d %H:%M:%S")
        handlers = [logging.StreamHandler(sys.stdout),
                    logging.FileHandler(Path(run_dir) / "train.log")]
    for h in handlers:
        h.setFormatter(fmt)
        log.addHandler(h)
    log.setLevel(logging.ERROR if rank else logging.INFO)
    log.propagate = False
    return handlers


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m musicgen_ft.train",
        description="Fine-tune MusicGen; starts fresh or resumes the last run automatically.")
    parser.add_argument("--config", required=True, help="JSON config file (see docs/training.md)")
    return parser.parse_args(argv)


def main(argv=None):
    """Run training as the command line does; returns the exit code."""
    args = parse_args(argv)
    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(f"musicgen_ft: configuration error: {exc}", file=sys.stderr)
        return ExitCode.CONFIG
    problem = metadata_problem(cfg.metadata_path)
    if problem:
        print(f"musicgen_ft: configuration error: {problem}", file=sys.stderr)
        return ExitCode.CONFIG
    try:
        cfg.run_path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"musicgen_ft: cannot create run_dir {cfg.run_dir!r}: {exc}", file=sys.stderr)
        return ExitCode.CONFIG
    from .distributed import DistContext

    dist = DistContext()
    handlers = setup_logging(cfg.run_path, dist.rank)
    from .ops.idle import Heartbeat, start_background

    Heartbeat(cfg.run_path).beat()
    if cfg.idle_command and dist.is_main:
        if start_background(args.config, cfg.run_path) is not None:
            log.info("Idle watchdog started: runs %r after %gs without progress",
                     cfg.idle_command, cfg.idle_timeout_s)
    try:
        with StopSignals() as stop:
            with Heartbeat(cfg.run_path).keep_alive():   # start-up is progress for the watchdog
                from .loop import Trainer   # heavy imports (torch, transformers) after validation

            return Trainer(cfg, stop, dist).run()
    except Exception:
        log.exception("Training failed with an unexpected error")
        return ExitCode.ERROR
    finally:
        for h in handlers:
            log.removeHandler(h)
            h.close()


if __name__ == "__main__":
    sys.exit(main())
