"""Measure the detector on the realistic-mixture corpus of :mod:`build_corpus`.

For the original files and for each lossy round trip a generated clip can meet (MP3 at
64 kbit/s, Ogg Vorbis at ~48 kbit/s and Opus at 32 kbit/s through ``ffmpeg``; resampling to
16 kHz and 32 kHz through soxr), it reports:

- clip recall (``*_ld`` files) and false-positive rate (``*_neg``: the same grooves without the
  log drum) for 10 s clips (each 30 s file cut in three) and 30 s clips, with 95 % Wilson
  intervals (:func:`evaluation.stats.wilson_interval`);
- note level, on the 30 s ``*_ld`` files: onset precision, recall and F with
  :func:`mir_eval.onset.f_measure` (50 ms window), pooled over files, and the median and 90th
  percentile relative f0 error of the matched notes; and the same scores counting a note only
  where it is also read at its pitch (within 50 cents, :func:`mir_eval.transcription.match_notes`
  with offsets ignored);
- for each round trip, the share of clip verdicts (10 s and 30 s, positives and negatives)
  unchanged from the original.

Writes a JSON file and a figure. Needs ``ffmpeg`` (``apt-get install ffmpeg``) for the codecs;
without it only the resampling conditions run.

Usage::

    python benchmarks/realmix/measure.py /work/data/realmix --json out.json --figure fig.png
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import soundfile as sf
import soxr

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

import logdrum  # noqa: E402
from evaluation.stats import wilson_interval  # noqa: E402

#: ffmpeg encoder arguments of each codec round trip, and the file suffix.
CODECS = {
    "mp3 64k": (["-c:a", "libmp3lame", "-b:a", "64k"], ".mp3"),
    "vorbis 48k": (["-c:a", "libvorbis", "-b:a", "48k"], ".ogg"),
    "opus 32k": (["-c:a", "libopus", "-b:a", "32k"], ".opus"),
}
RESAMPLE = {"16 kHz": 16000, "32 kHz": 32000}
CLIP_SECONDS = (10, 30)
ONSET_WINDOW_S = 0.05
#: A note matched "at its pitch" is read within half a semitone (the line's pitch tolerance of
#: logdrum.core.line, 3 %; mir_eval's own default for transcription).
PITCH_TOLERANCE_CENTS = 50.0


def codec_round_trip(x, sr, args, suffix):
    """Encode ``x`` with ffmpeg and decode it again; returns ``(audio, sr)``."""
    with tempfile.TemporaryDirectory() as tmp:
        src, enc = os.path.join(tmp, "in.wav"), os.path.join(tmp, "enc" + suffix)
        sf.write(src, x, sr, subtype="PCM_16")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", src, *args, enc], check=True, capture_output=True)
        dec = os.path.join(tmp, "dec.wav")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", enc, dec], check=True, capture_output=True)
        y, sr_out = sf.read(dec, dtype="float32")
    return y, sr_out


def conditions(have_ffmpeg):
    """Names and functions ``(x, sr) -> (x, sr)`` of the conditions, the original first."""
    out = {"original": lambda x, sr: (x, sr)}
    if have_ffmpeg:
        for name, (args, suffix) in CODECS.items():
            out[name] = lambda x, sr, a=args, s=suffix: codec_round_trip(x, sr, a, s)
    for name, rate in RESAMPLE.items():
        out[name] = lambda x, sr, r=rate: (soxr.resample(x, sr, r).astype(np.float32), r)
    return out


def read_manifest(root):
    """The grooves listed in ``root/corpus.json``; a missing or foreign folder stops with a
    message naming the file and how to build it."""
    path = os.path.join(root, "corpus.json")
    try:
        with open(path) as f:
            grooves = json.load(f)["grooves"]
    except FileNotFoundError:
        sys.exit(f"{path} not found: build the corpus first (benchmarks/realmix/build_corpus.py --out {root})")
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as exc:
        sys.exit(f"{path} is not a corpus manifest of build_corpus.py ({type(exc).__name__}: {exc})")
    if not grooves:
        sys.exit(f"{path} lists no grooves")
    return grooves


def read_truth(path):
    """Onsets and f0 of the log-drum notes from a ``*_ld.csv``."""
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return np.array([float(r["onset_s"]) for r in rows]), np.array([float(r["f0_hz"]) for r in rows])


def clip_verdicts(x, sr):
    """Verdicts of the 10 s clips (consecutive) and of the whole (30 s) file."""
    out = {}
    for secs in CLIP_SECONDS:
        n = int(secs * sr)
        out[secs] = [bool(logdrum.analyze(x[i:i + n], sr).holds_log_drums)
                     for i in range(0, x.shape[0] - n + 1, n)]
    return out


def note_match(ref_on, ref_f0, events):
    """Matched counts and relative f0 errors of the events against the truth (50 ms), and the
    count matched at their own pitch as well (within ``PITCH_TOLERANCE_CENTS``)."""
    import mir_eval

    events = sorted(events, key=lambda e: e.onset_s)  # mir_eval wants increasing onsets
    est_on = np.array([e.onset_s for e in events])
    est_f0 = np.array([e.f0_hz for e in events])
    f, p, r = mir_eval.onset.f_measure(ref_on, est_on, window=ONSET_WINDOW_S) if est_on.size else (0, 0, 0)
    pairs = mir_eval.util.match_events(ref_on, est_on, ONSET_WINDOW_S) if est_on.size else []
    err = [abs(est_f0[j] - ref_f0[i]) / ref_f0[i] for i, j in pairs]
    return {"f": f, "p": p, "r": r, "matched": len(pairs), "n_ref": ref_on.size, "n_est": est_on.size,
            "f0_rel_err": err, "matched_at_pitch": _matched_at_pitch(ref_on, ref_f0, est_on, est_f0)}


def _matched_at_pitch(ref_on, ref_f0, est_on, est_f0):
    """Notes matched one to one within 50 ms *and* ``PITCH_TOLERANCE_CENTS``
    (:func:`mir_eval.transcription.match_notes`, offsets ignored): an event timed on a note but
    read at another pitch (the note before, still ringing) is no match here."""
    import mir_eval

    if not est_on.size or not ref_on.size:
        return 0
    # offsets are ignored; mir_eval only wants intervals of positive length
    ref_iv = np.column_stack([ref_on, ref_on + 0.1])
    est_iv = np.column_stack([est_on, est_on + 0.1])
    return len(mir_eval.transcription.match_notes(ref_iv, ref_f0, est_iv, est_f0, onset_tolerance=ONSET_WINDOW_S,
                                                  pitch_tolerance=PITCH_TOLERANCE_CENTS, offset_ratio=None))


def rate(k, n):
    """A share with its 95 % Wilson interval, as a dict."""
    lo, hi = wilson_interval(k, n) if n else (float("nan"), float("nan"))
    return {"k": int(k), "n": int(n), "share": k / n if n else float("nan"), "wilson95": [lo, hi]}


def measure(root, conds, limit=None):
    """Run every condition on the corpus. Returns the raw per-file results."""
    grooves = read_manifest(root)[:limit]
    raw = {name: {"pos": [], "neg": [], "notes": []} for name in conds}
    skipped = []
    for g_i, g in enumerate(grooves):
        stem = os.path.join(root, g["id"])
        try:  # a groove with a missing or broken file is left out whole, and reported
            ref_on, ref_f0 = read_truth(stem + "_ld.csv")
            audio = {kind: sf.read(f"{stem}_{kind}.flac", dtype="float32") for kind in ("ld", "neg")}
        except (OSError, sf.LibsndfileError, KeyError, ValueError) as exc:
            skipped.append(f"{g['id']}: {type(exc).__name__}: {exc}")
            continue
        for kind, (x0, sr0) in audio.items():
            for name, fn in conds.items():
                x, sr = fn(x0, sr0)
                verdicts = clip_verdicts(x, sr)
                raw[name]["pos" if kind == "ld" else "neg"].append(verdicts)
                if kind == "ld":
                    events = logdrum.analyze(x, sr).events
                    m = note_match(ref_on, ref_f0, events)
                    m["level_db_re_kick"] = g["log_drum"]["level_db_re_kick"]
                    raw[name]["notes"].append(m)
        print(f"{g_i + 1}/{len(grooves)}", end="\r", file=sys.stderr, flush=True)
    for line in skipped:
        print(f"skipped {line}", file=sys.stderr)
    if len(skipped) == len(grooves):
        sys.exit("no groove could be read")
    return raw


def _scores(matched, n_est, n_ref):
    """Pooled precision, recall and F of ``matched`` notes."""
    p, r = matched / max(n_est, 1), matched / max(n_ref, 1)
    return {"precision": p, "recall": r, "f": 2 * p * r / (p + r) if p + r else 0.0}


def summarise(raw):
    """Rates, note scores and verdict agreement per condition."""
    base = raw["original"]
    out = {}
    for name, r in raw.items():
        s = {}
        for secs in CLIP_SECONDS:
            pos = [v for f in r["pos"] for v in f[secs]]
            neg = [v for f in r["neg"] for v in f[secs]]
            s[f"recall_{secs}s"] = rate(sum(pos), len(pos))
            s[f"false_positive_{secs}s"] = rate(sum(neg), len(neg))
            if name != "original":
                same = [a == b for kind in ("pos", "neg") for f, f0 in zip(r[kind], base[kind])
                        for a, b in zip(f[secs], f0[secs])]
                s[f"unchanged_{secs}s"] = rate(sum(same), len(same))
        matched = sum(m["matched"] for m in r["notes"])
        n_ref = sum(m["n_ref"] for m in r["notes"])
        n_est = sum(m["n_est"] for m in r["notes"])
        errs = np.array([e for m in r["notes"] for e in m["f0_rel_err"]])
        at_pitch = sum(m["matched_at_pitch"] for m in r["notes"])
        s["notes_at_pitch"] = {**_scores(at_pitch, n_est, n_ref), "matched": at_pitch,
                               "pitch_tolerance_cents": PITCH_TOLERANCE_CENTS}
        s["notes"] = {**_scores(matched, n_est, n_ref),
                      "median_file_f": float(np.median([m["f"] for m in r["notes"]])),
                      "n_ref": n_ref, "n_est": n_est, "matched": matched,
                      "f0_median_rel_err": float(np.median(errs)) if errs.size else float("nan"),
                      "f0_p90_rel_err": float(np.percentile(errs, 90)) if errs.size else float("nan")}
        out[name] = s
    return out


def by_level(raw, edges=(-12, -9, -6, -3, 0)):
    """Original 30 s note recall and 10 s clip recall by log-drum level against the kick."""
    rows = []
    notes, pos = raw["original"]["notes"], raw["original"]["pos"]
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = [i for i, m in enumerate(notes) if lo <= m["level_db_re_kick"] < hi or (hi == 0 and m["level_db_re_kick"] == 0)]
        clips = [v for i in sel for v in pos[i][10]]
        rows.append({"level_db": [lo, hi], "files": len(sel),
                     "note_recall": sum(notes[i]["matched"] for i in sel) / max(1, sum(notes[i]["n_ref"] for i in sel)),
                     "clip_recall_10s": rate(sum(clips), len(clips))})
    return rows


def figure(summary, levels, path):
    """Clip recall / false positives per condition and note recall by level."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(summary)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [2, 1]})
    ax = axes[0]
    xs = np.arange(len(names))
    for off, key, label, color in ((-0.3, "recall_10s", "recall 10 s", "tab:green"),
                                   (-0.1, "recall_30s", "recall 30 s", "tab:olive"),
                                   (0.1, "false_positive_10s", "false pos. 10 s", "tab:red"),
                                   (0.3, "false_positive_30s", "false pos. 30 s", "tab:orange")):
        v = np.array([summary[n][key]["share"] for n in names]) * 100
        ci = np.array([summary[n][key]["wilson95"] for n in names]).T * 100
        ax.bar(xs + off, v, 0.2, yerr=[v - ci[0], ci[1] - v], label=label, color=color, capsize=2)
    ax.set_xticks(xs, names, rotation=20, fontsize=8)
    ax.set_ylabel("% of clips judged to hold log drums")
    ax.axhline(95, color="tab:green", lw=0.6, ls="--")
    ax.axhline(3, color="tab:red", lw=0.6, ls="--")
    ax.legend(fontsize=7, ncol=2)
    ax.set_title("realistic mixes: with / without a log drum", fontsize=9)
    ax = axes[1]
    mids = [np.mean(r["level_db"]) for r in levels]
    ax.plot(mids, [100 * r["note_recall"] for r in levels], "o-", label="note recall (50 ms)")
    ax.plot(mids, [100 * r["clip_recall_10s"]["share"] for r in levels], "s-", label="clip recall 10 s")
    ax.set_xlabel("log drum peak re kick peak (dB)")
    ax.set_ylim(0, 102)
    ax.legend(fontsize=7)
    ax.set_title("by log-drum level (original)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", help="corpus folder written by build_corpus.py")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--figure", help="write the figure here (PNG)")
    ap.add_argument("--limit", type=int, help="only the first N grooves")
    ap.add_argument("--only-original", action="store_true", help="skip the round trips")
    args = ap.parse_args(argv)
    conds = conditions(shutil.which("ffmpeg") is not None)
    if args.only_original:
        conds = {"original": conds["original"]}
    raw = measure(args.root, conds, args.limit)
    summary = summarise(raw)
    levels = by_level(raw)
    for name, s in summary.items():
        n = s["notes"]
        line = "  ".join(f"{k} {100 * s[k]['share']:.1f} %" for k in s if not k.startswith("notes"))
        print(f"{name:11s} {line}  notes P {n['precision']:.3f} R {n['recall']:.3f} F {n['f']:.3f}"
              f" (at pitch F {s['notes_at_pitch']['f']:.3f})"
              f"  f0 err median {100 * n['f0_median_rel_err']:.2f} % p90 {100 * n['f0_p90_rel_err']:.2f} %")
    for r in levels:
        print(f"level {r['level_db']}: {r['files']} files, note recall {100 * r['note_recall']:.1f} %, "
              f"10 s clip recall {100 * r['clip_recall_10s']['share']:.1f} %")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"conditions": summary, "by_level": levels,
                       "raw_notes": {k: [{kk: vv for kk, vv in m.items() if kk != "f0_rel_err"} for m in v["notes"]]
                                     for k, v in raw.items()}}, f, indent=1)
    if args.figure:
        figure(summary, levels, args.figure)


if __name__ == "__main__":
    main()
