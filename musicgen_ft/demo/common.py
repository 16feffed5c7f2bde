"""The demo's sizes, its error, its output folder and how it prints."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

MARKER = ".musicgen_ft_demo"       # marks a folder this demo made (and may wipe on the next run)


@dataclass(frozen=True)
class DemoSize:
    """How big a demo run is."""

    log_drum_clips: int      # playable clips with a log-drum line
    other_clips: int         # playable clips without one
    clip_seconds: float      # MTAT clips are 29.1 s
    steps: int               # optimizer steps to aim for (rounded to whole epochs)
    save_every_steps: int    # last.ckpt cadence inside an epoch
    samples: int             # generated clips per model
    sample_seconds: float


FULL = DemoSize(log_drum_clips=12, other_clips=12, clip_seconds=29.1, steps=300,
                save_every_steps=25, samples=40, sample_seconds=6.0)
QUICK = DemoSize(log_drum_clips=4, other_clips=4, clip_seconds=12.0, steps=48,
                 save_every_steps=8, samples=4, sample_seconds=6.0)


class DemoError(RuntimeError):
    """A stage failed; the message says which and why."""


# ---- output -------------------------------------------------------------------------------

class _Clock:
    def __init__(self):
        self.start = time.monotonic()
        self.stages = {}

    def elapsed(self):
        return time.monotonic() - self.start


def _say(*parts):
    print(*parts, flush=True)


def _stage(clock, n, title):
    _say(f"\n[{n}/6] {title}  (t = {clock.elapsed():.0f} s)")


def _rel(path):
    """``path`` as the user would type it: relative to the working directory when inside it."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


def _listing(folder):
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in Path(folder).iterdir()
                   if not p.name.startswith("."))
    return ", ".join(names)


def _prepare_out(out):
    out = Path(out)
    if out.exists():
        if not out.is_dir():
            raise DemoError(f"{out} exists and is not a folder")
        if (out / MARKER).exists():
            shutil.rmtree(out)              # our own earlier run: start afresh
        elif any(out.iterdir()):
            raise DemoError(f"{out} is not empty and was not made by this demo; "
                            f"choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text("made by python -m musicgen_ft.demo; wiped on its next run\n")
    return out
