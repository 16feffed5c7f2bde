"""Wilson and Newcombe intervals and the two-proportion test against published values.

Expected numbers come from the literature, not from the code under test:
- Wilson intervals: Newcombe (1998a), "Two-sided confidence intervals for the single
  proportion", Stat. Med. 17:857-872, Table I (81/263, 15/148, 0/20, 1/29) and the textbook
  cases 0/10, 5/10 and 10/10.
- Differences: Newcombe (1998b), Stat. Med. 17:873-890, Table II, method 10.
- z-test: worked by hand below for 56/70 vs 48/80, and cross-checked with scipy's chi-square
  test of the 2x2 table (an independent implementation: z**2 == chi2 without correction).
"""

import math

import pytest
from scipy.stats import chi2_contingency

from evaluation.stats import (newcombe_interval, two_proportion_test, validate, wilson_interval,
                              z_value)


@pytest.mark.parametrize("k, n, low, high", [
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718),
    (0, 10, 0.0, 0.2775),
    (5, 10, 0.2366, 0.7634),
    (10, 10, 0.7225, 1.0),
])
def test_wilson_published(k, n, low, high):
    lo, hi = wilson_interval(k, n)
    assert lo == pytest.approx(low, abs=5e-5)
    assert hi == pytest.approx(high, abs=5e-5)


def test_wilson_by_hand_7_of_20():
    # p = 0.35, z = 1.959964, z^2/n = 0.192074
    # centre = (0.35 + 0.096037) / 1.192074 = 0.374168
    # half = 1.959964 / 1.192074 * sqrt(0.35*0.65/20 + 3.841459/1600) = 1.644165 * 0.117371 = 0.192976
    lo, hi = wilson_interval(7, 20)
    assert lo == pytest.approx(0.374168 - 0.192976, abs=2e-6)
    assert hi == pytest.approx(0.374168 + 0.192976, abs=2e-6)


def test_wilson_wider_at_higher_confidence_and_z():
    assert z_value(0.95) == pytest.approx(1.959964, abs=1e-6)
    lo95, hi95 = wilson_interval(7, 20, confidence=0.95)
    lo99, hi99 = wilson_interval(7, 20, confidence=0.99)
    assert lo99 < lo95 and hi99 > hi95


@pytest.mark.parametrize("k1, n1, k2, n2, low, high", [
    (56, 70, 48, 80, 0.0524, 0.3339),
    (9, 10, 3, 10, 0.1705, 0.8090),
    (5, 56, 0, 29, -0.0381, 0.1926),
    (0, 10, 0, 20, -0.1611, 0.2775),
])
def test_newcombe_published(k1, n1, k2, n2, low, high):
    lo, hi = newcombe_interval(k1, n1, k2, n2)
    assert lo == pytest.approx(low, abs=5e-5)
    assert hi == pytest.approx(high, abs=5e-5)


def test_two_proportion_by_hand():
    # 56/70 = 0.8 vs 48/80 = 0.6; pooled 104/150 = 0.693333
    # se = sqrt(0.693333 * 0.306667 * (1/70 + 1/80)) = sqrt(0.005695) = 0.075467
    # z = 0.2 / 0.075467 = 2.65017; two-sided p = 2 * (1 - Phi(2.65017)) = 0.008045
    t = two_proportion_test(56, 70, 48, 80)
    assert t.z == pytest.approx(2.65017, abs=1e-4)
    assert t.p_value == pytest.approx(0.008045, abs=2e-6)
    g = two_proportion_test(56, 70, 48, 80, alternative="greater")
    assert g.p_value == pytest.approx(0.0040225, abs=2e-6)
    # the reverse direction is not "greater"
    assert two_proportion_test(48, 80, 56, 70, alternative="greater").p_value > 0.99


@pytest.mark.parametrize("k1, n1, k2, n2", [(12, 40, 5, 40), (3, 9, 7, 11), (30, 100, 31, 100)])
def test_two_proportion_matches_chi_square(k1, n1, k2, n2):
    chi2, p, _, _ = chi2_contingency([[k1, n1 - k1], [k2, n2 - k2]], correction=False)
    t = two_proportion_test(k1, n1, k2, n2)
    assert t.z ** 2 == pytest.approx(chi2, rel=1e-9)
    assert t.p_value == pytest.approx(p, rel=1e-9)


def test_two_proportion_identical_degenerate_sets():
    assert two_proportion_test(0, 10, 0, 20).p_value == 1.0
    assert two_proportion_test(10, 10, 20, 20).p_value == 1.0
    assert two_proportion_test(4, 10, 8, 20).p_value == pytest.approx(1.0)


@pytest.mark.parametrize("k, n, msg", [(1, 0, "n must be at least 1"), (5, 3, "k must lie"),
                                       (-1, 3, "k must lie"), (1.5, 3, "whole number")])
def test_validate_counts(k, n, msg):
    with pytest.raises(ValueError, match=msg):
        validate(k, n)


def test_validate_confidence():
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(1, 2, confidence=1.0)
    with pytest.raises(ValueError, match="alternative"):
        two_proportion_test(1, 2, 1, 2, alternative="less")
    assert math.isclose(sum(wilson_interval(5, 10)), 1.0)
