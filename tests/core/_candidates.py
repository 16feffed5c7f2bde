"""Hand-made candidate features for the tests of the line's notes."""

import numpy as np

from logdrum.core.events import CandidateFeatures


def candidate_features(rows):
    """CandidateFeatures from dicts; unnamed fields take a clean log drum's values."""
    clean = dict(onset_s=0.0, peak_dbfs=-10.0, attack_db=20.0, held_db=15.0, tail_ms=400.0,
                 decay_ms=400.0, f0_hz=60.0, tonality=1.0, glide_ratio=0.9, early_ratio=1.0, mix_db=0.0)
    cols = {k: np.array([r.get(k, v) for r in rows], float) for k, v in clean.items()}
    return CandidateFeatures(**cols)
