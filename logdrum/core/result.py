"""The result types of the detector: events, rejected candidates, the clip verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

__all__ = ["LogDrumEvent", "Candidate", "Detection", "Analysis", "REJECT_REASONS"]

#: Why a candidate onset is not a log drum, in the order the checks run.
REJECT_REASONS = (
    "too quiet",
    "not percussive",
    "decay cut short",
    "too short a decay",
    "too long a decay",
    "out of band",
    "not tonal",
    "buried in the mix",
    "same note",
)


class LogDrumEvent(NamedTuple):
    """One accepted log-drum hit (an immutable named tuple).

    Attributes
    ----------
    onset_s : float
        Where the attack starts, in seconds from the start of the clip.
    f0_hz : float
        Fundamental frequency over the first ~250 ms of the decay.
    decay_ms : float
        Time constant tau of the amplitude envelope, ``env(t) ~ exp(-t / tau)``.
    glide_ratio : float
        f0 late in the decay (~200 ms) divided by f0 just after the attack; 1.0 is a steady
        pitch, below 1 a downward glide (the typical log-drum "bwom"). NaN when the note is cut
        off before the late window.
    peak_dbfs : float
        Peak amplitude of the note, in dB relative to a full-scale sine.
    confidence : float
        In [0.5, 1]: how far the event sits inside every acceptance margin.
    attack_db : float
        Rise of the band envelope into the peak.
    tonality : float
        Contrast of the spectral peak over its neighbourhood, 0 (noise) to 1 (pure tone).
    mix_db : float
        The note's in-band peak level minus the broadband level of the whole signal over the
        256 ms after its onset (see :mod:`logdrum.core.mixlevel`): about 0 dB alone, below
        ``DetectorConfig.mix_level_min_db`` for a faint resonance under a cymbal.
    line_note : bool
        False for a hit that passed every check on its own. True, in a clip that holds log
        drums, for a note of its line that failed a check on its own: at the pitch of an
        accepted note, its decay cut or bent by the next note or a neighbour's beating; or its
        own pitch another sound's, its envelope at a pitch of the line a note's (then
        ``glide_ratio`` is NaN); or struck again while the last note at its pitch rings,
        rising too little on its own; or its band-envelope peak hidden by a louder hit just
        after it. See :mod:`logdrum.core.line`. Line notes of the first two kinds count towards
        the verdict and score only of a clip whose accepted events alone fall just short of it
        (``DetectorConfig.line_score_min``); the others never.
    """

    onset_s: float
    f0_hz: float
    decay_ms: float
    glide_ratio: float
    peak_dbfs: float
    confidence: float
    attack_db: float
    tonality: float
    mix_db: float = float("nan")
    line_note: bool = False

    def to_dict(self) -> dict:
        return self._asdict()


class Candidate(NamedTuple):
    """A band-envelope peak that was examined and rejected, with every feature measured
    (NaN where the check that failed came before the measurement)."""

    onset_s: float
    reason: str
    peak_dbfs: float
    attack_db: float
    decay_ms: float = float("nan")
    f0_hz: float = float("nan")
    tonality: float = float("nan")
    glide_ratio: float = float("nan")
    mix_db: float = float("nan")

    def to_dict(self) -> dict:
        return self._asdict()


@dataclass(frozen=True)
class Detection:
    """A clip that holds log drums: its accepted events and a score in [0, 1]."""

    events: tuple
    score: float
    duration_s: float

    @property
    def rate_per_s(self) -> float:
        return len(self.events) / self.duration_s if self.duration_s > 0 else 0.0

    def to_dict(self) -> dict:
        return {"score": self.score, "duration_s": self.duration_s,
                "events": [e.to_dict() for e in self.events]}


@dataclass(frozen=True)
class Analysis:
    """Everything the detector saw in a clip.

    Attributes
    ----------
    events : tuple of LogDrumEvent
        Accepted hits.
    rejected : tuple of Candidate
        Examined peaks that are not log drums, each with its ``reason``.
    score : float
        Clip score in [0, 1] (see :func:`logdrum.core.clip.clip_score`) of the events that
        passed every check, or of every reported event (line notes too) where the line's notes
        lifted a clip just under the threshold (``DetectorConfig.line_score_min``).
    holds_log_drums : bool
        The clip verdict: ``score >= config.clip_threshold``.
    duration_s, sr, analysis_rate : float
        Clip length, input sample rate, rate of the decimated analysis signal.
    envelope_db : numpy.ndarray
        The 50-150 Hz band envelope in dBFS, one value per ``hop_s``.
    hop_s : float
        Spacing of ``envelope_db`` in seconds.
    details : dict
        The clip-level terms behind ``score`` (rate, density, line factor, ...).
    """

    events: tuple
    rejected: tuple
    score: float
    holds_log_drums: bool
    duration_s: float
    sr: float
    analysis_rate: float
    envelope_db: object = field(repr=False)
    hop_s: float = 0.005
    details: dict = field(default_factory=dict)

    def detection(self):
        """The :class:`Detection` when the clip holds log drums, else ``None``."""
        if not self.holds_log_drums:
            return None
        return Detection(events=self.events, score=self.score, duration_s=self.duration_s)

    def rejected_by_reason(self) -> dict:
        counts = {}
        for c in self.rejected:
            counts[c.reason] = counts.get(c.reason, 0) + 1
        return counts

    def events_table(self, limit=None) -> str:
        """The accepted events as a fixed-width text table (header line first); ``line`` says
        ``yes`` for a line note.

        Parameters
        ----------
        limit : int, optional
            Show only the first ``limit`` events.
        """
        lines = [f"  {'onset_s':>8} {'f0_hz':>7} {'decay_ms':>8} {'glide':>6} {'peak_dbfs':>9} {'conf':>5} line"]
        for e in self.events[:limit]:
            glide = f"{e.glide_ratio:6.2f}" if e.glide_ratio == e.glide_ratio else f"{'-':>6}"
            lines.append(f"  {e.onset_s:8.3f} {e.f0_hz:7.1f} {e.decay_ms:8.0f} {glide} "
                         f"{e.peak_dbfs:9.1f} {e.confidence:5.2f} {'yes' if e.line_note else '':>4}".rstrip())
        return "\n".join(lines)

    def to_dict(self, envelope: bool = False) -> dict:
        out = {
            "score": self.score, "holds_log_drums": self.holds_log_drums,
            "duration_s": self.duration_s, "sr": self.sr, "analysis_rate": self.analysis_rate,
            "events": [e.to_dict() for e in self.events],
            "rejected": [c.to_dict() for c in self.rejected],
            "details": dict(self.details),
        }
        if envelope:
            out["envelope_db"] = [float(v) for v in self.envelope_db]
            out["hop_s"] = self.hop_s
        return out
