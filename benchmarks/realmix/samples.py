"""Real recorded sounds from Debian packages, found and sorted by category.

Needs these Debian packages (installed by hand, never by this code)::

    apt-get update
    apt-get install hydrogen-drumkits hydrogen-drumkits-effects avldrums.lv2-soundfont fluidsynth
    apt-get install fluid-soundfont-gm musescore-general-soundfont-lossless timgm6mb-soundfont csound-soundfont

- ``hydrogen-drumkits``: 14 sample kits (acoustic and electronic, licences GPL-2, CC0,
  CC-BY, CC-BY-SA: see ``/usr/share/doc/hydrogen-drumkits/copyright``). Each kit's
  ``drumkit.xml`` names its instruments; a sample's category comes from its instrument name
  and file name.
- ``hydrogen-drumkits-effects``: one more Hydrogen kit in the same folder, acoustic guitar
  strums (no drums): category ``"guitar strums"``.
- ``avldrums.lv2-soundfont``: two multi-sampled acoustic kits (SF2, General MIDI drum map),
  rendered note by note with ``fluidsynth``.
- ``fluid-soundfont-gm`` (FluidR3_GM), ``musescore-general-soundfont-lossless``
  (MuseScore_General_Full), ``timgm6mb-soundfont`` (TimGM6mb), ``csound-soundfont``
  (sf_GMbank): General MIDI soundfonts whose GS drum kits (Standard, Room, Power, Electronic,
  TR-808, Jazz, Brush) are rendered note by note with ``fluidsynth``; FluidR3_GM's General MIDI
  basses too. Their drum notes are categorised by the General MIDI drum map.

Not used: ``fluid-soundfont-gs`` (its FluidR3_GS.sf2 holds only an SFX kit on bank 128),
``musescore-general-soundfont-small`` (a smaller, lossy SF3 version of the same soundfont), ``drumkv1`` and
``drumgizmo`` (ship no samples), ``opl3-soundfont`` (synthesised, not recorded).
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

#: General MIDI soundfonts whose drum kits (bank 128) are rendered, from these Debian packages:
#: ``fluid-soundfont-gm``, ``musescore-general-soundfont-lossless``, ``timgm6mb-soundfont``,
#: ``csound-soundfont``.
GM_DRUM_SOUNDFONTS = (GM_SOUNDFONT, "/usr/share/sounds/sf2/MuseScore_General_Full.sf2",
                      "/usr/share/sounds/sf2/TimGM6mb.sf2", "/usr/share/sounds/sf2/sf_GMbank.sf2")

#: The GM/GS drum kits rendered (program on the drum channel). The Orchestra kit (48) is left
#: out: its notes 41-53 are timpani in some soundfonts and toms, hats and cymbals in others.
GM_KIT_PROGRAMS = {"Standard": 0, "Room": 8, "Power": 16, "Electronic": 24, "TR-808": 25, "Jazz": 32,
                   "Brush": 40}

#: GM kits whose kicks count as electronic.
ELECTRONIC_GM_KITS = {"Power", "Electronic", "TR-808"}

#: Hydrogen kits made of electronic (drum-machine / synthesised) sounds; the rest are recorded
#: acoustic instruments.
ELECTRONIC_KITS = {"ElectricEmpireKit", "HardElectro1", "VariBreaks", "Audiophob"}

#: Hydrogen kits that hold no drums, and the category all their samples get
#: (``hydrogen-drumkits-effects`` installs one such kit beside the drum kits).
NON_DRUM_KITS = {"belofilms_GuitarStrums": "guitar strums"}

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

#: General MIDI drum notes rendered from each soundfont kit, by category.
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


def _local(tag):
    """An XML tag without its namespace (newer kits declare the Hydrogen drumkit namespace)."""
    return tag.rsplit("}", 1)[-1]


def _elements(root, tag):
    """Every element under ``root`` (itself included) named ``tag`` in any namespace."""
    return [e for e in root.iter() if _local(e.tag) == tag]


def hydrogen_samples(root=HYDROGEN_KITS):
    """Every sample file of the installed Hydrogen kits (``hydrogen-drumkits`` and
    ``hydrogen-drumkits-effects`` both install into :data:`HYDROGEN_KITS`).

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
        for inst in _elements(ET.parse(xml_path).getroot(), "instrument"):
            name = " ".join((e.text or "").strip() for e in inst if _local(e.tag) == "name")
            for fn in _elements(inst, "filename"):
                path = os.path.join(root, kit, (fn.text or "").strip())
                if not os.path.isfile(path) or "empty" in path.lower() or path in found:
                    continue
                category = NON_DRUM_KITS.get(kit) or categorize(f"{name} / {os.path.basename(path)}")
                found[path] = {"path": path, "kit": kit, "instrument": name, "category": category,
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
        # float output: no dither, so the silent tail can be trimmed (:func:`_trim`); only the
        # samples the notes use are loaded
        subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.5", "-r", str(sr), "-o", "audio.file.format=float",
                        "-o", "synth.dynamic-sample-loading=1", "-F", wav, soundfont, mid],
                       check=True, capture_output=True)
        audio, _ = sf.read(wav, dtype="float32", always_2d=True)
    return audio.mean(axis=1)


def drum_kits():
    """The installed soundfont drum kits, each as ``(soundfont, kit, channel, program, electronic)``.

    The AVL kits are bank-0 presets (a General MIDI drum map on a melodic channel: on the drum
    channel fluidsynth looks in bank 128, which they lack, and renders silence). The General
    MIDI soundfonts' kits are bank-128 presets chosen by a program change on the drum channel.
    """
    kits = [(sf2, os.path.basename(sf2)[:-4], 0, None, False) for sf2 in AVL_KITS if os.path.exists(sf2)]
    for sf2 in GM_DRUM_SOUNDFONTS:
        if os.path.exists(sf2):
            kits += [(sf2, f"{os.path.basename(sf2)[:-4]}/{name}", 9, program, name in ELECTRONIC_GM_KITS)
                     for name, program in GM_KIT_PROGRAMS.items()]
    return kits


def kit_samples(velocities=(50, 90, 127), sr=44100, kits=None):
    """Every General MIDI drum note (:data:`GM_DRUM_NOTES`) of the soundfont drum kits at a few
    velocities, rendered one at a time; notes a kit leaves silent are skipped.

    Parameters
    ----------
    velocities : tuple of int
    sr : int
    kits : list or None
        As :func:`drum_kits` returns; None for all of them.

    Yields
    ------
    dict
        ``name`` (``"<kit> note <n> vel <v>"``), ``kit``, ``category``, ``electronic``,
        ``audio`` (mono), ``sr``.
    """
    for sf2, kit, channel, program, electronic in drum_kits() if kits is None else kits:
        for category, notes in GM_DRUM_NOTES.items():
            for note in notes:
                for vel in velocities:
                    audio = _trim(render_midi(sf2, [(0.0, 0.5, note, vel)], sr=sr, program=program,
                                              channel=channel, tail_s=2.5), sr)
                    if not audio.size or np.max(np.abs(audio)) < 1e-5:
                        continue
                    yield {"name": f"{kit} note {note} vel {vel}", "kit": kit, "category": category,
                           "electronic": electronic, "audio": audio, "sr": sr}


def gm_bass_samples(sr=44100, velocity=100, duration_s=1.0):
    """Single bass notes E1-E3 of the General MIDI basses of FluidR3_GM, rendered.

    Yields
    ------
    dict
        As :func:`kit_samples`, category ``"basses"``.
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
