"""The public detector: :func:`analyze` and :func:`detect_amapiano_log_drums`."""

from __future__ import annotations

import numpy as np

from .classify import classify, event_confidence, reject_reasons
from .clip import score_onsets
from .config import DEFAULT_CONFIG, DetectorConfig
from .events import hidden_candidates, measure_candidates
from .frontend import band_envelope, decimate, use_parallel
from .line import (hidden_notes, lifting_notes, line_candidates, line_notes, one_strike, repitched_notes,
                   weak_candidates, weak_notes)
from .mixlevel import mix_db
from .onset import refine_onsets
from .result import REJECT_REASONS, Analysis
from .checks import as_audio_array

__all__ = ["analyze", "detect_amapiano_log_drums"]

_MIX_CHECK = REJECT_REASONS.index("buried in the mix")
_SAME_NOTE = REJECT_REASONS.index("same note")


def _config(config):
    if config is None:
        return DEFAULT_CONFIG
    if not isinstance(config, DetectorConfig):
        raise ValueError(f"config must be a DetectorConfig, got {type(config).__name__}")
    return config


def analyze(audio, sr, config=None, *, parallel=None) -> Analysis:
    """Analyse a clip: accepted log-drum events, rejected candidates and why, clip score.

    Parameters
    ----------
    audio : array_like or torch.Tensor
        ``(n,)`` or channels-first ``(c, n)`` PCM, float (full scale 1.0) or integer, numpy or
        torch (CPU or GPU; torch is never imported by logdrum).
    sr : float
        Sample rate in Hz, 8 kHz to 384 kHz.
    config : DetectorConfig, optional
        Thresholds; :data:`logdrum.DEFAULT_CONFIG` when omitted.
    parallel : bool, optional
        Force one pass or the multi-threaded path (decimator, band-pass, candidates'
        spectra and envelopes, onsets, mix levels in chunks side by side on as many threads as
        numba may use, :mod:`logdrum.core.threads`; the same numbers either way). Default:
        multi-threaded for input of 95 s at 44.1 kHz or more when numba may use more than one
        thread. The batch scan's workers run on one thread each; set ``NUMBA_NUM_THREADS=1``
        where other code analyses clips in several processes at once.

    Returns
    -------
    Analysis
        Always returned, also for silence.

    Raises
    ------
    ValueError
        Empty, 3-D, non-numeric or NaN/Inf audio; a sample rate that is not a positive number
        or outside the supported range; a config that is not a :class:`DetectorConfig`.

    Examples
    --------
    >>> import logdrum
    >>> from logdrum import synth
    >>> a = logdrum.analyze(synth.log_drum(sr=16000, f0=80.0, tau=0.4), 16000)
    >>> [round(e.f0_hz) for e in a.events]
    [80]
    """
    config = _config(config)
    x = as_audio_array(audio)  # one conversion (torch, lists) for the decimator and the mix level
    parallel = use_parallel(x.size, parallel)
    y, rate = decimate(x, sr, analysis_rate=config.analysis_rate, parallel=parallel)
    env_db, hop_s, delay_s = band_envelope(y, rate, config, parallel=parallel)
    feat = measure_candidates(y, rate, env_db, hop_s, delay_s, config, parallel=parallel)
    reason = _checked(feat, y, rate, x, sr, config, parallel)
    ok = reason < 0
    duration_s = y.shape[0] / rate
    score, details = _score(feat, ok, duration_s, config)
    holds = on_its_own = score >= config.clip_threshold
    line = None
    if holds or score >= config.line_score_min:
        # The verdict stands on the events that passed every check; the notes of the line
        # whose decay was cut or bent, or whose own pitch was another sound's, are reported
        # with them (logdrum.core.line). A clip just under the threshold (six accepted events
        # in 10 s of a line of two or three notes a second) is scored again with them, on a
        # copy: the line's pass re-pitches and re-times candidates, which stay rejected as
        # measured if the clip still falls short.
        lined = feat if holds else feat.take(slice(None))
        line, read_twice = _line(lined, reason, y, rate, x, sr, config, parallel)
        if not holds:
            # not the notes that read a tight kick's decay: they lift no clip, and a clip its
            # line lifts reports what its score counts
            line = lifting_notes(lined, line)
            with_line, with_line_details = _score(lined, ok | line, duration_s, config)
            holds = with_line >= config.clip_threshold
            if holds:
                feat, score, details = lined, with_line, with_line_details
            else:
                line = None
        if line is not None:
            # a note of the line that read again a strike reported already (its row re-pitched
            # or re-timed, no longer what its first reason was measured on)
            reason[read_twice] = _SAME_NOTE
    if on_its_own:
        # Only in a clip that holds on its accepted events, so that the score of one its line
        # lifted counts every note it reports. Notes struck again while the last at their
        # pitch rings, rising 4.5-6 dB: reported with the line's notes, never counted.
        weak = weak_candidates(feat, reason, line, config)
        _measure_mix_level(feat, x, sr, weak, parallel)
        weak = weak_notes(feat, reason, line, config)
        _refine_onsets(feat, y, rate, weak, parallel)
        # timed, one may now lie within SAME_NOTE_S of a note taken: a second peak of it
        line = line | (weak & weak_notes(feat, reason, line, config))
        # notes of the line whose own band-envelope peak a louder hit just after hid: never
        # candidates of the verdict, reported with the line's other notes
        hidden = hidden_candidates(y, rate, env_db, hop_s, delay_s, config, parallel=parallel)
        hidden = hidden_notes(feat, reason, line, hidden, _checked(hidden, y, rate, x, sr, config, parallel))
        if len(hidden):
            feat, reason, line = _with_notes(feat, reason, line, hidden)
        kept = one_strike(feat, reason, line, config)
        reason[line & ~kept] = _SAME_NOTE  # read again: not reported
        line = kept
    events, rejected = classify(feat, config, line, reason)
    return Analysis(
        events=events, rejected=rejected, score=score,
        holds_log_drums=holds, duration_s=duration_s, sr=float(sr),
        analysis_rate=rate, envelope_db=env_db, hop_s=hop_s, details=details,
    )


