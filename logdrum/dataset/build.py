"""``logdrum build-dataset``: pick the most amapiano-like MagnaTagATune clips for fine-tuning.

Layout of the output folder ``DIR``::

    DIR/training_metadata.csv   the selected clips, best first
    DIR/audio/<name>.mp3         the selected audio (hard links by default, see ``--audio``)
    DIR/scan_results.csv         every clip's scan row: the resumable work file
    DIR/summary.json             counts, the score cut, the clips that failed
    DIR/tag_counts.csv           how often each tag occurs among the selected and all clips
    DIR/score_histogram.png      scores of all clips and of the selected ones

``training_metadata.csv`` columns: ``clip_id, file_path, amapiano_proxy_score, tags, duration``
(the plan's), then ``audio_score, tag_prior, n_events, median_f0_hz, median_tau_ms, mtat_path``.

- ``file_path`` is **relative to the folder that holds the CSV**: the audio of a row is at
  ``Path(csv).parent / row["file_path"]``, so the folder can be moved or copied as a whole.
- ``tags`` are MTAT tag names joined with ``|`` (empty when the clip has none).
- ``amapiano_proxy_score`` is :func:`logdrum.amapiano_proxy_score` with the clip's MTAT tags.
- ``duration`` is the decoded length in seconds.

Clips that failed to decode (missing, empty, truncated, undecodable) are never selected, and
neither are clips whose decoded length is off the expected clip length by more than
``tolerance`` (default 10 %): a constant-bitrate MP3 cut short without a Xing header decodes
without error and its header's length follows the file size, so only its length gives it away.
The expected length is ``expected_duration`` (MTAT: ~29.1 s), by default the median decoded
length of the corpus. Both kinds are listed with their reason in ``summary.json``
(``failed_clips``, ``wrong_duration_clips``); ``scan_results.csv`` keeps the raw per-file scan,
so another expected length or tolerance needs no re-scan. Re-running the command resumes the
scan and rebuilds the rest.
"""

from __future__ import annotations

import os
import shutil
import statistics

from ..io.atomic import atomic_path, atomic_write, save_figure, write_csv_atomic, write_json_atomic
from .layout import (AUDIO_DIR, DEFAULT_TOLERANCE, HISTOGRAM_FILE, METADATA_FIELDS, METADATA_FILE,
                     SCAN_RESULTS_FILE, SUMMARY_FILE, TAG_COUNTS_FILE)

__all__ = ["build_dataset", "METADATA_FILE", "METADATA_FIELDS", "SUMMARY_FILE"]

AUDIO_MODES = ("link", "copy", "symlink", "none")


def _place(src, dest, mode):
    # Idempotent, and atomic, so a re-run after a kill is safe.
    if os.path.exists(dest) and os.path.getsize(dest) == os.path.getsize(src):
        return
    if mode == "copy":
        with atomic_write(dest, "wb") as out, open(src, "rb") as fh:
            shutil.copyfileobj(fh, out)
        return
    with atomic_path(dest) as tmp:
        if mode == "symlink":
            os.symlink(os.path.abspath(src), tmp)
        else:
            try:
                os.link(src, tmp)
            except OSError:  # another file system, or no hard links: copy
                shutil.copyfile(src, tmp)


def _place_audio(selected, out_dir, mode):
    """Put the selected audio under ``out_dir/audio`` and return each clip's ``file_path``."""
    if mode == "none":
        return [os.path.relpath(src, out_dir) for src, _ in selected]
    audio_dir = os.path.join(out_dir, AUDIO_DIR)
    os.makedirs(audio_dir, exist_ok=True)
    names, seen = [], set()
    for src, clip_id in selected:
        name = os.path.basename(src)
        if name in seen:  # MTAT names are unique, other trees may not be
            name = f"{clip_id}-{name}"
        seen.add(name)
        names.append(name)
    for name in set(os.listdir(audio_dir)) - seen:  # clips no longer selected
        os.remove(os.path.join(audio_dir, name))
    for (src, _), name in zip(selected, names):
        _place(src, os.path.join(audio_dir, name), mode)
    return [f"{AUDIO_DIR}/{name}" for name in names]


