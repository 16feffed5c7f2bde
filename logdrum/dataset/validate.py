"""``logdrum validate``: find every broken audio file a dataset refers to.

Accepted targets:

- a ``build-dataset`` folder or its ``training_metadata.csv`` (``file_path`` relative to the
  CSV's folder). Each file must match its row's ``duration`` (the length decoded at build time)
  **and** the dataset's expected clip length: ``--expected-duration``, else the one
  ``build-dataset`` recorded in ``summary.json`` beside the CSV, else the median of all clips.
  The second check is what finds a truncated CBR MP3, whose decoded length the ``duration``
  column simply repeats;
- a MagnaTagATune root or its ``annotations_final.csv`` (tab-separated, ``mp3_path`` relative
  to the root; the expected length is ``--expected-duration``, else the median of all clips);
- a ``logdrum scan`` results CSV (absolute ``path`` column).

Problems, one per file, checked in this order:

``missing``       the file does not exist
``empty``         0 bytes
``undecodable``   the decoder cannot open or read it
``truncated``     the decode stops short of the length the header announces
``non-finite``    NaN or Inf samples
``silent``        peak below -80 dBFS
``duration``      length differs from the expected by more than ``tolerance`` (a fraction;
                  default 0.1, or the one ``build-dataset`` recorded in ``summary.json``)
``bad row``       a metadata row whose score or duration is not a finite number
"""

from __future__ import annotations

import csv
import math
import os
import statistics

from .layout import DEFAULT_TOLERANCE, METADATA_FILE, SUMMARY_FILE

__all__ = ["check_file", "read_targets", "validate", "PROBLEMS"]


PROBLEMS = ("missing", "empty", "undecodable", "truncated", "non-finite", "silent", "duration",
            "bad row")
CHECK_FIELDS = ("problem", "detail", "duration_s")
SILENCE_PEAK = 10.0 ** (-80.0 / 20.0)


def check_file(path) -> dict:
    """Decode ``path`` and report its first problem (``problem`` empty when it is fine).

    Returns
    -------
    dict
        ``problem``, ``detail`` and ``duration_s`` (seconds, when decodable).
    """
    import numpy as np

    from ..io.audio import AudioReadError, read_audio
    from .scan import TRUNCATION_SLACK_FRAMES

    if not os.path.exists(path):
        return {"problem": "missing", "detail": "file not found"}
    if os.path.getsize(path) == 0:
        return {"problem": "empty", "detail": "0 bytes"}
    try:
        audio, sr, header_frames = read_audio(path)
    except AudioReadError as exc:
        return {"problem": "undecodable", "detail": str(exc)}
    n = audio.shape[1]
    out = {"duration_s": n / sr}
    if n < header_frames - TRUNCATION_SLACK_FRAMES:
        return {**out, "problem": "truncated",
                "detail": f"decoded {n / sr:.2f} s of {header_frames / sr:.2f} s"}
    if not np.isfinite(audio).all():
        return {**out, "problem": "non-finite", "detail": "NaN or Inf samples"}
    peak = float(np.max(np.abs(audio)))
    if peak < SILENCE_PEAK:
        return {**out, "problem": "silent", "detail": f"peak {peak:.2g}"}
    return {**out, "problem": ""}


def duration_problem(duration, expected, tolerance, source=""):
    """The ``duration`` problem's detail when ``duration`` is off ``expected`` by more than
    ``tolerance`` (a fraction of ``expected``), else ``""``. ``source`` says where the expected
    length came from (shown in brackets)."""
    if not expected or duration is None:
        return ""
    if abs(float(duration) - expected) <= tolerance * expected:
        return ""
    where = f" ({source})" if source else ""
    return f"{float(duration):.2f} s, expected {expected:.2f} s +/- {tolerance * 100:g}%{where}"


def check_tolerance(expected_duration, tolerance):
    """Raise ``ValueError`` for an expected length <= 0 or a negative tolerance."""
    if expected_duration is not None and not (math.isfinite(expected_duration) and expected_duration > 0):
        raise ValueError(f"expected duration must be a positive number of seconds, got {expected_duration}")
    if tolerance is not None and not (math.isfinite(tolerance) and tolerance >= 0):
        raise ValueError(f"tolerance must be a fraction >= 0, got {tolerance}")


