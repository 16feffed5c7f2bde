"""validate: finds exactly the broken files, exit code 0 only when nothing is broken."""

import csv
import re
import shutil

import numpy as np
import soundfile as sf

from logdrum import synth
from logdrum.dataset.build import build_dataset
from logdrum.dataset.validate import validate

from mtat_fixture import BROKEN, SR, run_cli


def _problems(stdout):
    return {line.split("\t")[1]: line.split("\t")[0] for line in stdout.splitlines() if "\t" in line}


def test_validate_mtat_root_finds_exactly_the_broken_clips(mtat):
    root, clips = mtat
    proc = run_cli("validate", root, "--workers", 2, check=1)
    expected = {c.mp3_path: BROKEN[c.kind] for c in clips if c.kind in BROKEN}
    assert _problems(proc.stdout) == expected
    assert f"Broken files: {len(BROKEN)} / {len(clips)}" in proc.stdout


def test_validate_a_dataset_flags_a_clip_of_the_wrong_length(mtat, tmp_path):
    # A dataset built before build-dataset checked lengths: a truncated CBR mp3 got in, and its
    # row's duration is the (short) decoded length, so comparing with the row finds nothing.
    root, clips = mtat
    cbr = next(c for c in clips if c.kind == "truncated_cbr")
    out = tmp_path / "ds"
    build_dataset(root, out, top=5, audio="copy", workers=1, progress=False)
    rows = list(csv.DictReader(open(out / "training_metadata.csv")))
    victim = rows[0]["file_path"]
    shutil.copyfile(root / cbr.mp3_path, out / victim)
    rows[0]["duration"] = f"{sf.info(out / victim).frames / SR:.6g}"
    with open(out / "training_metadata.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    proc = run_cli("validate", out, "--workers", 1, check=1)
    assert _problems(proc.stdout) == {victim: "duration"}
    assert re.search(r"expected 9\.\d\d s \+/- 10% \(build-dataset's, summary.json\)", proc.stdout)
    # without summary.json the expected length is the median of the clips
    (out / "summary.json").unlink()
    broken = validate(out, workers=1, progress=False)
    assert [(b["path"], b["problem"]) for b in broken] == [(victim, "duration")]
    assert "(the median)" in broken[0]["detail"]
    # or the one given: then the victim is the only clip of the right length
    broken = validate(out, expected_duration=3.85, workers=1, progress=False)
    assert {b["path"]: b["problem"] for b in broken} == {
        r["file_path"]: "duration" for r in rows if r["file_path"] != victim}


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
