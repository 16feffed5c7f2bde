"""Every branch of the GO / CONDITIONAL-GO / NO-GO decision."""

import pytest

from evaluation.authenticity import AuthenticityResult, ClipResult
from evaluation.compare import compare
from evaluation.decision import Thresholds, go_no_go
from evaluation.run_reader import Alert


def auth(k, n, unreadable=0):
    clips = ([ClipResult(f"y{i}", True, 0.9) for i in range(k)]
             + [ClipResult(f"n{i}", False, 0.0) for i in range(n - k - unreadable)]
             + [ClipResult(f"x{i}", False, float("nan"), error="cannot decode") for i in range(unreadable)])
    return AuthenticityResult.from_clips(clips)


GOOD = dict(authenticity=auth(60, 100), best_val_loss=3.2, cost=327.6, projected_cost=524.16,
            alerts=[Alert("INFO", "checkpoint saved")], restarts=2, elapsed_hours=840.0,
            comparison=compare((15, 100), (60, 100)))


def decide(**over):
    return go_no_go(**{**GOOD, **over})


def statuses(d, criterion):
    return [r.status for r in d.reasons if r.criterion == criterion]


def test_all_good_is_go():
    d = decide()
    assert d.verdict == "GO"
    assert {r.status for r in d.reasons} == {"PASS"}
    assert {r.criterion for r in d.reasons} == {"authenticity", "baseline comparison",
                                                "validation loss", "cost", "stability"}


@pytest.mark.parametrize("over, criterion", [
    (dict(authenticity=auth(30, 100)), "authenticity"),
    (dict(authenticity=0.34), "authenticity"),
    (dict(best_val_loss=3.51), "validation loss"),
    (dict(best_val_loss=float("nan")), "validation loss"),
    (dict(cost=600.01), "cost"),
    (dict(alerts=[Alert("CRITICAL", "Loss is NaN or Inf")]), "stability"),
    (dict(alerts=[{"level": "CRITICAL", "message": "cost exceeds $600"}]), "stability"),
    (dict(nonfinite_losses=3), "stability"),
])
def test_each_failure_is_no_go(over, criterion):
    d = decide(**over)
    assert d.verdict == "NO-GO"
    assert "FAIL" in statuses(d, criterion)
    assert [r.criterion for r in d.with_status("FAIL")] == [criterion]


def test_boundaries_pass():
    # the plan's thresholds are inclusive: >= 35%, <= 3.5, <= $600 (but >= 80% warns)
    d = decide(authenticity=0.35, best_val_loss=3.5)
    assert statuses(d, "authenticity") == ["PASS"] and statuses(d, "validation loss") == ["PASS"]
    assert statuses(decide(cost=600.0), "cost") == ["WARN"]


@pytest.mark.parametrize("over, criterion, text", [
    # 20/50 = 40% passes, but the Wilson interval [27.6%, 53.8%] reaches below 35%
    (dict(authenticity=auth(20, 50)), "authenticity", "interval reaches below"),
    (dict(authenticity=auth(60, 100, unreadable=5)), "authenticity", "could not be read"),
    (dict(cost=480.0), "cost", "80%"),
    (dict(projected_cost=612.0), "cost", "projected"),
    (dict(alerts=[Alert("WARNING", "Loss unusually high")]), "stability", "WARNING alert"),
    (dict(restarts=130), "stability", "/day"),
    (dict(comparison=compare((50, 100), (60, 100))), "baseline comparison", "not significantly"),
])
def test_each_warning_is_conditional(over, criterion, text):
    d = decide(**over)
    assert d.verdict == "CONDITIONAL-GO"
    warns = d.with_status("WARN")
    assert [r.criterion for r in warns] == [criterion]
    assert text in warns[0].message


@pytest.mark.parametrize("missing, criterion", [
    ("authenticity", "authenticity"), ("best_val_loss", "validation loss"),
    ("cost", "cost"), ("alerts", "stability"),
])
def test_missing_inputs_never_pass(missing, criterion):
    d = decide(**{missing: None})
    assert d.verdict == "CONDITIONAL-GO"
    assert statuses(d, criterion) == ["MISSING"]
    strict = decide(**{missing: None}, thresholds=Thresholds(on_missing="NO-GO"))
    assert strict.verdict == "NO-GO"


def test_nothing_given():
    d = go_no_go()
    assert d.verdict == "CONDITIONAL-GO"
    assert len(d.with_status("MISSING")) == 4
    assert [r.status for r in d.reasons if r.criterion == "baseline comparison"] == ["INFO"]
    assert "no baseline" in d.format()


def test_failure_beats_missing_and_warnings():
    d = decide(authenticity=None, cost=500.0, best_val_loss=4.0)
    assert d.verdict == "NO-GO"
    assert {r.status for r in d.reasons} >= {"FAIL", "WARN", "MISSING"}


def test_thresholds_configurable():
    t = Thresholds(min_authenticity=0.7, max_val_loss=3.0, budget=300.0, budget_warning_fraction=0.5)
    d = decide(thresholds=t)
    assert d.verdict == "NO-GO"
    assert sorted(r.criterion for r in d.with_status("FAIL")) == ["authenticity", "cost", "validation loss"]
    assert d.to_dict()["thresholds"]["budget"] == 300.0
    with pytest.raises(ValueError, match="on_missing"):
        go_no_go(thresholds=Thresholds(on_missing="MAYBE"))
    with pytest.raises(ValueError, match="min_authenticity"):
        go_no_go(thresholds=Thresholds(min_authenticity=35))
    with pytest.raises(ValueError, match="authenticity rate"):
        go_no_go(authenticity=35.0)


def test_format_lists_every_reason():
    d = decide(cost=500.0, alerts=[Alert("WARNING", "GPU utilisation 60%")])
    text = d.format()
    assert text.startswith("Decision: CONDITIONAL-GO")
    assert "GPU utilisation 60%" in text and "$500.00" in text
    assert len(text.splitlines()) == 1 + len(d.reasons)