def _build_summary(target):
    """``summary.json`` of the build-dataset folder that holds ``target``'s CSV, or ``{}``."""
    import json

    target = os.fspath(target)
    if os.path.isdir(target):
        target = os.path.join(target, METADATA_FILE)
    if os.path.basename(target) != METADATA_FILE or not os.path.isfile(target):
        return {}
    folder = os.path.dirname(os.path.abspath(target))
    try:
        with open(os.path.join(folder, SUMMARY_FILE), encoding="utf-8") as fh:
            summary = json.load(fh)
    except (OSError, ValueError):
        return {}
    return summary if isinstance(summary, dict) else {}


def _finite(text) -> bool:
    try:
        return math.isfinite(float(text))
    except (TypeError, ValueError):
        return False


def read_targets(target):
    """The files a dataset refers to.

    Returns
    -------
    list of tuple
        ``(shown_path, absolute_path, expected_duration or None, row_problem or "")``.
    """
    from .mtat import ANNOTATIONS_FILE, read_annotations

    target = os.fspath(target)
    if os.path.isdir(target):
        for name in (METADATA_FILE, ANNOTATIONS_FILE):
            if os.path.isfile(os.path.join(target, name)):
                target = os.path.join(target, name)
                break
        else:
            raise FileNotFoundError(f"{target} holds neither {METADATA_FILE} nor {ANNOTATIONS_FILE}")
    base = os.path.dirname(os.path.abspath(target))
    with open(target, newline="", encoding="utf-8") as fh:
        first = fh.readline()
    if "\t" in first and "mp3_path" in first:
        clips, _ = read_annotations(target)
        return [(c.mp3_path, os.path.join(base, c.mp3_path), None, "") for c in clips]
    with open(target, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if rows and "file_path" in rows[0]:
        out = []
        for r in rows:
            bad = not (_finite(r.get("duration")) and _finite(r.get("amapiano_proxy_score", 0)))
            expected = float(r["duration"]) if _finite(r.get("duration")) else None
            out.append((r["file_path"], os.path.join(base, r["file_path"]), expected,
                        "bad row" if bad else ""))
        return out
    if rows and "path" in rows[0]:
        return [(r["path"], r["path"], None, "") for r in rows]
    if not rows:
        return []
    raise ValueError(f"{target}: not a training_metadata.csv, annotations_final.csv or scan CSV")


def validate(target, *, expected_duration=None, tolerance=None, workers=None, dask=None,
             progress=True):
    """Check every file that ``target`` refers to.

    Parameters
    ----------
    target : str or os.PathLike
        See the module docstring.
    expected_duration : float, optional
        Expected clip length in seconds (default: for a build-dataset folder the one its
        ``summary.json`` records, else the median length of the decodable clips). Rows of a
        ``training_metadata.csv`` must also match their own ``duration`` column.
    tolerance : float, optional
        Allowed relative deviation from the expected length (default: the build's, from
        ``summary.json``, else 0.1).
    workers, dask, progress
        As for :func:`logdrum.dataset.batch.run_batch`.

    Returns
    -------
    list of dict
        One per broken file: ``path`` (as the dataset names it), ``problem``, ``detail``.
    """
    from .batch import run_batch

    check_tolerance(expected_duration, tolerance)
    targets = read_targets(target)
    built = _build_summary(target)
    if tolerance is None:
        tolerance = built.get("duration_tolerance")
        tolerance = DEFAULT_TOLERANCE if not _finite(tolerance) else float(tolerance)
    rows = run_batch([t[1] for t in targets], check_file, fields=CHECK_FIELDS, workers=workers,
                     dask=dask, progress=progress, desc="validate")
    by_path = {r["path"]: r for r in rows}
    source = "--expected-duration"
    if expected_duration is None and _finite(built.get("expected_duration")):
        expected_duration, source = float(built["expected_duration"]), "build-dataset's, summary.json"
    if expected_duration is None:
        lengths = [float(r["duration_s"]) for r in rows if r["duration_s"] and not r["problem"]]
        expected_duration = statistics.median(lengths) if lengths else None
        source = "the median"
    broken = []
    for shown, path, expected, row_problem in targets:
        r = by_path[path]
        problem, detail = r["problem"], r["detail"]
        if r["error"]:
            problem, detail = "undecodable", r["error"]
        if not problem:
            d = float(r["duration_s"])
            # the row's own length first (the file changed since the build), then the
            # dataset's (a clip that was never the right length, e.g. a truncated CBR mp3)
            detail = (duration_problem(d, expected, tolerance, "the row's duration")
                      if expected is not None else "")
            detail = detail or duration_problem(d, expected_duration, tolerance, source)
            problem = "duration" if detail else ""
        if not problem and row_problem:
            problem, detail = row_problem, "score or duration is not a finite number"
        if problem:
            broken.append({"path": shown, "problem": problem, "detail": detail})
    return broken
