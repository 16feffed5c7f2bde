"""The authenticity metric on synthetic sets with a known share of log-drum clips."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from evalhelpers import SR, clip_set, with_log_drums, without_log_drums, write_wav

import logdrum
from evaluation.authenticity import AuthenticityResult, ClipResult, authenticity

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_detector_verdicts_on_fixtures():
    # the premise of every set below; if this fails, look at the detector first
    for i in range(3):
        assert logdrum.analyze(with_log_drums(i), SR).holds_log_drums
        assert not logdrum.analyze(without_log_drums(i), SR).holds_log_drums


def test_known_share_in_memory():
    r = authenticity(clip_set(3, 8), sr=SR)
    assert (r.k, r.n) == (3, 8)
    assert r.rate == pytest.approx(3 / 8)
    # Wilson 3/8 at 95%: centre (0.375 + 0.240091) / 1.480183 = 0.415551,
    # half 1.959964 / 1.480183 * sqrt(0.375*0.625/8 + 3.841459/256) = 1.324135 * 0.210483 = 0.278708
    assert r.ci_low == pytest.approx(0.415550 - 0.278708, abs=5e-6)
    assert r.ci_high == pytest.approx(0.415550 + 0.278708, abs=5e-6)
    assert [c.holds_log_drums for c in r.clips] == [True] * 3 + [False] * 5
    assert all(c.events for c in r.clips[:3]) and not any(c.events for c in r.clips[3:])
    assert all(0.0 <= c.score <= 1.0 for c in r.clips)
    assert r.n_unreadable == 0 and r.unreadable == ()


def test_directory_with_unreadable_files_counts_them(tmp_path):
    for i, clip in enumerate(clip_set(2, 4)):
        write_wav(tmp_path / f"clip{i}.wav", clip)
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "garbage.flac").write_bytes(b"this is not audio at all" * 10)
    (tmp_path / "notes.txt").write_text("not a clip, not counted")
    r = authenticity(tmp_path)
    assert r.n == 6, "unreadable files stay in n"
    assert r.k == 2
    assert r.rate == pytest.approx(2 / 6)
    names = sorted(os.path.basename(n) for n, _ in r.unreadable)
    assert names == ["empty.wav", "garbage.flac"]
    assert all(err for _, err in r.unreadable)
    assert r.n_unreadable == 2
    assert len(r.scores) == 4  # scores only for readable clips


def test_arrays_batches_mappings_and_pairs():
    clips = clip_set(1, 2)
    batch = np.stack([c[: 4 * SR] for c in clips])  # (2, n): a batch of mono clips
    assert authenticity(batch, sr=SR).k == 1
    assert authenticity(batch[:, None, :], sr=SR).k == 1  # (batch, channels, n)
    r = authenticity({"a": clips[0], "b": (clips[1], SR)}, sr=SR)
    assert [c.name for c in r.clips] == ["a", "b"] and r.k == 1
    assert authenticity([(c, SR) for c in clips]).k == 1


def test_torch_batch():
    torch = pytest.importorskip("torch")
    batch = torch.from_numpy(np.stack([c[: 4 * SR] for c in clip_set(1, 2)]).astype(np.float32))
    assert authenticity(batch, sr=SR).k == 1


def test_invalid_in_memory_clips_counted():
    bad = np.full(SR, np.nan)
    r = authenticity([with_log_drums(0), bad, np.zeros(0)], sr=SR)
    assert (r.k, r.n, r.n_unreadable) == (1, 3, 2)
    assert "NaN" in r.unreadable[0][1]


def test_injected_detector_and_progress():
    class Verdict:
        def __init__(self, yes):
            self.holds_log_drums, self.score, self.events, self.duration_s = yes, float(yes), (), 1.0

    seen = []
    clips = [np.full(100, v) for v in (1.0, 0.0, 1.0, 1.0)]
    r = authenticity(clips, sr=8000, detector=lambda a, sr: Verdict(bool(a[0] > 0.5)),
                     progress=lambda i, n, c: seen.append((i, n)))
    assert (r.k, r.n) == (3, 4)
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_errors(tmp_path):
    with pytest.raises(ValueError, match="no audio files"):
        authenticity(tmp_path)
    with pytest.raises(ValueError, match="not a directory"):
        authenticity(tmp_path / "nope")
    with pytest.raises(ValueError, match="sample rate"):
        authenticity([np.zeros(100)])
    with pytest.raises(ValueError, match="1-D array is one clip"):
        authenticity(np.zeros(100), sr=SR)
    with pytest.raises(ValueError, match="at least one clip"):
        authenticity([], sr=SR)


def test_from_clips_and_json_round_trip():
    clips = [ClipResult("a", True, 0.9), ClipResult("b", False, float("nan"), error="boom")]
    r = AuthenticityResult.from_clips(clips)
    d = json.loads(json.dumps(r.to_dict()))
    assert d["k"] == 1 and d["n"] == 2 and d["n_unreadable"] == 1
    assert d["unreadable"] == [{"name": "b", "error": "boom"}]
    assert d["clips"][1]["score"] is None


def test_cli_authenticity_json(tmp_path):
    for i, clip in enumerate(clip_set(1, 3)):
        write_wav(tmp_path / f"c{i}.wav", clip)
    (tmp_path / "broken.wav").write_bytes(b"RIFF....WAVEfmt ")
    out = subprocess.run([sys.executable, "-m", "evaluation", "authenticity", str(tmp_path), "--json"],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 1, out.stderr  # 1: some files could not be read
    d = json.loads(out.stdout)
    assert (d["k"], d["n"], d["n_unreadable"]) == (1, 4, 1)
    assert d["unreadable"][0]["name"].endswith("broken.wav")
    text = subprocess.run([sys.executable, "-m", "evaluation", "authenticity", str(tmp_path)],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert "25.0%" in text.stdout and "broken.wav" in text.stdout
