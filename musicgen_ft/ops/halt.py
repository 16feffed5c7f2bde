"""``halt.json``: the mark a run leaves when it stopped itself, and that keeps it stopped.

The divergence monitor's CRITICAL alert and a NO-GO at the week-5 milestone write it; while it
exists, ``python -m musicgen_ft.train`` refuses to start and the pre-flight check fails. A person
reads ``alerts.jsonl``, decides, and deletes the file to continue.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from evaluation.run_folder import HALT_FILE

from ..faults import write_json_atomic

__all__ = ["write_halt", "read_halt"]


def write_halt(run_dir, code, message, step):
    """Write ``<run_dir>/halt.json`` with why and at which step the run stopped."""
    write_json_atomic(Path(run_dir) / HALT_FILE, {"code": code, "message": message, "step": step,
                                                  "time": time.time()})


def read_halt(run_dir):
    """The message of ``<run_dir>/halt.json``; ``None`` when the run is not halted.

    An unreadable file still halts the run (a torn write must not let it restart unchecked).
    """
    path = Path(run_dir) / HALT_FILE
    if not path.exists():
        return None
    try:
        return str(json.loads(path.read_text()).get("message", "")) or "no message"
    except (OSError, ValueError, AttributeError):
        return f"unreadable {HALT_FILE}"
