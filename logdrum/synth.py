"""Synthetic test signals: log drums, kicks, 808s, tones, noises and an amapiano-style groove.

Every generator returns a float64 mono numpy array at ``sr`` with peak amplitude set by
``level_db`` (dBFS; 0 dB is full scale). They are deterministic given ``seed``. Tests, the
docs, the benchmarks and the demo all use them.

The log drum follows how producers make it (a pitched sine or a saturated sine "bwom" with a
short downward glide and a woody decay): ``env(t) = exp(-t / tau)`` after a 2 ms attack, so
``tau`` is exactly what the detector reports as ``decay_ms / 1000``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "log_drum", "kick", "kick_808", "tone", "noise", "hat", "chord",
    "place", "groove", "GROOVE_LOG_DRUM_STEPS",
]


def _t(duration, sr):
    return np.arange(int(round(duration * sr))) / sr


def _level(x, level_db):
    peak = np.max(np.abs(x)) if x.size else 0.0
    return x if peak == 0 else x * (10.0 ** (level_db / 20.0) / peak)


def _attack(t, attack_s=0.002):
    return np.clip(t / attack_s, 0.0, 1.0) if attack_s > 0 else np.ones_like(t)


def log_drum(sr=44100, f0=80.0, tau=0.4, *, glide=1.0, glide_time=0.04, drive=0.0,
             duration=None, level_db=-6.0):
    """A log-drum hit.

    Parameters
    ----------
    sr : float
        Sample rate in Hz.
    f0 : float
        Pitch the note settles on, Hz.
    tau : float
        Amplitude decay time constant in seconds (woody: 0.3-0.6).
    glide : float
        Starting pitch as a multiple of ``f0`` (1.0 = no glide; 1.3 a typical "bwom").
    glide_time : float
        Time constant of the glide in seconds.
    drive : float
        Saturation amount (0 = clean sine; 2-4 a gritty, driven log drum).
    duration : float, optional
        Length in seconds; default ``5 * tau + 0.05``.
    level_db : float
        Peak level in dBFS.
    """
    duration = 5.0 * tau + 0.05 if duration is None else duration
    t = _t(duration, sr)
    freq = f0 * (1.0 + (glide - 1.0) * np.exp(-t / glide_time))
    phase = 2.0 * np.pi * np.cumsum(freq) / sr
    x = np.sin(phase) * np.exp(-t / tau) * _attack(t)
    if drive > 1e-3:  # below that tanh is linear anyway, and tiny drives underflow to 0/0
        x = np.tanh(drive * x) / np.tanh(drive)
    return _level(x, level_db)


def kick(sr=44100, *, f_start=150.0, f_end=50.0, sweep_time=0.03, tau=0.05, click=False,
         duration=None, level_db=-3.0, seed=0):
    """A tight kick: a fast downward sine sweep with a short decay, optionally a click."""
    duration = max(6.0 * tau, 0.1) if duration is None else duration
    t = _t(duration, sr)
    freq = f_end + (f_start - f_end) * np.exp(-t / sweep_time)
    x = np.sin(2.0 * np.pi * np.cumsum(freq) / sr) * np.exp(-t / tau) * _attack(t, 0.001)
    if click:
        rng = np.random.default_rng(seed)
        n_click = int(0.003 * sr)
        burst = rng.standard_normal(n_click) * np.exp(-np.arange(n_click) / (0.0008 * sr))
        x[:n_click] += 0.6 * np.diff(np.concatenate([[0.0], burst]))  # differenced: high-passed
    return _level(x, level_db)


def kick_808(sr=44100, *, f0=50.0, tau=0.5, duration=None, level_db=-3.0):
    """An 808-style kick: a short sweep into a long, low, steady sine tail."""
    return kick(sr, f_start=2.5 * f0, f_end=f0, sweep_time=0.02, tau=tau,
                duration=5.0 * tau if duration is None else duration, level_db=level_db)


def tone(sr=44100, f=100.0, duration=2.0, *, level_db=-6.0, fade=0.01):
    """A steady sine with short fades."""
    t = _t(duration, sr)
    env = np.minimum(1.0, np.minimum(t, duration - t) / fade) if fade > 0 else np.ones_like(t)
    return _level(np.sin(2.0 * np.pi * f * t) * np.clip(env, 0.0, 1.0), level_db)


def noise(sr=44100, duration=2.0, *, color="white", level_db=-20.0, seed=0):
    """White, pink (1/f) or brown (1/f^2) noise."""
    rng = np.random.default_rng(seed)
    n = int(round(duration * sr))
    w = rng.standard_normal(n)
    if color == "white":
        x = w
    elif color in ("pink", "brown"):
        spec = np.fft.rfft(w)
        f = np.fft.rfftfreq(n, 1.0 / sr)
        f[0] = f[1]
        spec /= f ** (0.5 if color == "pink" else 1.0)
        x = np.fft.irfft(spec, n)
    else:
        raise ValueError(f"noise color must be 'white', 'pink' or 'brown', got {color!r}")
    return _level(x, level_db)


def hat(sr=44100, *, tau=0.03, level_db=-18.0, seed=0):
    """A closed hi-hat: high-passed noise burst."""
    rng = np.random.default_rng(seed)
    t = _t(6.0 * tau, sr)
    x = np.diff(np.diff(np.concatenate([[0.0, 0.0], rng.standard_normal(t.size)])))
    return _level(x * np.exp(-t / tau), level_db)


def chord(sr=44100, freqs=(261.63, 329.63, 392.0, 493.88), duration=2.0, *, level_db=-18.0):
    """A soft electric-piano-like chord: sines with a slow decay."""
    t = _t(duration, sr)
    x = sum(np.sin(2.0 * np.pi * f * t) / (1 + k) for k, f in enumerate(freqs))
    return _level(x * np.exp(-t / 1.5) * _attack(t, 0.01), level_db)


def place(buffer, event, at_s, sr, gain_db=0.0):
    """Add ``event`` into ``buffer`` (in place) starting at ``at_s`` seconds."""
    start = int(round(at_s * sr))
    if start >= buffer.size:
        return buffer
    end = min(buffer.size, start + event.size)
    buffer[start:end] += event[: end - start] * 10.0 ** (gain_db / 20.0)
    return buffer


#: 16th-note steps (0-15) of the groove's log-drum line in each bar, and the pitch of each
#: (a syncopated, moving line as amapiano plays it).
GROOVE_LOG_DRUM_STEPS = ((3, 55.0), (6, 73.4), (10, 65.4), (11, 55.0), (14, 82.4))


def groove(sr=44100, bars=8, *, bpm=112.0, log_drums=True, log_drum_db=-10.0, kicks=True,
           kick_db=-4.0, hats=True, chords=True, bass=False, tau=0.4, glide=1.25, drive=1.5,
           seed=0):
    """An amapiano-style groove: four-on-the-floor kicks, off-beat hats, chords and a
    syncopated log-drum line.

    Parameters
    ----------
    bars : int
        Number of 4/4 bars.
    bpm : float
        Tempo (amapiano: about 110-115).
    log_drums : bool
        Include the log-drum line (:data:`GROOVE_LOG_DRUM_STEPS`).
    log_drum_db, kick_db : float
        Peak level of each log drum and each kick, dBFS. The default puts the log drums 6 dB
        under the kicks.
    bass : bool
        Add a sustained bass note under each bar (a non-log-drum low line).
    tau, glide, drive : float
        Log-drum decay (s), glide start ratio and saturation.

    Returns
    -------
    numpy.ndarray
        The mix, peak-limited to 0.99.
    """
    beat = 60.0 / bpm
    step = beat / 4.0
    total = bars * 4 * beat
    out = np.zeros(int(round((total + 1.0) * sr)))
    rng = np.random.default_rng(seed)
    for b in range(bars):
        bar_t = b * 4 * beat
        for q in range(4):
            if kicks:
                place(out, kick(sr, level_db=kick_db, click=True, seed=seed + q), bar_t + q * beat, sr)
            if hats:
                place(out, hat(sr, seed=int(rng.integers(1 << 30))), bar_t + q * beat + 2 * step, sr)
        if chords and b % 2 == 0:
            place(out, chord(sr, duration=8 * beat), bar_t + 2 * step, sr)
        if bass:
            place(out, tone(sr, 55.0 if b % 2 == 0 else 49.0, 4 * beat, level_db=-12.0, fade=0.02), bar_t, sr)
        if log_drums:
            for s, f0 in GROOVE_LOG_DRUM_STEPS:
                place(out, log_drum(sr, f0, tau, glide=glide, drive=drive, level_db=log_drum_db,
                                    duration=min(5.0 * tau, 2.0)), bar_t + s * step, sr)
    peak = np.max(np.abs(out))
    return out * (0.99 / peak) if peak > 0.99 else out
