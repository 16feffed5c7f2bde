"""Build a corpus of realistic amapiano-style mixes from real recordings, with and without a
log-drum line, and note-level ground truth.

Each groove (105-120 BPM, 30 s by default) is made of real recorded sounds:

- drums from the Debian drum kits (``hydrogen-drumkits``, :mod:`samples`): a kick on every
  beat, a shaker / tambourine / closed hat on 16ths with a swung accent, claps or snares on 2
  and 4, an open hat on the off-beats, and a tom fill every fourth bar (half the grooves);
- chords (electric piano, organ, pad or piano; a minor-seventh progression, one chord a bar)
  and a bass line (General MIDI basses, two notes a bar, E1-E3), rendered with ``fluidsynth``
  from the ``fluid-soundfont-gm`` General MIDI soundfont;
- a vocal-like layer: ``espeak-ng`` phrases at varied pitch, on some bars.

The same bed is written twice: ``NNNN_neg.flac`` without and ``NNNN_ld.flac`` with a log-drum
line from :func:`logdrum.synth.log_drum` (f0 52-145 Hz on notes of the groove's minor key, tau 0.25-0.7 s, glide 1.0-1.5, drive
0-4, peak 0 to -12 dB against the kick's peak, a syncopated 16th pattern of 4-7 notes a bar).
The negatives are the hard ones: same kick, same bass, same toms. ``NNNN_ld.csv`` holds one row
per log-drum note (``onset_s, f0_hz, tau_s, glide, drive, level_db``); ``corpus.json`` holds
every groove's parameters and sources.

Needs (install by hand; this script installs nothing)::

    apt-get update
    apt-get install hydrogen-drumkits fluidsynth fluid-soundfont-gm espeak-ng

Usage::

    python benchmarks/realmix/build_corpus.py --out /work/data/realmix [--grooves 100] [--seconds 30]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import soundfile as sf
import soxr

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

from logdrum import synth  # noqa: E402
from logdrum.io.audio import load_audio  # noqa: E402

import samples  # noqa: E402

SR = 44100
#: The Hydrogen kits the drums are drawn from: the ten whose drumkit.xml the first reader of
#: :mod:`samples` could parse when the measured corpora were built. The kits it reads now
#: (Audiophob, ForzeeStereo, Gimme A Hand, The Black Pearl, a guitar-strum kit) are left out
#: so that a rebuild gives the measured corpus (docs/detector.md).
CORPUS_KITS = ("BJA_Pacific", "ColomboAcousticDrumkit", "ElectricEmpireKit", "HardElectro1", "Millo-Drums_v.1",
               "Millo_MultiLayered2", "Millo_MultiLayered3", "VariBreaks", "circAfrique v4", "rumpf_kit_z01_h2")
KICK_PEAK_DBFS = -6.0
CHORD_PROGRAMS = {"electric piano": 4, "rhodes": 5, "organ": 16, "warm pad": 89, "piano": 0, "choir pad": 91}
BASS_PROGRAMS = (33, 35, 38, 39)
# minor-seventh progressions (MIDI roots of the chords, in the octave of C3)
PROGRESSIONS = ((57, 50, 55, 48), (50, 55, 48, 53), (52, 57, 50, 55), (45, 50, 53, 52))
# log-drum patterns: 16th steps of a bar (syncopated, never two adjacent steps)
LD_PATTERNS = ((3, 6, 10, 14), (0, 3, 6, 10, 13), (2, 5, 8, 11, 14), (3, 6, 9, 11, 14),
               (1, 4, 7, 10, 12, 15), (0, 3, 6, 8, 11, 13, 15), (3, 7, 10, 14))
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)
PHRASES = ("yeah", "oh yeah", "ayy", "hey hey", "woah oh", "mmm", "la la la", "eh eh", "yebo", "sho")


def peak_normalise(x, peak_dbfs):
    """Scale ``x`` so that its peak sits at ``peak_dbfs``."""
    peak = np.max(np.abs(x))
    return x * (10 ** (peak_dbfs / 20) / peak) if peak > 0 else x


def _mono(path):
    audio, sr = load_audio(path)
    x = audio.mean(axis=0).astype(np.float64)
    return soxr.resample(x, sr, SR) if sr != SR else x


def drum_pool():
    """Real drum samples by role, loaded and resampled to :data:`SR`."""
    pool = {"kick": [], "shaker": [], "clap": [], "open hat": [], "tom": []}
    for item in samples.hydrogen_samples():
        if item["kit"] not in CORPUS_KITS:
            continue
        name = f"{item['instrument']} {os.path.basename(item['path'])}".lower()
        cat = item["category"]
        if cat == "kicks":
            role = "kick"
        elif re.search(r"shak|tamb|maraca|closed|chh|\bhh_0|hhclosed", name) and cat in ("hats", "percussion"):
            role = "shaker"
        elif re.search(r"clap", name) or (cat == "snares" and re.search(r"snare|\bsd_|\bsn", name)):
            role = "clap"
        elif cat == "hats" and re.search(r"open|\bho_|ohh|hhopen", name):
            role = "open hat"
        elif cat == "toms":
            role = "tom"
        else:
            continue
        x = _mono(item["path"])
        if x.size and np.max(np.abs(x)) > 0:
            pool[role].append((f"{item['kit']}/{os.path.basename(item['path'])}", x[: 2 * SR]))
    return pool


def render(notes, program, seconds, bpm):
    """Render ``(start_beat, beats, pitch, velocity)`` notes with the GM soundfont."""
    spb = 60.0 / bpm
    timed = [(b * spb, d * spb, p, v) for b, d, p, v in notes]
    x = samples.render_midi(samples.GM_SOUNDFONT, timed, sr=SR, program=program, tail_s=1.0).astype(np.float64)
    out = np.zeros(int(seconds * SR))
    out[: min(out.size, x.size)] = x[: out.size]
    return out


def voice_phrase(text, pitch, speed, voice):
    """One espeak-ng phrase as mono audio at :data:`SR`."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = os.path.join(tmp, "v.wav")
        subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed), "-w", wav, text],
                       check=True, capture_output=True)
        x, sr = sf.read(wav, dtype="float64")
    return soxr.resample(x, sr, SR)


