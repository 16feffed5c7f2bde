"""``logdrum detect`` and ``logdrum demo`` as a user runs them: real files, real processes."""

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from logdrum import synth

SR = 16000


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "logdrum", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


@pytest.fixture
def files(tmp_path):
    hit = synth.place(np.zeros(2 * SR), synth.log_drum(SR, 80.0, 0.4), 0.2, SR)
    paths = {
        "hit": tmp_path / "hit.wav",
        "stereo": tmp_path / "groove.flac",
        "noise": tmp_path / "noise.ogg",
        "empty": tmp_path / "empty.wav",
        "junk": tmp_path / "junk.mp3",
    }
    sf.write(paths["hit"], hit, SR, subtype="PCM_16")
    g = synth.groove(SR, bars=4)
    sf.write(paths["stereo"], np.stack([g, g]).T, SR)
    sf.write(paths["noise"], synth.noise(SR, 2.0, level_db=-6.0), SR)
    paths["empty"].write_bytes(b"")
    paths["junk"].write_bytes(b"this is not audio" * 100)
    return paths


def test_detect_prints_verdicts_and_events(files):
    out = run("detect", str(files["hit"]), str(files["stereo"]), str(files["noise"]))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert any(l.startswith(str(files["hit"])) and "LOG DRUMS" in l and "1 events" in l for l in lines)
    assert any(l.startswith(str(files["stereo"])) and "LOG DRUMS" in l for l in lines)
    assert any(l.startswith(str(files["noise"])) and "no log drums" in l for l in lines)
    assert any(l.split()[:2] and l.split()[1] == "80.0" for l in lines if l.startswith("  "))


def test_detect_json_is_valid_and_complete(files):
    out = run("detect", "--json", str(files["hit"]), str(files["noise"]))
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert [d["file"] for d in data] == [str(files["hit"]), str(files["noise"])]
    hit, noise = data
    assert hit["holds_log_drums"] is True and len(hit["events"]) == 1
    assert hit["events"][0]["f0_hz"] == pytest.approx(80.0, rel=0.03)
    assert hit["events"][0]["decay_ms"] == pytest.approx(400.0, rel=0.15)
    assert noise["holds_log_drums"] is False
    assert all(set(c) >= {"onset_s", "reason"} for c in noise["rejected"])


def test_detect_reports_bad_files_and_carries_on(files):
    out = run("detect", "--json", str(files["empty"]), str(files["hit"]), str(files["junk"]),
              str(files["hit"].with_name("missing.wav")))
    assert out.returncode == 1
    data = json.loads(out.stdout)
    assert "empty" in data[0]["error"]
    assert data[1]["holds_log_drums"] is True
    assert "cannot decode" in data[2]["error"]
    assert "not found" in data[3]["error"]


def test_demo_runs_and_writes_its_figure(tmp_path):
    out = run("demo", "--out", str(tmp_path / "demo"))
    assert out.returncode == 0, out.stderr
    assert "Verdicts matching expectation: 8/8" in out.stdout
    png = (tmp_path / "demo" / "detections.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20000
