"""Notes whose band-envelope peak a louder hit just after hid (``logdrum.core.line.hidden_notes``).

In realistic mixes a log-drum note a 16th before a louder kick often has a band-envelope peak
of its own, followed by a dip where the kick's onset meets it and by the kick's higher peak
within ``min_separation_ms``: the plain peak picking keeps only the kick's. In a clip that
holds log drums such a note is reported as a line note.
"""

import os

import numpy as np
import pytest

import logdrum
from logdrum import synth
from logdrum.audio_io import load_audio
from logdrum.core import events, frontend, kernels
from logdrum.core.clip import clip_score

KICK = os.path.join(os.path.dirname(__file__), "..", "data", "real_drums", "millo_drums_v1_bd1.flac")


def _envelope(dip_db):
    """5 ms hops: a note's bump peaking at -9 dB (hop 99), a dip of ``dip_db`` under it, a
    louder hit peaking at -5 dB (hop 109) 50 ms later, silence (-95 dB) elsewhere."""
    env = np.full(200, -95.0)
    env[89:99] = np.linspace(-30.0, -9.5, 10)
    env[99] = -9.0
    env[100:106] = np.linspace(-9.5, -9.0 - dip_db, 6)
    env[106:110] = np.linspace(-9.0 - dip_db, -5.0, 4)
    env[110:125] = np.linspace(-5.5, -20.0, 15)
    return env


@pytest.mark.parametrize("dip_db, kept", [(12.0, True), (3.0, True), (1.0, False)])
def test_a_peak_a_higher_one_hides_is_kept_where_the_envelope_dips_between(dip_db, kept):
    env = _envelope(dip_db)
    args = (12, 30, 3.0, -90.0)  # 60 ms and 150 ms at 5 ms hops
    plain, _ = kernels.pick_peaks(env, *args)
    assert plain.tolist() == [109]  # the louder hit hides the note
    both, _ = kernels.pick_peaks(env, *args, 3.0)
    hidden, rises = kernels.pick_peaks(env, *args, 3.0, True)
    assert both.tolist() == ([99, 109] if kept else [109])
    assert hidden.tolist() == ([99] if kept else [])
    assert np.all(rises >= 3.0)


def test_a_higher_peak_before_still_hides_a_later_one():
    # only a hit *after* a note lets the note through: a peak 50 ms after a louder one is its decay
    env = _envelope(12.0)[::-1].copy()
    assert kernels.pick_peaks(env, 12, 30, 3.0, -90.0, 3.0, True)[0].size == 0


def _line_with_a_real_kick():
    """12 s of log drums every 0.4 s (61-87 Hz, tau 0.6 s, ringing into each other), a real
    kick from hydrogen-drumkits 140 ms after every other note."""
    kick, sr = load_audio(KICK)
    kick = 0.5 * kick[0] / np.max(np.abs(kick[0]))
    rng = np.random.default_rng(1)
    x, notes = np.zeros(12 * sr), []
    for k, t in enumerate(np.arange(0.2, 11.5, 0.4)):
        f0 = [65.4, 73.4, 87.3, 61.7][rng.integers(4)]
        synth.place(x, synth.log_drum(sr, f0=f0, tau=0.6, glide=1.3, duration=1.2, level_db=-10.0), t, sr)
        notes.append(t)
        if k % 2:
            synth.place(x, kick, t + 0.14, sr)
    return x, sr, np.array(notes)


def test_a_note_a_louder_real_kick_hid_is_reported_as_a_line_note():
    x, sr, notes = _line_with_a_real_kick()
    a = logdrum.analyze(x, sr)
    assert a.holds_log_drums
    y, rate = frontend.decimate(x, sr)
    env, hop_s, delay_s = frontend.band_envelope(y, rate)
    hid = events.hidden_candidates(y, rate, env, hop_s, delay_s)
    from_hidden = [e for e in a.events if e.line_note and np.min(np.abs(hid.onset_s - e.onset_s)) < 0.06]
    # the note at 7.0 s, a 16th before a kick, has no candidate of its own but a hidden peak
    assert any(abs(e.onset_s - 7.0) < 0.05 for e in from_hidden)
    # what the hidden peaks add lies on true notes, at a pitch of the line
    pitches = np.array([e.f0_hz for e in a.events if not e.line_note])
    for e in from_hidden:
        assert np.min(np.abs(notes - e.onset_s)) < 0.05
        assert np.min(np.abs(np.log(e.f0_hz / pitches))) < np.log(1.03)
    # and never count towards the score
    strict = [e for e in a.events if not e.line_note]
    assert a.score == pytest.approx(clip_score(strict, a.duration_s)[0])


@pytest.mark.parametrize("hidden_only", [False, True])
def test_peaks_picked_in_stretches_side_by_side_are_those_of_one_pass(hidden_only):
    # 150 s of a groove: three stretches of at least 8192 hops on threads, each hop judged
    # against the whole envelope around it (a peak near a stretch's edge sees the other side)
    rate = 2000.0
    y = np.resize(synth.groove(int(rate), bars=32, seed=2), 150 * int(rate))
    env, hop_s, _ = frontend.band_envelope(y, rate)
    dip = events.HIDDEN_DIP_DB if hidden_only else 0.0
    one = events.candidate_peaks(env, hop_s, dip_after_db=dip, hidden_only=hidden_only, parallel=False)
    side_by_side = events.candidate_peaks(env, hop_s, dip_after_db=dip, hidden_only=hidden_only, parallel=True)
    assert one[0].size > 20
    np.testing.assert_array_equal(side_by_side[0], one[0])
    np.testing.assert_array_equal(side_by_side[1], one[1])
