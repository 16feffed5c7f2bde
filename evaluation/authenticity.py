"""The authenticity metric: the share of clips in which the detector finds amapiano log drums.

Conventions
-----------
- The per-clip verdict is :attr:`logdrum.Analysis.holds_log_drums` from :func:`logdrum.analyze`
  (the same verdict as ``detect_amapiano_log_drums(...) is not None``). Authenticity is always
  *measured* on audio, never estimated from a loss.
- ``n`` counts every clip that was handed in, readable or not. A clip that cannot be read or
  analysed (a broken file, NaN samples, an empty array) counts as a clip *without* log drums and
  is listed in :attr:`AuthenticityResult.unreadable` with its error: a generator whose output
  cannot be decoded has not produced an authentic clip, and dropping such clips from ``n`` would
  inflate the rate.
- The interval is the 95% Wilson score interval (:func:`evaluation.stats.wilson_interval`).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from .stats import wilson_interval

__all__ = ["ClipResult", "AuthenticityResult", "validate", "authenticity", "collect_clips",
           "audio_files"]


@dataclass(frozen=True)
class ClipResult:
    """The detector's verdict on one clip.

    Attributes
    ----------
    name : str
        File path, or ``"clip-0003"`` / the mapping key for clips held in memory.
    holds_log_drums : bool
        The verdict; ``False`` for an unreadable clip.
    score : float
        Clip score in [0, 1]; NaN for an unreadable clip.
    events : tuple of logdrum.LogDrumEvent
        Accepted log-drum hits (empty for an unreadable clip).
    duration_s : float
        NaN for an unreadable clip.
    error : str or None
        Why the clip could not be read or analysed; ``None`` for a readable clip.
    """

    name: str
    holds_log_drums: bool
    score: float
    events: tuple = ()
    duration_s: float = float("nan")
    error: str | None = None

    @property
    def readable(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict:
        return {"name": self.name, "holds_log_drums": self.holds_log_drums,
                "score": None if math.isnan(self.score) else self.score,
                "n_events": len(self.events), "duration_s": None if math.isnan(self.duration_s) else self.duration_s,
                "events": [e.to_dict() for e in self.events], "error": self.error}


@dataclass(frozen=True)
class AuthenticityResult:
    """Authenticity of a set of clips.

    Attributes
    ----------
    rate : float
        ``k / n``.
    ci_low, ci_high : float
        Wilson interval at ``confidence``.
    k : int
        Clips with log drums.
    n : int
        All clips handed in, unreadable ones included.
    confidence : float
    clips : tuple of ClipResult
        One per clip, in input order (sorted paths for a directory).
    """

    rate: float
    ci_low: float
    ci_high: float
    k: int
    n: int
    confidence: float
    clips: tuple

    @property
    def unreadable(self) -> tuple:
        """``(name, error)`` of every clip that could not be read or analysed."""
        return tuple((c.name, c.error) for c in self.clips if c.error is not None)

    @property
    def n_unreadable(self) -> int:
        return sum(1 for c in self.clips if c.error is not None)

    @property
    def scores(self) -> np.ndarray:
        """Scores of the readable clips."""
        return np.array([c.score for c in self.clips if c.error is None], dtype=float)

    def to_dict(self, clips: bool = True) -> dict:
        out = {"rate": self.rate, "ci_low": self.ci_low, "ci_high": self.ci_high, "k": self.k,
               "n": self.n, "confidence": self.confidence, "n_unreadable": self.n_unreadable,
               "unreadable": [{"name": n, "error": e} for n, e in self.unreadable]}
        if clips:
            out["clips"] = [c.to_dict() for c in self.clips]
        return out

    @classmethod
    def from_clips(cls, clips, *, confidence=0.95) -> "AuthenticityResult":
        """Collect per-clip results into the metric (``n = len(clips)``)."""
        clips = tuple(clips)
        validate(clips, confidence=confidence)
        k = sum(1 for c in clips if c.holds_log_drums)
        n = len(clips)
        low, high = wilson_interval(k, n, confidence=confidence)
        return cls(rate=k / n, ci_low=low, ci_high=high, k=k, n=n, confidence=confidence,
                   clips=clips)


def validate(clips, *, confidence=0.95):
    """Check that there is at least one clip and a sensible confidence level."""
    if len(clips) == 0:
        raise ValueError("no clips to evaluate: authenticity needs at least one clip")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")


def audio_files(directory, *, recursive=False):
    """Sorted audio files in a folder (:func:`logdrum.io.audio.find_audio_files`)."""
    from logdrum.io.audio import find_audio_files

    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise ValueError(f"{directory}: not a directory")
    return find_audio_files([directory], recursive=recursive)


def _to_numpy(x):
    # torch tensors (CPU or GPU) without importing torch
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def collect_clips(clips_or_dir, sr=None, *, recursive=False):
    """Normalise the inputs of :func:`authenticity` to ``[(name, source, sr)]``.

    ``source`` is a path (read later, so a broken file becomes a listed error) or an array.
    """
    if isinstance(clips_or_dir, (str, os.PathLike)):
        files = audio_files(clips_or_dir, recursive=recursive)
        if not files:
            raise ValueError(f"{os.fspath(clips_or_dir)}: no audio files (looked for "
                             f"wav/flac/ogg/mp3/aiff{', recursively' if recursive else ''})")
        return [(p, p, None) for p in files]
    if isinstance(clips_or_dir, dict):
        items = [(str(k), v) for k, v in clips_or_dir.items()]
    else:
        x = clips_or_dir
        if hasattr(x, "shape") and hasattr(x, "ndim"):
            x = _to_numpy(x)
            if x.ndim == 1:
                raise ValueError("a 1-D array is one clip: pass a list of clips, e.g. [audio]")
            if x.ndim not in (2, 3):
                raise ValueError(f"a batch of clips must be (batch, n) or (batch, channels, n), "
                                 f"got shape {x.shape}")
        items = [(None, c) for c in x]
    out = []
    for i, (name, item) in enumerate(items):
        item_sr = sr
        if isinstance(item, tuple) and len(item) == 2 and np.isscalar(item[1]):
            item, item_sr = item
        if isinstance(item, (str, os.PathLike)):
            out.append((name or os.fspath(item), os.fspath(item), None))
            continue
        name = name or f"clip-{i:04d}"
        if item_sr is None:
            raise ValueError(f"{name}: clips held in memory need a sample rate: pass sr= "
                             f"or (audio, sr) pairs")
        out.append((name, item, item_sr))
    return out


def _evaluate_one(name, source, sr, detector):
    from logdrum.io.audio import AudioReadError, load_audio

    try:
        if isinstance(source, str):
            audio, sr = load_audio(source)
        else:
            audio = _to_numpy(source)
        a = detector(audio, sr)
    except (AudioReadError, ValueError) as exc:
        # counted as a clip without log drums and listed, never dropped from n
        msg = str(exc)
        msg = msg[len(name) + 2:] if msg.startswith(name + ": ") else msg  # the name is listed already
        return ClipResult(name=name, holds_log_drums=False, score=float("nan"), error=msg)
    return ClipResult(name=name, holds_log_drums=bool(a.holds_log_drums), score=float(a.score),
                      events=tuple(a.events), duration_s=float(a.duration_s))


def authenticity(clips_or_dir, sr=None, *, confidence=0.95, detector=None, config=None,
                 recursive=False, progress=None):
    """Measure the share of clips that hold amapiano log drums.

    Parameters
    ----------
    clips_or_dir : str, os.PathLike, sequence, mapping or array
        A folder of audio files (wav, flac, ogg, mp3, aiff); a sequence whose items are file
        paths, arrays ``(n,)`` / ``(c, n)`` or ``(array, sr)`` pairs; a mapping name -> such an
        item; or a batch array ``(batch, n)`` / ``(batch, channels, n)`` (numpy or torch).
    sr : float, optional
        Sample rate of the clips held in memory (files carry their own).
    confidence : float
        Level of the Wilson interval.
    detector : callable, optional
        ``detector(audio, sr)`` returning an object with ``holds_log_drums``, ``score``,
        ``events`` and ``duration_s``; default :func:`logdrum.analyze` with ``config``.
    config : logdrum.DetectorConfig, optional
        Detector thresholds for the default detector.
    recursive : bool
        Scan sub-folders too.
    progress : callable, optional
        Called as ``progress(i, n, clip_result)`` after each clip.

    Returns
    -------
    AuthenticityResult

    Raises
    ------
    ValueError
        No clips, a folder without audio files, in-memory clips without a sample rate.

    Examples
    --------
    >>> from logdrum import synth
    >>> clips = [synth.groove(16000, bars=4), synth.groove(16000, bars=4, log_drums=False)]
    >>> r = authenticity(clips, sr=16000)
    >>> r.k, r.n, r.rate
    (1, 2, 0.5)
    """
    items = collect_clips(clips_or_dir, sr, recursive=recursive)
    validate(items, confidence=confidence)
    if detector is None:
        import logdrum

        def detector(audio, rate):
            return logdrum.analyze(audio, rate, config)

    results = []
    for i, (name, source, item_sr) in enumerate(items):
        results.append(_evaluate_one(name, source, item_sr, detector))
        if progress is not None:
            progress(i + 1, len(items), results[-1])
    return AuthenticityResult.from_clips(results, confidence=confidence)
