"""Decimation keeps the band and keeps aliases out of it; memory stays flat."""

import tracemalloc
from fractions import Fraction

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
    rate = frontend.analysis_rate_of(sr)
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
    # compile (numba allocates) outside the measurement the kernel this length takes: 120 s
    # is long enough for the parallel one, which a 1 s clip alone would leave uncompiled
    frontend.decimate(x[:sr], sr, parallel=frontend.use_parallel(x.size))
    tracemalloc.start()
    frontend.decimate(x, sr)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # the analysis signal is 1/22 of the samples (in float64): far below one copy of the input
    assert peak < 0.25 * x.nbytes


def test_int16_stereo_is_read_in_place():
    sr = 44100
    x = (np.random.default_rng(1).standard_normal((2, 30 * sr)) * 3000).astype(np.int16)
    # compile (numba allocates) outside the measurement
    frontend.decimate(x[:, :sr].copy(), sr, parallel=frontend.use_parallel(x.size))
    tracemalloc.start()
    frontend.decimate(x, sr)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 0.5 * x.nbytes


@pytest.mark.parametrize("sr", [8000, 11025, 16000, 22050, 32000, 44100, 48000, 88200, 96000, 192000])
def test_every_common_rate_is_read_at_the_analysis_rate(sr):
    x = synth.tone(sr, 100.0, 1.0, level_db=0.0, fade=0.0)
    y, rate = frontend.decimate(x, sr)
    assert rate == 2000.0
    assert y.size == pytest.approx(2000, abs=1)
    # the same time grid: sample m of every rate is the input at m / 2000 s
    t = np.arange(y.size) / rate
    core = slice(100, -100)
    ref = np.sin(2 * np.pi * 100.0 * t[core])
    assert np.corrcoef(y[core], ref)[0, 1] > 0.9999


@pytest.mark.parametrize("stage_rate", [44100 / 22, 11025 / 5])
@pytest.mark.parametrize("f", [30.0, 100.0, 150.0, 300.0])
def test_reading_between_samples_keeps_the_pitch_search_range(stage_rate, f):
    # 44.1 kHz is decimated by 22 to 2004.5 Hz and 11.025 kHz by 5 to 2205 Hz, then read on
    # the 2 kHz grid by cubic interpolation: it may cost 0.15 dB up to 300 Hz, the top of
    # the pitch search (logdrum.core.events)
    from logdrum.core import kernels

    u = np.arange(int(4 * stage_rate)) / stage_rate
    out = np.cos(2 * np.pi * f * u)
    n_out = int(3.9 * 2000)
    step = Fraction(stage_rate / 2000.0).limit_denominator(4096)
    kernels.cubic_resample(out, step.numerator, step.denominator, n_out)
    out = out[:n_out]
    t = np.arange(out.size) / 2000.0
    err = out[10:-10] - np.cos(2 * np.pi * f * t[10:-10])
    loss_db = -20 * np.log10(1 - np.abs(err).max())
    assert loss_db < 0.15


@pytest.mark.parametrize("p, q", [(441, 440), (441, 400), (3, 2), (7, 7)])
def test_reading_in_place_equals_reading_a_copy(p, q):
    # the kernel overwrites the signal it reads; every output must see the original samples
    from logdrum.core import kernels

    step = p / q
    y = np.random.default_rng(3).standard_normal(3000)
    n_out = -(-y.size * q // p)
    u = np.arange(n_out) * step
    i = u.astype(int)
    d = u - i
    w = [-d * (d - 1) * (d - 2) / 6, (d + 1) * (d - 1) * (d - 2) / 2, -(d + 1) * d * (d - 2) / 2, (d + 1) * d * (d - 1) / 6]
    padded = np.concatenate([[0.0], y, [0.0, 0.0, 0.0]])
    expected = sum(w[k] * padded[i + k] for k in range(4))
    z = y.copy()
    kernels.cubic_resample(z, p, q, n_out)
    np.testing.assert_allclose(z[:n_out], expected, atol=1e-12)


def _sosfilt_energy(y, rate, hop):
    from scipy.signal import sosfilt

    sos, _ = frontend._band_sos(float(rate), 50.0, 150.0)
    v = sosfilt(sos, y) ** 2
    v = np.concatenate([v, np.zeros(-v.size % hop)])
    return v.reshape(-1, hop).sum(axis=1)


@pytest.mark.parametrize("parallel", [False, True])
def test_the_band_envelope_filtered_in_spans_is_the_one_filter_run(parallel):
    # 150 s: three spans of 60 s, each filtered from rest a settling time before it, against
    # scipy's one run through the whole signal
    rate = 2000.0
    rng = np.random.default_rng(1)
    y = rng.standard_normal(150 * int(rate)) * 0.1
    synth.place(y, synth.log_drum(rate, f0=70.0, tau=0.5), 59.9, rate)  # a note across a span's edge
    env, hop_s, _ = frontend.band_envelope(y, rate, parallel=parallel)
    hop = int(round(hop_s * rate))
    ref = _sosfilt_energy(y, rate, hop)
    width = int(round(frontend.DEFAULT_CONFIG.window_ms / frontend.DEFAULT_CONFIG.hop_ms))
    ref_db = np.empty_like(ref)
    frontend.kernels.smooth_envelope_db(ref, hop, width, ref_db)
    assert np.max(np.abs(env - ref_db)) < 1e-9
    other, _, _ = frontend.band_envelope(y, rate, parallel=not parallel)
    assert np.array_equal(env, other)


def test_the_band_gain_is_scipys_frequency_response():
    from scipy.signal import sosfreqz

    rate = 2004.5454545
    f = np.linspace(1.0, 1000.0, 2000)
    sos, _ = frontend._band_sos(rate, 50.0, 150.0)
    _, h = sosfreqz(sos, worN=f, fs=rate)
    assert np.allclose(frontend.band_gain_db(f, rate), 20 * np.log10(np.abs(h) + 1e-12), atol=1e-8)
    assert frontend.band_gain_db(np.array([np.sqrt(50.0 * 150.0)]), rate)[0] == pytest.approx(0.0, abs=0.01)
