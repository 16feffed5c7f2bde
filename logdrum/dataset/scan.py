"""``logdrum scan``: score every audio file under some paths into a resumable CSV.

One row per file: ``path`` (absolute), ``size``, ``mtime_ns`` (the resume key), the
:func:`~logdrum.amapiano_proxy_score` of the audio (no tags) and the detector's summary
features, and ``error`` (empty when the file was scored). See :mod:`logdrum.dataset.batch` for how the
scan runs in parallel and resumes.
"""

from __future__ import annotations


import numpy as np

from ..io.audio import find_audio_files

__all__ = ["SCAN_FIELDS", "score_file", "find_audio_files", "scan"]

#: Result columns of a scan, after ``path, size, mtime_ns``.
SCAN_FIELDS = (
    "score",            # amapiano_proxy_score without tags (the audio evidence)
    "detector_score",   # Analysis.score: confidence x density x line
    "beat_share",       # share of beats holding a log-drum onset
    "n_events",
    "events_per_min",
    "mean_confidence",
    "median_f0_hz",
    "median_tau_ms",
    "duration_s",
    "sr",
    "channels",
    "error",
)

#: A decode that stops more than this many frames short of the header's count is truncated
#: (two MP3 frames of slack for encoder padding).
TRUNCATION_SLACK_FRAMES = 2 * 1152


def score_file(path) -> dict:
    """Decode one file, run the detector, and return a :data:`SCAN_FIELDS` row.

    Parameters
    ----------
    path : str

    Returns
    -------
    dict
        The features; ``error`` is set (and the score left empty) for a truncated file.

    Raises
    ------
    AudioReadError, ValueError
        Missing, empty, undecodable or non-finite audio (:func:`logdrum.dataset.batch.run_batch`
        turns these into error rows).
    """
    from ..io.audio import read_audio
    from ..core.detector import analyze
    from .score import audio_evidence

    audio, sr, header_frames = read_audio(path)
    channels, n = audio.shape
    row = {"duration_s": n / sr, "sr": sr, "channels": channels}
    if n < header_frames - TRUNCATION_SLACK_FRAMES:
        row["error"] = (f"truncated: decoded {n} of the {header_frames} frames the header "
                        f"announces ({n / sr:.2f} s of {header_frames / sr:.2f} s)")
        return row
    a = analyze(audio, sr)
    evidence, share = audio_evidence(a)
    # n_events and the medians describe the accepted events alone (a line note's decay was
    # cut: NaN or out of range); events_per_min and mean_confidence are the score's, which
    # counts line notes in a clip judged with its line (logdrum.core.detector)
    strict = [e for e in a.events if not e.line_note]
    f0 = [e.f0_hz for e in strict]
    tau = [e.decay_ms for e in strict]
    row.update(
        score=evidence,
        detector_score=a.score,
        beat_share=share,
        n_events=len(strict),
        events_per_min=60.0 * a.details.get("rate_per_s", 0.0),
        mean_confidence=a.details.get("quality", 0.0),
        median_f0_hz=float(np.median(f0)) if f0 else None,
        median_tau_ms=float(np.median(tau)) if tau else None,
    )
    return row


def scan(paths, out, *, workers=None, dask=None, progress=True):
    """Score every audio file under ``paths`` into the CSV ``out``, resuming if it exists.

    Returns
    -------
    list of dict
        One row per file (strings, as in the CSV).
    """
    from .batch import run_batch

    files = find_audio_files(paths)
    return run_batch(files, score_file, results=out, fields=SCAN_FIELDS, workers=workers,
                     dask=dask, progress=progress, desc="scan")
