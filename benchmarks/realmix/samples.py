"""Real recorded sounds from Debian packages, found and sorted by category.

Needs these Debian packages (installed by hand, never by this code)::

    apt-get update
    apt-get install hydrogen-drumkits avldrums.lv2-soundfont fluidsynth fluid-soundfont-gm

- ``hydrogen-drumkits``: 14 sample kits (acoustic and electronic, licences GPL-2, CC0,
  CC-BY, CC-BY-SA: see ``/usr/share/doc/hydrogen-drumkits/copyright``). Each kit's
  ``drumkit.xml`` names its instruments; a sample's category comes from its instrument name
  and file name.
- ``avldrums.lv2-soundfont``: two multi-sampled acoustic kits (SF2, General MIDI drum map),
  rendered note by note with ``fluidsynth``.
- ``fluid-soundfont-gm``: General MIDI instruments (basses, keys, pads) rendered with
  ``fluidsynth``.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import tempfile
import xml.etree.ElementTree as ET

import numpy as np
import soundfile as sf

HYDROGEN_KITS = "/usr/share/hydrogen/data/drumkits"
AVL_KITS = ("/usr/share/sounds/sf2/Black_Pearl_4_LV2.sf2", "/usr/share/sounds/sf2/Red_Zeppelin_4_LV2.sf2")
GM_SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"

#: Hydrogen kits made of electronic (drum-machine / synthesised) sounds; the rest are recorded
#: acoustic instruments.
ELECTRONIC_KITS = {"ElectricEmpireKit", "HardElectro1", "VariBreaks", "Audiophob"}

#: Category rules, first match wins, on "instrument name / file name" in lower case.
CATEGORY_RULES = (
    ("toms", r"\btom|floor ?tom|\bft_|\bt[12]_|\btm"),
    ("kicks", r"kick|bass ?drum|bassdrum|\bbd|\bk_|_k_|stomp"),
    ("hats", r"hat|\bhh|\bho_|chh|ohh"),
    ("cymbals", r"crash|ride|cymbal|china|splash|\bcc_|\brc_|\brd|\bcra_"),
    ("snares", r"snare|\bsn|\bsd_|\bsr_|\brs_|rim|clap|stick"),
    ("percussion", r"conga|bongo|cajon|djembe|dun|kenkeni|sangban|cowbell|bell|agogo|clave|shak|"
                   r"tamb|guiro|block|click|perc|fx|drum|hand|\bcb|\bbl_|\bmc_|beats"),
)

#: General MIDI drum notes of the AVL kits, by category.
GM_DRUM_NOTES = {
    "kicks": (35, 36), "snares": (37, 38, 39, 40), "hats": (42, 44, 46),
    "cymbals": (49, 51, 52, 53, 55, 57, 59), "toms": (41, 43, 45, 47, 48, 50),
}

#: General MIDI bass programs (0-based) and the notes rendered for each: E1 to E3.
GM_BASS_PROGRAMS = {"acoustic bass": 32, "finger bass": 33, "pick bass": 34, "fretless bass": 35,
                    "slap bass": 36, "synth bass 1": 38, "synth bass 2": 39}
BASS_NOTES = (28, 31, 33, 36, 40, 43, 45, 48, 52)


def categorize(text):
    """Category of a drum sound from its instrument and file name, or ``"other"``."""
    text = text.lower().replace("-", "_")
    for category, pattern in CATEGORY_RULES:
        if re.search(pattern, text):
            return category
    return "other"


def hydrogen_samples(root=HYDROGEN_KITS):
    """Every sample file of the installed Hydrogen kits.

    Returns
    -------
    list of dict
        ``path``, ``kit``, ``instrument``, ``category`` and ``electronic`` (bool), sorted by path.
    """
    found = {}
    for kit in sorted(os.listdir(root)) if os.path.isdir(root) else ():
        xml_path = os.path.join(root, kit, "drumkit.xml")
        if not os.path.exists(xml_path):
            continue
        for inst in ET.parse(xml_path).getroot().iter("instrument"):
            name = (inst.findtext("name") or "").strip()
            for fn in inst.iter("filename"):
                path = os.path.join(root, kit, (fn.text or "").strip())
                if not os.path.isfile(path) or "empty" in path.lower() or path in found:
                    continue
                found[path] = {"path": path, "kit": kit, "instrument": name,
                               "category": categorize(f"{name} / {os.path.basename(path)}"),
                               "electronic": kit in ELECTRONIC_KITS}
    return [found[p] for p in sorted(found)]


def have_fluidsynth():
    """True when ``fluidsynth`` is on the PATH."""
    return shutil.which("fluidsynth") is not None


def _var_len(n):
    out = [n & 0x7F]
    while n > 0x7F:
        n >>= 7
        out.insert(0, (n & 0x7F) | 0x80)
    return bytes(out)


def write_midi(path, notes, *, program=None, channel=0, ticks_per_beat=480, bpm=120.0):
    """Write a one-track standard MIDI file.

    Parameters
    ----------
    path : str
    notes : iterable of (start_s, duration_s, pitch, velocity)
    program : int or None
        General MIDI program (0-based) set at time 0.
    channel : int
        9 is the General MIDI drum channel.
    """
    sec_per_tick = 60.0 / bpm / ticks_per_beat
    events = []
    for start, dur, pitch, vel in notes:
        on, off = int(round(start / sec_per_tick)), int(round((start + dur) / sec_per_tick))
        events += [(on, 1, bytes([0x90 | channel, pitch, vel])), (off, 0, bytes([0x80 | channel, pitch, 0]))]
    events.sort(key=lambda e: (e[0], e[1]))
    track = b"\x00\xff\x51\x03" + struct.pack(">I", int(60e6 / bpm))[1:]
    if program is not None:
        track += b"\x00" + bytes([0xC0 | channel, program])
    now = 0
    for tick, _, msg in events:
        track += _var_len(tick - now) + msg
        now = tick
    track += b"\x00\xff\x2f\x00"
    with open(path, "wb") as f:
        f.write(b"MThd" + struct.pack(">IHHH", 6, 0, 1, ticks_per_beat))
        f.write(b"MTrk" + struct.pack(">I", len(track)) + track)


def render_midi(soundfont, notes, *, sr=44100, program=None, channel=0, tail_s=2.0):
    """Render notes with ``fluidsynth`` and return mono float32 audio.

    Parameters
    ----------
    soundfont : str
        An SF2 file.
    notes : iterable of (start_s, duration_s, pitch, velocity)
    sr : int
    program, channel : see :func:`write_midi`
    tail_s : float
        Silence rendered after the last note off (for the release).

    Returns
    -------
    numpy.ndarray
        ``(n,)`` float32.
    """
    notes = list(notes)
    end = max(s + d for s, d, _, _ in notes) + tail_s
    with tempfile.TemporaryDirectory() as tmp:
        mid, wav = os.path.join(tmp, "n.mid"), os.path.join(tmp, "n.wav")
        # a silent note at the end keeps the release tail in the render
        write_midi(mid, notes + [(end, 0.01, 0, 0)], program=program, channel=channel)
        subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.5", "-r", str(sr), "-F", wav, soundfont, mid],
                       check=True, capture_output=True)
        audio, _ = sf.read(wav, dtype="float32", always_2d=True)
    return audio.mean(axis=1)


def avl_samples(velocities=(50, 90, 127), sr=44100):
    """Every General MIDI drum note of the AVL kits at a few velocities, rendered.

    Yields
    ------
    dict
        ``name``, ``kit``, ``category``, ``electronic`` (False), ``audio`` (mono), ``sr``.
    """
    for sf2 in AVL_KITS:
        if not os.path.exists(sf2):
            continue
        kit = os.path.basename(sf2).replace(".sf2", "")
        for category, notes in GM_DRUM_NOTES.items():
            for note in notes:
                for vel in velocities:
                    audio = render_midi(sf2, [(0.0, 0.5, note, vel)], sr=sr, channel=9, tail_s=2.5)
                    yield {"name": f"{kit} note {note} vel {vel}", "kit": kit, "category": category,
                           "electronic": False, "audio": _trim(audio, sr), "sr": sr}


def gm_bass_samples(sr=44100, velocity=100, duration_s=1.0):
    """Single bass notes E1-E3 of the General MIDI basses of FluidR3_GM, rendered.

    Yields
    ------
    dict
        As :func:`avl_samples`, category ``"basses"``.
    """
    if not os.path.exists(GM_SOUNDFONT):
        return
    for name, program in GM_BASS_PROGRAMS.items():
        for note in BASS_NOTES:
            audio = render_midi(GM_SOUNDFONT, [(0.0, duration_s, note, velocity)], sr=sr, program=program,
                                tail_s=1.5)
            yield {"name": f"{name} note {note}", "kit": "FluidR3_GM", "category": "basses",
                   "electronic": name.startswith("synth"), "audio": _trim(audio, sr), "sr": sr}


def _trim(audio, sr, floor_db=-80.0):
    """Cut the silent render tail (below ``floor_db`` re the peak), keeping 50 ms."""
    peak = np.max(np.abs(audio)) if audio.size else 0.0
    if peak == 0:
        return audio
    loud = np.flatnonzero(np.abs(audio) > peak * 10 ** (floor_db / 20))
    return audio[: min(audio.size, loud[-1] + int(0.05 * sr))]
