"""``amapiano_proxy_score``: how much a clip sounds like amapiano, from its log drums and tags.

The score has two parts.

**Audio evidence** (always), from :func:`logdrum.analyze`:

``audio = detector_score * (0.5 + 0.5 * beat_share)``

- ``detector_score`` is the clip score of :mod:`logdrum.core.clip`: the mean confidence of the
  accepted log-drum events, times the smaller of a density term (0 at 21 events/min, 1 from
  51/min) and a coverage term (share of 3 s windows holding an event, 0 at 50 %, 1 from
  90 %), times the line factor (0.4 for a metronomic pulse such as a long 808 on every bar).
- ``beat_share`` is the share of beats that carry at least one log-drum onset (line notes
  included: they are notes of the line), with beats laid
  out at :data:`NOMINAL_BPM` (amapiano sits at 110-115 BPM; no beat tracker is needed because a
  slot is one beat long whatever the phase). Where the clip verdict only asks whether most
  bars hold a note, this ranks the clips that pass: a line with a note on most beats scores
  higher than one with a note per bar. It can halve the score, never raise it above the
  detector's.

**Tag prior** (only when ``tags`` is given, e.g. MagnaTagATune tags; see :mod:`logdrum.dataset.tags`):

``score = (1 - TAG_WEIGHT) * audio + TAG_WEIGHT * tag_prior(tags)``

with :data:`TAG_WEIGHT` = 0.25. Audio stays the main evidence: a clip without any log drum can
reach at most 0.25 from tags alone, while a clip with a strong log-drum line (audio >= 0.8)
scores at least 0.6 whatever its tags. Between clips with similar audio the tags decide, and
among the many clips with no log drums at all the tags rank the electronic, dance and house
ones first, which is what a filter that must still pick thousands of clips needs.

Both parts are in [0, 1], so is the score. It never decreases when an event's confidence, the
event rate or the beat share grows, or when a positive tag is added.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.detector import analyze
from .tags import tag_prior

__all__ = ["amapiano_proxy_score", "audio_evidence", "beat_share", "combine_scores",
           "NOMINAL_BPM", "TAG_WEIGHT"]

#: Tempo at which :func:`beat_share` lays out its beat slots (amapiano: about 110-115 BPM).
NOMINAL_BPM = 112.0
#: Weight of the tag prior in the combined score.
TAG_WEIGHT = 0.25


def beat_share(onsets_s, duration_s: float, bpm: float = NOMINAL_BPM) -> float:
    """Share of beat-long slots of the clip that hold at least one onset.

    Parameters
    ----------
    onsets_s : sequence of float
        Event onset times in seconds.
    duration_s : float
        Clip length in seconds.
    bpm : float
        Slot length is ``60 / bpm`` seconds.

    Returns
    -------
    float
        In [0, 1]; 0 for an empty or zero-length clip.
    """
    if duration_s <= 0:
        return 0.0
    beat_s = 60.0 / bpm
    n_slots = max(1, math.ceil(duration_s / beat_s - 1e-9))
    slots = np.unique(np.clip((np.asarray(onsets_s, dtype=float) // beat_s).astype(int), 0, n_slots - 1))
    return float(slots.size / n_slots)


def audio_evidence(analysis):
    """The audio part of the proxy score, from an :class:`~logdrum.Analysis`.

    Returns
    -------
    evidence : float
        ``analysis.score * (0.5 + 0.5 * share)``, in [0, 1].
    share : float
        The beat share (see :func:`beat_share`).
    """
    share = beat_share([e.onset_s for e in analysis.events], analysis.duration_s)
    return float(analysis.score * (0.5 + 0.5 * share)), share


def combine_scores(evidence: float, tags=None) -> float:
    """Combine audio evidence with the tag prior of ``tags`` (``None``: audio only)."""
    if tags is None:
        return float(evidence)
    return float((1.0 - TAG_WEIGHT) * evidence + TAG_WEIGHT * tag_prior(tags))


def amapiano_proxy_score(audio, sr, tags=None, config=None) -> float:
    """Score in [0, 1] of how amapiano-like a clip is: log-drum evidence plus a tag prior.

    Parameters
    ----------
    audio, sr, config
        As for :func:`logdrum.analyze`.
    tags : str or iterable of str, optional
        MagnaTagATune tag names (a ``|``-separated string or an iterable). ``None`` scores the
        audio alone; an empty list adds the neutral prior 0.5.

    Returns
    -------
    float
        See the module docstring for the formula and the weights.

    Examples
    --------
    >>> import numpy as np, logdrum
    >>> logdrum.amapiano_proxy_score(np.zeros(16000 * 10), 16000)
    0.0
    >>> round(logdrum.amapiano_proxy_score(np.zeros(16000 * 10), 16000, tags=["house", "dance"]), 3)
    0.22
    """
    evidence, _ = audio_evidence(analyze(audio, sr, config))
    return combine_scores(evidence, tags)
