"""Spot interruption notice and the idle watchdog, with real processes and a real HTTP server.

End to end: a training subprocess polls a local metadata endpoint that starts returning the
notice mid-run; the run saves last.ckpt and exits 0 like on SIGTERM, its WARNING alert reaches
the webhook, and the idle watchdog the trainer started in the background fires once after the
run has gone quiet: final alert first, then the command.
"""

import json
import time

import pytest

from musicgen_ft.ops.alerts import AlertLog, read_alerts
from musicgen_ft.checkpoint import load_checkpoint
from musicgen_ft.ops.spot import check_notice
from musicgen_ft.ops.idle import FIRED, HEARTBEAT, IdleWatchdog

from ops_helpers import LocalServer, tiny_config, train_steps, wait_for

SPOT = "/latest/meta-data/spot/instance-action"
NOTICE = {"action": "terminate", "time": "2025-11-25T08:22:00Z"}


def spot_route(state):
    def route(server, req):
        return (200, NOTICE) if state["notice"] else (404, "Not Found")
    return route


def test_check_notice_404_notice_and_imdsv2_token(tmp_path):
    state = {"notice": False}

    def token(server, req):
        return (200, "tok-123") if req["method"] == "PUT" else (405, "")

    def guarded(server, req):   # IMDSv2-only service: no token, no answer
        if req["headers"].get("x-aws-ec2-metadata-token") != "tok-123":
            return 401, "Unauthorized"
        return spot_route(state)(server, req)

    with LocalServer({"/latest/api/token": token, SPOT: guarded, "/plain": spot_route(state)}) as s:
        assert check_notice(s.url + SPOT) is None
        state["notice"] = True
        assert check_notice(s.url + SPOT) == NOTICE
        put = s.at("/latest/api/token")[-1]
        assert put["headers"]["x-aws-ec2-metadata-token-ttl-seconds"] == "300"
        assert check_notice(s.url + "/plain") == NOTICE      # no token service: plain GET
    with pytest.raises(OSError):
        check_notice(s.url + SPOT, timeout=0.5)               # server gone


def test_spot_notice_saves_and_exits_then_watchdog_fires_once(tmp_path, ops_data, ops_cache, spawn):
    state = {"notice": False}
    marker = tmp_path / "shutdown.txt"
    with LocalServer({SPOT: spot_route(state), "/hook": lambda s, r: (200, "ok")}) as srv:
        config = tiny_config(tmp_path, ops_data, cache_dir=str(ops_cache), epochs=200,
                             log_every_steps=1, save_every_steps=1000,
                             spot_notice_url=srv.url + SPOT, spot_poll_seconds=0.2,
                             alert_webhook_url=srv.url + "/hook", alert_retry_backoff_s=0.1,
                             idle_command=f"date +%s.%N >> {marker}", idle_timeout_s=6.0,
                             idle_check_seconds=0.2)
        run = tmp_path / "run"
        proc = spawn("musicgen_ft.train", "--config", config)
        wait_for(lambda: len(train_steps(run)) >= 3, 120, "step 3", proc)
        assert not (run / FIRED).exists()          # steps keep the heartbeat fresh
        state["notice"] = True
        noticed = time.monotonic()
        out, _ = proc.communicate(timeout=60)
        took = time.monotonic() - noticed
        assert proc.returncode == 0, out
        assert took < 10
        assert "Spot interruption poller on" in out
        assert "💾 Saved last.ckpt (spot interruption notice" in out
        saved = load_checkpoint(run / "checkpoints" / "last.ckpt")
        assert saved["global_step"] == max(train_steps(run)) < 400   # stopped early, lost nothing

        # the machine is now idle: the background watchdog alerts, then runs the command once
        wait_for(lambda: (run / FIRED).exists(), 30, "the watchdog to fire")
        time.sleep(1.0)                                # it must not fire a second time
        hook = [json.loads(r["body"]) for r in srv.at("/hook")]
    codes = [a["code"] for a in read_alerts(run / "alerts.jsonl")]
    assert codes.count("spot_interruption") == 1 and codes.count("idle_timeout") == 1
    assert [h["code"] for h in hook] == ["spot_interruption", "idle_timeout"]
    assert hook[0]["level"] == "WARNING" and hook[1]["level"] == "CRITICAL"
    lines = marker.read_text().split()
    assert len(lines) == 1
    idle_alert_time = [r["time"] for r in srv.requests if r["path"] == "/hook"][-1]
    assert idle_alert_time <= float(lines[0])      # the final alert went out before the command
    fired = json.loads((run / FIRED).read_text())
    assert fired["returncode"] == 0 and fired["idle_s"] >= 6.0


def test_watchdog_cli_waits_while_steps_come_and_fires_once(tmp_path, spawn):
    marker = tmp_path / "ran.txt"
    config = tmp_path / "c.json"
    run = tmp_path / "run"
    run.mkdir()
    config.write_text(json.dumps({"run_dir": str(run), "idle_timeout_s": 1.5,
                                  "idle_check_seconds": 0.1,
                                  "idle_command": f"echo ran >> {marker}"}))
    proc = spawn("musicgen_ft.watchdog", "--config", config)
    end = time.monotonic() + 3.0                   # twice the timeout, with heartbeats
    while time.monotonic() < end:
        (run / HEARTBEAT).touch()
        time.sleep(0.2)
        assert proc.poll() is None and not marker.exists()
    second = spawn("musicgen_ft.watchdog", "--config", config)   # one watchdog per run
    out2, _ = second.communicate(timeout=60)
    assert second.returncode == 0 and "another watchdog already watches" in out2
    out, _ = proc.communicate(timeout=30)          # heartbeats stopped: fires, then exits
    assert proc.returncode == 0, out
    assert marker.read_text() == "ran\n"
    alerts = read_alerts(run / "alerts.jsonl")
    assert [(a["level"], a["code"]) for a in alerts] == [("CRITICAL", "idle_timeout")]

    # started again on the same idle stretch, it does not fire a second time
    again = IdleWatchdog(run, 1.5, f"echo ran >> {marker}", AlertLog(run / "alerts.jsonl"),
                         check_every=0.1)
    assert again.run(max_seconds=0.5) is None
    assert marker.read_text() == "ran\n"
