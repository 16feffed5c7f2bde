"""Check that a change to the detector's hot path leaves ``logdrum.analyze`` unchanged.

Runs ``analyze`` on a fixed set of inputs (synthetic grooves at several rates and mixes,
tiled long grooves, and, where installed, the real drum samples of the Debian
``hydrogen-drumkits`` package alone and sequenced with log drums) and stores or compares every
accepted event, every rejected candidate and the clip verdict::

    python benchmarks/analyze_regression.py save /work/data/ref.pkl   # before the change
    python benchmarks/analyze_regression.py check /work/data/ref.pkl  # after it

``check`` exits 1 when a verdict, an event count or a rejection reason differs, or a feature
moves by more than float noise (relative ``--rtol``, default 1e-6).
"""

from __future__ import annotations

import argparse
import glob
import math
import pickle
import sys

import numpy as np

import logdrum
from logdrum import synth
from logdrum.audio_io import load_audio

_DRUMKITS = "/usr/share/hydrogen/data/drumkits"


def _grooves():
    for sr in (8000, 16000, 22050, 44100, 48000, 96000):
        for seed in range(2):
            yield f"groove sr={sr} seed={seed}", synth.groove(sr, bars=4, seed=seed), sr
    sr = 44100
    variants = [dict(log_drums=False), dict(log_drums=False, bass=True), dict(bass=True),
                dict(log_drum_db=-4.0), dict(log_drum_db=-16.0), dict(tau=0.25), dict(tau=0.8),
                dict(bpm=105.0, glide=1.0, drive=0.0), dict(bpm=120.0, drive=3.0)]
    for i, kw in enumerate(variants):
        yield f"groove {kw}", synth.groove(sr, bars=4, seed=10 + i, **kw), sr
    g = synth.groove(sr, bars=4, seed=3)
    yield "groove int16 stereo", (np.stack([g, 0.5 * g]) * 32767).astype(np.int16), sr
    bar = synth.groove(sr, bars=64, seed=0).astype(np.float32)
    yield "tiled groove 10 min", np.resize(bar, 600 * sr), sr
    yield "silence", np.zeros(sr), sr
    yield "single note", synth.log_drum(sr, 80.0, 0.4), sr


def _real_samples(limit):
    files = sorted(glob.glob(f"{_DRUMKITS}/*/*.wav") + glob.glob(f"{_DRUMKITS}/*/*.flac"))
    files = files[:: max(1, len(files) // limit)][:limit]
    rng = np.random.default_rng(0)
    sequence = []
    for path in files:
        x, sr = load_audio(path)
        yield f"sample {path[len(_DRUMKITS) + 1:]}", x, sr
        if sr == 44100:
            mono = x.mean(axis=0) if x.ndim == 2 else x
            sequence.append(mono[: int(rng.uniform(0.2, 1.0) * sr)])
    if sequence:
        # real hits back to back, with a synthetic log-drum line on top every 1.3 s
        seq = np.concatenate(sequence)
        for k, at in enumerate(np.arange(0.5, seq.shape[0] / 44100 - 1.0, 1.3)):
            synth.place(seq, synth.log_drum(44100, 60.0 + 7 * (k % 10), 0.3 + 0.05 * (k % 7),
                                            level_db=-14.0), at, 44100)
        yield "real samples sequenced + log drums", seq, 44100


def _summary(a):
    return {"holds": a.holds_log_drums, "score": a.score,
            "events": [tuple(e) for e in a.events], "rejected": [tuple(c) for c in a.rejected]}


def run(samples):
    out = {}
    sources = [_grooves()] + ([_real_samples(samples)] if samples else [])
    for source in sources:
        for name, x, sr in source:
            out[name] = _summary(logdrum.analyze(x, sr))
    return out


def _close(a, b, rtol):
    if isinstance(a, str) or isinstance(b, str):
        return a == b, 0.0
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b):
        return (a == b) or (math.isnan(a) and math.isnan(b)), 0.0
    err = abs(a - b) / max(abs(a), abs(b), 1e-9)
    return err <= rtol, err


def compare(ref, new, rtol):
    """List of differences (empty when equal up to ``rtol``) and the largest relative error."""
    problems, worst = [], 0.0
    for name, r in ref.items():
        n = new.get(name)
        if n is None:
            problems.append(f"{name}: missing")
            continue
        if r["holds"] != n["holds"]:
            problems.append(f"{name}: verdict {r['holds']} -> {n['holds']}")
        for kind in ("events", "rejected"):
            if len(r[kind]) != len(n[kind]):
                problems.append(f"{name}: {len(r[kind])} -> {len(n[kind])} {kind}")
                continue
            for i, (er, en) in enumerate(zip(r[kind], n[kind])):
                for field, vr, vn in zip(range(len(er)), er, en):
                    ok, err = _close(vr, vn, rtol)
                    worst = max(worst, err)
                    if not ok:
                        problems.append(f"{name}: {kind}[{i}][{field}] {vr!r} -> {vn!r}")
        ok, err = _close(r["score"], n["score"], rtol)
        worst = max(worst, err)
        if not ok:
            problems.append(f"{name}: score {r['score']} -> {n['score']}")
    return problems, worst


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", choices=["save", "check"])
    p.add_argument("path")
    p.add_argument("--samples", type=int, default=300, help="real drum samples to include (0: none)")
    p.add_argument("--rtol", type=float, default=1e-6)
    args = p.parse_args(argv)
    new = run(args.samples)
    n_events = sum(len(v["events"]) for v in new.values())
    n_rejected = sum(len(v["rejected"]) for v in new.values())
    print(f"{len(new)} inputs, {n_events} events, {n_rejected} rejected candidates")
    if args.mode == "save":
        with open(args.path, "wb") as f:
            pickle.dump(new, f)
        return 0
    with open(args.path, "rb") as f:
        ref = pickle.load(f)
    problems, worst = compare(ref, new, args.rtol)
    print(f"largest relative difference: {worst:.2e}")
    for line in problems[:50]:
        print(line)
    print("OK: unchanged" if not problems else f"{len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
