"""Reading MagnaTagATune's ``annotations_final.csv``.

The file is tab-separated despite its name (fields usually double-quoted): ``clip_id``, 188
binary tag columns, ``mp3_path`` (relative to the folder that holds the ``0``-``f`` folders,
e.g. ``f/some_artist-some_album-30-59.mp3``). The tag columns are taken from the header, never
from an assumed order; any column other than ``clip_id`` and ``mp3_path`` is a tag.

:data:`MTAT_TAGS` is the usual header order of the 188 tags, and :func:`write_annotations`
writes a file like the real one (the demo's corpus and the test fixture use both).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass

from ..io.atomic import atomic_write

__all__ = ["MtatClip", "ANNOTATIONS_FILE", "MTAT_TAGS", "read_annotations", "find_annotations",
           "write_annotations"]

#: Name of the annotations file in an MTAT root folder.
ANNOTATIONS_FILE = "annotations_final.csv"

#: The 188 MagnaTagATune tag columns, in the usual header order (a copy of the reference
#: list; :func:`read_annotations` still follows the header of the file it reads).
MTAT_TAGS = (
    "no voice", "singer", "duet", "plucking", "hard rock", "world", "bongos", "harpsichord",
    "female singing", "clasical", "sitar", "chorus", "female opera", "male vocal", "vocals",
    "clarinet", "heavy", "silence", "beats", "men", "woodwind", "funky", "no strings", "chimes",
    "foreign", "no piano", "horns", "classical", "female", "no voices", "soft rock", "eerie",
    "spacey", "jazz", "guitar", "quiet", "no beat", "banjo", "electric", "solo", "violins",
    "folk", "female voice", "wind", "happy", "ambient", "new age", "synth", "funk",
    "no singing", "middle eastern", "trumpet", "percussion", "drum", "airy", "voice",
    "repetitive", "birds", "space", "strings", "bass", "harpsicord", "medieval", "male voice",
    "girl", "keyboard", "acoustic", "loud", "classic", "string", "drums", "electronic",
    "not classical", "chanting", "no violin", "not rock", "no guitar", "organ", "no vocal",
    "talking", "choral", "weird", "opera", "soprano", "fast", "acoustic guitar",
    "electric guitar", "male singer", "man singing", "classical guitar", "country", "violin",
    "electro", "reggae", "tribal", "dark", "male opera", "no vocals", "irish", "electronica",
    "horn", "operatic", "arabic", "lol", "low", "instrumental", "trance", "chant", "strange",
    "drone", "synthesizer", "heavy metal", "modern", "disco", "bells", "man", "deep",
    "fast beat", "industrial", "hard", "harp", "no flute", "jungle", "pop", "lute",
    "female vocal", "oboe", "mellow", "orchestral", "viola", "light", "echo", "piano", "celtic",
    "male vocals", "orchestra", "eastern", "old", "flutes", "punk", "spanish", "sad", "sax",
    "slow", "male", "blues", "vocal", "indian", "no singer", "scary", "india", "woman",
    "woman singing", "rock", "dance", "piano solo", "guitars", "no drums", "jazzy", "singing",
    "cello", "calm", "female vocals", "voices", "different", "techno", "clapping", "house",
    "monks", "flute", "not opera", "not english", "oriental", "beat", "upbeat", "soft", "noise",
    "choir", "female singer", "rap", "metal", "hip hop", "quick", "water", "baroque", "women",
    "fiddle", "english",
)


@dataclass(frozen=True)
class MtatClip:
    """One annotated clip.

    Attributes
    ----------
    clip_id : str
    mp3_path : str
        Relative to the MTAT root, with ``/`` separators as in the file.
    tags : tuple of str
        Names of the tag columns set to 1, in header order.
    """

    clip_id: str
    mp3_path: str
    tags: tuple


def find_annotations(root) -> str:
    """Path of ``annotations_final.csv`` in the MTAT folder ``root``.

    Raises
    ------
    FileNotFoundError
        With a message that says what an MTAT root looks like.
    """
    path = os.path.join(os.fspath(root), ANNOTATIONS_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{path} not found: --mtat must be the folder that holds {ANNOTATIONS_FILE} and the "
            f"mp3 folders 0-9, a-f (after 'cat mp3.zip.* > mp3_all.zip && unzip mp3_all.zip')")
    return path


def read_annotations(path):
    """Read ``annotations_final.csv``.

    Parameters
    ----------
    path : str or os.PathLike
        The annotations file (tab-separated).

    Returns
    -------
    clips : list of MtatClip
        In file order; rows with an empty ``mp3_path`` are skipped (nothing to score).
    tag_names : list of str
        The tag columns, in header order.

    Raises
    ------
    ValueError
        When the header lacks ``clip_id`` or ``mp3_path`` (e.g. a comma-separated file), or a
        row has the wrong number of fields; the message names the line.
    """
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh, delimiter="\t")
        header = [h.strip() for h in next(reader, [])]
        missing = {"clip_id", "mp3_path"} - set(header)
        if missing:
            raise ValueError(f"{path}: header has no {', '.join(sorted(missing))} column; expected the "
                             f"tab-separated MagnaTagATune annotations_final.csv")
        i_id, i_path = header.index("clip_id"), header.index("mp3_path")
        tag_cols = [(i, h) for i, h in enumerate(header) if i not in (i_id, i_path)]
        clips = []
        for values in reader:
            if not values:
                continue
            if len(values) != len(header):
                raise ValueError(f"{path}, line {reader.line_num}: {len(values)} fields, the header has "
                                 f"{len(header)}")
            mp3_path = values[i_path].strip()
            if not mp3_path:
                continue
            tags = tuple(name for i, name in tag_cols if values[i].strip() == "1")
            clips.append(MtatClip(values[i_id].strip(), mp3_path, tags))
    return clips, [name for _, name in tag_cols]


def write_annotations(path, rows, tags=MTAT_TAGS):
    """Write an ``annotations_final.csv`` as the real one is: tab-separated, every field
    double-quoted, CRLF line ends; ``clip_id``, one 0/1 column per tag, ``mp3_path``.

    Parameters
    ----------
    path : str or os.PathLike
    rows : iterable
        ``(clip_id, mp3_path, clip_tags)`` tuples, or objects with those attributes (e.g.
        :class:`MtatClip`); ``clip_tags`` are tag names.
    tags : sequence of str
        The tag columns, in header order (default :data:`MTAT_TAGS`).

    Raises
    ------
    ValueError
        When a clip carries a tag that is not a column; the message names the clip.
    """
    tags = tuple(tags)
    known = set(tags)
    with atomic_write(path, newline="") as fh:
        w = csv.writer(fh, delimiter="\t", quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        w.writerow(["clip_id", *tags, "mp3_path"])
        for row in rows:
            if hasattr(row, "clip_id"):
                clip_id, mp3_path, clip_tags = row.clip_id, row.mp3_path, row.tags
            else:
                clip_id, mp3_path, clip_tags = row
            unknown = set(clip_tags) - known
            if unknown:
                raise ValueError(f"clip {clip_id}: not MTAT tags: {sorted(unknown)}")
            w.writerow([clip_id, *("1" if t in clip_tags else "0" for t in tags), mp3_path])
