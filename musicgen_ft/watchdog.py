"""``python -m musicgen_ft.watchdog --config C``: the idle watchdog as a command.

Runs :class:`musicgen_ft.ops.idle.IdleWatchdog` on the config's run directory until it fires
or another watchdog already holds the run's lock. ``python -m musicgen_ft.train`` starts one in
the background when ``idle_command`` is set; on a server it can also be a systemd service
(docs/operations.md).
"""

from __future__ import annotations

import argparse
import logging
import sys

from .exit_codes import ExitCode

__all__ = ["main"]

log = logging.getLogger("musicgen_ft")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m musicgen_ft.watchdog",
                                     description="Run a command once when training goes idle.")
    parser.add_argument("--config", required=True)
    args = parser.parse_args(argv)
    from evaluation.run_folder import ALERTS_FILE

    from .config import ConfigError, load_config
    from .ops.alerts import AlertLog
    from .ops.idle import IdleWatchdog, acquire_lock
    from .ops.notify import notifier_from_config

    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(f"watchdog: configuration error: {exc}", file=sys.stderr)
        return ExitCode.CONFIG
    cfg.run_path.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                        format="%(asctime)s %(levelname)-7s watchdog: %(message)s")
    lock = acquire_lock(cfg.run_path)
    if lock is None:
        print(f"watchdog: another watchdog already watches {cfg.run_dir}", file=sys.stderr)
        return 0
    alerts = AlertLog(cfg.run_path / ALERTS_FILE, notifier_from_config(cfg))
    log.info("Watching %s: fire after %gs idle, command: %s", cfg.run_dir, cfg.idle_timeout_s,
             cfg.idle_command or "(none, alert only)")
    IdleWatchdog(cfg.run_path, cfg.idle_timeout_s, cfg.idle_command, alerts,
                 check_every=min(cfg.idle_check_seconds, cfg.idle_timeout_s),
                 notify_wait=cfg.alert_timeout_s * (cfg.alert_retries + 1)).run()
    lock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
