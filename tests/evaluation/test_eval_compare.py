"""Baseline vs candidate comparison: published numbers, and clearly different vs equal sets."""

import pytest
from evalhelpers import SR, clip_set

from evaluation.authenticity import authenticity
from evaluation.compare import compare


def test_published_difference():
    # Newcombe (1998b) Table II: 56/70 - 48/80 = 0.2, method 10 interval [0.0524, 0.3339];
    # z = 2.65017, two-sided p = 0.008045 (worked in test_eval_stats.py)
    c = compare((48, 80), (56, 70))
    assert c.difference == pytest.approx(0.2)
    assert (c.ci_low, c.ci_high) == (pytest.approx(0.0524, abs=5e-5), pytest.approx(0.3339, abs=5e-5))
    assert c.p_value == pytest.approx(0.008045, abs=2e-6)
    assert c.p_value_greater == pytest.approx(0.0040225, abs=2e-6)
    assert c.significantly_better and not c.significantly_worse
    assert "significantly better" in c.summary()


def test_clearly_different_detected_sets():
    base = authenticity(clip_set(1, 10), sr=SR)
    cand = authenticity(clip_set(9, 10), sr=SR)
    c = compare(base, cand)
    assert (c.k_baseline, c.k_candidate) == (1, 9)
    # by hand: pooled 10/20 = 0.5, se = sqrt(0.25 * 0.2) = 0.223607, z = 0.8 / 0.223607 = 3.5777,
    # two-sided p = 0.000347
    assert c.z == pytest.approx(3.5777, abs=1e-4)
    assert c.p_value == pytest.approx(0.000347, abs=2e-6)
    assert c.significantly_better and c.ci_low > 0


def test_equal_sets_not_significant():
    r = authenticity(clip_set(2, 6), sr=SR)
    c = compare(r, r)
    assert c.difference == 0.0 and c.z == 0.0 and c.p_value == pytest.approx(1.0)
    assert not c.significantly_better and not c.significantly_worse
    assert c.ci_low < 0 < c.ci_high


def test_small_gain_is_not_significant():
    # 3/10 -> 5/10: z = 0.2 / sqrt(0.4 * 0.6 * 0.2) = 0.912871, p = 0.361310
    c = compare((3, 10), (5, 10))
    assert c.p_value == pytest.approx(0.361310, abs=2e-6)
    assert not c.significantly_better


def test_worse_candidate():
    c = compare((56, 70), (48, 80))
    assert c.significantly_worse and not c.significantly_better
    assert "significantly worse" in c.summary()


def test_alpha_and_errors():
    assert compare((3, 10), (5, 10), alpha=0.5).significantly_better
    assert compare((3, 10), (5, 10)).alpha == 0.05
    with pytest.raises(ValueError, match="baseline must be"):
        compare(0.3, (5, 10))
    with pytest.raises(ValueError, match="alpha"):
        compare((3, 10), (5, 10), alpha=0)
    with pytest.raises(ValueError, match="n must be at least 1"):
        compare((0, 0), (5, 10))


def test_cli_compare(tmp_path, capsys):
    import json

    from evalhelpers import write_wav

    from evaluation.cli import main

    for name, (k, n) in (("base", (1, 6)), ("cand", (6, 6))):
        (tmp_path / name).mkdir()
        for i, clip in enumerate(clip_set(k, n)):
            write_wav(tmp_path / name / f"c{i}.wav", clip)
    assert main(["compare", str(tmp_path / "base"), str(tmp_path / "cand"), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert (d["baseline"]["k"], d["candidate"]["k"]) == (1, 6)
    # by hand: pooled 7/12, se = sqrt(7/12 * 5/12 * 2/6) = 0.284627, z = (5/6) / 0.284627 = 2.9277
    assert d["comparison"]["z"] == pytest.approx(2.9277, abs=1e-4)
    assert d["comparison"]["significantly_better"] is True
    assert main(["compare", str(tmp_path / "base"), str(tmp_path / "nope")]) == 2
    assert "not a directory" in capsys.readouterr().err
