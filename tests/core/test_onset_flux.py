"""The glide-band flux kernel (logdrum.core.onset), growth in magnitude and complex-domain
deviation, against numpy's FFT, its promise on a lone note of any glide, and a note under notes
of the line that beat in its band."""

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

import logdrum
from logdrum import synth
from logdrum.core.frontend import decimate
from logdrum.core.onset import glide_flux_onsets, refine_onsets


def _band_spectra(y, rate, first, f0, hop, n_blocks, n_frames, r_lo, r_hi):
    """Periodic-Hann frames through numpy's rfft, the bins of ``[r_lo f0, r_hi f0]`` (at least
    the one nearest f0), one row a frame."""
    n_fft = hop * n_blocks
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    pad = n_fft + abs(first) + n_frames * hop
    y_pad = np.concatenate([np.zeros(pad), y, np.zeros(pad)])
    spec = np.array([np.fft.rfft(y_pad[pad + first + f * hop:pad + first + f * hop + n_fft] * window)
                     for f in range(n_frames)])
    k_lo, k_hi = int(np.ceil(r_lo * f0 * n_fft / rate)), int(np.floor(r_hi * f0 * n_fft / rate))
    if k_hi < k_lo:
        k_lo = k_hi = int(np.round(f0 * n_fft / rate))
    return spec[:, max(k_lo, 1):k_hi + 1]


def _reference(y, rate, first, f0, hop, n_blocks, n_frames, memory, r_lo, r_hi):
    """Growth in magnitude over the last ``memory`` frames."""
    band = np.abs(_band_spectra(y, rate, first, f0, hop, n_blocks, n_frames, r_lo, r_hi))
    flux = np.zeros(n_frames)
    for f in range(memory, n_frames):
        flux[f] = np.maximum(band[f] - band[f - memory:f].max(axis=0), 0).sum()
    return flux


def _reference_deviation(y, rate, first, f0, hop, n_blocks, n_frames, memory, r_lo, r_hi):
    """The rectified complex-domain deviation: each bin that grew, by its distance from the last
    frame's value turned on by the phase advanced since the frame before (frame-relative
    phases: the distance does not depend on the origin)."""
    band = _band_spectra(y, rate, first, f0, hop, n_blocks, n_frames, r_lo, r_hi)
    flux = np.zeros(n_frames)
    for f in range(max(memory, 2), n_frames):
        advance = band[f - 1] * np.conj(band[f - 2])
        turn = np.divide(advance, np.abs(advance), out=np.ones_like(advance), where=np.abs(advance) > 0)
        grew = np.abs(band[f]) > np.abs(band[f - 1])
        flux[f] = np.abs(band[f] - band[f - 1] * turn)[grew].sum()
    return flux


@pytest.mark.parametrize("deviation", [False, True])
@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), f0=st.floats(50.0, 150.0), first=st.integers(-300, 3000),
       memory=st.integers(1, 8), rate=st.sampled_from([2004.5, 2000.0, 3200.0]))
# frames running past the end of the signal: the running sums' rounding residue once read as
# growth where there was none
@example(seed=0, f0=50.0, first=2824, memory=6, rate=2004.5)
def test_kernel_matches_the_fft(deviation, seed, f0, first, memory, rate):
    assume(memory >= 2 or not deviation)  # the deviation needs two frames of past
    y = np.random.default_rng(seed).standard_normal(3000)
    hop = int(round(0.005 * rate))
    n_blocks, n_frames = 13, 30
    band = (1.0, 3.0) if deviation else (0.92, 1.55)  # the second look's and the first's
    reference = _reference_deviation if deviation else _reference
    flux = reference(y, rate, first, f0, hop, n_blocks, n_frames, memory, *band)
    got = glide_flux_onsets(y, rate, np.array([first]), np.array([f0]), hop, n_blocks, n_frames, memory,
                            *band, 1.0, deviation)[0]
    if flux.max() <= 1e-9 * np.abs(y).max():
        assert got == -1
    else:
        assert flux[got] >= flux.max() * (1 - 1e-9)


