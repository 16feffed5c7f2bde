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
_N_FFT = 2048
_FULL_CONTRAST_DB = 40.0


@dataclass
class CandidateFeatures:
    """Column arrays, one entry per candidate (times already corrected for filter delay)."""

    onset_s: np.ndarray
    peak_dbfs: np.ndarray
    attack_db: np.ndarray
    tail_ms: np.ndarray
    decay_ms: np.ndarray
    roughness_db: np.ndarray
    f0_hz: np.ndarray
    tonality: np.ndarray
    glide_ratio: np.ndarray
    early_ratio: np.ndarray

    def __len__(self):
        return self.onset_s.shape[0]


def _onset_times(env_db, peaks, hop_s):
    # Onset = where the rise crosses 3 dB below the peak; with a 20 ms energy window that is
    # where a sharp attack actually starts.
    times = np.empty(peaks.shape[0])
    for i, p in enumerate(peaks):
        target = env_db[p] - 3.0
        k = p
        while k > 0 and env_db[k - 1] > target:
            k -= 1
        if k == 0:
            times[i] = 0.0
            continue
        lo, hi = env_db[k - 1], env_db[k]
        frac = (target - lo) / (hi - lo) if hi > lo else 0.0
        times[i] = (k - 1 + frac) * hop_s
    return times


def _spectral(y, rate, starts, lengths):
    frames = kernels.windowed_frames(y, starts, lengths, _N_FFT)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    df = rate / _N_FFT
    # +-15 % of the pitch, but never narrower than the window's main lobe
    lobe = 2.5 * rate / np.maximum(lengths, 2)
    return power, df, lobe


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
    ends = kernels.decay_segments(env_db, peaks, config.tail_drop_db, ignore_below, max_len)
    tau_s, rough_db = kernels.fit_decay(env_db, peaks, ends, hop_s)
    tail_ms = (ends - peaks) * hop_ms

    f0 = np.full(n, np.nan)
    tonality = np.full(n, np.nan)
    glide = np.full(n, np.nan)
    early_ratio = np.full(n, np.nan)
    worth = ((env_db[peaks] >= config.level_floor_dbfs) & (rises >= config.attack_min_db)
             & (tail_ms >= config.min_tail_ms))
    idx = np.flatnonzero(worth)
    if idx.size:
        # Sample positions in y, shifted back by the band-pass delay to meet the waveform.
        shift = int(round(delay_s * rate))
        to_sample = hop_s * rate
        seg_start = np.maximum(0, np.round(peaks[idx] * to_sample).astype(np.int64) - shift)
        seg_end = np.minimum(y.shape[0], np.round(ends[idx] * to_sample).astype(np.int64) - shift)
        seg_len = np.maximum(seg_end - seg_start, 2)
        seg_len = np.minimum(seg_len, y.shape[0] - seg_start)

        main_len = np.minimum(seg_len, int(_MAIN_WINDOW_S * rate))
        g_len = int(_GLIDE_WINDOW_S * rate)
        early_len = np.minimum(seg_len, g_len)
        late_start = seg_start + np.minimum(int(_GLIDE_LATE_S * rate), np.maximum(seg_len - g_len, 0))
        late_len = np.minimum(g_len, y.shape[0] - late_start)

        starts = np.concatenate([seg_start, seg_start, late_start])
        lengths = np.concatenate([main_len, early_len, late_len]).astype(np.int64)
        power, df, lobe = _spectral(y, rate, starts, lengths)
        m = idx.size
        widths = np.maximum(lobe, 0.0)
        f_all, _ = kernels.spectral_peaks(power, df, _F_SEARCH[0], _F_SEARCH[1], widths)
        # tonality: widen the main window's tolerance to +-15 % of its own pitch
        main_w = np.maximum(lobe[:m], 0.15 * np.nan_to_num(f_all[:m], nan=0.0))
        f_main, share_main = kernels.spectral_peaks(power[:m], df, _F_SEARCH[0], _F_SEARCH[1], main_w)
        f0[idx] = f_main
        # 0 dB of contrast reads 0, 40 dB (a clean tone) reads 1
        tonality[idx] = np.clip(share_main / _FULL_CONTRAST_DB, 0.0, 1.0)
        # the glide needs a late window clearly after the early one
        has_late = (late_start - seg_start) >= g_len
        ratio = f_all[2 * m:] / f_all[m:2 * m]
        glide[idx] = np.where(has_late, ratio, np.nan)
        early_ratio = np.full(n, np.nan)
        early_ratio[idx] = f_all[m:2 * m] / f_main

    peak_dbfs = env_db[peaks].copy()
    known = np.isfinite(f0)
    if known.any():
        # Undo the band-pass response at the event's own pitch (-3 dB at the band edges),
        # so a full-scale sine reads 0 dBFS anywhere; capped where the skirt is steep.
        gain_db = band_gain_db(f0[known], rate, config)
        peak_dbfs[known] -= np.maximum(gain_db, -20.0)
    onset_s = _onset_times(env_db, peaks, hop_s) - delay_s
    return CandidateFeatures(
        onset_s=np.maximum(onset_s, 0.0),
        peak_dbfs=peak_dbfs,
        attack_db=rises,
        tail_ms=tail_ms.astype(float),
        decay_ms=tau_s * 1e3,
        roughness_db=rough_db,
        f0_hz=f0,
        tonality=tonality,
        glide_ratio=glide,
        early_ratio=early_ratio,
    )
