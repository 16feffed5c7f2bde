"""Accept or reject each candidate, and say why.

The checks run in the order of :data:`logdrum.core.result.REJECT_REASONS`; a candidate is reported
with the first one it fails. Accepted events get a confidence in [0.5, 1]: the geometric mean
of three margins (decay inside the plan's 300-600 ms, tonality, attack), each 0.5 at its
acceptance limit and 1 well inside it.

In a clip that holds log drums, a candidate that fails only the decay checks and sits at the
pitch of an accepted event is a **line note** (:func:`line_notes`): in a dense line the next
note, or a neighbour a semitone away beating on the decay, cuts or bends the decay of one note
in five (``benchmarks/realmix``), though the note is as plain to the ear as the others. Line
notes are reported with ``line_note=True`` and never count towards the clip's verdict.
"""

from __future__ import annotations

import gc

import numpy as np

from .config import DEFAULT_CONFIG, DetectorConfig
from .events import CandidateFeatures
from .result import REJECT_REASONS, Candidate, LogDrumEvent

__all__ = ["classify", "reject_reasons", "event_confidence", "line_candidates", "line_notes"]

_SAME_NOTE_S = 0.12
_SAME_NOTE_PITCH = 1.06
# A line note lies within 3 % (half a semitone) of the pitch of an accepted note: pitches read
# within 0.7 % (median) in realistic mixes, and the next note of the scale is 6 % away.
_LINE_PITCH = 1.03
_DECAY_CHECKS = tuple(REJECT_REASONS.index(r) for r in ("decay cut short", "too short a decay", "too long a decay"))
_MIX_CHECK = REJECT_REASONS.index("buried in the mix")

#: The plan's "woody" range; inside it the decay margin is full.
WOODY_MS = (300.0, 600.0)


def _failed_checks(feat, config):
    """One boolean array per check of :data:`REJECT_REASONS` (but "same note"): True where the
    candidate fails it."""
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
    fails = _failed_checks(feat, config)
    reason = np.full(len(feat), -1)
    for code in range(len(fails) - 1, -1, -1):  # the first failing check wins
        reason[fails[code]] = code
    reason[_repeats(feat, reason < 0)] = len(fails)
    assert len(fails) + 1 == len(REJECT_REASONS)
    return reason


def _repeats(feat, accepted):
    """Accepted candidates that are a second peak of the note before them: within
    ``_SAME_NOTE_S`` of an accepted onset and within ``_SAME_NOTE_PITCH`` of its pitch (in a
    dense mix the glide and beating can give one note two envelope peaks)."""
    idx = np.flatnonzero(accepted)
    dup = np.zeros(len(feat), bool)
    last = None
    for i in idx[np.argsort(feat.onset_s[idx], kind="stable")]:
        if (last is not None and feat.onset_s[i] - feat.onset_s[last] < _SAME_NOTE_S
                and abs(np.log(feat.f0_hz[i] / feat.f0_hz[last])) < np.log(_SAME_NOTE_PITCH)):
            dup[i] = True
            continue
        last = i
    return dup


def _only_decay_fails(fails):
    """True where a decay check fails and no other does, the mix level's aside."""
    decay = np.zeros_like(fails[0])
    other = np.zeros_like(fails[0])
    for code, failed in enumerate(fails):
        if code in _DECAY_CHECKS:
            decay |= failed
        elif code != _MIX_CHECK:
            other |= failed
    return decay & ~other


def line_candidates(feat: CandidateFeatures, reason, config: DetectorConfig = DEFAULT_CONFIG) -> np.ndarray:
    """Candidates that may be notes of the clip's line: they fail the decay checks and no
    other but, maybe, the level against the mix (the detector measures it on these only, once a
    clip holds log drums), and lie within 3 % of the pitch of an accepted event (``reason < 0``)."""
    accepted = np.asarray(reason) < 0
    maybe = _only_decay_fails(_failed_checks(feat, config)) & ~accepted
    if not accepted.any() or not maybe.any():
        return np.zeros(len(feat), bool)
    log_f = np.log(feat.f0_hz)
    pitches = np.unique(log_f[accepted])
    cand = np.flatnonzero(maybe)
    k = np.searchsorted(pitches, log_f[cand])
    nearest = np.minimum(np.abs(log_f[cand] - pitches[np.maximum(k - 1, 0)]),
                         np.abs(log_f[cand] - pitches[np.minimum(k, pitches.size - 1)]))
    maybe[cand[nearest >= np.log(_LINE_PITCH)]] = False
    return maybe


def line_notes(feat: CandidateFeatures, reason, config: DetectorConfig = DEFAULT_CONFIG) -> np.ndarray:
    """Rejected candidates that are notes of the clip's log-drum line.

    A line note fails the decay checks and no other (level, attack, band, tonality, mix
    level all pass), lies within 3 % of the pitch of an accepted event (``reason < 0``), and is
    no second peak of a note already taken (within 120 ms and 6 % of an accepted event or of
    an earlier line note). Call it only for a clip that holds log drums: the accepted events
    define the line.

    Returns
    -------
    numpy.ndarray of bool
    """
    line = np.zeros(len(feat), bool)
    cand = np.flatnonzero(line_candidates(feat, reason, config) & (feat.mix_db >= config.mix_level_min_db))
    if not cand.size:
        return line
    log_f = np.log(feat.f0_hz)
    acc = np.flatnonzero(np.asarray(reason) < 0)
    acc = acc[np.argsort(feat.onset_s[acc], kind="stable")]
    acc_on = feat.onset_s[acc]
    same_pitch = np.log(_SAME_NOTE_PITCH)
    last = []  # line notes kept so far, in onset order
    for i in cand[np.argsort(feat.onset_s[cand], kind="stable")]:
        t = feat.onset_s[i]
        lo, hi = np.searchsorted(acc_on, [t - _SAME_NOTE_S, t + _SAME_NOTE_S])
        near = [j for j in acc[lo:hi] if abs(feat.onset_s[j] - t) < _SAME_NOTE_S]
        near += [j for j in last[-4:] if t - feat.onset_s[j] < _SAME_NOTE_S]
        if not any(abs(log_f[j] - log_f[i]) < same_pitch for j in near):
            line[i] = True
            last.append(i)
    return line


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
