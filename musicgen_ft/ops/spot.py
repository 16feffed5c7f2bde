"""Spot interruption notice: poll the instance-metadata ``spot/instance-action`` endpoint.

AWS announces a spot reclaim about two minutes ahead: until then
``http://169.254.169.254/latest/meta-data/spot/instance-action`` answers 404; afterwards 200 with
``{"action": "terminate", "time": "2025-11-25T08:22:00Z"}``. The SIGTERM that follows can come
late or not at all (a hard stop), so a run that polls the notice saves earlier and more surely.

:class:`SpotPoller` polls every ``interval`` seconds (5 s, per the issue) in a daemon thread and,
on a notice, calls ``on_notice(info)`` once; the trainer passes a callback that sets the same
stop flag SIGTERM sets, so the current step finishes, ``last.ckpt`` is written and the process
exits 0. IMDSv2 is used when the metadata service offers it (a session token from
``PUT /latest/api/token``), else a plain GET (IMDSv1, and any test server). A poll that fails
(not on EC2, network hiccup) is logged once and polling goes on.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.parse
import urllib.request

log = logging.getLogger("musicgen_ft")

TOKEN_PATH = "/latest/api/token"
TOKEN_TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"


def _token_url(url):
    parts = urllib.parse.urlsplit(url)
    if "/latest/meta-data/" not in parts.path:
        return None
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, TOKEN_PATH, "", ""))


def check_notice(url, timeout=2.0):
    """Ask the endpoint once.

    Returns
    -------
    dict or None
        The notice (``action``, ``time``, or ``raw`` when the body is not JSON), or ``None`` when
        the endpoint answers 404 (no interruption scheduled).

    Raises
    ------
    OSError
        The endpoint could not be reached or answered something else.
    """
    headers = {}
    token_url = _token_url(url)
    if token_url:
        try:
            req = urllib.request.Request(token_url, method="PUT", headers={TOKEN_TTL_HEADER: "300"})
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                headers[TOKEN_HEADER] = resp.read().decode().strip()
        except (OSError, ValueError):
            pass   # no IMDSv2 here: fall back to a plain GET
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                    timeout=timeout) as resp:
            body = resp.read().decode(errors="replace").strip()
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise OSError(f"HTTP {exc.code} from {url}") from None
    try:
        info = json.loads(body)
        return info if isinstance(info, dict) else {"raw": body}
    except ValueError:
        return {"raw": body}


class SpotPoller:
    """Poll for a spot interruption notice in a daemon thread.

    Parameters
    ----------
    url : str
        The ``spot/instance-action`` URL (configurable; a local server in tests).
    on_notice : callable
        Called once, from the polling thread, with the notice dict.
    interval : float
        Seconds between polls.
    """

    def __init__(self, url, on_notice, interval=5.0):
        self.url, self.on_notice, self.interval = url, on_notice, interval
        self.notice = None
        self.polls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="spot-poller", daemon=True)

    def start(self):
        self._thread.start()
        log.info("Spot interruption poller on: %s every %gs", self.url, self.interval)
        return self

    def stop(self):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval + 5)

    def _run(self):
        warned = False
        while not self._stop.is_set():
            try:
                notice = check_notice(self.url, timeout=min(2.0, self.interval))
                self.polls += 1
            except OSError as exc:
                if not warned:
                    log.warning("Spot notice poll failed (%s); will keep polling", exc)
                    warned = True
                notice = None
            if notice is not None:
                self.notice = notice
                self.on_notice(notice)
                return
            self._stop.wait(self.interval)
