"""Candidate onsets in the band envelope and the features measured on each.

A candidate is a local maximum of the 50-150 Hz band envelope that rises at least
``candidate_prominence_db`` above the preceding ``attack_ms``; its first onset is where that
rise crosses 3 dB under the peak, and its level is the peak (``too quiet`` below the floor).
Every candidate above the floor is then measured:

- f0, tonality and the pitch glide from spectra of the wide-band analysis signal (30-300 Hz,
  so a tone above the band is measured at its own pitch, not at the band-pass skirt), in
  fixed windows after the peak, all in one batched FFT; f0 is the peak that grew most since
  just before the onset, not simply the largest (the note before may still ring louder);
- attack, extent and decay tau on the note's own narrowband envelope at f0
  (:mod:`logdrum.core.decay`), so neighbouring notes, beating and a kick on the same beat do not
  cut or bend the decay. The onset reported is then read on that envelope too: the band
  envelope's is late where the glide enters the band from above or a kick lands a 16th after
  the note (median 13 ms and 22 % over 50 ms late in realistic mixes, ``benchmarks/realmix``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from . import kernels
from .config import DEFAULT_CONFIG, DetectorConfig
from .decay import note_decays
from .frontend import band_gain_db
from .threads import map_chunks

__all__ = ["CandidateFeatures", "candidate_peaks", "hidden_candidates", "measure_candidates", "note_features",
           "level_at_pitch"]

_F_SEARCH = (30.0, 300.0)
_MAIN_WINDOW_S = 0.256
_GLIDE_WINDOW_S = 0.064
_GLIDE_LATE_S = 0.200
_N_FFT = 512
_FFT_BLOCK = 256  # rows per batched FFT: bounded memory, and a block stays in cache
# The FFT size of a block follows its longest row, so blocks of another height could change
# a result at other analysis rates; not at 2 kHz, where every window fits its nominal size.
# The glide rows are a quarter as long: blocks four times as tall, for the same memory.
_GLIDE_BLOCK = 4 * _FFT_BLOCK
_FULL_CONTRAST_DB = 40.0
# the spectrum a candidate's pitch is compared with: a main window ending 10 ms before its onset
_BEFORE_GAP_S = 0.01
# above this tonality the long window is trusted as it is (well above any tonality_min in use)
_TONALITY_RETRY = 0.7
# narrowband note envelope (logdrum.core.decay): smoothing, where the peak may lie, fit start
_NOTE_SMOOTH_S = 0.03
_NOTE_HOP_S = 0.01
_NOTE_PEAK_SEARCH_S = 0.15
_NOTE_FIT_SKIP_S = 0.06
_NOTE_HOLD_S = 0.1
_NOTE_LOOK_BACK_S = 0.06
# The reported onset. A note rising out of other sound (the line's last note, the bass): where
# its own envelope rose through 8 dB under its peak, less the median lag of that crossing
# after the attack over clean logdrum.synth notes of f0 52-148 Hz, glide 1-1.5, drive 0-3
# (19-109 ms, longest for a wide glide into a high note). A note out of quiet (a rise of
# 30 dB or more): the band envelope's onset, within 16 ms on clean notes, unless the own
# envelope's crossing less its shortest lag is earlier (a kick a 16th after the note).
_NOTE_ONSET_DB = 8.0
_NOTE_ONSET_LAG_S = 0.058
_NOTE_ONSET_MIN_LAG_S = 0.019
_NOTE_OUT_OF_QUIET_DB = 30.0
#: Dip between a peak and a higher one within ``min_separation_ms`` after it that makes them
#: two hits (:func:`hidden_candidates`).
HIDDEN_DIP_DB = 3.0
# hops per thread at the least when the envelope's peaks are picked side by side (a hop takes
# some 10 ns: under a minute of envelope is not worth handing over)
_PEAK_ROWS = 8192


@dataclass
class CandidateFeatures:
    """Column arrays, one entry per candidate (times already corrected for filter delay)."""

    onset_s: np.ndarray
    peak_dbfs: np.ndarray
    attack_db: np.ndarray
    held_db: np.ndarray
    tail_ms: np.ndarray
    decay_ms: np.ndarray
    f0_hz: np.ndarray
    tonality: np.ndarray
    glide_ratio: np.ndarray
    early_ratio: np.ndarray
    #: in-band peak minus the broadband level after the onset (:mod:`logdrum.core.mixlevel`);
    #: filled in by the detector, which holds the full-rate input
    mix_db: np.ndarray = None

    def __post_init__(self):
        if self.mix_db is None:
            self.mix_db = np.full(self.onset_s.shape[0], np.nan)

    def __len__(self):
        return self.onset_s.shape[0]

    def take(self, rows) -> "CandidateFeatures":
        """The candidates ``rows`` (indices or a mask), as new arrays."""
        return CandidateFeatures(**{f.name: getattr(self, f.name)[rows].copy() for f in fields(self)})

    def concat(self, other: "CandidateFeatures") -> "CandidateFeatures":
        """These candidates and then ``other``'s, as new arrays."""
        return CandidateFeatures(**{f.name: np.concatenate([getattr(self, f.name), getattr(other, f.name)])
                                    for f in fields(self)})

    def put(self, rows, other: "CandidateFeatures"):
        """Overwrite the candidates ``rows`` with ``other``, row for row."""
        for f in fields(self):
            getattr(self, f.name)[rows] = getattr(other, f.name)