def _checked(feat, y, rate, x, sr, config, parallel):
    """The :func:`reject_reasons` of measured candidates, once those that pass are timed."""
    # The level against the whole mix is the last check: measure it only on the candidates
    # that passed every other one (they fail it now, their mix_db being unknown).
    _measure_mix_level(feat, x, sr, reject_reasons(feat, config) == _MIX_CHECK, parallel)
    # Only the candidates that passed every check are timed on their glide band
    # (logdrum.core.onset): 1 in 3, a fraction of the cost of timing them all. Those the
    # same-note rule set aside are timed too: new onsets can change which of two peaks of one
    # note comes first (the untimed one, 50 ms early, was then reported), hence the second look.
    passed = reject_reasons(feat, config)
    _refine_onsets(feat, y, rate, (passed < 0) | (passed == _SAME_NOTE), parallel)
    return reject_reasons(feat, config)


def _score(feat, which, duration_s, config):
    return score_onsets(feat.onset_s[which], event_confidence(
        feat.decay_ms[which], feat.tonality[which], feat.attack_db[which], config), duration_s, config)


def _line(feat, reason, y, rate, x, sr, config, parallel):
    """The notes of the clip's line that failed a check on their own, re-pitched and re-timed in
    ``feat``, and those of them dropped as a second reading of a strike reported already."""
    _measure_mix_level(feat, x, sr, line_candidates(feat, reason, config), parallel)
    line = line_notes(feat, reason, config)
    repitched = repitched_notes(feat, reason, line, y, rate, x, sr, config, parallel=parallel)
    # the notes of a cut or bent decay are timed here; the re-pitched ones were, at their new pitch
    _refine_onsets(feat, y, rate, line, parallel)
    # timed, a note may now lie on an accepted one: one strike read twice
    found = line | repitched
    kept = one_strike(feat, reason, found, config)
    return kept, found & ~kept


def _with_notes(feat, reason, line, notes):
    """``feat`` with the line ``notes`` added, every row in onset order."""
    merged = feat.concat(notes)
    order = np.argsort(merged.onset_s, kind="stable")
    reason = np.concatenate([reason, np.full(len(notes), -1)])[order]
    line = np.concatenate([line, np.ones(len(notes), bool)])[order]
    return merged.take(order), reason, line


def _measure_mix_level(feat, x, sr, which, parallel):
    feat.mix_db[which] = mix_db(x, sr, feat.peak_dbfs[which], feat.onset_s[which], parallel=parallel)


def _refine_onsets(feat, y, rate, which, parallel):
    feat.onset_s[which] = refine_onsets(y, rate, feat.onset_s[which], feat.f0_hz[which], parallel=parallel)


def detect_amapiano_log_drums(audio, sr, config=None):
    """Find amapiano log drums in a clip.

    Parameters
    ----------
    audio, sr, config
        As for :func:`analyze`.

    Returns
    -------
    Detection or None
        ``None`` when the clip holds no log drums; otherwise a :class:`Detection` with the
        accepted ``events`` and the clip ``score`` in [0, 1].

    Examples
    --------
    >>> import numpy as np, logdrum
    >>> logdrum.detect_amapiano_log_drums(np.zeros(2 * 44100), 44100) is None
    True
    """
    return analyze(audio, sr, config).detection()