def test_refine_onsets_on_threads_gives_the_same_onsets():
    # 300 notes: two chunks on two threads (at least MIN_ROWS each), over a groove's notes
    y, rate = decimate(synth.groove(16000, bars=16, seed=3), 16000)
    rng = np.random.default_rng(1)
    onset_s = rng.uniform(0.0, y.shape[0] / rate, 300)
    f0 = rng.uniform(50.0, 150.0, 300)
    serial = refine_onsets(y, rate, onset_s, f0, parallel=False)
    np.testing.assert_array_equal(refine_onsets(y, rate, onset_s, f0, parallel=True), serial)
    assert np.mean(serial != onset_s) > 0.9  # they were moved: the comparison means something


@settings(max_examples=30, deadline=None)
@given(f0=st.floats(52.0, 148.0), glide=st.floats(1.0, 1.5), drive=st.floats(0.0, 3.0), at=st.floats(0.2, 1.5))
def test_a_lone_note_of_any_glide_reports_its_attack_within_20_ms(f0, glide, drive, at):
    # the band onset, own-envelope crossing and fixed lag alone read a glide from over 170 Hz
    # up to 65 ms late (tests/core/test_onsets.py)
    sr = 16000
    x = np.zeros(int((at + 2.0) * sr))
    synth.place(x, synth.log_drum(sr, f0, 0.4, glide=glide, drive=drive), at, sr)
    own = [e.onset_s - at for e in logdrum.analyze(x, sr).events if abs(np.log(e.f0_hz / f0)) < np.log(1.1)]
    assert own and min(abs(d) for d in own) <= 0.02, own


def test_refine_onsets_on_bad_input_says_what_is_wrong():
    y = np.zeros(4000)
    assert refine_onsets(y, 2000.0, np.array([]), np.array([])).size == 0
    with pytest.raises(ValueError, match="one length"):
        refine_onsets(y, 2000.0, np.array([0.5, 1.0]), np.array([60.0]))
    with pytest.raises(ValueError, match="positive finite pitches"):
        refine_onsets(y, 2000.0, np.array([0.5]), np.array([np.nan]))
    with pytest.raises(ValueError, match="positive finite pitches"):
        refine_onsets(y, 2000.0, np.array([0.5]), np.array([-60.0]))
    with pytest.raises(ValueError, match="rate"):
        refine_onsets(y, 0.0, np.array([0.5]), np.array([60.0]))
    # silence never grows: the first estimate stays
    assert refine_onsets(y, 2000.0, np.array([0.5]), np.array([60.0])).tolist() == [0.5]


def _note_under_two_ringing_notes(rng, sr=16000):
    """A note entering 6-9 dB under two notes of the line still ringing in its glide band (one
    at its own pitch, one 1.1-1.35 times above: they beat there); its onset, pitch and first
    estimate (30 ms early to 60 ms late)."""
    f0, ratio, gap = rng.uniform(55, 110), rng.uniform(1.1, 1.35), rng.uniform(0.2, 0.5)
    glide, level_db = rng.uniform(1.0, 1.4), rng.uniform(-9, -3)
    x = np.zeros(3 * sr)
    synth.place(x, synth.log_drum(sr, f0, 0.6, glide=glide, drive=1.0), 0.2, sr)
    synth.place(x, synth.log_drum(sr, f0 * ratio, 0.6, glide=glide, drive=1.0), 0.5, sr)
    at = 0.5 + gap
    synth.place(x, 10 ** (level_db / 20) * synth.log_drum(sr, f0, 0.5, glide=glide, drive=1.0), at, sr)
    return x, sr, at, f0, at + rng.uniform(-0.03, 0.06)


def test_a_note_under_beating_notes_of_the_line_is_timed_at_its_attack():
    # In 64 ms frames (16 Hz bins) the two ringing notes share the new note's glide band and
    # every beat grows it like an attack: one look at 64 ms put 77 of these 100 notes within
    # 50 ms of their attack; with the 192 ms first look (5.2 Hz bins) 85 are.
    rng = np.random.default_rng(0)
    near = 0
    for _ in range(100):
        x, sr, at, f0, first = _note_under_two_ringing_notes(rng)
        y, rate = decimate(x, sr)
        near += abs(refine_onsets(y, rate, np.array([first]), np.array([f0]))[0] - at) <= 0.05
    assert near >= 82, near
