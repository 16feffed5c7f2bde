"""Shared fixtures for the evaluation tests: small synthetic clip sets with a known verdict.

The sets come from logdrum.synth: ``groove(sr, bars=2)`` holds a log-drum line, the same groove
with ``log_drums=False`` does not. ``test_detector_verdicts_on_fixtures`` checks that premise on
its own, so a detector change that breaks it points at the detector, not at the metric.
"""

import numpy as np
import pytest

from logdrum import synth

SR = 16000


def with_log_drums(i):
    return synth.groove(SR, bars=2, seed=i)


def without_log_drums(i):
    return synth.groove(SR, bars=2, log_drums=False, seed=i)


def clip_set(k, n):
    """``n`` clips of which the first ``k`` hold log drums."""
    return [with_log_drums(i) if i < k else without_log_drums(i) for i in range(n)]


def write_wav(path, audio, sr=SR):
    import soundfile as sf

    sf.write(str(path), np.asarray(audio, dtype=np.float32), sr)
    return path


@pytest.fixture(scope="session")
def sr():
    return SR
