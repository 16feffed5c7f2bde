"""build-dataset on a miniature MTAT tree: ranking, the metadata CSV, the summary."""

import json
import math
import re
from pathlib import Path

import pytest

import logdrum
from logdrum.io.audio import load_audio
from logdrum.dataset.build import build_dataset
from logdrum.dataset.mtat import read_annotations

from mtat_fixture import BROKEN, read_csv, run_cli

from logdrum.dataset.mtat import MTAT_TAGS


def _kinds(clips):
    return {c.clip_id: c.kind for c in clips}


def test_build_dataset_cli_ranks_log_drum_clips_first(mtat, tmp_path):
    root, clips = mtat
    out = tmp_path / "amapiano_proxy"
    n_ld = sum(c.kind == "log_drums" for c in clips)
    proc = run_cli("build-dataset", "--mtat", root, "--out", out, "--top", n_ld, "--workers", 2, check=0)
    assert f"{n_ld} of {len(clips)} clips selected" in proc.stdout
    csv_path = out / "training_metadata.csv"
    rows = read_csv(csv_path)
    assert list(rows[0])[:5] == ["clip_id", "file_path", "amapiano_proxy_score", "tags", "duration"]
    kinds = _kinds(clips)
    assert sorted(kinds[r["clip_id"]] for r in rows) == ["log_drums"] * n_ld
    scores = [float(r["amapiano_proxy_score"]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    by_id = {c.clip_id: c for c in clips}
    for r in rows:
        # the training code opens csv_dir / file_path
        audio_file = csv_path.parent / r["file_path"]
        assert not Path(r["file_path"]).is_absolute() and audio_file.is_file()
        assert audio_file.read_bytes() == (root / by_id[r["clip_id"]].mp3_path).read_bytes()
        assert r["tags"] == "|".join(t for t in MTAT_TAGS if t in by_id[r["clip_id"]].tags)
        assert abs(float(r["duration"]) - 9.5) < 0.5
    assert (out / "score_histogram.png").read_bytes()[:4] == b"\x89PNG"
    tag_counts = {r["tag"]: r for r in read_csv(out / "tag_counts.csv")}
    assert len(tag_counts) == 188 and tag_counts["classical"]["selected"] == "1"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["selected"] == n_ld and summary["scored"] == len(clips) - len(BROKEN)
    failed = {f["clip_id"] for f in summary["failed_clips"]}
    assert failed == {c.clip_id for c in clips if c.kind in ("empty", "truncated", "missing")}
    wrong = {f["clip_id"] for f in summary["wrong_duration_clips"]}
    assert wrong == {c.clip_id for c in clips if c.kind == "truncated_cbr"}
    assert "3 clips failed to decode, 1 excluded for their length" in proc.stdout
    assert re.search(r"duration: 3\.85 s, expected 9\.\d\d s \+/- 10% \(the corpus median\)", proc.stderr)


def test_a_truncated_cbr_clip_is_excluded_by_its_length(mtat, tmp_path):
    root, clips = mtat
    cbr = next(c for c in clips if c.kind == "truncated_cbr")
    # the scan alone cannot tell: the clip decodes, and scores like the best log-drum clips
    loose = build_dataset(root, tmp_path / "loose", top=1, audio="none", workers=1,
                          progress=False, tolerance=10.0)
    assert loose["wrong_duration"] == 0
    assert [r["clip_id"] for r in read_csv(tmp_path / "loose" / "training_metadata.csv")] == [cbr.clip_id]
    # with the default tolerance its length gives it away: excluded, with the reason
    s = build_dataset(root, tmp_path / "ds", top=100, audio="none", workers=1, progress=False)
    rows = read_csv(tmp_path / "ds" / "training_metadata.csv")
    assert cbr.clip_id not in {r["clip_id"] for r in rows}
    assert s["expected_duration"] == pytest.approx(9.55, abs=0.1)
    assert s["expected_duration_source"] == "the corpus median" and s["duration_tolerance"] == 0.1
    (entry,) = s["wrong_duration_clips"]
    assert entry["clip_id"] == cbr.clip_id and entry["mtat_path"] == cbr.mp3_path
    assert entry["duration"] == pytest.approx(3.85, abs=0.01)
    assert entry["error"].startswith(f"duration: 3.85 s, expected {s['expected_duration']:.2f} s +/- 10%")
    assert json.loads((tmp_path / "ds" / "summary.json").read_text())["wrong_duration_clips"] == [entry]
    # a given expected length wins over the median: at MTAT's 29.1 s every fixture clip is off
    s = build_dataset(root, tmp_path / "mtat_len", top=100, audio="none", workers=1,
                      progress=False, expected_duration=29.1)
    assert s["selected"] == 0 and s["wrong_duration"] == len(clips) - 3
    assert s["expected_duration_source"] == "--expected-duration"
    # nothing was scanned twice for that: the scan rows are the raw per-file results
    assert all(not r["error"] or "duration" not in r["error"]
               for r in read_csv(tmp_path / "ds" / "scan_results.csv"))


@pytest.mark.parametrize("bad", [["--expected-duration", "0"], ["--tolerance", "-0.1"]])
def test_build_dataset_refuses_an_impossible_duration_check(tmp_path, bad):
    proc = run_cli("build-dataset", "--mtat", tmp_path, "--out", tmp_path / "o", *bad, check=2)
    assert "must be" in proc.stderr


def test_full_ranking_and_score_match_the_library(mtat, tmp_path):
    root, clips = mtat
    s = build_dataset(root, tmp_path / "all", top=100, audio="none", workers=1, progress=False)
    rows = read_csv(tmp_path / "all" / "training_metadata.csv")
    assert s["selected"] == len(rows) == len(clips) - len(BROKEN)  # broken clips never
    kinds = _kinds(clips)
    ranked = [kinds[r["clip_id"]] for r in rows]
    n_ld = ranked.count("log_drums")
    assert ranked[:n_ld] == ["log_drums"] * n_ld, ranked
    # file_path stays relative to the CSV's folder when the audio is left in the MTAT tree
    r = rows[0]
    path = tmp_path / "all" / r["file_path"]
    assert r["file_path"].startswith("..") and path.is_file()
    audio, sr = load_audio(path)
    expected = logdrum.amapiano_proxy_score(audio, sr, tags=r["tags"].split("|") if r["tags"] else [])
    assert math.isclose(float(r["amapiano_proxy_score"]), expected, rel_tol=1e-5)


def test_min_score_and_rerun_is_stable(mtat, tmp_path):
    root, clips = mtat
    out = tmp_path / "ds"
    s1 = build_dataset(root, out, min_score=0.4, audio="copy", workers=1, progress=False)
    first = (out / "training_metadata.csv").read_text()
    assert s1["selected"] >= 1
    assert all(float(r["amapiano_proxy_score"]) >= 0.4 for r in read_csv(out / "training_metadata.csv"))
    # the second run resumes from scan_results.csv and writes the same dataset
    s2 = build_dataset(root, out, min_score=0.4, audio="copy", workers=1, progress=False)
    assert (out / "training_metadata.csv").read_text() == first
    assert s2["selected"] == s1["selected"] == len(list((out / "audio").iterdir()))


def test_annotations_reader_follows_the_header(tmp_path):
    # a shuffled, unquoted header: tags must come from the column names, not their positions
    tags = list(reversed(MTAT_TAGS))
    header = ["mp3_path", *tags[:100], "clip_id", *tags[100:]]
    row = {h: "0" for h in header}
    row.update({"mp3_path": "3/x-y-01-z-0-29.mp3", "clip_id": "7", "house": "1", "no voice": "1"})
    (tmp_path / "a.csv").write_text("\t".join(header) + "\n" + "\t".join(row[h] for h in header) + "\n")
    clips, names = read_annotations(tmp_path / "a.csv")
    assert sorted(names) == sorted(MTAT_TAGS)
    assert clips[0].clip_id == "7" and clips[0].mp3_path == "3/x-y-01-z-0-29.mp3"
    assert set(clips[0].tags) == {"house", "no voice"}
    (tmp_path / "comma.csv").write_text("clip_id,house,mp3_path\n1,1,a.mp3\n")
    with pytest.raises(ValueError, match="tab-separated"):
        read_annotations(tmp_path / "comma.csv")


def test_build_dataset_reports_a_missing_root(tmp_path):
    proc = run_cli("build-dataset", "--mtat", tmp_path / "nope", "--out", tmp_path / "o", check=2)
    assert "annotations_final.csv" in proc.stderr