def _histogram(path, all_scores, selected_scores, cut):
    import matplotlib

    matplotlib.use("Agg")  # no display on a training box
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    bins = [i / 40 for i in range(41)]
    ax.hist(all_scores, bins=bins, color="0.7", label=f"all scored clips ({len(all_scores)})")
    ax.hist(selected_scores, bins=bins, color="tab:orange", label=f"selected ({len(selected_scores)})")
    if cut is not None:
        ax.axvline(cut, color="k", lw=1, ls="--", label=f"cut {cut:.3f}")
    ax.set_xlabel("amapiano_proxy_score")
    ax.set_ylabel("clips")
    ax.set_yscale("symlog", linthresh=10)
    ax.legend()
    fig.tight_layout()
    save_figure(fig, path, dpi=100)
    plt.close(fig)


def build_dataset(mtat_root, out_dir, *, top=None, min_score=None, audio="link", workers=None,
                  dask=None, progress=True, expected_duration=None, tolerance=None):
    """Score every MTAT clip, rank, and write the training folder.

    Parameters
    ----------
    mtat_root : str or os.PathLike
        Folder with ``annotations_final.csv`` and the mp3 folders ``0``-``f``.
    out_dir : str or os.PathLike
        Output folder (created; see the module docstring for its layout).
    top : int, optional
        Keep the ``top`` best clips (default 8000 when ``min_score`` is not given).
    min_score : float, optional
        Keep every clip scoring at least this much instead.
    audio : {"link", "copy", "symlink", "none"}
        How the audio gets into ``out_dir/audio``: hard links (copies across file systems),
        copies, symlinks, or not at all (``file_path`` then points into the MTAT tree with a
        relative path).
    workers, dask, progress
        As for :func:`logdrum.dataset.batch.run_batch`.
    expected_duration : float, optional
        Expected clip length in seconds (MTAT: ~29.1 s); default: the median decoded length of
        the clips that decoded.
    tolerance : float, optional
        Clips whose decoded length is off ``expected_duration`` by more than this fraction are
        excluded (default 0.1).

    Returns
    -------
    dict
        The summary also written to ``summary.json``: ``clips``, ``scored`` (ranked),
        ``failed`` (did not decode), ``wrong_duration`` (excluded for their length),
        ``expected_duration``, ``expected_duration_source``, ``duration_tolerance``,
        ``selected``, ``score_cut``, ``failed_clips`` and ``wrong_duration_clips`` (each with
        ``clip_id``, ``mtat_path`` and the reason in ``error``), ...
    """
    from .batch import run_batch
    from .mtat import find_annotations, read_annotations
    from .scan import SCAN_FIELDS, score_file
    from .tags import join_tags, tag_prior
    from .validate import check_tolerance

    check_tolerance(expected_duration, tolerance)
    tolerance = DEFAULT_TOLERANCE if tolerance is None else float(tolerance)
    if top is not None and min_score is not None:
        raise ValueError("give either top or min_score, not both")
    if audio not in AUDIO_MODES:
        raise ValueError(f"audio must be one of {AUDIO_MODES}, got {audio!r}")
    if top is None and min_score is None:
        top = 8000
    out_dir = os.path.abspath(os.fspath(out_dir))
    os.makedirs(out_dir, exist_ok=True)
    clips, tag_names = read_annotations(find_annotations(mtat_root))
    root = os.path.abspath(os.fspath(mtat_root))
    paths = [os.path.join(root, c.mp3_path) for c in clips]
    rows = run_batch(paths, score_file, results=os.path.join(out_dir, SCAN_RESULTS_FILE),
                     fields=SCAN_FIELDS, workers=workers, dask=dask, progress=progress,
                     desc="build-dataset")
    by_path = {r["path"]: r for r in rows}

    ranked, failed, wrong_duration, expected_duration, source = _rank(
        clips, paths, by_path, expected_duration, tolerance)
    if min_score is not None:
        selected = [t for t in ranked if t[0] >= min_score]
    else:
        selected = ranked[:top]

    file_paths = _place_audio([(path, clip.clip_id) for _, clip, path, _ in selected], out_dir, audio)
    meta = [{
        "clip_id": clip.clip_id, "file_path": fp, "amapiano_proxy_score": format(score, ".6g"),
        "tags": join_tags(clip.tags), "duration": row["duration_s"], "audio_score": row["score"],
        "tag_prior": format(tag_prior(clip.tags), ".6g"), "n_events": row["n_events"],
        "median_f0_hz": row["median_f0_hz"], "median_tau_ms": row["median_tau_ms"],
        "mtat_path": clip.mp3_path,
    } for (score, clip, _, row), fp in zip(selected, file_paths)]
    write_csv_atomic(os.path.join(out_dir, METADATA_FILE), METADATA_FIELDS, meta)

    tag_rows = _tag_counts(tag_names, ranked, selected)
    write_csv_atomic(os.path.join(out_dir, TAG_COUNTS_FILE), ("tag", "selected", "all"), tag_rows)

    cut = selected[-1][0] if selected else None
    _histogram(os.path.join(out_dir, HISTOGRAM_FILE), [t[0] for t in ranked],
               [t[0] for t in selected], cut)
    summary = {
        "mtat_root": root, "clips": len(clips), "scored": len(ranked), "failed": len(failed),
        "wrong_duration": len(wrong_duration), "expected_duration": expected_duration,
        "expected_duration_source": source, "duration_tolerance": tolerance,
        "selected": len(selected), "top": top, "min_score": min_score, "score_cut": cut,
        "top_tags_selected": [r["tag"] for r in tag_rows[:10] if r["selected"]],
        "failed_clips": failed, "wrong_duration_clips": wrong_duration,
    }
    write_json_atomic(os.path.join(out_dir, SUMMARY_FILE), summary)
    return summary


