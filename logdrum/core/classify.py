"""Accept or reject each candidate, and say why.

The checks run in the order of :data:`logdrum.core.result.REJECT_REASONS`; a candidate is reported
with the first one it fails. Accepted events get a confidence in [0.5, 1]: the geometric mean
of three margins (decay inside the plan's 300-600 ms, tonality, attack), each 0.5 at its
acceptance limit and 1 well inside it.

In a clip that holds log drums, rejected candidates may still be notes of its log-drum line
(:mod:`logdrum.core.line`); :func:`classify` reports those it is given with ``line_note=True``.
"""

from __future__ import annotations

import gc

import numpy as np

from .config import DEFAULT_CONFIG, DetectorConfig
from .events import CandidateFeatures
from .result import REJECT_REASONS, Candidate, LogDrumEvent

__all__ = ["classify", "reject_reasons", "failed_checks", "event_confidence", "SAME_NOTE_S", "SAME_NOTE_PITCH"]

#: Two accepted candidates closer than this in time and pitch are one note (a second peak):
#: under a 16th apart at 125 BPM, and within two semitones, since a pitch read on the glide
#: can be 3-8 % sharp (one accepted note in seven in realistic mixes, ``benchmarks/realmix``).
SAME_NOTE_S = 0.12
SAME_NOTE_PITCH = 1.12

#: The plan's "woody" range; inside it the decay margin is full.
WOODY_MS = (300.0, 600.0)


def failed_checks(feat: CandidateFeatures, config: DetectorConfig = DEFAULT_CONFIG):
    """One boolean array per check of :data:`REJECT_REASONS` (but "same note"), in that
    order: True where the candidate fails it."""
    lo, hi = config.f0_limits()
    tau = feat.decay_ms
    stable = 1.0 / config.pitch_stability
    with np.errstate(invalid="ignore"):
        fails = [
            feat.peak_dbfs < config.level_floor_dbfs,
            # no rise, or a rise gone 100 ms later (a kick on a ringing note)
            (feat.attack_db < config.attack_min_db) | (feat.held_db < 0.5 * config.attack_min_db),
            (feat.tail_ms < config.min_tail_ms) | np.isnan(tau),
            tau < config.tau_min_ms,
            tau > config.tau_max_ms,
            ~((feat.f0_hz >= lo) & (feat.f0_hz <= hi)),  # NaN fails too
            # not tonal: a weak spectral peak, or a pitch that jumps between the attack and the
            # decay (noise does; a log drum's glide stays well inside)
            ~(feat.tonality >= config.tonality_min)
            | ~((feat.early_ratio >= stable) & (feat.early_ratio <= config.pitch_stability)),
            # a faint low resonance under something much louder (a cymbal's): a log drum is
            # loud against the whole mix (logdrum.core.mixlevel)
            ~(feat.mix_db >= config.mix_level_min_db),
        ]
    return fails


def reject_reasons(feat: CandidateFeatures, config: DetectorConfig = DEFAULT_CONFIG) -> np.ndarray:
    """Index into :data:`REJECT_REASONS` of the first check each candidate fails, -1 when it
    is a log drum."""
    fails = failed_checks(feat, config)
    reason = np.full(len(feat), -1)
    for code in range(len(fails) - 1, -1, -1):  # the first failing check wins
        reason[fails[code]] = code
    reason[_repeats(feat, reason < 0, config.min_separation_ms * 1e-3)] = len(fails)
    assert len(fails) + 1 == len(REJECT_REASONS)
    return reason


def _repeats(feat, accepted, separation_s):
    """Accepted candidates that are a second peak of the note before them: within
    ``SAME_NOTE_S`` of an accepted onset and within ``SAME_NOTE_PITCH`` of its pitch (in a
    dense mix the glide and beating can give one note two envelope peaks, whose pitches read
    on different parts of the glide); or one strike read twice: of two accepted onsets closer
    than ``separation_s`` at any pitch, the quieter (a log drum line sounds one note at a
    time; re-timed on their notes' own envelopes, two peaks ``min_separation_ms`` apart can
    land on one instant, read at two pitches of one sound)."""
    idx = np.flatnonzero(accepted)
    idx = idx[np.argsort(feat.onset_s[idx], kind="stable")]
    # Python floats: numpy scalars in this loop cost a microsecond an access
    onset, log_f = feat.onset_s[idx].tolist(), np.log(feat.f0_hz[idx]).tolist()
    peak = feat.peak_dbfs[idx].tolist()
    same_pitch = float(np.log(SAME_NOTE_PITCH))
    dup = np.zeros(len(feat), bool)
    last = None
    for k in range(len(onset)):
        if last is not None and onset[k] - onset[last] < SAME_NOTE_S and abs(log_f[k] - log_f[last]) < same_pitch:
            dup[idx[k]] = True
            continue
        if last is not None and onset[k] - onset[last] < separation_s:
            if peak[k] <= peak[last]:
                dup[idx[k]] = True
                continue
            dup[idx[last]] = True
        last = k
    return dup


