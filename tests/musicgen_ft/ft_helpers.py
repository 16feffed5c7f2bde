"""Helpers for the musicgen_ft tests: a tiny synthetic dataset on disk, configs, the training
subprocess, and a directory that refuses writes.

A plain module (not conftest) so ``from ft_helpers import ...`` cannot pick up another
folder's conftest.
"""

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from logdrum import synth
from logdrum.dataset.layout import METADATA_FILE
from logdrum.io.atomic import write_csv_atomic

from evaluation.run_folder import METRICS_FILE, read_jsonl

REPO = Path(__file__).resolve().parents[2]
TAGS = ["electronic|techno|beat", "house|drums", "amapiano|log drum|piano", "beat|bass"]


def make_dataset(folder, n_clips=6, seconds=2.4, sr=22050, broken=0):
    """Write ``n_clips`` synthetic groove wavs (soundfile) and a training_metadata.csv.

    Clips are slices of one amapiano-style groove with small per-clip gain changes, so the
    codes repeat and a tiny model can learn them. ``broken`` extra rows point at files that are
    not audio (they must be skipped, not crash the run).
    """
    import soundfile as sf

    folder = Path(folder)
    (folder / "audio").mkdir(parents=True, exist_ok=True)
    mix = synth.groove(sr, bars=2, seed=1)
    rows = []
    for i in range(n_clips):
        n = int(seconds * sr)
        start = (i * sr // 4) % max(1, len(mix) - n)
        clip = mix[start:start + n] * (0.8 + 0.05 * (i % 3))
        if i % 2:   # some stereo files: the loader must downmix
            clip = np.stack([clip, clip * 0.9], axis=1)
        name = f"audio/clip_{i:03d}.wav"
        sf.write(folder / name, clip, sr)
        rows.append({"clip_id": f"c{i:03d}", "file_path": name, "amapiano_proxy_score": 0.7,
                     "tags": TAGS[i % len(TAGS)], "duration": seconds})
    for j in range(broken):
        name = f"audio/broken_{j}.wav"
        (folder / name).write_bytes(b"this is not a wav file")
        rows.append({"clip_id": f"broken{j}", "file_path": name, "amapiano_proxy_score": 0.5,
                     "tags": "noise", "duration": 1.0})
    csv_path = folder / METADATA_FILE
    write_csv_atomic(csv_path, rows[0], rows)
    return csv_path


def tiny_config(tmp_path, csv_path, **overrides):
    """The shipped tiny config, pointed at ``csv_path`` and a run dir under ``tmp_path``."""
    cfg = json.loads((REPO / "musicgen_ft" / "configs" / "tiny.json").read_text())
    cfg.update(metadata_path=str(csv_path), run_dir=str(tmp_path / "run"),
               cache_dir=str(tmp_path / "cache"))
    cfg.update(overrides)
    path = tmp_path / f"config_{len(list(tmp_path.glob('config_*.json')))}.json"
    path.write_text(json.dumps(cfg, indent=2))
    return path


def start_training(config_path, env_extra=None):
    """Start ``python -m musicgen_ft.train`` as a real subprocess (1 torch thread)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env.update(env_extra or {})
    return subprocess.Popen([sys.executable, "-m", "musicgen_ft.train", "--config",
                             str(config_path)], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def run_training(config_path, env_extra=None, timeout=120):
    """Run training to completion; returns (exit code, output)."""
    proc = start_training(config_path, env_extra)
    out, _ = proc.communicate(timeout=timeout)
    return proc.returncode, out


def run_quiet(*cmd):
    """Run a system command; True when it succeeded."""
    return subprocess.run(cmd, capture_output=True).returncode == 0


@contextlib.contextmanager
def refusing_writes(folder):
    """Make ``folder`` refuse new files for this process; yields how."""
    if os.geteuid() != 0:
        os.chmod(folder, 0o500)
        try:
            yield "chmod 0500"
        finally:
            os.chmod(folder, 0o700)
    elif run_quiet("chattr", "+i", str(folder)):
        try:
            yield "chattr +i"
        finally:
            run_quiet("chattr", "-i", str(folder))
    elif run_quiet("mount", "--bind", str(folder), str(folder)):
        try:
            if not run_quiet("mount", "-o", "remount,bind,ro", str(folder)):
                pytest.skip("cannot remount read-only here")
            yield "read-only bind mount"
        finally:
            run_quiet("umount", str(folder))
    else:
        pytest.skip("no way to make a directory refuse writes for this user here")


def train_steps(run_dir):
    """Optimizer steps logged so far in ``metrics.jsonl`` (a torn line is skipped)."""
    return [rec["step"] for _, rec in read_jsonl(Path(run_dir) / METRICS_FILE)
            if rec.get("kind") == "train"]
