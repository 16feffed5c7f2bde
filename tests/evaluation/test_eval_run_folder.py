"""evaluation.run_folder: one tolerant JSONL reader and one set of alert levels."""

from evaluation.run_folder import ALERT_LEVELS, normalise_level, read_jsonl


def test_read_jsonl_skips_torn_and_foreign_lines(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(b'{"step": 1}\n\n[1, 2]\n{"step": 2}\n{"step": 3, "lo')   # killed mid-line
    problems = []
    rows = read_jsonl(path, problems)
    assert rows == [(1, {"step": 1}), (4, {"step": 2})]
    assert problems == ["metrics.jsonl line 3: not a JSON object, skipped",
                        "metrics.jsonl line 5: not valid JSON, skipped"]
    assert read_jsonl(tmp_path / "missing.jsonl") == []


def test_levels():
    assert ALERT_LEVELS == ("INFO", "WARNING", "CRITICAL")
    assert [normalise_level(x) for x in ("warn", "ERROR", "Fatal", "info", "bogus")] == \
        ["WARNING", "CRITICAL", "CRITICAL", "INFO", None]
