"""Fréchet distance: closed-form Gaussian cases by hand, the embedder plug-in, unreadable clips."""

import numpy as np
import pytest
from evalhelpers import SR, with_log_drums, without_log_drums, write_wav

from logdrum import synth
from evaluation.fad import (frechet_audio_distance, frechet_distance, frechet_distance_from_stats,
                            log_mel_embedder, torch_module_embedder)


def test_one_dimensional_by_hand():
    # N(0, 1) vs N(1, 4): (0 - 1)^2 + 1 + 4 - 2 * sqrt(1 * 4) = 1 + 5 - 4 = 2
    assert frechet_distance_from_stats([0.0], [[1.0]], [1.0], [[4.0]]) == pytest.approx(2.0)


def test_diagonal_by_hand():
    # mu diff (1, 2) -> 5; traces: (1 + 4 - 2*2) + (4 + 9 - 2*6) = 1 + 1 -> 7
    d = frechet_distance_from_stats([0.0, 0.0], np.diag([1.0, 4.0]), [1.0, 2.0], np.diag([4.0, 9.0]))
    assert d == pytest.approx(7.0)


def test_non_diagonal_commuting_by_hand():
    # S1 = [[2,1],[1,2]] (eigenvalues 3, 1), S2 = 4 * S1 (12, 4): sqrt(S1 S2) = 2 * S1,
    # trace term 4 + 16 - 2 * 2 * 4 = 4; equal means
    s1 = np.array([[2.0, 1.0], [1.0, 2.0]])
    assert frechet_distance_from_stats([0, 0], s1, [0, 0], 4 * s1) == pytest.approx(4.0)


def test_singular_covariances():
    # constant frames: zero covariances, distance = |mu1 - mu2|^2 = 1 + 1
    assert frechet_distance(np.zeros((3, 2)), np.ones((3, 2))) == pytest.approx(2.0)
    rng = np.random.default_rng(1)
    few = rng.standard_normal((3, 5))  # fewer frames than dimensions
    assert np.isfinite(frechet_distance(few, rng.standard_normal((4, 5))))
    assert frechet_distance(few, few) == pytest.approx(0.0, abs=1e-6)


def test_sample_sets():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((400, 3))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    # a pure shift leaves the covariance unchanged: distance = |shift|^2 exactly
    assert frechet_distance(a, a + [1.0, 2.0, 2.0]) == pytest.approx(9.0, rel=1e-9)
    b = rng.standard_normal((300, 3)) * 2.0
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-6)
    with pytest.raises(ValueError, match="sizes differ"):
        frechet_distance(a, b[:, :2])
    with pytest.raises(ValueError, match="at least 2"):
        frechet_distance(a[:1], b)


def test_log_mel_embedder_separates_sets(tmp_path):
    emb = log_mel_embedder()
    e = emb(with_log_drums(0), SR)
    assert e.ndim == 2 and e.shape[1] == 32 and e.shape[0] > 100
    assert emb(with_log_drums(0)[None, :], 44100).shape[1] == 32  # resampled, channels-first
    grooves_a = [with_log_drums(i) for i in range(2)]
    grooves_b = [with_log_drums(i) for i in range(2, 4)]
    noises = [synth.noise(SR, 5.0, seed=i) for i in range(2)]
    same = frechet_audio_distance(grooves_a, grooves_b, sr=SR).distance
    far = frechet_audio_distance(grooves_a, noises, sr=SR).distance
    near_other = frechet_audio_distance(grooves_a, [without_log_drums(i) for i in range(2)], sr=SR).distance
    assert same < near_other < far


def test_pluggable_embedder_and_unreadable(tmp_path):
    for i in range(3):
        write_wav(tmp_path / f"c{i}.wav", np.full(SR, 0.1 * (i + 1)))
    (tmp_path / "bad.wav").write_bytes(b"junk")

    def mean_embedder(audio, sr):  # one 2-D "frame" per clip: (mean, max)
        return np.array([[audio.mean(), np.abs(audio).max()]])

    r = frechet_audio_distance(tmp_path, [np.full(SR, 0.1 * (i + 1)) for i in range(3)],
                               embedder=mean_embedder, sr=SR)
    assert r.distance == pytest.approx(0.0, abs=1e-6)
    assert r.clips_a == 4 and r.frames_a == 3 and r.unreadable_a[0][0].endswith("bad.wav")
    assert r.embedder == "mean_embedder"


def test_torch_module_embedder():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    conv = torch.nn.Conv1d(1, 8, kernel_size=320, stride=160)  # (1, 1, n) -> (1, 8, frames)
    emb = torch_module_embedder(conv, sample_rate=8000)
    e = emb(with_log_drums(0), SR)
    assert e.shape[1] == 8 and e.shape[0] == (with_log_drums(0).size // 2 - 320) // 160 + 1
    r = frechet_audio_distance([with_log_drums(0)], [synth.noise(SR, 5.0)], embedder=emb, sr=SR)
    assert r.distance > 0 and r.embedder == "torch:Conv1d"
