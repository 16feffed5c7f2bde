"""The clip verdict: does this clip hold log drums, and how strongly?

One good hit is enough in a short clip (the plan's 2-second test). In a longer clip an
occasional tom fill, timpani stroke, long 808 or plucked bass note must not be enough: a
log drum in amapiano is a *line*, several notes in most bars, syncopated and moving. So the
score weighs

- ``quality``: the mean confidence of the accepted events;
- ``density``: events per second, 0 at ``line_rate_lo`` (0.35/s) rising to 1 at
  ``line_rate_hi`` (0.85/s): a bass line on two notes a bar reads 0.5-0.8/s, a log-drum
  line in a realistic mix about 1.5/s; the wide ramp means one event more or less (a lossy
  codec moving a note across a threshold) changes a 10 s clip's density by 0.2, not a third;
- ``coverage``: the share of windows of ``coverage_window_s`` (3 s, about a bar and a half at
  110-120 BPM) holding at least one event, 0 at ``coverage_lo`` (50 %) rising to 1 at
  ``coverage_hi`` (90 %). A fill every other bar leaves windows empty; a log-drum line none;
- ``line``: 0.4 for a metronomic pulse (three or more events, every inter-onset interval within
  8 % of the median) — a long 808 or a bass note on every downbeat —, else 1. With 0.4 a pulse
  alone never reaches the default threshold, whatever its quality.

Clips shorter than ``short_clip_s`` get density and coverage 1 from a single event.
``score = quality * min(density, coverage) * line`` and the clip holds log drums when
``score >= clip_threshold``.
"""

from __future__ import annotations

import numpy as np

from .config import DEFAULT_CONFIG, DetectorConfig

__all__ = ["clip_score", "score_onsets"]

_PULSE_LINE = 0.4
# A two-note line alternating 0.95 s and 1.23 s gaps is 13 % off its median: still a line.
_PULSE_TOLERANCE = 0.08


def _ramp(value, lo, hi):
    return float(np.clip((value - lo) / (hi - lo), 0.0, 1.0))


def _is_regular_pulse(onsets) -> bool:
    if len(onsets) < 3:
        return False
    ioi = np.diff(np.sort(onsets))
    med = np.median(ioi)
    return bool(med > 0 and np.all(np.abs(ioi - med) <= _PULSE_TOLERANCE * med))


def _coverage(onsets, duration_s, window_s):
    n_windows = max(1, int(round(duration_s / window_s)))
    hit = np.unique(np.minimum((np.asarray(onsets) / window_s).astype(int), n_windows - 1))
    return hit.size / n_windows


def clip_score(events, duration_s: float, config: DetectorConfig = DEFAULT_CONFIG):
    """Score a clip from its accepted events.

    Parameters
    ----------
    events : sequence of LogDrumEvent
    duration_s : float
        Clip length in seconds.
    config : DetectorConfig

    Returns
    -------
    score : float
        In [0, 1].
    details : dict
        ``n_events``, ``rate_per_s``, ``coverage`` (share of windows with an event),
        ``quality``, ``density``, ``coverage_factor``, ``line``.
    """
    return score_onsets([e.onset_s for e in events], [e.confidence for e in events], duration_s, config)


def score_onsets(onsets, confidences, duration_s: float, config: DetectorConfig = DEFAULT_CONFIG):
    """:func:`clip_score` from the events' onsets (s) and confidences, as sequences."""
    n = len(onsets)
    rate = n / duration_s if duration_s > 0 else 0.0
    quality = float(np.mean(confidences)) if n else 0.0
    coverage = _coverage(onsets, duration_s, config.coverage_window_s) if n else 0.0
    if n == 0:
        density = coverage_factor = 0.0
    elif duration_s < config.short_clip_s:
        density = coverage_factor = 1.0
    else:
        density = _ramp(rate, config.line_rate_lo, config.line_rate_hi)
        coverage_factor = _ramp(coverage, config.coverage_lo, config.coverage_hi)
    line = _PULSE_LINE if _is_regular_pulse(onsets) else 1.0
    score = quality * min(density, coverage_factor) * line
    details = {"n_events": n, "rate_per_s": rate, "coverage": coverage, "quality": quality,
               "density": density, "coverage_factor": coverage_factor, "line": line}
    return float(score), details
