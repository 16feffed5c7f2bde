"""Restruck notes: in a clip that holds log drums, a note struck at the pitch of one still
ringing rises too little to pass the attack check on its own; at a pitch of the line it is
reported as a line note (:func:`logdrum.core.line.weak_notes`), never counted in the verdict."""

import numpy as np
import pytest

import logdrum
from logdrum import synth
from logdrum.core import line as line_mod
from logdrum.core.classify import reject_reasons

from _candidates import candidate_features

SR = 16000


def test_only_a_rise_of_4_5_to_6_db_at_a_line_pitch_is_a_restruck_note():
    feat = candidate_features([
        dict(onset_s=0.0, f0_hz=60.0),                                  # accepted: the line
        dict(onset_s=0.5, f0_hz=61.0, attack_db=5.0, held_db=3.0),      # restruck: yes
        dict(onset_s=1.0, f0_hz=60.0, attack_db=4.0, held_db=3.0),      # rose too little
        dict(onset_s=1.5, f0_hz=60.0, attack_db=5.0, held_db=2.0),      # gone 100 ms on
        dict(onset_s=2.0, f0_hz=66.0, attack_db=5.0, held_db=3.0),      # off the line
        dict(onset_s=2.5, f0_hz=60.0, attack_db=5.0, held_db=3.0, decay_ms=90.0),  # and too short
        dict(onset_s=3.0, f0_hz=60.0, attack_db=5.0, held_db=3.0, mix_db=-40.0),   # buried
        dict(onset_s=3.06, f0_hz=61.5, attack_db=5.0, held_db=3.0),     # 60 ms after the buried one
        dict(onset_s=0.08, f0_hz=60.0, attack_db=5.0, held_db=3.0),     # second peak of the event
    ])
    reason = reject_reasons(feat)
    no_line = np.zeros(len(feat), bool)
    assert reason[0] < 0
    assert line_mod.weak_candidates(feat, reason, no_line).tolist() == [
        False, True, False, False, False, False, True, True, True]
    # the buried one is a candidate (its mix level measured later), not a note; the one after
    # it is then the first of its note
    assert np.flatnonzero(line_mod.weak_notes(feat, reason, no_line)).tolist() == [1, 7]
    # a line note already found is not found again, and hides a second peak of its note
    line = np.zeros(len(feat), bool)
    line[1] = True
    assert np.flatnonzero(line_mod.weak_notes(feat, reason, line)).tolist() == [7]
    # no accepted event, no line
    assert not line_mod.weak_candidates(feat, np.where(reason < 0, 1, reason), no_line).any()


def _line_with_restrikes(drop_db, gap=0.25, tau=0.6):
    """Ten seconds of a line 80, 110, 80 Hz, the last struck again ``gap`` s later
    ``drop_db`` under the others; the onsets of the restruck notes."""
    x = np.zeros(10 * SR)
    restrikes = []
    t = 0.1
    while t < 9.0:
        for f, dt, level in ((80.0, 0.5, 0.0), (110.0, 0.5, 0.0), (80.0, gap, 0.0), (80.0, 1.0 - gap, -drop_db)):
            synth.place(x, synth.log_drum(SR, f, tau, glide=1.2, drive=1.0, level_db=-6.0 + level), t, SR)
            if level < 0:
                restrikes.append(t)
            t += dt
    return x, np.array(restrikes)


def _found(analysis, onsets):
    return [any(e.line_note and abs(e.onset_s - t) <= 0.05 for e in analysis.events) for t in onsets]


def test_notes_struck_again_while_the_last_rings_are_reported_with_the_line(monkeypatch):
    # struck 3 dB under a note of its pitch 250 ms before (tau 0.6 s): they rise 5.0-5.1 dB
    x, restrikes = _line_with_restrikes(3.0)
    with_pass = logdrum.analyze(x, SR)
    monkeypatch.setattr(line_mod, "WEAK_ATTACK_DB", np.inf)
    without = logdrum.analyze(x, SR)
    assert with_pass.holds_log_drums and sum(_found(with_pass, restrikes)) >= 4, _found(with_pass, restrikes)
    assert not any(_found(without, restrikes))
    assert [c.reason for c in without.rejected if np.min(np.abs(restrikes - c.onset_s)) < 0.05].count(
        "not percussive") >= 4
    # the verdict, the score and the events that are not line notes stay as they were
    assert with_pass.score == without.score and with_pass.holds_log_drums == without.holds_log_drums
    assert [e for e in with_pass.events if not e.line_note] == [e for e in without.events if not e.line_note]


def test_a_restrike_that_rises_under_4_5_db_stays_a_candidate():
    # 4 dB under: they rise 4.1-4.4 dB, as a ringing note's beating can
    x, restrikes = _line_with_restrikes(4.0)
    a = logdrum.analyze(x, SR)
    assert a.holds_log_drums and not any(_found(a, restrikes))


@pytest.mark.parametrize("attack_db", [4.4, 4.5])
def test_the_threshold_is_inclusive(attack_db):
    feat = candidate_features([dict(onset_s=0.0), dict(onset_s=0.5, attack_db=attack_db, held_db=line_mod.WEAK_HELD_DB)])
    reason = reject_reasons(feat)
    assert line_mod.weak_candidates(feat, reason, np.zeros(2, bool))[1] == (attack_db >= line_mod.WEAK_ATTACK_DB)
