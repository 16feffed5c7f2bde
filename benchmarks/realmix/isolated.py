"""How often does the detector hear a log drum in one isolated real drum or bass sound?

Every sample of the Hydrogen kits (``hydrogen-drumkits``, ``hydrogen-drumkits-effects``), every
General MIDI drum note of the soundfont drum kits at three velocities (the two AVL kits of
``avldrums.lv2-soundfont``; the Standard, Room, Power, Electronic, TR-808, Jazz and Brush kits of
``fluid-soundfont-gm``, ``musescore-general-soundfont-lossless``, ``timgm6mb-soundfont`` and
``csound-soundfont``) and single bass notes E1-E3 of the FluidR3 General MIDI basses are analysed
one by one, as a short clip each (one accepted hit is enough for a clip under 5 s to hold log
drums). Identical audio (the same sample in two kits or soundfonts, or a render that differs
only in level) is analysed once, under the first name met. Prints and writes (``--json``) the
share judged to hold log drums per category with a 95 % Wilson interval, every sound that fires
with its events, and the duplicates dropped. Packages: see :mod:`samples`.

Usage::

    python benchmarks/realmix/isolated.py [--json out.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections import defaultdict

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

import logdrum  # noqa: E402
from evaluation.stats import wilson_interval  # noqa: E402
from logdrum.io.audio import load_audio  # noqa: E402

import samples  # noqa: E402


def group_of(item):
    """Reporting group: kicks are split into acoustic and electronic, basses too."""
    cat = item["category"]
    if cat in ("kicks", "basses"):
        return f"{cat} ({'electronic' if item['electronic'] else 'acoustic'})"
    return cat


def all_sounds():
    """Yield every isolated sound as a dict with ``name``, ``category``, ``electronic``,
    ``audio`` and ``sr``."""
    for item in samples.hydrogen_samples():
        audio, sr = load_audio(item["path"])
        yield {**item, "name": f"{item['kit']}/{os.path.basename(item['path'])}", "audio": audio, "sr": sr}
    if samples.have_fluidsynth():
        yield from samples.kit_samples()
        yield from samples.gm_bass_samples()


def audio_key(audio, sr):
    """Hash of peak-normalised audio at 16 bits: equal for the same sound at another level."""
    x = np.asarray(audio, dtype=np.float64)
    peak = np.max(np.abs(x)) if x.size else 0.0
    q = np.round(x / peak * 32767).astype("<i2") if peak > 0 else np.zeros(x.shape, "<i2")
    return hashlib.sha1(str(sr).encode() + q.tobytes()).hexdigest()


def unique(sounds, duplicates):
    """Yield each sound whose audio was not met before; add ``{dropped name: kept name}`` to
    ``duplicates``."""
    seen = {}
    for s in sounds:
        key = audio_key(s["audio"], s["sr"])
        if key in seen:
            duplicates[s["name"]] = seen[key]
            continue
        seen[key] = s["name"]
        yield s


def judge(sounds, config=None):
    """Analyse each sound; return per-group counts and the sounds that fire.

    Returns
    -------
    counts : dict
        group -> [n_firing, n_sounds]
    firing : list of dict
    """
    counts = defaultdict(lambda: [0, 0])
    firing = []
    for s in sounds:
        a = logdrum.analyze(s["audio"], s["sr"], config)
        g = group_of(s)
        counts[g][1] += 1
        if a.holds_log_drums:
            counts[g][0] += 1
            firing.append({"name": s["name"], "group": g, "score": a.score,
                           "events": [e.to_dict() for e in a.events]})
    return dict(counts), firing


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)
    duplicates = {}
    counts, firing = judge(unique(all_sounds(), duplicates))
    table = {}
    for g in sorted(counts):
        k, n = counts[g]
        lo, hi = wilson_interval(k, n)
        table[g] = {"firing": k, "sounds": n, "share": k / n, "wilson95": [lo, hi]}
        print(f"{g:24s} {k:4d} / {n:4d}  {100 * k / n:5.1f} %  (95 % CI {100 * lo:.1f}-{100 * hi:.1f} %)")
    for f in firing:
        ev = ", ".join(f"{e['f0_hz']:.0f} Hz tau {e['decay_ms']:.0f} ms" for e in f["events"])
        print(f"  fires: {f['name']} [{f['group']}] {ev}")
    print(f"{len(duplicates)} duplicate sounds dropped")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"categories": table, "firing": firing, "duplicates": duplicates}, fh, indent=1)


if __name__ == "__main__":
    main()
