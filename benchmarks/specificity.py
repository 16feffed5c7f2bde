"""How often does the detector say "holds log drums" on music that is not amapiano?

Walks a folder of audio files, cuts every track into consecutive, non-overlapping clips of
N seconds (10 s like MusicGen samples, 30 s like MTAT clips; a shorter tail is dropped), runs
:func:`logdrum.analyze` on each clip and prints the share of firing clips with a 95 % Wilson
interval, the share of tracks with at least one firing clip, the accepted events per clip and
the files that fire most, with their events. On non-amapiano music every firing clip is a
false positive, so the clip share is the detector's false-positive rate.

Usage::

    python benchmarks/specificity.py DIR [--clip-seconds 10 30] [--json out.json]

A plain script, not a pytest test. Files that fail to decode are skipped and counted.
"""

from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from multiprocessing import Pool

import numpy as np
from tqdm import tqdm

import logdrum
from evaluation.stats import wilson_interval
from logdrum.io.audio import AudioReadError, find_audio_files, load_audio

def analyze_file(job):
    """Analyse one file, clip by clip, at every clip length.

    Parameters
    ----------
    job : tuple
        ``(path, clip_seconds, config)``; ``config`` is a :class:`logdrum.DetectorConfig` or None.

    Returns
    -------
    dict
        ``path``, ``duration_s``, ``error`` (None or the message) and ``clips``: a dict from clip
        length to a list of ``{"start_s", "holds", "score", "events"}``, events as dicts with
        onset in seconds from the start of the track.
    """
    path, clip_seconds, config = job
    out = {"path": path, "duration_s": 0.0, "error": None, "clips": {}}
    try:
        audio, sr = load_audio(path)
    except AudioReadError as exc:  # any decoder failure: skip the file, count it
        out["error"] = str(exc)
        return out
    out["duration_s"] = audio.shape[1] / sr
    for secs in clip_seconds:
        n = int(round(secs * sr))
        clips = []
        for start in range(0, audio.shape[1] - n + 1, n):
            a = logdrum.analyze(audio[:, start:start + n], sr, config, parallel=False)
            events = [dict(e.to_dict(), onset_s=e.onset_s + start / sr) for e in a.events]
            clips.append({"start_s": start / sr, "holds": bool(a.holds_log_drums),
                          "score": a.score, "events": events})
        out["clips"][secs] = clips
    return out


