"""Real recorded drum samples the detector once took for log drums (issue 12).

The samples are four one-shots from Debian's ``hydrogen-drumkits`` (licences in
``tests/data/real_drums/LICENSE.md``). Each holds a pitched, slowly decaying low component that
passes every in-band test; the band edges and the level against the whole signal reject them.
"""

import os

import numpy as np
import pytest

import logdrum
from logdrum import synth
from logdrum.audio_io import load_audio

DATA = os.path.join(os.path.dirname(__file__), "..", "data", "real_drums")


def _load(name):
    return load_audio(os.path.join(DATA, name))


def _reasons_near(a, f_lo, f_hi):
    """Reasons of the rejected candidates pitched in ``[f_lo, f_hi]`` Hz."""
    return {c.reason for c in a.rejected if f_lo <= c.f0_hz <= f_hi}


def test_open_hat_with_a_faint_150_hz_resonance_is_rejected():
    # 150 Hz, tau ~700 ms, tonal and percussive: in band, but ~20 dB under the hat itself
    audio, sr = _load("bja_pacific_HH3_01.flac")
    a = logdrum.analyze(audio, sr)
    assert a.events == () and a.detection() is None
    assert "buried in the mix" in _reasons_near(a, 148.0, 152.0)
    buried = [c for c in a.rejected if c.reason == "buried in the mix"]
    assert all(c.mix_db < logdrum.DEFAULT_CONFIG.mix_level_min_db for c in buried)


def test_open_hat_ringing_at_154_hz_is_out_of_band():
    audio, sr = _load("bja_pacific_HH2_08.flac")
    a = logdrum.analyze(audio, sr)
    assert a.events == () and a.detection() is None
    assert "out of band" in _reasons_near(a, 152.0, 156.0)


@pytest.mark.parametrize("name", ["millo_drums_v1_bd1.flac", "millo_drums_v1_snare1.flac"])
def test_acoustic_bass_drum_and_snare_at_156_hz_are_out_of_band(name):
    # the bass drum rings at 156 Hz with tau ~220 ms: a log drum's decay, not a log drum's pitch
    audio, sr = _load(name)
    a = logdrum.analyze(audio, sr)
    assert a.events == () and a.detection() is None
    assert "out of band" in _reasons_near(a, 152.0, 160.0)


def test_log_drum_over_the_real_open_hat_is_still_found():
    # the same hat (-27 dBFS RMS over its first 256 ms) with a log drum peaking at -20 dBFS: the
    # rules reject the hat's resonance, not the log drum
    audio, sr = _load("bja_pacific_HH3_01.flac")
    x = audio[0].astype(np.float64)
    synth.place(x, synth.log_drum(sr, 90.0, 0.4, glide=1.2, level_db=-20.0, duration=1.7), 0.3, sr)
    det = logdrum.detect_amapiano_log_drums(x, sr)
    assert det is not None
    assert len(det.events) == 1 and abs(det.events[0].f0_hz - 90.0) < 0.05 * 90.0
    assert abs(det.events[0].onset_s - 0.3) < 0.03


def test_the_old_rules_accepted_them():
    # the same samples under the old band slack (5 %) and no mix-level rule: each one fires,
    # so the tests above fail if either rule stops working
    old = logdrum.DetectorConfig(f0_tolerance=0.05, mix_level_min_db=-200.0)
    for name in sorted(os.listdir(DATA)):
        if name.endswith(".flac"):
            audio, sr = _load(name)
            assert logdrum.analyze(audio, sr, old).holds_log_drums, name
