"""Candidate onsets in the band envelope and the features measured on each.

A candidate is a local maximum of the band envelope that rises at least
``candidate_prominence_db`` above the preceding ``attack_ms``. For each one this module measures
what the classifier (:mod:`logdrum.classify`) needs:

- ``peak_dbfs`` and ``attack_db`` from the envelope;
- the decay segment (to the valley before the next candidate, ``tail_drop_db`` below the peak,
  or ``max_tail_ms``) and tau, fitted on its later two thirds. Fitting late is how a log drum
  is told from a kick in the same band: a kick (tau ~50 ms) has fallen by 25 dB within 150 ms,
  so when both hit together the early part of the segment is the kick and the late part is the
  log drum; a lone kick's late part still decays at the kick's rate;
- f0, tonality and pitch glide from the spectrum of the wide-band analysis signal (30-300 Hz),
  so a tone above the band is measured at its own pitch, not at the band-pass skirt.

Only candidates that pass the cheap checks (level, attack, segment length) get the spectral
analysis, and all of those are done in one batched FFT.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import kernels
from .config import DEFAULT_CONFIG, DetectorConfig
from .frontend import band_gain_db

__all__ = ["CandidateFeatures", "measure_candidates"]

_F_SEARCH = (30.0, 300.0)
_MAIN_WINDOW_S = 0.256
_GLIDE_WINDOW_S = 0.064
_GLIDE_LATE_S = 0.200
_N_FFT = 1024
_FULL_CONTRAST_DB = 40.0


@dataclass
class CandidateFeatures:
    """Column arrays, one entry per candidate (times already corrected for filter delay)."""

    onset_s: np.ndarray
    peak_dbfs: np.ndarray
    attack_db: np.ndarray
    tail_ms: np.ndarray
    decay_ms: np.ndarray
    f0_hz: np.ndarray
    tonality: np.ndarray
    glide_ratio: np.ndarray
    early_ratio: np.ndarray

    def __len__(self):
        return self.onset_s.shape[0]


def _pitch(y, rate, starts, lengths, n_fft, widen=0.0):
    """Spectral peak frequency and tonality of the excerpts ``y[s:s+len]``."""
    frames = kernels.windowed_frames(y, starts, lengths, n_fft)
    power = np.fft.rfft(frames, axis=1)
    power = power.real ** 2 + power.imag ** 2
    df = rate / n_fft
    # the flanks start outside the window's main lobe (or outside +-widen of the pitch)
    widths = 2.5 * rate / np.maximum(lengths, 2)
    f, contrast = kernels.spectral_peaks(power, df, _F_SEARCH[0], _F_SEARCH[1], widths)
    if widen > 0:
        f, contrast = kernels.spectral_peaks(
            power, df, _F_SEARCH[0], _F_SEARCH[1], np.maximum(widths, widen * np.nan_to_num(f)))
    return f, np.clip(contrast / _FULL_CONTRAST_DB, 0.0, 1.0)


def measure_candidates(y, rate, env_db, hop_s, delay_s, config: DetectorConfig = DEFAULT_CONFIG):
    """Find candidate onsets and measure their features.

    Parameters
    ----------
    y : numpy.ndarray
        Analysis-rate signal from :func:`logdrum.frontend.decimate`.
    rate : float
        Its rate in Hz.
    env_db, hop_s, delay_s
        Output of :func:`logdrum.frontend.band_envelope`.
    config : DetectorConfig

    Returns
    -------
    CandidateFeatures
    """
    hop_ms = hop_s * 1e3
    sep = max(1, int(round(config.min_separation_ms / hop_ms)))
    attack = max(1, int(round(config.attack_ms / hop_ms)))
    # Far below the level floor nothing is worth reporting, not even as "too quiet".
    ignore_below = config.level_floor_dbfs - 30.0
    peaks, rises = kernels.pick_peaks(env_db, sep, attack, config.candidate_prominence_db, ignore_below)
    n = peaks.shape[0]
    max_len = int(round(config.max_tail_ms / hop_ms))
    ends = kernels.decay_segments(env_db, peaks, rises, config.attack_min_db, config.tail_drop_db,
                                   ignore_below, max_len)
    tau_s = kernels.fit_decay(env_db, peaks, ends, hop_s)
    tail_ms = (ends - peaks) * hop_ms
    peak_dbfs = env_db[peaks]

    f0 = np.full(n, np.nan)
    tonality = np.full(n, np.nan)
    glide = np.full(n, np.nan)
    early_ratio = np.full(n, np.nan)
    # Only candidates that pass the cheap checks get the spectral analysis.
    idx = np.flatnonzero((peak_dbfs >= config.level_floor_dbfs) & (rises >= config.attack_min_db)
                         & (tail_ms >= config.min_tail_ms))
    if idx.size:
        # Sample positions in y, shifted back by the band-pass delay to meet the waveform.
        shift = int(round(delay_s * rate))
        to_sample = hop_s * rate
        seg_start = np.clip(np.round(peaks[idx] * to_sample).astype(np.int64) - shift, 0, y.shape[0] - 2)
        seg_end = np.minimum(y.shape[0], np.round(ends[idx] * to_sample).astype(np.int64) - shift)
        seg_len = np.clip(seg_end - seg_start, 2, y.shape[0] - seg_start)
        g_len = int(_GLIDE_WINDOW_S * rate)
        late_start = seg_start + np.minimum(int(_GLIDE_LATE_S * rate), np.maximum(seg_len - g_len, 0))

        main_len = np.minimum(seg_len, int(_MAIN_WINDOW_S * rate))
        f0[idx], tonality[idx] = _pitch(y, rate, seg_start, main_len, _N_FFT, widen=0.15)
        f_glide, _ = _pitch(y, rate, np.concatenate([seg_start, late_start]),
                            np.concatenate([np.minimum(seg_len, g_len),
                                            np.minimum(g_len, y.shape[0] - late_start)]), _N_FFT // 2)
        f_early, f_late = f_glide[:idx.size], f_glide[idx.size:]
        early_ratio[idx] = f_early / f0[idx]
        # the glide needs a late window clearly after the early one
        glide[idx] = np.where(late_start - seg_start >= g_len, f_late / f_early, np.nan)

    peak_dbfs = peak_dbfs.copy()
    known = np.isfinite(f0)
    if known.any():
        # Undo the band-pass response at the event's own pitch (-3 dB at the band edges),
        # so a full-scale sine reads 0 dBFS anywhere; capped where the skirt is steep.
        peak_dbfs[known] -= np.maximum(band_gain_db(f0[known], rate, config), -20.0)
    onset_s = kernels.onset_times(env_db, peaks, 3.0) * hop_s - delay_s
    return CandidateFeatures(
        onset_s=np.maximum(onset_s, 0.0),
        peak_dbfs=peak_dbfs,
        attack_db=rises,
        tail_ms=tail_ms.astype(float),
        decay_ms=tau_s * 1e3,
        f0_hz=f0,
        tonality=tonality,
        glide_ratio=glide,
        early_ratio=early_ratio,
    )