def report(results, secs, top=8, root=""):
    """Print the summary for one clip length and return it as a dict.

    Parameters
    ----------
    results : list of dict
        From :func:`analyze_file`, failed files excluded.
    secs : float
        Clip length.
    top : int
        How many of the most-firing files to list with their events.
    root : str
        Prefix stripped from the printed paths.

    Returns
    -------
    dict
        Counts, rates, Wilson interval and events-per-clip histogram.
    """
    tracks = [r for r in results if r["clips"][secs]]
    clips = [c for r in tracks for c in r["clips"][secs]]
    fired = sum(c["holds"] for c in clips)
    tracks_fired = sum(any(c["holds"] for c in r["clips"][secs]) for r in tracks)
    lo, hi = wilson_interval(fired, len(clips)) if clips else (float("nan"), float("nan"))
    n_ev = np.array([len(c["events"]) for c in clips])
    hist = Counter(np.minimum(n_ev, 10).tolist())
    print(f"\n=== {secs:g} s clips ===")
    print(f"tracks with >= 1 clip: {len(tracks)}  (too short: {len(results) - len(tracks)})   clips: {len(clips)}")
    print(f"clips holding log drums: {fired}/{len(clips)} = {fired / max(len(clips), 1):.2%}"
          f"   95% Wilson [{lo:.2%}, {hi:.2%}]")
    print(f"tracks with a firing clip: {tracks_fired}/{len(tracks)} = {tracks_fired / max(len(tracks), 1):.1%}")
    print("accepted events per clip (10 = 10+):  "
          + "  ".join(f"{k}:{hist[k]}" for k in sorted(hist)))
    fired_ev = [len(c["events"]) for c in clips if c["holds"]]
    if fired_ev:
        print(f"  in firing clips: median {np.median(fired_ev):g}, min {min(fired_ev)}, max {max(fired_ev)}")
    by_dir = Counter()
    for r in tracks:
        d = os.path.relpath(r["path"], root).split(os.sep)[0] if root else ""
        by_dir[d, "n"] += len(r["clips"][secs])
        by_dir[d, "k"] += sum(c["holds"] for c in r["clips"][secs])
    if root:
        print("by top-level folder:")
        for d in sorted({d for d, _ in by_dir}):
            k, n = by_dir[d, "k"], by_dir[d, "n"]
            print(f"  {d:<28} {k:4d}/{n:<5d} = {k / n:6.2%}")
    ranked = sorted(tracks, key=lambda r: -sum(c["holds"] for c in r["clips"][secs]))
    for r in ranked[:top]:
        hits = [c for c in r["clips"][secs] if c["holds"]]
        if not hits:
            break
        print(f"- {os.path.relpath(r['path'], root) if root else r['path']}: "
              f"{len(hits)}/{len(r['clips'][secs])} clips fire")
        for c in hits[:3]:
            ev = ", ".join(f"{e['onset_s']:.1f}s {e['f0_hz']:.0f}Hz {e['decay_ms']:.0f}ms"
                           for e in c["events"][:6])
            print(f"    clip @{c['start_s']:.0f}s score {c['score']:.2f}, {len(c['events'])} ev: {ev}")
    return {"clip_seconds": secs, "tracks": len(tracks), "clips": len(clips), "fired": int(fired),
            "rate": fired / max(len(clips), 1), "wilson95": [lo, hi], "tracks_fired": int(tracks_fired),
            "events_per_clip": {int(k): int(v) for k, v in hist.items()}}


def run(root, clip_seconds=(10.0, 30.0), config=None, workers=2):
    """Analyse every audio file under ``root``.

    Parameters
    ----------
    root : str
    clip_seconds : sequence of float
    config : logdrum.DetectorConfig, optional
    workers : int
        Processes (at most 2 are used).

    Returns
    -------
    ok, failed : list of dict
        Per-file results of :func:`analyze_file`, split by whether the file decoded.
    """
    paths = find_audio_files([root], follow_links=True)
    jobs = [(p, tuple(clip_seconds), config) for p in paths]
    with Pool(min(max(workers, 1), 2)) as pool:
        results = list(tqdm(pool.imap_unordered(analyze_file, jobs), total=len(jobs), unit="file"))
    results.sort(key=lambda r: r["path"])
    return [r for r in results if r["error"] is None], [r for r in results if r["error"]]


def main(argv=None):
    """Command line entry point; see the module docstring."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--clip-seconds", type=float, nargs="+", default=[10.0, 30.0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--top", type=int, default=8)
    ap.add_argument("--json", help="write the summary and every firing clip here")
    args = ap.parse_args(argv)
    ok, failed = run(args.dir, args.clip_seconds, workers=args.workers)
    minutes = sum(r["duration_s"] for r in ok) / 60
    print(f"{len(ok) + len(failed)} files, {len(failed)} failed to decode, {minutes:.1f} min decoded")
    for r in failed:
        print(f"  skipped {r['path']}: {r['error']}")
    summary = [report(ok, s, args.top, args.dir) for s in args.clip_seconds]
    if args.json:
        firing = [{"path": r["path"], "clip_seconds": s, **c}
                  for s in args.clip_seconds for r in ok for c in r["clips"][s] if c["holds"]]
        with open(args.json, "w") as f:
            json.dump({"files": len(ok) + len(failed), "failed": [r["path"] for r in failed],
                       "minutes": minutes, "summary": summary, "firing_clips": firing}, f, indent=1)


if __name__ == "__main__":
    main()
