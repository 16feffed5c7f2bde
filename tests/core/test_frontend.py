"""Decimation keeps the band and keeps aliases out of it; memory stays flat."""

import tracemalloc

import numpy as np
import pytest

from logdrum import synth
from logdrum.core import frontend


def _band_amplitude(y, rate, lo=40.0, hi=160.0):
    spec = np.abs(np.fft.rfft(y * np.hanning(y.size))) / (np.hanning(y.size).sum() / 2)
    f = np.fft.rfftfreq(y.size, 1.0 / rate)
    return spec[(f >= lo) & (f <= hi)].max()


@pytest.mark.parametrize("sr", [16000, 44100, 48000])
@pytest.mark.parametrize("f", [50.0, 100.0, 150.0])
def test_passband_is_kept(sr, f):
    y, rate = frontend.decimate(synth.tone(sr, f, 2.0, level_db=0.0, fade=0.0), sr)
    t = np.arange(y.size) / rate
    core = slice(200, y.size - 200)
    # amplitude of the known frequency by projection (no window scalloping)
    amp = 2 * np.abs(np.mean(y[core] * np.exp(-2j * np.pi * f * t[core])))
    assert 20 * np.log10(amp) == pytest.approx(0.0, abs=0.35)


@pytest.mark.parametrize("sr", [16000, 22050, 44100, 48000, 96000])
@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("offset", [-150.0, -100.0, -50.0, 50.0, 100.0, 150.0])
def test_aliases_do_not_fold_into_the_band(sr, k, offset):
    rate = sr / frontend.decimation_factor(sr)
    f = k * rate + offset  # would land at |offset| Hz after decimation
    if f >= sr / 2:
        pytest.skip("above Nyquist")
    y, _ = frontend.decimate(synth.tone(sr, f, 2.0, level_db=0.0, fade=0.0), sr)
    assert 20 * np.log10(_band_amplitude(y[200:-200], rate) + 1e-12) < -85.0


def test_time_alignment_is_kept():
    sr = 44100
    x = np.zeros(sr)
    x[22050] = 1.0
    y, rate = frontend.decimate(x, sr)
    assert np.argmax(y) / rate == pytest.approx(0.5, abs=1.0 / rate)


def test_no_full_rate_copy_is_made():
    sr = 44100
    x = np.random.default_rng(0).standard_normal(120 * sr).astype(np.float32)
    frontend.decimate(x[:sr], sr, parallel=True)  # compile outside the measurement
    tracemalloc.start()
    frontend.decimate(x, sr)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # the analysis signal is 1/22 of the samples (in float64): far below one copy of the input
    assert peak < 0.25 * x.nbytes


def test_int16_stereo_is_read_in_place():
    sr = 44100
    x = (np.random.default_rng(1).standard_normal((2, 30 * sr)) * 3000).astype(np.int16)
    tracemalloc.start()
    frontend.decimate(x, sr)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 0.5 * x.nbytes
