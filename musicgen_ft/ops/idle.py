"""Idle watchdog: the launch checklist's auto-shutdown after 2 idle hours, as a small process.

The trainer touches ``<run_dir>/heartbeat`` whenever it makes progress (an optimizer step, a
validation batch, an encoded clip; start-up and model loading count for up to 10 minutes). The watchdog, a separate process so that it also sees a
run that has finished, crashed or hung, checks the heartbeat every ``idle_check_seconds``. When
nothing has moved for ``idle_timeout_s`` (default 2 h), it

1. raises a CRITICAL ``idle_timeout`` alert (``alerts.jsonl``, the log, and the configured
   webhook/command, waiting up to ``alert_timeout_s`` for delivery);
2. runs ``idle_command`` once (e.g. ``sudo shutdown -h now``) through ``/bin/sh -c``;
3. records what it did in ``watchdog_fired.json`` and exits.

A watchdog started again on the same idle stretch (same heartbeat) does not fire again.
``flock`` on ``watchdog.lock`` keeps it to one watchdog per run directory; ``python -m
musicgen_ft.train`` starts one in the background when ``idle_command`` is set, or run it
yourself (e.g. as a systemd service, see docs/operations.md)::

    python -m musicgen_ft.watchdog --config config.json
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from logdrum.io.atomic import write_json_atomic

HEARTBEAT = "heartbeat"
LOCK = "watchdog.lock"
FIRED = "watchdog_fired.json"

log = logging.getLogger("musicgen_ft")


class Heartbeat:
    """Touch ``<run_dir>/heartbeat`` at most every ``every`` seconds."""

    def __init__(self, run_dir, every=1.0):
        self.path = Path(run_dir) / HEARTBEAT
        self.every = every
        self._last = -float("inf")

    def beat(self):
        now = time.monotonic()
        if now - self._last < self.every:
            return
        self._last = now
        self._touch()

    def _touch(self):
        try:
            self.path.touch()
        except OSError:
            pass   # a full disk must not stop training; the checkpoint path reports it

    @contextlib.contextmanager
    def keep_alive(self, limit=600.0):
        """Beat every second during a long call that has no steps (imports, model loading),
        for at most ``limit`` seconds, so that a hang there is still caught."""
        stop = threading.Event()

        def run():
            end = time.monotonic() + limit
            while time.monotonic() < end:
                self._touch()
                if stop.wait(1.0):
                    return
        thread = threading.Thread(target=run, name="heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()


def last_activity(run_dir, default):
    """Wall-clock time of the last heartbeat, or ``default`` when there is none."""
    try:
        return os.stat(Path(run_dir) / HEARTBEAT).st_mtime
    except OSError:
        return default


class IdleWatchdog:
    """Watch one run directory's heartbeat; fire once after ``timeout`` seconds idle.

    Parameters
    ----------
    run_dir : str or Path
    timeout : float
        Seconds without a heartbeat before firing.
    command : str, optional
        Shell command run once when firing; ``None``: alert only.
    alerts : AlertLog
        Receives the final CRITICAL alert (and delivers it if it has a notifier).
    check_every : float
    """

    def __init__(self, run_dir, timeout, command, alerts, check_every=30.0, notify_wait=10.0):
        self.run_dir = Path(run_dir)
        self.timeout, self.command, self.alerts = timeout, command, alerts
        self.check_every, self.notify_wait = check_every, notify_wait
        self.started = time.time()

    def _already_fired(self, heartbeat):
        try:
            fired = json.loads((self.run_dir / FIRED).read_text())
        except (OSError, ValueError):
            return False
        return fired.get("heartbeat") == heartbeat

    def idle_for(self):
        return time.time() - last_activity(self.run_dir, self.started)

    def run(self, max_seconds=None):
        """Watch until firing (returns the fired record) or ``max_seconds`` pass (``None``)."""
        end = None if max_seconds is None else time.monotonic() + max_seconds
        while end is None or time.monotonic() < end:
            heartbeat = last_activity(self.run_dir, None)
            if self.idle_for() >= self.timeout and not self._already_fired(heartbeat):
                return self.fire(heartbeat)
            time.sleep(self.check_every)
        return None

    def fire(self, heartbeat):
        idle = self.idle_for()
        what = f"running: {self.command}" if self.command else "no idle_command configured"
        self.alerts.emit("CRITICAL", "idle_timeout",
                         f"No training progress for {idle / 60:.1f} min (limit "
                         f"{self.timeout / 60:.1f} min); {what}", idle_s=round(idle, 1))
        if self.alerts.notifier is not None:
            left = self.alerts.notifier.close(self.notify_wait)
            if left:
                log.warning("%d alert(s) not delivered before the idle command", left)
        record = {"time": time.time(), "heartbeat": heartbeat, "idle_s": round(idle, 1),
                  "command": self.command, "returncode": None}
        if self.command:
            done = subprocess.run(["/bin/sh", "-c", self.command], capture_output=True,
                                  text=True)
            record["returncode"] = done.returncode
            record["output"] = (done.stdout + done.stderr)[-2000:]
            log.info("Idle command exited with %d", done.returncode)
        write_json_atomic(self.run_dir / FIRED, record)
        return record


def acquire_lock(run_dir):
    """The open lock file when this process is the run's only watchdog, else ``None``."""
    f = open(Path(run_dir) / LOCK, "a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        return None
    f.seek(0)
    f.truncate()
    f.write(str(os.getpid()))
    f.flush()
    return f


def start_background(config_path, run_dir):
    """Start ``python -m musicgen_ft.watchdog`` detached (it outlives the trainer).

    Does nothing when a watchdog already holds the run's lock; returns the process or ``None``.
    """
    probe = acquire_lock(run_dir)
    if probe is None:
        return None
    probe.close()   # releases the lock for the child (a race only starts a second, idle one)
    out = open(Path(run_dir) / "watchdog.log", "a")
    return subprocess.Popen([sys.executable, "-m", "musicgen_ft.watchdog", "--config",
                             str(Path(config_path).resolve())], stdin=subprocess.DEVNULL,
                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
