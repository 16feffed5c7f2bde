"""Stage 1: synthesise a small MagnaTagATune look-alike in the real layout."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from logdrum.dataset.mtat import ANNOTATIONS_FILE, write_annotations

MTAT_SR = 16000
FOLDERS = "0123456789abcdef"

# Tags of the clips WITH log drums: mixed, some plainly misleading (audio must win).
_LOG_DRUM_TAGS = [
    ("electronic", "house", "drums"), ("classical", "piano"), ("dance", "beat", "bass", "synth"),
    (), ("piano", "jazzy", "percussion"), ("no beat", "quiet"), ("techno", "repetitive"),
    ("electronica", "deep", "low"), ("funky", "beats"), ("house", "piano"), ("electro", "bass"),
    ("dance", "disco"),
]
# Clips WITHOUT log drums: the most amapiano-looking tags MTAT has, a few neutral ones.
_AMAPIANO_LOOKING = ("electronic", "dance", "house", "techno", "beat", "drums", "bass", "synth")
_OTHER_TAGS = [_AMAPIANO_LOOKING, ("house", "deep", "bass", "repetitive"), _AMAPIANO_LOOKING,
               ("electronic", "synth", "ambient"), ("techno", "drone", "low"), (),
               ("dance", "beats", "drums"), ("electronica", "noise")]


# ---- 1. corpus ----------------------------------------------------------------------------

def _fit(x, n):
    return x[:n] if x.size >= n else np.pad(x, (0, n - x.size))


def _log_drum_clip(i, seconds, sr):
    from logdrum import synth

    rng = np.random.default_rng(100 + i)
    bpm = float(rng.uniform(108.0, 116.0))
    bars = int(math.ceil(seconds / (4 * 60.0 / bpm)))
    x = synth.groove(sr, bars=bars, bpm=bpm, tau=float(rng.uniform(0.32, 0.55)),
                     glide=float(rng.uniform(1.1, 1.35)), drive=float(rng.uniform(0.0, 2.5)),
                     log_drum_db=float(rng.uniform(-11.0, -6.0)), hats=bool(i % 4 != 3),
                     chords=bool(i % 3 != 2), seed=1000 + i)
    return x


def _other_clip(i, seconds, sr):
    from logdrum import synth

    rng = np.random.default_rng(200 + i)
    bpm = float(rng.uniform(108.0, 116.0))
    bars = int(math.ceil(seconds / (4 * 60.0 / bpm)))
    kinds = [
        ("groove without log drums", lambda: synth.groove(sr, bars=bars, bpm=bpm, log_drums=False, seed=2000 + i)),
        ("groove with a sustained bass", lambda: synth.groove(sr, bars=bars, bpm=bpm, log_drums=False, bass=True, seed=2000 + i)),
        ("kicks and hats only", lambda: synth.groove(sr, bars=bars, bpm=bpm, log_drums=False, chords=False, seed=2000 + i)),
        ("chords only", lambda: synth.groove(sr, bars=bars, bpm=bpm, log_drums=False, kicks=False, hats=False, seed=2000 + i)),
        ("steady 100 Hz tone", lambda: synth.tone(sr, 100.0, seconds)),
        ("pink noise", lambda: synth.noise(sr, seconds, color="pink", level_db=-12.0, seed=2000 + i)),
        ("brown noise", lambda: synth.noise(sr, seconds, color="brown", level_db=-10.0, seed=2000 + i)),
        ("steady 440 Hz tone", lambda: synth.tone(sr, 440.0, seconds)),
    ]
    name, make = kinds[i % len(kinds)]
    return name, make()


def write_mtat_corpus(root, size, *, sr=MTAT_SR):
    """Synthesise the corpus under ``root`` in the MTAT layout.

    Returns
    -------
    list of dict
        One per clip: ``clip_id``, ``mp3_path`` (relative to ``root``), ``tags``, ``kind``
        (``"log drums"``, ``"no log drums"``, ``"empty"`` or ``"truncated"``) and ``what``.
    """
    import soundfile as sf

    root = Path(root)
    for f in FOLDERS:
        (root / f).mkdir(parents=True, exist_ok=True)
    n = int(round(size.clip_seconds * sr))
    specs = []
    for i in range(size.log_drum_clips):
        specs.append(("log drums", "amapiano groove", _LOG_DRUM_TAGS[i % len(_LOG_DRUM_TAGS)],
                      lambda i=i: _log_drum_clip(i, size.clip_seconds, sr)))
    for i in range(size.other_clips):
        what, _ = _other_clip(i, 0.1, sr)      # just the name; audio is made below
        specs.append(("no log drums", what, _OTHER_TAGS[i % len(_OTHER_TAGS)],
                      lambda i=i: _other_clip(i, size.clip_seconds, sr)[1]))
    specs.append(("empty", "0-byte file", ("dance",), None))
    specs.append(("truncated", "groove cut off mid-file", ("house", "electronic"),
                  lambda: _log_drum_clip(99, size.clip_seconds, sr)))
    # interleave the kinds, as a real collection would be
    order = sorted(range(len(specs)), key=lambda k: (k * 7919) % len(specs))
    clips = []
    for rank, k in enumerate(order):
        kind, what, tags, make = specs[k]
        folder = FOLDERS[(5 * rank + 3) % 16]
        slug = re.sub(r"[^a-z0-9]+", "_", what.lower()).strip("_")
        clip_id = str(2 + 4 * rank)    # MTAT ids are sparse integers
        rel = f"{folder}/logdrum_demo-synthetic_{slug}-{rank + 1:02d}-take_{k:02d}-30-59.mp3"
        path = root / rel
        if make is None:
            path.write_bytes(b"")
        else:
            x = _fit(np.asarray(make(), dtype=np.float64), n).astype(np.float32)
            sf.write(path, x, sr, format="MP3", bitrate_mode="CONSTANT", compression_level=0.85)
            if kind == "truncated":
                data = path.read_bytes()
                path.write_bytes(data[: len(data) * 2 // 5])
        clips.append({"clip_id": clip_id, "mp3_path": rel, "tags": list(tags), "kind": kind,
                      "what": what})
    write_annotations(root / ANNOTATIONS_FILE,
                      [(c["clip_id"], c["mp3_path"], c["tags"]) for c in clips])
    return clips