def snap_to_scale(freqs, key_midi):
    """The nearest notes of the natural minor scale on ``key_midi`` (equal temperament): a
    producer tunes the log drum to the song's key, so two notes of a line are the same pitch
    or at least a semitone apart, never a quarter tone (which beats at a few Hz and is heard
    as out of tune)."""
    import librosa

    scale = np.array([key_midi % 12 + 12 * octave + step for octave in range(11) for step in MINOR_SCALE])
    midi = librosa.hz_to_midi(np.asarray(freqs))
    snapped = scale[np.abs(scale[None, :] - midi[:, None]).argmin(axis=1)].astype(float)
    # the band's edges stay inside: never snap above 145 Hz or below 52 Hz
    snapped -= snapped > librosa.hz_to_midi(145.0)
    snapped += snapped < librosa.hz_to_midi(52.0)
    return librosa.midi_to_hz(snapped)


def make_groove(rng, pool, seconds, scale_pitches=True):
    """One groove: the bed (everything but the log drum), the log-drum line and its truth."""
    bpm = float(rng.uniform(105, 120))
    beat = 60.0 / bpm
    step = beat / 4
    n_bars = int(seconds / (4 * beat)) + 1
    n = int(seconds * SR)
    bed = np.zeros(n + 3 * SR)

    def pick(role):
        name, x = pool[role][rng.integers(len(pool[role]))]
        return name, x

    kick_name, kick = pick("kick")
    kick = peak_normalise(kick, KICK_PEAK_DBFS)
    shaker_name, shaker = pick("shaker")
    clap_name, clap = pick("clap")
    hat_name, ohat = pick("open hat")
    tom_fills = bool(rng.random() < 0.5) and len(pool["tom"]) >= 2
    toms = [pick("tom") for _ in range(3)] if tom_fills else []
    shaker_db, clap_db, hat_db = rng.uniform(-24, -14), rng.uniform(-16, -8), rng.uniform(-22, -14)
    for b in range(n_bars):
        t0 = b * 4 * beat
        for q in range(4):
            synth.place(bed, kick, t0 + q * beat, SR)
            synth.place(bed, peak_normalise(ohat, KICK_PEAK_DBFS + hat_db), t0 + q * beat + 2 * step, SR)
        for s in range(16):
            accent = 0.0 if s % 4 == 2 else -6.0
            swing = 0.2 * step if s % 2 else 0.0
            synth.place(bed, peak_normalise(shaker, KICK_PEAK_DBFS + shaker_db + accent), t0 + s * step + swing, SR)
        for q in (1, 3):
            synth.place(bed, peak_normalise(clap, KICK_PEAK_DBFS + clap_db), t0 + q * beat, SR)
        if tom_fills and b % 4 == 3:
            for k, s in enumerate((10, 12, 14)):
                synth.place(bed, peak_normalise(toms[k][1], KICK_PEAK_DBFS - 4), t0 + s * step, SR)

    # chords (one a bar) and bass (two notes a bar) from the GM soundfont
    prog = PROGRESSIONS[rng.integers(len(PROGRESSIONS))]
    chord_name = list(CHORD_PROGRAMS)[rng.integers(len(CHORD_PROGRAMS))]
    stabs = bool(rng.random() < 0.5)
    chord_notes, bass_notes = [], []
    for b in range(n_bars):
        root = prog[b % len(prog)]
        for iv in (0, 3, 7, 10):
            if stabs:
                chord_notes += [(4 * b + s / 4, 0.5, root + iv, 70) for s in (2, 6, 11)]
            else:
                chord_notes.append((4 * b, 3.9, root + iv, 70))
        bass_root = 28 + (root - 28) % 12  # E1..D#2
        bass_notes += [(4 * b, 1.5, bass_root, 90), (4 * b + 2.5, 1.0, bass_root + 12 * int(rng.integers(2)), 85)]
    bass_program = int(BASS_PROGRAMS[rng.integers(len(BASS_PROGRAMS))])
    chords = render(chord_notes, CHORD_PROGRAMS[chord_name], seconds + 3, bpm)
    bass = render(bass_notes, bass_program, seconds + 3, bpm)
    chord_db, bass_db = rng.uniform(-18, -8), rng.uniform(-14, -6)
    bed += peak_normalise(chords, KICK_PEAK_DBFS + chord_db)
    bed += peak_normalise(bass, KICK_PEAK_DBFS + bass_db)

    # a vocal-like layer on some bars
    voice = np.zeros_like(bed)
    voice_db = rng.uniform(-16, -6)
    espeak_voice = ("en", "en-us", "af", "sw", "en+f3")[rng.integers(5)]
    for b in range(n_bars):
        if rng.random() < 0.5:
            v = voice_phrase(PHRASES[rng.integers(len(PHRASES))], int(rng.integers(30, 80)),
                             int(rng.integers(110, 170)), espeak_voice)
            synth.place(voice, v, b * 4 * beat + 2 * step, SR)
    if np.any(voice):
        bed += peak_normalise(voice, KICK_PEAK_DBFS + voice_db)

    # the log-drum line
    pattern = LD_PATTERNS[rng.integers(len(LD_PATTERNS))]
    tau, glide, drive = float(rng.uniform(0.25, 0.7)), float(rng.uniform(1.0, 1.5)), float(rng.uniform(0, 4))
    level_db = float(rng.uniform(-12, 0))
    pitches = np.exp(rng.uniform(np.log(52), np.log(145), size=3))
    if scale_pitches:
        pitches = snap_to_scale(pitches, prog[0])
    line = np.zeros_like(bed)
    truth = []
    for b in range(n_bars):
        for k, s in enumerate(pattern):
            t = b * 4 * beat + s * step
            if t >= seconds - 0.3:
                continue
            f0 = float(pitches[(k + b) % len(pitches)])
            hit = synth.log_drum(SR, f0, tau, glide=glide, drive=drive, level_db=KICK_PEAK_DBFS + level_db,
                                 duration=min(5 * tau, 2.0))
            synth.place(line, hit, t, SR)
            truth.append((t, f0))
    params = {"bpm": bpm, "kick": kick_name, "shaker": shaker_name, "clap": clap_name, "open_hat": hat_name,
              "toms": [t[0] for t in toms], "chords": chord_name, "chord_stabs": stabs,
              "bass_program": bass_program, "espeak_voice": espeak_voice,
              "levels_db_re_kick": {"shaker": shaker_db, "clap": clap_db, "open_hat": hat_db, "chords": chord_db,
                                    "bass": bass_db, "voice": voice_db, "log_drum": level_db},
              "log_drum": {"tau_s": tau, "glide": glide, "drive": drive, "level_db_re_kick": level_db,
                           "pattern": list(pattern), "pitches_hz": pitches.tolist()}}
    return bed[:n], line[:n], truth, params