def _rank(clips, paths, by_path, expected_duration, tolerance):
    """Split the scanned clips into ranked (best first), failed and wrong-length ones."""
    from .score import combine_scores
    from .validate import duration_problem

    decoded, failed, wrong_duration = [], [], []
    for clip, path in zip(clips, paths):
        row = by_path[path]
        if row["error"]:
            failed.append({"clip_id": clip.clip_id, "mtat_path": clip.mp3_path, "error": row["error"]})
        else:
            decoded.append((clip, path, row))
    source = "--expected-duration"
    if expected_duration is None:
        lengths = [float(row["duration_s"]) for _, _, row in decoded]
        expected_duration = statistics.median(lengths) if lengths else None
        source = "the corpus median"
    ranked = []
    for clip, path, row in decoded:
        off = duration_problem(float(row["duration_s"]), expected_duration, tolerance, source)
        if off:
            wrong_duration.append({
                "clip_id": clip.clip_id, "mtat_path": clip.mp3_path,
                "duration": float(row["duration_s"]),
                "error": f"duration: {off}: truncated (e.g. a CBR mp3 cut short) or mis-cut"})
            continue
        score = combine_scores(float(row["score"]), clip.tags)
        ranked.append((score, clip, path, row))
    ranked.sort(key=lambda t: (-t[0], t[1].mp3_path))
    return ranked, failed, wrong_duration, expected_duration, source


def _tag_counts(tag_names, ranked, selected):
    """``tag, selected, all`` rows: how often each tag occurs, most selected first."""
    counts_all = {t: 0 for t in tag_names}
    counts_sel = dict(counts_all)
    for _, clip, _, _ in ranked:
        for t in clip.tags:
            counts_all[t] += 1
    for _, clip, _, _ in selected:
        for t in clip.tags:
            counts_sel[t] += 1
    return sorted(({"tag": t, "selected": counts_sel[t], "all": counts_all[t]} for t in tag_names),
                  key=lambda r: (-r["selected"], -r["all"], r["tag"]))
