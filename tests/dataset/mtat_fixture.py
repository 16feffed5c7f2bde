"""A miniature MagnaTagATune tree, built like the real one.

Real layout (see ``shared/mtat/README.md``): folders ``0``-``9``, ``a``-``f`` of 16 kHz mono MP3
clips, and a tab-separated ``annotations_final.csv`` with ``clip_id``, the 188 binary tag
columns (header order :data:`logdrum.mtat.MTAT_TAGS`) and ``mp3_path``, every field
double-quoted, written by :func:`logdrum.mtat.write_annotations`.
Our clips are ~9.5 s instead of 29.1 s to keep the suite fast.

Clips with log drums (amapiano-style grooves) carry mixed or even unfavourable tags; clips
without log drums (the same groove without its log-drum line, noise, tones) carry the most
amapiano-looking tags MTAT has, so a ranking that trusts tags over audio fails the tests.
Broken clips: an empty file, a truncated MP3 (VBR with a Xing header: the decode stops short of
the header's length), a truncated constant-bitrate MP3 without a Xing header (it decodes
without error and its header length follows the file size: only its length gives it away) and
a missing file.
"""

import csv
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from logdrum import synth
from logdrum.dataset.mtat import write_annotations

HERE = Path(__file__).parent
REPO = HERE.parents[1]
SR = 16000
FOLDERS = "0123456789abcdef"


@dataclass
class FixtureClip:
    clip_id: str
    mp3_path: str
    tags: tuple
    kind: str  # "log_drums", "none" or a broken kind: "empty", "truncated", "truncated_cbr", "missing"

#: The broken kinds, and the problem ``logdrum validate`` reports for each.
BROKEN = {"empty": "empty", "truncated": "truncated", "truncated_cbr": "duration", "missing": "missing"}


def _clip_specs():
    grooves = [dict(seed=1), dict(bpm=115, tau=0.35, seed=2), dict(bpm=110, tau=0.45, seed=3),
               dict(bpm=113, glide=1.1, drive=0.5, hats=False, seed=4)]
    good_tags = [("classical", "piano"), ("no beat", "quiet"), ("drums", "bass"), ()]
    amapiano_tags = ("electronic", "dance", "house", "techno", "beat", "drums", "bass", "synth")
    specs = []
    for i, kw in enumerate(grooves):
        specs.append(("log_drums", f"groove_{i}", good_tags[i], synth.groove(SR, bars=4, **kw)))
    specs += [
        ("none", "plain_groove", amapiano_tags, synth.groove(SR, bars=4, log_drums=False, seed=5)),
        ("none", "bass_groove", amapiano_tags, synth.groove(SR, bars=4, log_drums=False, bass=True, seed=6)),
        ("none", "white_noise", ("electronic", "noise"), synth.noise(SR, 9.5, seed=7)),
        ("none", "brown_noise", ("techno", "deep", "low"), synth.noise(SR, 9.5, color="brown", level_db=-10, seed=8)),
        ("none", "low_tone", ("bass", "drone", "repetitive"), synth.tone(SR, 100.0, 9.5)),
        ("none", "high_tone", (), synth.tone(SR, 440.0, 9.5)),
        ("empty", "empty_clip", ("dance",), None),
        ("truncated", "truncated_clip", ("house",), synth.groove(SR, bars=4, seed=9)),
        # a strong log-drum line with the best tags: it would top the ranking if it got in
        ("truncated_cbr", "truncated_cbr_clip", ("house", "electronic", "dance"),
         synth.groove(SR, bars=4, seed=10)),
        ("missing", "missing_clip", ("electronic",), None),
    ]
    return specs


def build_mtat_tree(root: Path):
    """Write the tree under ``root`` and return the list of :class:`FixtureClip`."""
    for f in FOLDERS:
        (root / f).mkdir(parents=True, exist_ok=True)
    clips = []
    for i, (kind, name, tags, audio) in enumerate(_clip_specs()):
        folder = FOLDERS[(7 * i) % 16]
        rel = f"{folder}/artist_{i}-album_{name}-{i + 1:02d}-track_{name}-30-59.mp3"
        path = root / rel
        if kind == "empty":
            path.write_bytes(b"")
        elif kind == "truncated_cbr":     # as MTAT's own files: CBR, no Xing header
            sf.write(path, audio.astype(np.float32), SR, format="MP3", bitrate_mode="CONSTANT",
                     compression_level=0.85)
        elif kind != "missing":
            sf.write(path, audio.astype(np.float32), SR, format="MP3")
        if kind in ("truncated", "truncated_cbr"):
            data = path.read_bytes()
            path.write_bytes(data[: len(data) * 2 // 5])
        clips.append(FixtureClip(str(2 * i + 2), rel, tuple(tags), kind))
    write_annotations(root / "annotations_final.csv", clips)
    return clips


def run_cli(*args, check=None, **kw):
    """Run ``python -m logdrum ARGS`` in a real subprocess; return the CompletedProcess."""
    proc = subprocess.run([sys.executable, "-m", "logdrum", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=120, **kw)
    if check is not None:
        assert proc.returncode == check, proc.stdout + proc.stderr
    return proc


def read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def link_tree(src: Path, dest: Path, copies: int = 1):
    """Hard-link every file of ``src`` into ``dest`` ``copies`` times (new paths, same audio)."""
    dest.mkdir(parents=True, exist_ok=True)
    n = 0
    for k in range(copies):
        for p in sorted(src.rglob("*.mp3")):
            os.link(p, dest / f"c{k:02d}_{p.name}")
            n += 1
    return n