def write_pair(out_dir, idx, bed, line, truth, params):
    """Write the negative, the positive (same peak scale) and the truth of one groove."""
    peak = max(np.max(np.abs(bed + line)), np.max(np.abs(bed)))
    gain = 10 ** (-1.0 / 20) / peak  # -1 dBFS peak; one gain for both keeps the bed identical
    stem = os.path.join(out_dir, f"{idx:04d}")
    sf.write(stem + "_neg.flac", (bed * gain).astype(np.float32), SR, subtype="PCM_16")
    sf.write(stem + "_ld.flac", ((bed + line) * gain).astype(np.float32), SR, subtype="PCM_16")
    with open(stem + "_ld.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["onset_s", "f0_hz", "tau_s", "glide", "drive", "level_db_re_kick"])
        ld = params["log_drum"]
        for t, f0 in truth:
            w.writerow([f"{t:.4f}", f"{f0:.3f}", f"{ld['tau_s']:.3f}", f"{ld['glide']:.3f}",
                        f"{ld['drive']:.3f}", f"{ld['level_db_re_kick']:.2f}"])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="output folder (outside the repository)")
    ap.add_argument("--grooves", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--continuous-pitches", action="store_true",
                    help="log-drum pitches anywhere in 52-145 Hz, not snapped to the groove's key "
                         "(the first corpus: two notes of a line may sit a quarter tone apart)")
    args = ap.parse_args(argv)
    missing = [t for t in ("fluidsynth", "espeak-ng") if shutil.which(t) is None]
    if missing or not os.path.exists(samples.GM_SOUNDFONT) or not os.path.isdir(samples.HYDROGEN_KITS):
        sys.exit("needs the Debian packages hydrogen-drumkits fluidsynth fluid-soundfont-gm espeak-ng "
                 f"(missing: {missing or 'a kit or the soundfont'})")
    os.makedirs(args.out, exist_ok=True)
    pool = drum_pool()
    print({k: len(v) for k, v in pool.items()})
    rng = np.random.default_rng(args.seed)
    manifest = []
    for i in range(args.grooves):
        bed, line, truth, params = make_groove(rng, pool, args.seconds, not args.continuous_pitches)
        write_pair(args.out, i, bed, line, truth, params)
        manifest.append({"id": f"{i:04d}", "n_notes": len(truth), **params})
        print(f"{i + 1}/{args.grooves}", end="\r", flush=True)
    with open(os.path.join(args.out, "corpus.json"), "w") as f:
        json.dump({"sr": SR, "seconds": args.seconds, "seed": args.seed,
                   "pitches": "continuous" if args.continuous_pitches else "key", "grooves": manifest}, f, indent=1)
    print(f"\nwrote {args.grooves} grooves to {args.out}")


if __name__ == "__main__":
    main()
