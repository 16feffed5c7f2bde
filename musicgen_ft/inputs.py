"""The training input a config points at: is ``metadata_path`` a usable metadata CSV?

Checked by ``python -m musicgen_ft.train`` right after the config (before torch is imported,
so a new user waits seconds, not minutes, to hear that the dataset is missing) and by
``python -m musicgen_ft.preflight``. A problem is one line that names the key and says what
to do; the audio files themselves are checked by the preflight's dataset check and skipped by
the trainer when they do not decode.
"""

from __future__ import annotations

import csv
from pathlib import Path

REQUIRED_COLUMNS = ("clip_id", "file_path", "tags")
HOW_TO_MAKE = ("make one with `logdrum build-dataset --mtat /data/mtat --out "
               "datasets/amapiano_proxy` (docs/guide.md), or set metadata_path to an existing "
               "training_metadata.csv")


def metadata_problem(path):
    """What keeps the metadata CSV at ``path`` from being trained on, or ``None``.

    Parameters
    ----------
    path : str or Path
        ``metadata_path`` from the config (relative paths are relative to the working
        directory, as the trainer reads them).

    Returns
    -------
    str or None
        One line naming ``metadata_path``, the problem and the fix: the file is missing, is a
        folder, cannot be read or decoded, lacks one of :data:`REQUIRED_COLUMNS` or has no rows.
    """
    path = Path(path)
    key = f"config key 'metadata_path': {path}"
    if not path.exists():
        where = "" if path.is_absolute() else f" (looked in {Path.cwd()})"
        return f"{key} does not exist{where}; {HOW_TO_MAKE}"
    if path.is_dir():
        return f"{key} is a folder; point metadata_path at the training_metadata.csv inside it"
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            columns = [c.strip() for c in (reader.fieldnames or []) if c is not None]
            missing = [c for c in REQUIRED_COLUMNS if c not in columns]
            if missing:
                return (f"{key} lacks the column(s) {', '.join(missing)} (found: "
                        f"{', '.join(columns) or 'nothing'}); the trainer needs "
                        f"{', '.join(REQUIRED_COLUMNS)}: {HOW_TO_MAKE}")
            rows = sum(1 for row in reader if any((v or "").strip() for v in row.values()
                                                  if isinstance(v, str)))
    except OSError as exc:
        return f"{key} cannot be read ({exc.strerror}); check its permissions and the disk"
    except (UnicodeDecodeError, csv.Error) as exc:
        return f"{key} is not a readable UTF-8 CSV ({exc}); {HOW_TO_MAKE}"
    if rows == 0:
        return f"{key} has a header but no clips; {HOW_TO_MAKE}"
    return None
