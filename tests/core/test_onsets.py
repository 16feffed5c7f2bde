"""The onset an event reports is where the note starts, not where its band envelope peaks.

The band envelope rises late where a glide enters the 50-150 Hz band from above, and where a
note rises out of the last one and a kick lands a 16th later the band envelope's peak is the
kick's; the note's own narrowband envelope times the attack (:mod:`logdrum.core.decay`). 50 ms
is the onset window of the realistic-mix benchmark (``mir_eval.onset``,
``benchmarks/realmix/measure.py``).
"""

import mir_eval
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import logdrum
from logdrum import synth

SR = 16000
WINDOW_S = 0.05
# Known limit (docs/detector.md): a glide that starts far above the band (over 170 Hz) enters
# it late, and such a note reads up to 65 ms late, so the promise stops there.
GLIDE_START_MAX_HZ = 170.0

notes = dict(
    f0=st.floats(55.0, 145.0), glide=st.floats(1.0, 1.5), drive=st.floats(0.0, 3.0),
    tau=st.floats(0.3, 0.6), at=st.floats(0.2, 1.5),
)


def _onset_error(x, at, f0):
    a = logdrum.analyze(x, SR)
    own = [e.onset_s - at for e in a.events if abs(np.log(e.f0_hz / f0)) < np.log(1.1)]
    assert own, f"no event at {f0:.1f} Hz: {a.rejected}"
    return min(own, key=abs)


@settings(max_examples=60)
@given(**notes)
def test_a_lone_note_reports_its_attack(f0, glide, drive, tau, at):
    assume(f0 * glide <= GLIDE_START_MAX_HZ)
    x = np.zeros(int((at + 2.0) * SR))
    synth.place(x, synth.log_drum(SR, f0, tau, glide=glide, drive=drive), at, SR)
    assert abs(_onset_error(x, at, f0)) <= WINDOW_S


# Known limit (logdrum.core.onset): the groove's step-11 note (55 Hz) comes a 16th after the
# step-10 note a minor third above it and glides through its pitch; with a glide of 1.4 the
# interference grows the band 50-57 ms after the attack. With glides up to 1.25 they are found
# since round 11 (none of them within 50 ms before).
STEP_AFTER_A_THIRD = 11
STEP_AFTER_A_THIRD_MAX_S = 0.08
STEP_AFTER_A_THIRD_FOUND_BELOW_GLIDE = 1.3


@pytest.mark.parametrize("glide, drive, tau", [(1.0, 0.0, 0.4), (1.25, 1.5, 0.4), (1.4, 3.0, 0.6)])
def test_events_in_a_groove_sit_on_the_notes(glide, drive, tau):
    # A line of log drums under kicks, hats and chords (logdrum.synth.groove): the notes rise
    # out of the last one and the kicks land a 16th after some of them. Before the onset was
    # read on the note's own envelope, 159 of these 286 events (over the three cases and
    # seeds 0-2) sat within 50 ms of a note, the rest 60-140 ms late; all do now but the
    # step-11 notes with a glide of 1.4, 50-57 ms late. (Seed 2 at glide 1.4 reported three line notes
    # at 83 Hz 65 ms before its 65 Hz notes until a note read at a pitch of its own was no
    # longer re-pitched: logdrum.core.line.)
    bpm, bars = 112.0, 8
    step = 60.0 / bpm / 4
    notes = sorted((b * 16 * step + s * step, s) for b in range(bars) for s, _ in synth.GROOVE_LOG_DRUM_STEPS)
    truth = np.array([t for t, _ in notes])
    steps = np.array([s for _, s in notes])
    for seed in range(3):
        x = synth.groove(SR, bars=bars, bpm=bpm, seed=seed, glide=glide, drive=drive, tau=tau)
        found = np.array(sorted(e.onset_s for e in logdrum.analyze(x, SR).events))
        assert found.size >= 0.5 * truth.size
        nearest = np.abs(found[:, None] - truth).argmin(axis=1)
        error = found - truth[nearest]
        limit = steps[nearest] == STEP_AFTER_A_THIRD
        assert np.all(np.abs(error[limit]) <= STEP_AFTER_A_THIRD_MAX_S), (seed, error[limit])
        on_a_note = len(mir_eval.util.match_events(truth[steps != STEP_AFTER_A_THIRD], found[~limit], WINDOW_S))
        assert on_a_note >= 0.95 * np.count_nonzero(~limit), (seed, error)
        if glide < STEP_AFTER_A_THIRD_FOUND_BELOW_GLIDE:
            # 6-8 of the 8 in round 11, 5-8 since round 12; before round 11, read 58-60 ms late
            # or, with a window that could start on a falling flux, 91 ms early on the step-10
            # note's attack. (Since round 12 a line pitch is one two accepted events share: seed
            # 1's note read at 58 Hz, 5 % sharp, beside one accepted reading at 57 Hz is no line
            # note, logdrum.core.line.line_candidates.)
            after_a_third = truth[steps == STEP_AFTER_A_THIRD]
            assert len(mir_eval.util.match_events(after_a_third, found, WINDOW_S)) >= 0.6 * after_a_third.size


def _note_after_a_higher_one(rng):
    """A note a major second or minor third under one still ringing (0.25-0.45 s before it),
    gliding through its pitch: the clip, the second note's onset and pitch."""
    f_hi = rng.uniform(65.0, 110.0)
    f_lo = f_hi * 2.0 ** (-rng.choice([2, 3]) / 12)
    glide, gap = rng.uniform(1.3, 1.45), rng.uniform(0.25, 0.45)
    tau, drive = rng.uniform(0.4, 0.7), rng.uniform(0.0, 3.0)
    x = np.zeros(int(2.5 * SR))
    synth.place(x, synth.log_drum(SR, f_hi, tau, glide=glide, drive=drive), 0.5, SR)
    synth.place(x, synth.log_drum(SR, f_lo, tau, glide=glide, drive=drive), 0.5 + gap, SR)
    return x, 0.5 + gap, f_lo


def test_a_note_gliding_through_a_ringing_one_reports_its_attack():
    # The glide passes the ringing note's pitch: that bin dips and regrows some 80 ms on, and
    # counted over the last 10 ms (before round 11) the regrowth outgrew the attack; 28 of 150
    # such notes read 50-115 ms late, 9 of 150 since (50-98 ms late). These 60: 52 within
    # 50 ms before, 55 now (one left to spare for another platform's rounding).
    rng = np.random.default_rng(11)
    within = 0
    for _ in range(60):
        x, at, f0 = _note_after_a_higher_one(rng)
        within += abs(_onset_error(x, at, f0)) <= WINDOW_S
    assert within >= 54
