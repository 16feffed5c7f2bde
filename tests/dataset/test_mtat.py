"""logdrum.mtat: the bundled tag list is MTAT's, and write_annotations writes the real format."""

from pathlib import Path

import pytest

from logdrum.dataset.mtat import MTAT_TAGS, MtatClip, read_annotations, write_annotations

SHARED_TAGS = Path(__file__).resolve().parents[3] / "shared" / "mtat" / "tags.txt"


def test_bundled_tag_list_is_the_shared_one():
    if not SHARED_TAGS.exists():
        pytest.skip(f"no shared MTAT reference at {SHARED_TAGS}")
    assert list(MTAT_TAGS) == SHARED_TAGS.read_text().splitlines()
    assert len(MTAT_TAGS) == len(set(MTAT_TAGS)) == 188


def test_write_annotations_round_trips_in_the_real_format(tmp_path):
    path = tmp_path / "annotations_final.csv"
    rows = [("2", "f/a-b-01-c-0-29.mp3", ("house", "no voice")),
            MtatClip("6", "0/d-e-02-f-30-59.mp3", ()),
            ("10", "3/g-h-03-i-59-88.mp3", ["beat", "fast beat", "english"])]
    write_annotations(path, rows)
    raw = path.read_bytes().decode("utf-8")
    lines = raw.split("\r\n")
    assert lines[-1] == "" and len(lines) == 1 + len(rows) + 1       # CRLF, one line per clip
    header = lines[0].split("\t")
    assert header == [f'"{h}"' for h in ("clip_id", *MTAT_TAGS, "mp3_path")]   # all quoted
    first = lines[1].split("\t")
    assert first[0] == '"2"' and first[-1] == '"f/a-b-01-c-0-29.mp3"'
    assert sorted(set(first[1:-1])) == ['"0"', '"1"'] and first[1:-1].count('"1"') == 2
    clips, tags = read_annotations(path)
    assert tags == list(MTAT_TAGS)
    assert [(c.clip_id, c.mp3_path, set(c.tags)) for c in clips] == [
        ("2", "f/a-b-01-c-0-29.mp3", {"house", "no voice"}), ("6", "0/d-e-02-f-30-59.mp3", set()),
        ("10", "3/g-h-03-i-59-88.mp3", {"beat", "fast beat", "english"})]


def test_write_annotations_takes_other_columns_and_refuses_unknown_tags(tmp_path):
    write_annotations(tmp_path / "a.csv", [("1", "a/x.mp3", ("b",))], tags=("a", "b"))
    clips, tags = read_annotations(tmp_path / "a.csv")
    assert tags == ["a", "b"] and clips[0].tags == ("b",)
    with pytest.raises(ValueError, match="clip 7: not MTAT tags: \\['amapiano'\\]"):
        write_annotations(tmp_path / "b.csv", [("7", "a/y.mp3", ("house", "amapiano"))])