def _pitch(y, rate, starts, lengths, n_fft, widen=0.0, tonality=True, block=_FFT_BLOCK, before=None):
    """Spectral peak frequency and tonality of the excerpts ``y[s:s+len]``, in blocks of
    ``block`` rows so that memory stays bounded however long the clip (tonality 0 with
    ``tonality=False``, where only the frequency is wanted). ``before``: the ``(starts,
    lengths)`` of the excerpts just before each onset; the peak is then the one that grew
    most since (:func:`logdrum.core.kernels.spectral_peaks`)."""
    f = np.empty(starts.shape[0])
    contrast = np.empty(starts.shape[0])
    buffers = {}  # zeroed frame buffers per FFT size, reused by the blocks
    for lo in range(0, starts.shape[0], block):
        rows = slice(lo, lo + block)
        pre = None if before is None else (before[0][rows], before[1][rows])
        f[rows], contrast[rows] = _pitch_block(y, rate, starts[rows], lengths[rows], n_fft, widen, tonality,
                                               buffers, min(block, starts.shape[0]), pre)
    return f, np.clip(contrast / _FULL_CONTRAST_DB, 0.0, 1.0)


def _frames(y, starts, lengths, n_fft, buffers, key, block):
    if (key, n_fft) not in buffers:
        buffers[key, n_fft] = np.zeros((block, n_fft), np.float32), np.zeros(block, np.int64)
    frames, filled = buffers[key, n_fft]
    kernels.windowed_frames(y, starts, lengths, frames, filled)
    return frames[:starts.shape[0]]


