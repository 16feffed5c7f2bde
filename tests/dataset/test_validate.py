"""validate: finds exactly the broken files, exit code 0 only when nothing is broken."""

import csv
import shutil

import numpy as np
import soundfile as sf

from logdrum import synth
from logdrum.dataset import build_dataset
from logdrum.validate_dataset import validate

from mtat_fixture import SR, run_cli


def _problems(stdout):
    return {line.split("\t")[1]: line.split("\t")[0] for line in stdout.splitlines() if "\t" in line}


def test_validate_mtat_root_finds_exactly_the_broken_clips(mtat):
    root, clips = mtat
    proc = run_cli("validate", root, "--workers", 2, check=1)
    expected = {c.mp3_path: c.kind
                for c in clips if c.kind in ("empty", "truncated", "missing")}
    assert _problems(proc.stdout) == expected
    assert f"Broken files: 3 / {len(clips)}" in proc.stdout


def test_validate_a_built_dataset_then_break_it(mtat, tmp_path):
    root, _ = mtat
    out = tmp_path / "ds"
    build_dataset(root, out, top=5, audio="copy", workers=1, progress=False)
    proc = run_cli("validate", out, "--workers", 2, check=0)
    assert "Broken files: 0 / 5" in proc.stdout
    rows = list(csv.DictReader(open(out / "training_metadata.csv")))
    victims = [r["file_path"] for r in rows[:3]]
    (out / victims[0]).unlink()                                    # missing
    (out / victims[1]).write_bytes(b"")                            # zero-length
    data = (out / victims[2]).read_bytes()
    (out / victims[2]).write_bytes(data[: len(data) // 3])          # truncated download
    proc = run_cli("validate", out / "training_metadata.csv", "--workers", 1, check=1)
    assert _problems(proc.stdout) == dict(zip(victims, ["missing", "empty", "truncated"]))


def test_validate_finds_silence_nan_wrong_length_garbage_and_bad_rows(tmp_path):
    good = synth.groove(SR, bars=2, seed=1).astype(np.float32)
    n = good.size
    sf.write(tmp_path / "good.wav", good, SR)
    sf.write(tmp_path / "silent.wav", np.zeros(n, np.float32), SR)
    nan = good.copy()
    nan[100] = np.nan
    sf.write(tmp_path / "nan.wav", nan, SR, subtype="FLOAT")
    sf.write(tmp_path / "short.mp3", good[: n // 2], SR, format="MP3")
    (tmp_path / "garbage.mp3").write_bytes(b"ID3" + bytes(range(256)) * 8)
    shutil.copy(tmp_path / "good.wav", tmp_path / "good2.wav")
    d = n / SR
    rows = [("1", "good.wav", "0.9", d), ("2", "silent.wav", "0.1", d), ("3", "nan.wav", "0.5", d),
            ("4", "short.mp3", "0.5", d), ("5", "garbage.mp3", "0.5", d), ("6", "good2.wav", "nan", d)]
    with open(tmp_path / "training_metadata.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["clip_id", "file_path", "amapiano_proxy_score", "tags", "duration"])
        w.writerows((c, f, s, "", d) for c, f, s, d in rows)
    broken = {b["path"]: b["problem"] for b in validate(tmp_path, workers=2, progress=False)}
    assert broken == {"silent.wav": "silent", "nan.wav": "non-finite", "short.mp3": "duration",
                      "garbage.mp3": "undecodable", "good2.wav": "bad row"}
