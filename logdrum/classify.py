"""Accept or reject each candidate, and say why.

The checks run in the order of :data:`logdrum.result.REJECT_REASONS`; a candidate is reported
with the first one it fails. Accepted events get a confidence in [0.5, 1]: the geometric mean
of three margins (decay inside the seed's 300-600 ms, tonality, attack), each 0.5 at its
acceptance limit and 1 well inside it.
"""

from __future__ import annotations

import numpy as np

from .config import DEFAULT_CONFIG, DetectorConfig
from .events import CandidateFeatures
from .result import Candidate, LogDrumEvent

__all__ = ["classify", "reject_reason", "event_confidence"]

#: The seed's "woody" range; inside it the decay margin is full.
WOODY_MS = (300.0, 600.0)


def reject_reason(feat: CandidateFeatures, i: int, config: DetectorConfig = DEFAULT_CONFIG):
    """The first check candidate ``i`` fails, or ``None`` when it is a log drum."""
    lo = config.f_min * (1.0 - config.f0_tolerance)
    hi = config.f_max * (1.0 + config.f0_tolerance)
    tau = feat.decay_ms[i]
    if feat.peak_dbfs[i] < config.level_floor_dbfs:
        return "too quiet"
    if feat.attack_db[i] < config.attack_min_db:
        return "not percussive"
    if feat.tail_ms[i] < config.min_tail_ms or np.isnan(tau):
        return "decay cut short"
    if tau < config.tau_min_ms:
        return "too short a decay"
    if tau > config.tau_max_ms:
        return "too long a decay"
    if not lo <= feat.f0_hz[i] <= hi:  # NaN fails too
        return "out of band"
    if not feat.tonality[i] >= config.tonality_min:
        return "not tonal"
    ratio = feat.early_ratio[i]
    if not 1.0 / config.pitch_stability <= ratio <= config.pitch_stability:
        return "not tonal"  # the pitch jumps between the attack and the decay: noise
    glide = feat.glide_ratio[i]
    if np.isfinite(glide) and not 1.0 / config.pitch_stability <= glide <= config.pitch_stability:
        return "not tonal"
    return None


def _ramp(value, limit, full):
    # 0.5 at the acceptance limit, 1.0 at `full`, linear between (in the units given)
    if full == limit:
        return 1.0
    return float(np.clip(0.5 + 0.5 * (value - limit) / (full - limit), 0.5, 1.0))


def event_confidence(tau_ms, tonality, attack_db, config: DetectorConfig = DEFAULT_CONFIG) -> float:
    """Confidence in [0.5, 1] of an accepted event (see module docstring)."""
    lt = np.log(tau_ms)
    if tau_ms < WOODY_MS[0]:
        s_tau = _ramp(lt, np.log(config.tau_min_ms), np.log(min(WOODY_MS[0], config.tau_max_ms)))
    elif tau_ms > WOODY_MS[1]:
        s_tau = _ramp(-lt, -np.log(config.tau_max_ms), -np.log(max(WOODY_MS[1], config.tau_min_ms)))
    else:
        s_tau = 1.0
    s_ton = _ramp(tonality, config.tonality_min, min(1.0, config.tonality_min + 0.3))
    s_att = _ramp(attack_db, config.attack_min_db, config.attack_min_db + 12.0)
    return float((s_tau * s_ton * s_att) ** (1.0 / 3.0))


def classify(feat: CandidateFeatures, config: DetectorConfig = DEFAULT_CONFIG):
    """Split candidates into accepted :class:`LogDrumEvent` and rejected :class:`Candidate`.

    Returns
    -------
    events, rejected : tuple, tuple
    """
    events, rejected = [], []
    for i in range(len(feat)):
        reason = reject_reason(feat, i, config)
        if reason is None:
            events.append(LogDrumEvent(
                onset_s=float(feat.onset_s[i]), f0_hz=float(feat.f0_hz[i]),
                decay_ms=float(feat.decay_ms[i]), glide_ratio=float(feat.glide_ratio[i]),
                peak_dbfs=float(feat.peak_dbfs[i]),
                confidence=event_confidence(feat.decay_ms[i], feat.tonality[i], feat.attack_db[i], config),
                attack_db=float(feat.attack_db[i]), tonality=float(feat.tonality[i]),
            ))
        else:
            rejected.append(Candidate(
                onset_s=float(feat.onset_s[i]), reason=reason, peak_dbfs=float(feat.peak_dbfs[i]),
                attack_db=float(feat.attack_db[i]), decay_ms=float(feat.decay_ms[i]),
                f0_hz=float(feat.f0_hz[i]), tonality=float(feat.tonality[i]),
                glide_ratio=float(feat.glide_ratio[i]),
            ))
    return tuple(events), tuple(rejected)
