"""Stage 4: plan the tiny fine-tune, run ``python -m musicgen_ft.train`` as a subprocess, kill it
and read what it wrote."""

from __future__ import annotations

import csv
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from .common import DemoError, _say

# ---- 4. training --------------------------------------------------------------------------

_STEP = re.compile(r"\| Step (\d+) \|")
_RESUMED = re.compile(r"RESUMING from checkpoint: (\S+) \(epoch (\d+), batch (\d+), step (\d+)\)")
_LOG_PREFIX = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (\w+)\s+")




def plan_training(metadata_csv, base_config, size):
    """A tiny-preset config for this dataset, with ``epochs`` set to reach about ``size.steps``.

    Returns ``(config dict, steps per epoch)``.
    """
    from ..data import count_segments, read_metadata, split_clips

    cfg = dict(base_config)
    clips = read_metadata(metadata_csv, cfg.get("prompt_template", "{tags}"))
    train, _ = split_clips(clips, cfg["val_fraction"], cfg["seed"])
    with open(metadata_csv, newline="", encoding="utf-8") as fh:
        duration = {r["clip_id"]: float(r["duration"]) for r in csv.DictReader(fh)}
    segs = sum(count_segments(duration[c.clip_id], cfg["segment_seconds"],
                              cfg["min_segment_seconds"]) for c in train)
    micro = math.ceil(segs / cfg["batch_size"])
    per_epoch = math.ceil(micro / cfg["grad_accum_steps"])
    cfg["epochs"] = max(2, int(round(size.steps / per_epoch)))
    return cfg, per_epoch


def kill_step(total, per_epoch, save_every, at=0.45):
    """The step to kill the run at: near ``at`` of the way, half-way between two saves
    (``last.ckpt`` is written every ``save_every`` steps and at each epoch end), so the restart
    visibly goes back to the last checkpoint and redoes the steps after it."""
    saves = sorted(set(range(save_every, total + 1, save_every)) | set(range(per_epoch, total + 1, per_epoch)))
    target = max(saves[0] + 1, int(total * at))
    for a, b in zip(saves, saves[1:]):
        if a <= target < b:
            return (a + b) // 2 if b - a >= 2 else target
    return target


def _train_env():
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    # the subprocess must import this very checkout, wherever the demo is started from
    repo = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join([repo] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return env


def _show(line, echo_every):
    """The training log lines worth showing: banner, resume, validation, every N steps."""
    level = ""
    m = _LOG_PREFIX.match(line)
    if m:
        level, line = m.group(1), line[m.end():]
    s = _STEP.search(line)
    keep = (level in ("WARNING", "ERROR", "CRITICAL")
            or any(k in line for k in ("PHASE", "Model:", "Device:", "Starting fresh", "RESUMING",
                                       "Data:", "Validation loss", "Training complete"))
            or (s is not None and (int(s.group(1)) % echo_every == 0 or int(s.group(1)) == 1)))
    if keep:
        _say(f"    train | {level + ' ' if level not in ('', 'INFO') else ''}{line}")


def _run_training(config_path, *, kill_at_step=None, echo_every=50, timeout_s=900):
    """Run ``python -m musicgen_ft.train`` and return ``(exit code, output, last step seen)``.

    With ``kill_at_step`` the process is SIGKILLed as soon as it logs that step or a later one.
    """
    cmd = [sys.executable, "-m", "musicgen_ft.train", "--config", str(config_path)]
    proc = subprocess.Popen(cmd, env=_train_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1)
    lines, last_step, deadline = [], 0, time.monotonic() + timeout_s
    try:
        for line in proc.stdout:
            line = line.rstrip("\n")
            lines.append(line)
            _show(line, echo_every)
            s = _STEP.search(line)
            if s:
                last_step = int(s.group(1))
            if kill_at_step is not None and last_step >= kill_at_step:
                os.kill(proc.pid, signal.SIGKILL)
                break
            if time.monotonic() > deadline:
                os.kill(proc.pid, signal.SIGKILL)
                raise DemoError(f"training did not finish within {timeout_s} s")
        code = proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    return code, lines, last_step
