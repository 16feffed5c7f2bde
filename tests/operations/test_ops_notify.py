"""Alert delivery to a real HTTP server on 127.0.0.1 and to a real shell command: retries,
giving up without raising, level filter, and never blocking the caller."""

import json
import logging
import time

from musicgen_ft.ops.alerts import AlertLog, read_alerts
from musicgen_ft.ops.notify import Notifier

from ops_helpers import LocalServer


def flaky(failures):
    """A route that answers 500 ``failures`` times, then 200."""
    def route(server, req):
        n = len(server.at(req["path"]))
        return (500, "try again") if n <= failures else (200, "ok")
    return route


def test_webhook_retries_until_delivered_and_filters_levels(tmp_path):
    with LocalServer({"/hook": flaky(2)}) as srv:
        notifier = Notifier(srv.url + "/hook", retries=3, backoff=0.05, run_dir=tmp_path)
        alerts = AlertLog(tmp_path / "alerts.jsonl", notifier)
        alerts.emit("INFO", "fyi", "below the delivery level")
        alerts.emit("CRITICAL", "nan_loss", "Loss is nan at step 7", step=7)
        assert notifier.close(timeout=10) == 0
        hits = srv.at("/hook")
    assert len(hits) == 3                                  # two 500s, then delivered
    body = json.loads(hits[-1]["body"])
    assert hits[-1]["method"] == "POST"
    assert hits[-1]["headers"]["content-type"] == "application/json"
    assert (body["level"], body["code"], body["step"]) == ("CRITICAL", "nan_loss", 7)
    assert body["text"] == "[CRITICAL] Loss is nan at step 7"
    assert body["run_dir"] == str(tmp_path)
    assert (notifier.delivered, notifier.failed) == (1, 0)
    assert [a["code"] for a in read_alerts(tmp_path / "alerts.jsonl")] == ["fyi", "nan_loss"]


def test_webhook_that_never_answers_well_is_given_up_with_a_log_line(tmp_path, caplog):
    with LocalServer({"/hook": lambda s, r: (503, "down")}) as srv:
        notifier = Notifier(srv.url + "/hook", retries=2, backoff=0.02)
        with caplog.at_level(logging.WARNING, logger="musicgen_ft"):
            notifier.send({"level": "WARNING", "code": "loss_spike", "message": "spike"})
            notifier.close(timeout=10)
        assert len(srv.at("/hook")) == 3
    assert (notifier.delivered, notifier.failed) == (0, 1)
    assert "could not be delivered by webhook after 3 attempts" in caplog.text


def test_delivery_never_blocks_the_caller(tmp_path):
    with LocalServer({"/hook": lambda s, r: (200, "ok")}, delay=1.5) as srv:
        notifier = Notifier(srv.url + "/hook", retries=0)
        t0 = time.monotonic()
        for i in range(3):
            notifier.send({"level": "WARNING", "code": f"w{i}", "message": "slow far end"})
        queued = time.monotonic() - t0
        assert queued < 0.1                     # the training thread moved on at once
        left = notifier.close(timeout=0.5)      # bounded wait at exit
        assert left >= 1
        notifier_done = Notifier(srv.url + "/hook", retries=0)
        notifier_done.send({"level": "WARNING", "code": "x", "message": "m"})
        assert notifier_done.close(timeout=10) == 0


def test_command_gets_the_alert_on_stdin_and_in_the_environment(tmp_path):
    out, env = tmp_path / "alert.json", tmp_path / "env.txt"
    # fails on the first attempt (no marker yet), succeeds on the retry
    cmd = (f'if [ ! -e {tmp_path}/tried ]; then touch {tmp_path}/tried; exit 3; fi; '
           f'cat > {out}; echo "$ALERT_LEVEL|$ALERT_CODE|$ALERT_MESSAGE|$ALERT_RUN_DIR" > {env}')
    notifier = Notifier(command=cmd, retries=1, backoff=0.01, run_dir="/runs/x")
    notifier.send({"level": "CRITICAL", "code": "budget_exhausted", "message": "Budget $600"})
    assert notifier.close(timeout=10) == 0
    assert json.loads(out.read_text())["code"] == "budget_exhausted"
    assert env.read_text().strip() == "CRITICAL|budget_exhausted|Budget $600|/runs/x"
    assert (notifier.delivered, notifier.failed) == (1, 0)