def _pitch_block(y, rate, starts, lengths, n_fft, widen, tonality, buffers, block, before):
    from scipy import fft

    # at analysis rates above 2 kHz a window holds more samples than the nominal FFT size
    n_fft = max(n_fft, 1 << int(np.ceil(np.log2(max(int(lengths.max()), 2)))))
    df = rate / n_fft
    # the flanks start outside the window's main lobe (or outside +-widen of the pitch)
    widths = 2.5 * rate / np.maximum(lengths, 2)
    # the search never reads past the top of the range plus three flank widths
    k_max = min(n_fft // 2 + 1, int((_F_SEARCH[1] * (1 + 3 * widen) + 3 * widths.max()) / df) + 3)
    spec = fft.rfft(_frames(y, starts, lengths, n_fft, buffers, "after", block), axis=1)
    amp_before = None
    if before is not None:
        pre_starts, pre_lengths = before  # never longer than the main window, so than n_fft
        pre = fft.rfft(_frames(y, pre_starts, pre_lengths, n_fft, buffers, "before", block), axis=1)
        # on the scale of each row: a Hann window of L samples sums to (L - 1) / 2
        scale = np.maximum(lengths - 1, 0) / np.maximum(pre_lengths - 1, 1)
        amp_before = np.abs(pre[:, :k_max]) * scale[:, None].astype(np.float32)
    # with widen, the flanks start at least widen * f from the pitch f
    return kernels.spectral_peaks(spec, k_max, df, _F_SEARCH[0], _F_SEARCH[1], widths, widen, tonality,
                                  amp_before)


def _spectral_features(y, rate, peak_at, onset_at):
    """f0, tonality and the early pitch (for the glide) of notes peaking at ``peak_at`` and
    starting at ``onset_at`` (samples).

    f0 is the peak of the main window that grew most since the same window ending just
    before the onset: in a dense line the note before, still ringing, can be louder than the
    new one (read as the largest peak, a note a fourth under a louder one took its pitch and
    failed as not percussive, ``tests/core/test_detector_mixtures.py``). The half-window retry
    and the glide windows keep the largest peak: compared with what came before they lost
    more notes of the built-in groove (a kick or chord starting just before) than they won."""
    room = y.shape[0] - peak_at
    main = int(_MAIN_WINDOW_S * rate)
    pre_end = np.clip(onset_at - int(_BEFORE_GAP_S * rate), 0, y.shape[0])
    pre_start = np.maximum(pre_end - main, 0)
    # under half the window (a note at the start of the clip), too short a look to compare
    # with: nothing before it counts
    pre_len = pre_end - pre_start
    before = (pre_start, np.where(2 * pre_len >= main, pre_len, 0))
    f0, tonality = _pitch(y, rate, peak_at, np.minimum(room, main), _N_FFT, widen=0.15, before=before)
    # Where that is not tonal, try the same note over the first half only: in a dense line the
    # next hit (often a kick a 16th later) sits in the second half of the long window.
    redo = np.flatnonzero(~(tonality >= _TONALITY_RETRY))
    if redo.size:
        f_half, ton_half = _pitch(y, rate, peak_at[redo], np.minimum(room[redo], main // 2),
                                  _N_FFT // 2, widen=0.15)
        better = ton_half > tonality[redo]
        f0[redo[better]] = f_half[better]
        tonality[redo[better]] = ton_half[better]
    return f0, tonality, _glide_pitch(y, rate, peak_at)


def _glide_pitch(y, rate, at):
    """Pitch (largest peak) of the 64 ms from ``at`` (samples), for the glide."""
    g_len = int(_GLIDE_WINDOW_S * rate)
    f, _ = _pitch(y, rate, at, np.minimum(y.shape[0] - at, g_len), _N_FFT // 2, tonality=False,
                  block=_GLIDE_BLOCK if g_len <= _N_FFT // 2 else _FFT_BLOCK)
    return f


def _band_gain(f0, rate, config):
    # Undo the band-pass response at the event's own pitch (-3 dB at the band edges), so a
    # full-scale sine reads 0 dBFS anywhere; capped where the skirt is steep.
    return np.maximum(band_gain_db(f0, rate, config), -20.0)


def level_at_pitch(peak_dbfs, f_from, f_to, rate, config: DetectorConfig = DEFAULT_CONFIG):
    """Peak levels read at pitch ``f_from`` (band-pass response undone there) as read at
    ``f_to`` instead."""
    n = np.shape(f_from)[0]
    gain = _band_gain(np.concatenate([f_from, f_to]), rate, config)  # one call: scipy's is slow
    return peak_dbfs + gain[:n] - gain[n:]


def note_features(y, rate, onset_s, f0, config: DetectorConfig = DEFAULT_CONFIG, parallel=False):
    """Attack, held rise, extent and tau of notes on their narrowband envelopes at ``f0``.

    Parameters
    ----------
    y, rate
        Analysis-rate signal and its rate.
    onset_s, f0 : numpy.ndarray
        Each note's first onset estimate (s) and the pitch (Hz) its envelope is read at.
    config : DetectorConfig
    parallel : bool
        Spread the notes over threads (:mod:`logdrum.core.threads`; the same numbers).

    Returns
    -------
    attack_db, held_db, tail_s, tau_s, rise_at_s : numpy.ndarray
        See :func:`logdrum.core.decay.note_decays`.
    """
    # the note envelope is smoothed over 30 ms anyway: a 10 ms frame is plenty
    hop = max(1, int(round(_NOTE_HOP_S * rate)))

    def frames(seconds):
        return int(round(seconds / _NOTE_HOP_S))

    pre = frames(config.attack_ms * 1e-3)
    starts = np.round(onset_s * rate).astype(np.int64) - pre * hop
    f0 = np.asarray(f0, dtype=float)
    args = (hop, pre, frames(_NOTE_PEAK_SEARCH_S), pre + frames(config.max_tail_ms * 1e-3) + 1,
            float(np.exp(-_NOTE_HOP_S / _NOTE_SMOOTH_S)), config.attack_min_db, config.tail_drop_db,
            config.level_floor_dbfs - 30.0, frames(_NOTE_FIT_SKIP_S), frames(_NOTE_HOLD_S),
            frames(_NOTE_LOOK_BACK_S), _NOTE_ONSET_DB, _NOTE_HOP_S)
    parts = map_chunks(lambda lo, hi: note_decays(y, float(rate), starts[lo:hi], f0[lo:hi], *args),
                       starts.shape[0], parallel)
    return tuple(np.concatenate(columns) for columns in zip(*parts))


def candidate_peaks(env_db, hop_s, config: DetectorConfig = DEFAULT_CONFIG, dip_after_db=0.0, hidden_only=False,
                    parallel=False):
    """Band-envelope peaks that are candidates, and their rise in dB
    (:func:`logdrum.core.kernels.pick_peaks`, ``dip_after_db`` as its ``dip_after``); with
    ``parallel``, stretches of the envelope side by side on threads."""
    hop_ms = hop_s * 1e3
    sep = max(1, int(round(config.min_separation_ms / hop_ms)))
    attack = max(1, int(round(config.attack_ms / hop_ms)))
    # Far below the level floor nothing is worth reporting, not even as "too quiet".
    ignore_below = config.level_floor_dbfs - 30.0
    parts = map_chunks(lambda lo, hi: kernels.pick_peaks(env_db, sep, attack, config.candidate_prominence_db,
                                                         ignore_below, dip_after_db, hidden_only, lo, hi),
                       env_db.shape[0], parallel, min_rows=_PEAK_ROWS)
    return np.concatenate([p for p, _ in parts]), np.concatenate([r for _, r in parts])


def hidden_candidates(y, rate, env_db, hop_s, delay_s, config: DetectorConfig = DEFAULT_CONFIG, *, parallel=False):
    """The peaks :func:`measure_candidates` leaves out because a higher one follows within
    ``min_separation_ms``, though the envelope dips ``HIDDEN_DIP_DB`` between them (a note a
    16th before a louder kick), measured as candidates."""
    peaks = candidate_peaks(env_db, hop_s, config, HIDDEN_DIP_DB, hidden_only=True, parallel=parallel)
    return measure_candidates(y, rate, env_db, hop_s, delay_s, config, parallel=parallel, peaks=peaks)


def measure_candidates(y, rate, env_db, hop_s, delay_s, config: DetectorConfig = DEFAULT_CONFIG, *, parallel=False,
                       peaks=None):
    """Find candidate onsets and measure their features.

    Parameters
    ----------
    y : numpy.ndarray
        Analysis-rate signal from :func:`logdrum.core.frontend.decimate`.
    rate : float
        Its rate in Hz.
    env_db, hop_s, delay_s
        Output of :func:`logdrum.core.frontend.band_envelope`.
    config : DetectorConfig
    parallel : bool
        Measure contiguous chunks of the candidates side by side on threads
        (:mod:`logdrum.core.threads`; the same numbers).
    peaks : tuple of numpy.ndarray, optional
        ``(hops, rises)`` of the envelope peaks to measure; by default
        :func:`candidate_peaks`.

    Returns
    -------
    CandidateFeatures
    """
    peaks, rises = candidate_peaks(env_db, hop_s, config, parallel=parallel) if peaks is None else peaks
    # the candidates are measured each on its own: contiguous chunks of them side by side
    parts = map_chunks(lambda lo, hi: _measure(y, rate, env_db, hop_s, delay_s, config, peaks[lo:hi], rises[lo:hi]),
                       peaks.shape[0], parallel)
    feat = parts[0]
    for part in parts[1:]:
        feat = feat.concat(part)
    return feat


def _measure(y, rate, env_db, hop_s, delay_s, config, peaks, rises):
    """:func:`measure_candidates` of the envelope peaks ``peaks`` (their rises ``rises``)."""
    n = peaks.shape[0]
    peak_dbfs = env_db[peaks].copy()
    onset_s = np.maximum(kernels.onset_times(env_db, peaks, 3.0) * hop_s - delay_s, 0.0)

    f0 = np.full(n, np.nan)
    tonality = np.full(n, np.nan)
    glide = np.full(n, np.nan)
    early_ratio = np.full(n, np.nan)
    attack_db = rises.copy()
    held_db = rises.copy()
    tail_ms = np.zeros(n)
    decay_ms = np.full(n, np.nan)
    idx = np.flatnonzero(peak_dbfs >= config.level_floor_dbfs)
    if idx.size:
        # spectra start at the envelope peak, shifted back by the band-pass delay
        peak_at = np.clip(np.round((peaks[idx] * hop_s - delay_s) * rate).astype(np.int64), 0, y.shape[0] - 2)
        onset_at = np.round(onset_s[idx] * rate).astype(np.int64)
        f0[idx], tonality[idx], f_early = _spectral_features(y, rate, peak_at, onset_at)
        early_ratio[idx] = f_early / f0[idx]

        sel = idx[np.isfinite(f0[idx])]
        attack_db[sel], held_db[sel], tail_s, tau_s, rise_at_s = note_features(y, rate, onset_s[sel], f0[sel], config)
        tail_ms[sel] = tail_s * 1e3
        decay_ms[sel] = tau_s * 1e3
        # A note out of quiet: the band envelope times its attack within 20 ms. A note rising
        # out of other sound (the line's last note, bass, a kick after it): its own envelope.
        own = onset_s[sel] + rise_at_s
        onset_s[sel] = np.maximum(0.0, np.where(
            attack_db[sel] < _NOTE_OUT_OF_QUIET_DB, own - _NOTE_ONSET_LAG_S,
            np.minimum(onset_s[sel], own - _NOTE_ONSET_MIN_LAG_S)))

        # The glide needs the note to last past the late window (only those are measured),
        # and a late pitch far from the early one is another event that took over the
        # window, not a glide.
        lasts = tail_ms[idx] >= (_GLIDE_LATE_S + _GLIDE_WINDOW_S) * 1e3
        late_at = np.minimum(peak_at[lasts] + int(_GLIDE_LATE_S * rate), y.shape[0] - 2)
        ratio = _glide_pitch(y, rate, late_at) / f_early[lasts]
        plausible = (ratio >= 1.0 / config.pitch_stability) & (ratio <= config.pitch_stability)
        glide[idx[lasts]] = np.where(plausible, ratio, np.nan)

        known = np.isfinite(f0)
        peak_dbfs[known] -= _band_gain(f0[known], rate, config)

    return CandidateFeatures(
        onset_s=onset_s, peak_dbfs=peak_dbfs, attack_db=attack_db, held_db=held_db, tail_ms=tail_ms,
        decay_ms=decay_ms, f0_hz=f0, tonality=tonality, glide_ratio=glide, early_ratio=early_ratio,
    )
