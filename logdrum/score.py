"""``amapiano_proxy_score``: how much a clip sounds like amapiano, from its log drums."""

from __future__ import annotations

from .detector import analyze

__all__ = ["amapiano_proxy_score"]


def amapiano_proxy_score(audio, sr, tags=None, config=None) -> float:
    """Score in [0, 1] of the log-drum evidence in a clip.

    Parameters
    ----------
    audio, sr, config
        As for :func:`logdrum.analyze`.
    tags : iterable of str, optional
        Accepted for the API contract; the tag prior arrives with the dataset filter.

    Returns
    -------
    float
        The clip score of :func:`logdrum.analyze` (see :mod:`logdrum.clip`).
    """
    return analyze(audio, sr, config).score
