"""Every threshold of the detector, in one frozen dataclass.

The defaults follow the seed checklist: a log drum is a pitched, percussive hit with its
fundamental in 50-150 Hz and an amplitude-envelope time constant tau of about 300-600 ms
("woody"); a kick decays with tau of about 50 ms ("tight"). Override any field with
``dataclasses.replace(DEFAULT_CONFIG, field=value)`` or ``DetectorConfig(field=value)`` and pass
it as ``config=`` to the public functions.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

__all__ = ["DetectorConfig", "DEFAULT_CONFIG"]


@dataclass(frozen=True)
class DetectorConfig:
    """Thresholds of the log-drum detector.

    Parameters
    ----------
    f_min, f_max : float
        The log-drum band in Hz. An event's f0 must lie in
        ``[f_min * (1 - f0_tolerance), f_max * (1 + f0_tolerance)]``.
    f0_tolerance : float
        Relative slack on the band edges for the f0 test (0.01 = 1 %). It only absorbs the
        pitch measurement's error (a note played at 150.0 Hz reads 149.95-150.05 Hz): an event
        pitched outside the band is not a log drum. 1 % is a sixth of a semitone, so no note
        of the scale outside 50-150 Hz gets in (open hats, snares and a bass drum ring at
        154-157 Hz, which the old 5 % admitted).
    analysis_rate : float
        Rate in Hz of the decimated signal the detector reads, whatever the input rate (the
        input's own rate where that is lower); see :mod:`logdrum.core.frontend`.
    hop_ms, window_ms : float
        Hop and length of the band-envelope frames.
    tau_min_ms, tau_max_ms : float
        The "woody" decay range. The plan says 300-600 ms; the defaults widen it to 200-1500 ms
        because real log drums are cut short by the next note and the fit on a short tail reads
        a little long or short, and a driven log drum holds its level before it decays (tanh
        saturation): in realistic mixes, notes of tau 0.6-0.7 s with drive 3-4 read up to 2x
        long (``benchmarks/realmix``). Kicks (tau 20-120 ms) stay far below ``tau_min_ms``; a
        held note (tau infinite) stays above ``tau_max_ms``.
    attack_min_db : float
        How far the note's own envelope (see :mod:`logdrum.core.decay`) must rise into its peak,
        from the quietest point of the ``attack_ms`` before the onset, for a percussive onset.
        The same rise later in the note ends it (the next note at that pitch).
    attack_ms : float
        The window before a peak in which the rise is measured. Long enough for a log drum
        whose glide starts above the band and enters it on the way down.
    candidate_prominence_db : float
        Smallest rise of the 50-150 Hz band envelope that makes a local peak a candidate.
    min_separation_ms : float
        Two candidate peaks closer than this keep only the larger.
    level_floor_dbfs : float
        Peak band amplitude (dBFS, a full-scale sine is 0 dBFS) below which a candidate is
        "too quiet".
    min_tail_ms : float
        Shortest note (peak to its end, see ``tail_drop_db``) that supports a tau fit; shorter
        ones are "decay cut short".
    max_tail_ms : float
        Longest stretch of a note that is followed and fitted.
    tail_drop_db : float
        A note ends where its envelope has fallen this far below the peak (or at the noise
        floor, or before it rises again by ``attack_min_db``).
    tonality_min : float
        Smallest tonality for a "tonal" event: the contrast of the spectral peak over the
        median of its flanks (see :func:`logdrum.core.kernels.spectral_peaks`), 0 dB -> 0 and
        40 dB -> 1. The default 0.45 is 18 dB: noise of any colour reads 0.1-0.35, clean log
        drums 1.0, log drums under kicks, hats and chords 0.5-1.
    pitch_stability : float
        Largest ratio between the pitch of the first 64 ms and of the whole decay window. A
        log drum's glide stays well inside 1.5; the pitch of a noise burst jumps around.
    short_clip_s : float
        Clips shorter than this hold log drums if they hold one confident event.
    line_rate_lo, line_rate_hi : float
        Accepted events per second at which a longer clip's density term is 0 and 1 (see
        :mod:`logdrum.core.clip`). Amapiano plays several log-drum notes per bar at 110-115 BPM
        (1.4-1.7 accepted events/s on the built-in grooves, a median 1.5/s in realistic mixes);
        on 800 minutes of real non-amapiano music the clips that fired held a median
        0.6 events/s (bass riffs, timpani, plucked roots), and the hard negatives of
        ``benchmarks/realmix`` (a plucked or synth bass on two notes a bar) 0.5-0.8/s. With
        0.35-0.85 such a line is not a full-density log-drum line.
    coverage_window_s : float
        Length of the windows (about a bar and a half at 110-120 BPM) whose share holding an
        event is the clip's coverage.
    coverage_lo, coverage_hi : float
        Coverage at which a longer clip's coverage term is 0 and 1. The ramps of density and
        coverage were set on the realistic mixes of ``benchmarks/realmix`` (clip recall, hard
        negatives and verdicts unchanged by lossy codecs, docs/detector.md) and checked on
        real non-amapiano music.
    clip_threshold : float
        Clip score at or above which a clip holds log drums.
    mix_level_min_db : float
        Smallest ``mix_db`` of an event: its in-band peak level minus the broadband level of
        the whole signal over the 256 ms after its onset (:mod:`logdrum.core.mixlevel`). A log drum
        is loud against the mix (+2 dB alone; in realistic grooves a median +2.2 dB, 0.1st
        percentile -4.8 dB, lowest -9.2 dB over 4,469 accepted events); the faint low resonance
        of real open and semi-open hats reads -14 to -20 dB: "buried in the mix".
    line_score_min : float
        Score of a clip's accepted events alone from which a clip under ``clip_threshold`` is
        scored again with the notes of its line (:mod:`logdrum.core.line`: notes at the pitch of
        an accepted event whose decay the next note cut short, or read at another sound's
        pitch), and holds log drums if that score reaches the threshold. 0.35 lies above what
        five accepted events in 10 s can score (0.3; the hard negatives of ``benchmarks/realmix``,
        a bass on two notes a bar, read 0.28-0.29) and under six (0.35-0.45). Set it to
        ``clip_threshold`` or above to judge every clip on its accepted events alone.
    """

    f_min: float = 50.0
    f_max: float = 150.0
    f0_tolerance: float = 0.01
    analysis_rate: float = 2000.0
    hop_ms: float = 5.0
    window_ms: float = 20.0
    tau_min_ms: float = 200.0
    tau_max_ms: float = 1500.0
    attack_min_db: float = 6.0
    attack_ms: float = 150.0
    candidate_prominence_db: float = 3.0
    min_separation_ms: float = 60.0
    level_floor_dbfs: float = -60.0
    min_tail_ms: float = 100.0
    max_tail_ms: float = 1000.0
    tail_drop_db: float = 35.0
    tonality_min: float = 0.45
    pitch_stability: float = 1.5
    short_clip_s: float = 5.0
    line_rate_lo: float = 0.35
    line_rate_hi: float = 0.85
    coverage_window_s: float = 3.0
    coverage_lo: float = 0.5
    coverage_hi: float = 0.9
    clip_threshold: float = 0.5
    mix_level_min_db: float = -12.0
    line_score_min: float = 0.35

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise ValueError(f"DetectorConfig.{f.name} must be a number, got {value!r}")
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError(f"DetectorConfig.{f.name} must be finite, got {value!r}")
        if not 0 < self.f_min < self.f_max:
            raise ValueError(f"DetectorConfig needs 0 < f_min < f_max, got {self.f_min}, {self.f_max}")
        if not 0 < self.tau_min_ms < self.tau_max_ms:
            raise ValueError("DetectorConfig needs 0 < tau_min_ms < tau_max_ms")
        if self.analysis_rate < 4 * self.f_max:
            raise ValueError(
                f"DetectorConfig.analysis_rate={self.analysis_rate} Hz is too low for f_max={self.f_max} Hz "
                f"(needs at least 4 x f_max)"
            )
        positive = ("hop_ms", "window_ms", "attack_ms", "min_separation_ms", "min_tail_ms",
                    "max_tail_ms", "tail_drop_db", "short_clip_s")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"DetectorConfig.{name} must be > 0, got {getattr(self, name)}")
        if self.window_ms < self.hop_ms:
            raise ValueError("DetectorConfig.window_ms must be >= hop_ms")
        if self.pitch_stability < 1:
            raise ValueError("DetectorConfig.pitch_stability must be >= 1")
        for name in ("tonality_min", "clip_threshold", "line_score_min"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"DetectorConfig.{name} must lie in [0, 1], got {getattr(self, name)}")
        if self.coverage_window_s <= 0 or not 0 <= self.coverage_lo < self.coverage_hi <= 1:
            raise ValueError("DetectorConfig needs coverage_window_s > 0 and 0 <= coverage_lo < coverage_hi <= 1")
        if not 0 <= self.line_rate_lo < self.line_rate_hi:
            raise ValueError("DetectorConfig needs 0 <= line_rate_lo < line_rate_hi")
        if not 0 <= self.f0_tolerance < 1:
            raise ValueError(f"DetectorConfig.f0_tolerance must lie in [0, 1), got {self.f0_tolerance}")

    def f0_limits(self):
        """``(low, high)`` in Hz: the pitches an event may have (the band, widened by
        ``f0_tolerance``)."""
        return self.f_min * (1.0 - self.f0_tolerance), self.f_max * (1.0 + self.f0_tolerance)


DEFAULT_CONFIG = DetectorConfig()
