"""The public detector: :func:`analyze` and :func:`detect_amapiano_log_drums`."""

from __future__ import annotations

from .classify import classify
from .clip import clip_score
from .config import DEFAULT_CONFIG, DetectorConfig
from .events import measure_candidates
from .frontend import band_envelope, decimate
from .result import Analysis

__all__ = ["analyze", "detect_amapiano_log_drums"]


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
        Force the serial or the multi-threaded decimator (default: parallel for long input
        when numba has more than two threads).

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
    y, rate = decimate(audio, sr, analysis_rate=config.analysis_rate, parallel=parallel)
    env_db, hop_s, delay_s = band_envelope(y, rate, config)
    feat = measure_candidates(y, rate, env_db, hop_s, delay_s, config)
    events, rejected = classify(feat, config)
    duration_s = y.shape[0] / rate
    score, details = clip_score(events, duration_s, config)
    return Analysis(
        events=events, rejected=rejected, score=score,
        holds_log_drums=score >= config.clip_threshold, duration_s=duration_s, sr=float(sr),
        analysis_rate=rate, envelope_db=env_db, hop_s=hop_s, details=details,
    )


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
