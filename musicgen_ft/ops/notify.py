"""Alert delivery: WARNING and CRITICAL alerts also go to a webhook URL and/or a shell command.

The launch checklist wants e-mail alerts; an operator plugs in whatever reaches them: a Slack or Teams
incoming webhook, an SNS/HTTP bridge, or a command such as ``mail -s "$ALERT_LEVEL" ops@...``.

- **Webhook**: ``POST`` of the alert record as JSON (``Content-Type: application/json``) with
  the ``"text"`` field Slack expects added. Any 2xx answer is success.
- **Command**: run through ``/bin/sh -c``; the alert JSON arrives on stdin and as environment
  variables ``ALERT_LEVEL``, ``ALERT_CODE``, ``ALERT_MESSAGE``, ``ALERT_JSON``, ``ALERT_RUN_DIR``.
  Exit status 0 is success.
- Delivery never blocks training: :meth:`Notifier.send` puts the alert on a queue that one
  daemon thread drains. A failed attempt is retried ``retries`` times with doubling back-off
  (1 s, 2 s, 4 s ... by default); a delivery that still fails is logged, never raised.
- :meth:`Notifier.close` gives the queue a bounded time to drain at exit (so the CRITICAL alert
  of a stopping run still goes out) and then returns whatever is left undelivered.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import subprocess
import threading
import time
import urllib.request

from evaluation.run_folder import ALERT_LEVELS as LEVELS

log = logging.getLogger("musicgen_ft")

_STOP = object()


class Notifier:
    """Deliver alert records to a webhook and/or a command, in the background.

    Parameters
    ----------
    webhook_url : str, optional
    command : str, optional
        Shell command line.
    min_level : {"INFO", "WARNING", "CRITICAL"}
        Alerts below this level are not delivered (they stay in ``alerts.jsonl``).
    retries : int
        Extra attempts after a failed one.
    timeout : float
        Seconds for one HTTP request or one command run.
    backoff : float
        Seconds before the first retry; doubles with each further one.
    run_dir : str, optional
        Passed to the command as ``ALERT_RUN_DIR`` and to the webhook as ``run_dir``.
    """

    def __init__(self, webhook_url=None, command=None, *, min_level="WARNING", retries=3,
                 timeout=10.0, backoff=1.0, run_dir=None):
        if min_level not in LEVELS:
            raise ValueError(f"min_level must be one of {LEVELS}, got {min_level!r}")
        self.webhook_url, self.command = webhook_url, command
        self.min_rank = LEVELS.index(min_level)
        self.retries, self.timeout, self.backoff = retries, timeout, backoff
        self.run_dir = None if run_dir is None else str(run_dir)
        self.delivered, self.failed = 0, 0
        self._queue = queue.Queue()
        self._thread = threading.Thread(target=self._worker, name="alert-notifier", daemon=True)
        self._thread.start()

    @property
    def enabled(self):
        return bool(self.webhook_url or self.command)

    def send(self, record):
        """Queue one alert record (a dict with ``level``, ``code``, ``message``); never blocks."""
        if record.get("level") in LEVELS and LEVELS.index(record["level"]) >= self.min_rank:
            self._queue.put(dict(record))

    def close(self, timeout=15.0):
        """Wait up to ``timeout`` seconds for queued alerts; returns how many were left."""
        self._queue.put(_STOP)
        self._thread.join(timeout)
        # while the worker is still busy, the stop marker is among what is left
        return max(0, self._queue.qsize() - 1) if self._thread.is_alive() else 0

    # ---- delivery ----------------------------------------------------------------------
    def _worker(self):
        while True:
            record = self._queue.get()
            if record is _STOP:
                return
            for name, target, deliver in (("webhook", self.webhook_url, self._post),
                                          ("command", self.command, self._run)):
                if target:
                    self._with_retries(name, deliver, record)

    def _with_retries(self, name, deliver, record):
        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                deliver(record)
                self.delivered += 1
                return True
            except Exception as exc:   # any failure of the far end is retried, then logged
                error = exc
            if attempt < self.retries:
                time.sleep(delay)
                delay *= 2
        self.failed += 1
        log.warning("Alert %s could not be delivered by %s after %d attempts: %s",
                    record.get("code"), name, self.retries + 1, error)
        return False

    def _payload(self, record):
        text = f"[{record.get('level')}] {record.get('message')}"
        return {**record, "text": text, "run_dir": self.run_dir}

    def _post(self, record):
        body = json.dumps(self._payload(record), default=str).encode()
        req = urllib.request.Request(self.webhook_url, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:
            if not 200 <= resp.status < 300:
                raise OSError(f"HTTP {resp.status}")

    def _run(self, record):
        payload = json.dumps(self._payload(record), default=str)
        env = dict(os.environ, ALERT_LEVEL=str(record.get("level")),
                   ALERT_CODE=str(record.get("code")), ALERT_MESSAGE=str(record.get("message")),
                   ALERT_JSON=payload, ALERT_RUN_DIR=self.run_dir or "")
        done = subprocess.run(["/bin/sh", "-c", self.command], input=payload, text=True, env=env,
                              capture_output=True, timeout=self.timeout)
        if done.returncode != 0:
            raise OSError(f"exit status {done.returncode}: {done.stderr.strip()[:200]}")


def notifier_from_config(cfg):
    """A :class:`Notifier` for ``cfg``'s ``alert_webhook_url``/``alert_command``, or ``None``."""
    if not (cfg.alert_webhook_url or cfg.alert_command):
        return None
    return Notifier(cfg.alert_webhook_url, cfg.alert_command, min_level=cfg.alert_min_level,
                    retries=cfg.alert_retries, timeout=cfg.alert_timeout_s,
                    backoff=cfg.alert_retry_backoff_s, run_dir=cfg.run_dir)
