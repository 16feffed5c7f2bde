"""How loud a note's band evidence is against the whole signal at that moment.

A log drum is the loudest low element of an amapiano mix and loud against the rest of it. A
faint low resonance of an open hi-hat or a cymbal (some 25 dB under the hat, 0.4 % of its
energy) is tonal, in band and decays slowly, so every in-band test admits it; only the whole
signal tells it apart. The analysis signal cannot: it is decimated to 2 kHz and the hat's
energy lies above that. So the broadband level is read from the full-rate input, over a short
window after each candidate's onset only: per-candidate work, nothing over the whole clip. A
mean square needs no filter and no every sample: ``_MAX_POINTS`` samples spread over the window
(a prime stride, so no tone aliases onto a fixed phase) estimate it within about half a dB,
at a fixed cost per candidate whatever the sample rate.

``mix_db`` = the note's in-band peak level minus the broadband level of the window (both in
dBFS, a full-scale sine reads 0 dB). A lone log drum reads about +2 dB (its peak over its own
RMS), the log drums of realistic grooves under kicks, hats, claps, chords, bass and voice -5 to
+5 dB (``benchmarks/realmix``), the 150 Hz resonance of a real open hat -19 to -20 dB.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .checks import pcm_scale
from .threads import map_chunks

__all__ = ["broadband_dbfs", "mix_db", "MIX_WINDOW_S"]

#: Length of the window after the onset whose broadband level a note is compared with: the
#: f0 window of :mod:`logdrum.core.events`, long enough to hold the loud part of a log drum.
MIX_WINDOW_S = 0.256

_MAX_POINTS = 256
_PRIMES = (1, 2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97)

# sqrt(2): an RMS read as the peak of a sine, so that a sine's band and broadband levels agree
_SINE_DB = 20.0 * np.log10(np.sqrt(2.0))


def broadband_dbfs(x, sr, onset_s, window_s=MIX_WINDOW_S, *, parallel=False):
    """Broadband level of the mono mix over ``[onset, onset + window_s)`` for each onset.

    Parameters
    ----------
    x : numpy.ndarray
        ``(c, n)`` PCM as returned by :func:`logdrum.core.checks.as_audio_array`.
    sr : float
        Sample rate in Hz.
    onset_s : numpy.ndarray
        Onsets in seconds.
    window_s : float
    parallel : bool
        Read contiguous chunks of the windows side by side on threads
        (:mod:`logdrum.core.threads`; the same numbers).

    Returns
    -------
    numpy.ndarray
        RMS of the channel mean in each window with its mean removed, in dBFS of a sine
        (``20 log10(rms * sqrt(2))``); ``-inf`` for a silent window.
    """
    onset_s = np.asarray(onset_s, dtype=float)
    if onset_s.size == 0:
        return np.empty(0)
    scale, offset = pcm_scale(x.dtype)
    n = x.shape[1]
    length = max(1, int(round(window_s * sr)))
    stride = max(p for p in _PRIMES if p <= max(1, length // _MAX_POINTS))
    starts = np.clip(np.round(onset_s * sr).astype(np.int64), 0, n - 1)
    power = np.concatenate(map_chunks(
        lambda lo, hi: _window_power(x, starts[lo:hi], length, stride, float(scale), float(offset)),
        starts.size, parallel))
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(power) + _SINE_DB


def mix_db(x, sr, peak_dbfs, onset_s, *, parallel=False):
    """``mix_db`` of notes of in-band peak ``peak_dbfs`` starting at ``onset_s`` (see the module
    docstring; arguments as for :func:`broadband_dbfs`)."""
    return np.asarray(peak_dbfs, dtype=float) - broadband_dbfs(x, float(sr), onset_s, parallel=parallel)


@njit(nogil=True, cache=True)
def _window_power(x, starts, length, stride, scale, offset):
    """Mean square, mean removed, of the channel mean at ``s, s + stride, ...`` (under
    ``s + length`` and inside the signal) for each start ``s``. The points are gathered in
    a loop of their own: each is a cache miss (the input is long gone from the cache), and a
    loop doing nothing else keeps the most of them in flight."""
    n = x.shape[1]
    channels = x.shape[0]
    out = np.empty(starts.shape[0])
    seg = np.empty((length + stride - 1) // stride)
    for i in range(starts.shape[0]):
        s = starts[i]
        count = (min(n, s + length) - s + stride - 1) // stride
        seg[:count] = 0.0
        for ch in range(channels):  # channel mean, as the decimator mixes down
            row = x[ch, s:]
            for j in range(count):
                seg[j] += row[j * stride]
        total = 0.0
        for j in range(count):
            seg[j] = (seg[j] / channels - offset) * scale
            total += seg[j]
        mean = total / count
        acc = 0.0
        for j in range(count):
            acc += (seg[j] - mean) ** 2
        out[i] = acc / count
    return out
