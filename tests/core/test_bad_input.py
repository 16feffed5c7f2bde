"""Bad input fails early with a ValueError that names the problem."""

import subprocess
import sys

import numpy as np
import pytest

import logdrum
from logdrum import synth

SR = 16000
GOOD = synth.log_drum(SR, 80.0, 0.4, duration=1.0)


@pytest.mark.parametrize("audio, message", [
    (np.array([]), "empty"),
    (np.zeros((2, 0)), "empty"),
    (np.zeros((2, 3, 100)), "1-D"),
    (np.zeros((1000, 2)), "more channels than samples"),
    (np.array(["a", "b"]), "integer or float"),
    (np.array([True, False] * 100), "integer or float"),
    (np.array([1 + 2j] * 100), "integer or float"),
    ([[1.0, 2.0], [3.0]], "array of samples"),
])
def test_bad_audio_is_named(audio, message):
    with pytest.raises(ValueError, match=message):
        logdrum.analyze(audio, SR)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", [0, 5000, -1])
def test_nan_and_inf_are_reported(bad, where):
    x = GOOD.copy()
    x[where] = bad
    with pytest.raises(ValueError, match="NaN or Inf"):
        logdrum.detect_amapiano_log_drums(x, SR)


def test_nan_in_one_channel_is_reported():
    x = np.stack([GOOD, GOOD])
    x[1, 100] = np.nan
    with pytest.raises(ValueError, match="NaN or Inf"):
        logdrum.amapiano_proxy_score(x, SR)


@pytest.mark.parametrize("sr, message", [
    (0, "positive"), (-44100, "positive"), (float("nan"), "positive"), (float("inf"), "positive"),
    (100, "too low"), (4000, "too low"), (1e6, "maximum"), ("44100", "number"), (None, "number"),
    (True, "number"),
])
def test_bad_sample_rate_is_named(sr, message):
    with pytest.raises(ValueError, match=message):
        logdrum.analyze(GOOD, sr)


def test_bad_config_is_named():
    with pytest.raises(ValueError, match="DetectorConfig"):
        logdrum.analyze(GOOD, SR, config={"f_min": 40})
    with pytest.raises(ValueError, match="f_min < f_max"):
        logdrum.DetectorConfig(f_min=200.0, f_max=100.0)
    with pytest.raises(ValueError, match="tau_min_ms"):
        logdrum.DetectorConfig(tau_min_ms=900.0, tau_max_ms=300.0)
    with pytest.raises(ValueError, match="hop_ms"):
        logdrum.DetectorConfig(hop_ms=0.0)
    with pytest.raises(ValueError, match="finite"):
        logdrum.DetectorConfig(tonality_min=float("nan"))
    with pytest.raises(ValueError, match="line_score_min"):
        logdrum.DetectorConfig(line_score_min=-0.1)


def test_config_overrides_change_the_answer():
    hit = np.zeros(2 * SR)
    synth.place(hit, synth.log_drum(SR, 80.0, 0.4), 0.1, SR)
    assert logdrum.detect_amapiano_log_drums(hit, SR) is not None
    strict = logdrum.DetectorConfig(tau_min_ms=500.0, tau_max_ms=900.0)
    assert logdrum.detect_amapiano_log_drums(hit, SR, config=strict) is None


def test_import_is_light():
    code = "import sys, logdrum; bad = [m for m in ('torch', 'matplotlib') if m in sys.modules]; print(bad)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
