"""Reading MagnaTagATune's ``annotations_final.csv``.

The file is tab-separated despite its name (fields usually double-quoted): ``clip_id``, 188
binary tag columns, ``mp3_path`` (relative to the folder that holds the ``0``-``f`` folders,
e.g. ``f/some_artist-some_album-30-59.mp3``). The tag columns are taken from the header, never
from an assumed order; any column other than ``clip_id`` and ``mp3_path`` is a tag.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass

__all__ = ["MtatClip", "ANNOTATIONS_FILE", "read_annotations", "find_annotations"]

#: Name of the annotations file in an MTAT root folder.
ANNOTATIONS_FILE = "annotations_final.csv"


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
