"""The clip verdict is specific: music that is not amapiano, with its own low, decaying
sounds (toms, timpani, long 808s, bass notes), does not count as holding log drums."""

import numpy as np
import pytest

import logdrum
from logdrum import synth

SR = 16000
DUR = 10.0  # MusicGen-sample length


def _bar_times(bpm, total=DUR):
    return np.arange(0.0, total - 0.5, 4 * 60.0 / bpm)


def rock(seed):
    rng = np.random.default_rng(seed)
    bpm = rng.uniform(90, 140)
    beat = 60.0 / bpm
    x = np.zeros(int(DUR * SR))
    snare_env = np.exp(-np.arange(int(0.15 * SR)) / (0.04 * SR))
    for i, t in enumerate(np.arange(0.0, DUR - 0.5, beat)):
        if i % 2 == 0:
            synth.place(x, synth.kick(SR, tau=0.06, click=True), t, SR, -2.0)
        else:  # snare: a noise burst
            synth.place(x, synth.noise(SR, 0.15, level_db=-8.0, seed=i) * snare_env, t, SR)
        synth.place(x, synth.hat(SR, seed=i), t + beat / 2, SR)
    # a tom fill at the end of every other bar: woody, pitched, in the band
    for bar in _bar_times(bpm)[1::2]:
        for k, f in enumerate((110.0, 90.0, 75.0)):
            synth.place(x, synth.log_drum(SR, f, 0.3, level_db=-6.0, duration=0.8), bar + 3 * beat + k * beat / 3, SR)
    return x


def techno(seed):
    rng = np.random.default_rng(seed)
    bpm = rng.uniform(125, 135)
    beat = 60.0 / bpm
    x = np.zeros(int(DUR * SR))
    for t in np.arange(0.0, DUR - 0.5, beat):
        synth.place(x, synth.kick(SR, tau=0.09, click=True, level_db=-2.0), t, SR)
        synth.place(x, synth.hat(SR, seed=int(t * 13)), t + beat / 2, SR)
    for bar in _bar_times(bpm):  # one long 808 per bar
        synth.place(x, synth.kick_808(SR, f0=45.0, tau=0.5, duration=1.5, level_db=-6.0), bar, SR)
    return x


def orchestral(seed):
    rng = np.random.default_rng(seed)
    x = synth.chord(SR, (196.0, 246.9, 293.7, 392.0), DUR, level_db=-12.0)
    for t in np.sort(rng.uniform(0.5, DUR - 2.0, 2)):  # two timpani strokes, long ring
        synth.place(x, synth.log_drum(SR, float(rng.uniform(80, 110)), 1.5, level_db=-6.0, duration=3.0), t, SR)
    return x


def ambient(seed):
    rng = np.random.default_rng(seed)
    x = synth.chord(SR, (130.8, 196.0, 261.6, 329.6), DUR, level_db=-14.0)
    x += synth.tone(SR, float(rng.uniform(40, 60)), DUR, level_db=-10.0, fade=2.0)  # sub-bass swell
    return x + synth.noise(SR, DUR, color="pink", level_db=-30.0, seed=seed)


def game(seed):
    rng = np.random.default_rng(seed)
    x = np.zeros(int(DUR * SR))
    step = 60.0 / 150.0 / 2
    notes = 220.0 * 2 ** (rng.integers(0, 12, 40) / 12)
    for i, t in enumerate(np.arange(0.0, DUR - 0.5, step)):
        synth.place(x, synth.log_drum(SR, float(notes[i % 40]), 0.1, level_db=-12.0, duration=0.4), t, SR)
    for t in np.arange(0.0, DUR - 1.0, 8 * step):  # a plucked bass note each bar
        synth.place(x, synth.log_drum(SR, float(rng.choice([55.0, 61.7, 73.4])), 0.25, level_db=-8.0, duration=1.0), t, SR)
    return x


GENRES = {"rock": rock, "techno": techno, "orchestral": orchestral, "ambient": ambient, "game": game}


SEEDS = range(8)


@pytest.fixture(scope="module")
def firing():
    return {g: [logdrum.analyze(make(seed), SR).holds_log_drums for seed in SEEDS] for g, make in GENRES.items()}


def test_non_amapiano_music_rarely_fires(firing):
    # The seed expects an untuned MusicGen at 10-20 % authenticity: on music that is not
    # amapiano (here with toms, long 808s, timpani and bass plucks) the detector must fire at
    # that rate or less. These synthetic genres are harsher than most real music.
    rate = np.mean([v for fired in firing.values() for v in fired])
    assert rate <= 0.15


@pytest.mark.parametrize("genre", list(GENRES))
def test_no_genre_fires_often(firing, genre):
    assert np.mean(firing[genre]) <= 0.25


def test_the_same_length_of_amapiano_fires():
    bars = int(DUR / (4 * 60.0 / 112.0))
    fired = sum(logdrum.analyze(synth.groove(SR, bars=bars, seed=s), SR).holds_log_drums for s in range(5))
    assert fired == 5
