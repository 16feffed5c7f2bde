"""From PCM at any rate to the two signals the detector reads.

1. :func:`decimate` mixes the channels down and brings the audio to the analysis rate (2 kHz)
   in one pass. The anti-alias filter is a 4th-order B-spline (the impulse response of
   four cascaded moving averages, as in a CIC decimator): its nulls sit exactly on the
   multiples of the analysis rate, which are the frequencies that would fold into 0-150 Hz.
   Content 150 Hz either side of them (hats, snares, vocals around 2, 4, 6 kHz) is attenuated
   by at least 85 dB while the band itself loses at most 0.35 dB (at 150 Hz) (``tests/core/test_frontend.py``
   measures both). It costs four multiply-adds per input sample and makes no full-rate copy.
   Where the input rate is not a multiple of the analysis rate (44.1 kHz / 22 = 2004.5 Hz), the
   decimated signal is then read on the analysis rate's own grid by cubic interpolation, so a
   clip resampled between 44.1 kHz and 16, 32 or 48 kHz is read on the same 5 ms grid and the
   same 256 ms windows. Read at 2004.5 Hz, 2.8 % of the realistic mixes' 10 s verdicts changed
   between 44.1 kHz and its resampled copies (``benchmarks/realmix``); read on one grid, none.
2. :func:`band_envelope` band-passes the decimated signal to 50-150 Hz (8th-order Butterworth)
   and returns its amplitude envelope in dBFS on a 5 ms grid.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import numpy as np

from . import kernels
from .config import DEFAULT_CONFIG, DetectorConfig
from .checks import as_audio_array, check_sr, pcm_scale
from .threads import map_chunks, workers

__all__ = ["decimation_factor", "analysis_rate_of", "decimate", "band_envelope", "band_gain_db",
           "use_parallel", "PARALLEL_MIN_SAMPLES"]

#: Inputs at least this long (samples x channels, 95 s of 44.1 kHz mono) take the parallel
#: path, given more than one thread; shorter ones gain less than handing work to threads costs.
PARALLEL_MIN_SAMPLES = 1 << 22
#: Length of the spans the band-pass filters on their own (:func:`band_envelope`).
_SPAN_S = 60.0
_BSPLINE_ORDER = 4
# outputs in one period of the interpolation's positions, at most (44.1 kHz: 440)
_MAX_PERIOD = 4096


def decimation_factor(sr: float, analysis_rate: float = DEFAULT_CONFIG.analysis_rate) -> int:
    """Integer factor of the anti-alias stage: it brings ``sr`` to between ``analysis_rate``
    and twice that."""
    return max(1, int(sr // analysis_rate))


def analysis_rate_of(sr: float, analysis_rate: float = DEFAULT_CONFIG.analysis_rate) -> float:
    """The rate :func:`decimate` returns: ``analysis_rate``, or ``sr`` when that is lower."""
    return float(min(sr, analysis_rate))


def use_parallel(n_samples: int, parallel=None) -> bool:
    """Whether input of ``n_samples`` (samples x channels) takes the parallel path
    (:mod:`logdrum.core.threads`): ``parallel`` where given, else long input when numba may use
    more than one thread."""
    if parallel is not None:
        return bool(parallel)
    return n_samples >= PARALLEL_MIN_SAMPLES and workers() > 1


@lru_cache(maxsize=64)
def _bspline_taps(factor: int) -> np.ndarray:
    h = np.ones(factor)
    for _ in range(_BSPLINE_ORDER - 1):
        h = np.convolve(h, np.ones(factor))
    return h / h.sum()


def decimate(audio, sr, *, analysis_rate: float = DEFAULT_CONFIG.analysis_rate, parallel=None):
    """Mix down and decimate ``audio`` to the analysis rate.

    Parameters
    ----------
    audio : array_like or torch.Tensor
        ``(n,)`` or ``(c, n)`` PCM, any integer or float dtype.
    sr : float
        Sample rate in Hz.
    analysis_rate : float
        The rate returned (``sr`` where that is lower, see :func:`analysis_rate_of`).
    parallel : bool or None
        Force one pass or chunks side by side on threads; ``None`` lets :func:`use_parallel` choose.

    Returns
    -------
    y : numpy.ndarray, float64
        Mono signal at the analysis rate, in full-scale units, with its mean removed,
        time-aligned with the input (sample ``m`` sits at ``m / rate`` seconds).
    rate : float
        The analysis rate in Hz.

    Raises
    ------
    ValueError
        For bad shape, dtype or rate (see :mod:`logdrum.core.checks`), and when the audio holds
        NaN or Inf.
    """
    sr = check_sr(sr)
    x = as_audio_array(audio)
    factor = decimation_factor(sr, analysis_rate)
    h = _bspline_taps(factor)
    delay = (h.shape[0] - 1) // 2
    n_out = -(-x.shape[1] // factor)
    out = np.empty(n_out)
    scale, offset = pcm_scale(x.dtype)
    map_chunks(lambda lo, hi: kernels.decimate_rows(x, h, factor, delay, out, lo, hi), n_out,
               use_parallel(x.size, parallel))
    if offset:
        # unsigned PCM: remove the mid-scale offset, weighted by the taps inside the signal
        out -= offset * x.shape[0] * _tap_weights(n_out, x.shape[1], h, factor, delay)
    if scale != x.shape[0]:  # float mono input: 1, and a pass over the signal saved
        out *= scale / x.shape[0]
    # Every input sample reaches some output with a positive tap, so NaN/Inf anywhere shows in
    # the sum (the mean's own, one pass for both); only a sum overflowing needs a second look.
    total = out.sum()
    if not np.isfinite(total) and not np.isfinite(out).all():
        raise ValueError("audio contains NaN or Inf samples")
    # A constant DC offset (common in cheap recordings and int PCM) would leak into the
    # narrowband note envelopes; content near 0 Hz is never a log drum.
    out -= total / out.shape[0]
    rate = analysis_rate_of(sr, analysis_rate)
    # inputs per output: exact for every common rate (44.1 kHz: 441/440); an odd rate drifts
    # by under a sample an hour
    step = Fraction(sr / factor / rate).limit_denominator(_MAX_PERIOD)
    if step == 1:
        return out, rate
    n_out = -(-out.shape[0] * step.denominator // step.numerator)
    kernels.cubic_resample(out, step.numerator, step.denominator, n_out)
    return out[:n_out], rate


def _tap_weights(n_out, n, h, factor, delay):
    """Sum of the taps that fall inside the signal, per output: 1 except near the ends."""
    weight = np.ones(n_out)
    edge = len(h) // factor + 2
    for m in set(range(min(edge, n_out))) | set(range(max(0, n_out - edge), n_out)):
        start = m * factor - delay
        weight[m] = h[max(0, -start):max(0, min(len(h), n - start))].sum()
    return weight


@lru_cache(maxsize=64)
def _band_sos(rate: float, f_min: float, f_max: float):
    from scipy.signal import butter, group_delay, sos2tf

    sos = butter(4, [f_min, f_max], btype="bandpass", fs=rate, output="sos")
    b, a = sos2tf(sos)
    centre = float(np.sqrt(f_min * f_max))
    _, gd = group_delay((b, a), w=[centre], fs=rate)
    return sos, float(gd[0]) / rate


@lru_cache(maxsize=64)
def _settling_samples(rate: float, f_min: float, f_max: float) -> int:
    """Samples after which the band-pass's response to earlier input has fallen by 1e-20
    (far below double rounding): its slowest pole's radius r, to the power n."""
    sos, _ = _band_sos(rate, f_min, f_max)
    radius = max(float(np.max(np.abs(np.roots(section[3:])))) for section in sos)
    return int(np.ceil(np.log(1e-20) / np.log(radius)))