def _ramp(value, limit, full):
    # 0.5 at the acceptance limit, 1.0 at `full`, linear between (in the units given)
    if full == limit:
        return np.ones_like(value)
    return np.clip(0.5 + 0.5 * (value - limit) / (full - limit), 0.5, 1.0)


def event_confidence(tau_ms, tonality, attack_db, config: DetectorConfig = DEFAULT_CONFIG):
    """Confidence in [0.5, 1] of accepted events (see module docstring); works on arrays."""
    lt = np.log(np.asarray(tau_ms, dtype=float))
    woody_lo = np.log(min(WOODY_MS[0], config.tau_max_ms))
    woody_hi = np.log(max(WOODY_MS[1], config.tau_min_ms))
    # a line note's decay may be unmeasured (NaN): its margin is the one at the limit
    s_tau = np.where(np.isnan(lt), 0.5, np.where(lt < woody_lo, _ramp(lt, np.log(config.tau_min_ms), woody_lo),
                     np.where(lt > woody_hi, _ramp(-lt, -np.log(config.tau_max_ms), -woody_hi), 1.0)))
    s_ton = _ramp(np.asarray(tonality, dtype=float), config.tonality_min, min(1.0, config.tonality_min + 0.3))
    s_att = _ramp(np.asarray(attack_db, dtype=float), config.attack_min_db, config.attack_min_db + 12.0)
    return (s_tau * s_ton * s_att) ** (1.0 / 3.0)


def classify(feat: CandidateFeatures, config: DetectorConfig = DEFAULT_CONFIG, line=None, reason=None):
    """Split candidates into accepted :class:`LogDrumEvent` and rejected :class:`Candidate`.

    Parameters
    ----------
    feat : CandidateFeatures
    config : DetectorConfig
    line : numpy.ndarray of bool, optional
        Candidates to accept as notes of the clip's line (``line_note=True``): the
        :func:`line_notes` of a clip that holds log drums.
    reason : numpy.ndarray of int, optional
        :func:`reject_reasons` of ``feat``, where the caller has it already.

    Returns
    -------
    events, rejected : tuple, tuple
    """
    reason = reject_reasons(feat, config) if reason is None else np.array(reason)
    in_line = np.zeros(len(feat), bool) if line is None else np.asarray(line, bool)
    reason[in_line] = -1
    ok = reason < 0
    conf = event_confidence(feat.decay_ms[ok], feat.tonality[ok], feat.attack_db[ok], config)
    # Thousands of small tuples (one per candidate: 3,700 in 10 min of groove) set off the
    # cyclic garbage collector, whose full passes over every object of the process cost more
    # than building them (5 ms a call at 10 min, measured). They hold only floats and strings
    # and can form no cycle: the collector is paused while they are made.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _tuples(feat, reason, ok, conf, in_line)
    finally:
        if was_enabled:
            gc.enable()


def _tuples(feat, reason, ok, conf, in_line):
    events = tuple(map(LogDrumEvent._make, zip(
        feat.onset_s[ok].tolist(), feat.f0_hz[ok].tolist(), feat.decay_ms[ok].tolist(),
        feat.glide_ratio[ok].tolist(), feat.peak_dbfs[ok].tolist(), conf.tolist(),
        feat.attack_db[ok].tolist(), feat.tonality[ok].tolist(), feat.mix_db[ok].tolist(),
        in_line[ok].tolist())))
    bad = ~ok
    rejected = tuple(map(Candidate._make, zip(
        feat.onset_s[bad].tolist(), [REJECT_REASONS[r] for r in reason[bad]],
        feat.peak_dbfs[bad].tolist(), feat.attack_db[bad].tolist(), feat.decay_ms[bad].tolist(),
        feat.f0_hz[bad].tolist(), feat.tonality[bad].tolist(), feat.glide_ratio[bad].tolist(),
        feat.mix_db[bad].tolist())))
    return events, rejected
