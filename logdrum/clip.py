"""The clip verdict: does this clip hold log drums, and how strongly?

One good hit is enough in a short clip (the seed's 2-second test). In a longer clip a single
tom, timpani stroke, long 808 or decaying bass note must not be enough, so the score weighs

- ``quality``: the mean confidence of the accepted events;
- ``density``: events per second, 0 at ``line_rate_lo`` (an occasional hit) rising to 1 at
  ``line_rate_hi`` (a line; amapiano plays several log-drum notes per bar at 110-115 BPM).
  Clips shorter than ``short_clip_s`` get density 1 from a single event;
- ``line``: 1 when the events move in pitch or in rhythm; 0.5 for a regular pulse on one
  pitch (every IOI within 15 % of the median and all f0 within one semitone), which is what a
  long 808 or a kick on every beat looks like, not a log-drum line.

``score = quality * density * line`` and the clip holds log drums when
``score >= clip_threshold``.
"""

from __future__ import annotations

import numpy as np

from .config import DEFAULT_CONFIG, DetectorConfig

__all__ = ["clip_score"]


def _is_regular_pulse(events) -> bool:
    if len(events) < 4:
        return False
    f0 = np.array([e.f0_hz for e in events])
    onsets = np.sort([e.onset_s for e in events])
    spread_semitones = 12.0 * np.log2(np.percentile(f0, 90) / np.percentile(f0, 10))
    ioi = np.diff(onsets)
    med = np.median(ioi)
    regular = med > 0 and np.all(np.abs(ioi - med) <= 0.15 * med)
    return bool(spread_semitones < 1.0 and regular)


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
        ``n_events``, ``rate_per_s``, ``quality``, ``density``, ``line``.
    """
    n = len(events)
    rate = n / duration_s if duration_s > 0 else 0.0
    quality = float(np.mean([e.confidence for e in events])) if n else 0.0
    if n == 0:
        density = 0.0
    elif duration_s < config.short_clip_s:
        density = 1.0
    else:
        density = float(np.clip((rate - config.line_rate_lo) / (config.line_rate_hi - config.line_rate_lo), 0.0, 1.0))
    line = 0.5 if _is_regular_pulse(events) else 1.0
    score = quality * density * line
    details = {"n_events": n, "rate_per_s": rate, "quality": quality, "density": density, "line": line}
    return float(score), details