def band_envelope(y, rate, config: DetectorConfig = DEFAULT_CONFIG, *, parallel=False):
    """Amplitude envelope of the log-drum band of an analysis-rate signal.

    Parameters
    ----------
    y : numpy.ndarray
        Output of :func:`decimate`.
    rate : float
        Its rate in Hz.
    config : DetectorConfig
        Band edges, hop and window.
    parallel : bool
        Filter spans of the signal side by side on threads (:mod:`logdrum.core.threads`; the
        same numbers).

    Returns
    -------
    env_db : numpy.ndarray
        Envelope in dBFS (a full-scale sine in the band reads 0 dB), one value per hop.
    hop_s : float
        Hop in seconds.
    delay_s : float
        Group delay of the band-pass at the band centre; subtract it from envelope times.
    """
    sos, delay_s = _band_sos(float(rate), config.f_min, config.f_max)
    hop = max(1, int(round(config.hop_ms * 1e-3 * rate)))
    width = max(1, int(round(config.window_ms / config.hop_ms)))
    energy = np.empty(-(-y.shape[0] // hop))
    # spans of a minute, each filtered from rest a settling time before it: the same numbers
    # serial or parallel, and those of one run through to within rounding
    span = max(1, int(round(_SPAN_S * rate / hop)))
    warm = -(-_settling_samples(float(rate), config.f_min, config.f_max) // hop)
    map_chunks(lambda lo, hi: kernels.band_energy(y, sos, hop, energy, span, warm, lo, hi),
               -(-energy.shape[0] // span), parallel, min_rows=1)
    env_db = np.empty_like(energy)
    map_chunks(lambda lo, hi: kernels.smooth_envelope_db(energy, hop, width, env_db, lo, hi), energy.shape[0],
               parallel, min_rows=span)
    return env_db, hop / rate, delay_s


def band_gain_db(freqs, rate, config: DetectorConfig = DEFAULT_CONFIG):
    """Gain in dB of the band-pass of :func:`band_envelope` at ``freqs`` (Hz)."""
    sos, _ = _band_sos(float(rate), config.f_min, config.f_max)
    # each section's transfer function at z = exp(2j pi f / rate), as scipy's sosfreqz
    # computes it but without its per-call overhead (a millisecond per call at 10 min)
    z1 = np.exp(-2j * np.pi * np.asarray(freqs, dtype=float) / rate)
    z2 = z1 * z1
    h = np.ones_like(z1)
    for b0, b1, b2, a0, a1, a2 in sos:
        h *= (b0 + b1 * z1 + b2 * z2) / (a0 + a1 * z1 + a2 * z2)
    return 20.0 * np.log10(np.abs(h) + 1e-12)
