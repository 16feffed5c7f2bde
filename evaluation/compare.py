"""Baseline vs candidate: is the fine-tuned model's authenticity really higher?

Conventions
-----------
- ``difference = candidate.rate - baseline.rate`` (positive: the candidate is better).
- The interval on the difference is Newcombe's hybrid score interval; the test is the pooled
  two-proportion z-test (:mod:`evaluation.stats`).
- "Significantly better" means the difference is positive and the two-sided p-value is below
  ``alpha``. With ``alpha = 1 - confidence`` (the default) this agrees with the interval's lower
  bound lying above zero in all but borderline cases, where the two methods can differ in the
  third decimal; both numbers are reported.
"""

from __future__ import annotations

from dataclasses import dataclass

from .stats import newcombe_interval, two_proportion_test

__all__ = ["Comparison", "validate", "compare"]


@dataclass(frozen=True)
class Comparison:
    """Result of :func:`compare`.

    Attributes
    ----------
    baseline_rate, candidate_rate : float
    k_baseline, n_baseline, k_candidate, n_candidate : int
    difference : float
        ``candidate_rate - baseline_rate``.
    ci_low, ci_high : float
        Interval on ``difference`` at ``confidence``.
    z, p_value : float
        Two-sided pooled two-proportion z-test.
    p_value_greater : float
        One-sided p-value for ``H1: candidate > baseline``.
    alpha, confidence : float
    significantly_better : bool
        ``difference > 0 and p_value < alpha``.
    """

    baseline_rate: float
    candidate_rate: float
    k_baseline: int
    n_baseline: int
    k_candidate: int
    n_candidate: int
    difference: float
    ci_low: float
    ci_high: float
    z: float
    p_value: float
    p_value_greater: float
    alpha: float
    confidence: float
    significantly_better: bool

    @property
    def significantly_worse(self) -> bool:
        return self.difference < 0 and self.p_value < self.alpha

    def summary(self) -> str:
        verdict = ("significantly better" if self.significantly_better else
                   "significantly worse" if self.significantly_worse else
                   "not significantly different")
        return (f"candidate {self.candidate_rate:.1%} ({self.k_candidate}/{self.n_candidate}) vs "
                f"baseline {self.baseline_rate:.1%} ({self.k_baseline}/{self.n_baseline}): "
                f"difference {self.difference:+.1%} "
                f"[{self.ci_low:+.1%}, {self.ci_high:+.1%}], p = {self.p_value:.3g} -> {verdict}")

    def to_dict(self) -> dict:
        from dataclasses import asdict

        out = asdict(self)
        out["significantly_worse"] = self.significantly_worse
        return out


def _counts(x, name):
    # an AuthenticityResult (duck-typed) or a plain (k, n) pair
    if hasattr(x, "k") and hasattr(x, "n"):
        return int(x.k), int(x.n)
    try:
        k, n = x
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an AuthenticityResult or a (k, n) pair, got {x!r}") from None
    return k, n


def validate(baseline, candidate, *, confidence=0.95, alpha=None):
    """Check both inputs and the levels; return ``(kb, nb, kc, nc)``."""
    kb, nb = _counts(baseline, "baseline")
    kc, nc = _counts(candidate, "candidate")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")
    if alpha is not None and not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha!r}")
    return kb, nb, kc, nc


def compare(baseline, candidate, *, confidence=0.95, alpha=None):
    """Compare the authenticity of a candidate (fine-tuned) set with a baseline set.

    Parameters
    ----------
    baseline, candidate : AuthenticityResult or (k, n)
        The two measured sets.
    confidence : float
        Level of the interval on the difference.
    alpha : float, optional
        Significance level of the test; default ``1 - confidence``.

    Returns
    -------
    Comparison

    Examples
    --------
    >>> c = compare((48, 80), (56, 70))
    >>> round(c.difference, 3), round(c.ci_low, 4), round(c.ci_high, 4), c.significantly_better
    (0.2, 0.0524, 0.3339, True)
    """
    kb, nb, kc, nc = validate(baseline, candidate, confidence=confidence, alpha=alpha)
    alpha = round(1.0 - confidence, 12) if alpha is None else alpha
    low, high = newcombe_interval(kc, nc, kb, nb, confidence=confidence)
    two = two_proportion_test(kc, nc, kb, nb, alternative="two-sided")
    greater = two_proportion_test(kc, nc, kb, nb, alternative="greater")
    diff = kc / nc - kb / nb
    return Comparison(
        baseline_rate=kb / nb, candidate_rate=kc / nc, k_baseline=kb, n_baseline=nb,
        k_candidate=kc, n_candidate=nc, difference=diff, ci_low=low, ci_high=high, z=two.z,
        p_value=two.p_value, p_value_greater=greater.p_value, alpha=alpha, confidence=confidence,
        significantly_better=bool(diff > 0 and two.p_value < alpha),
    )
