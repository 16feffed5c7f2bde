"""logdrum: find the amapiano log drum in audio.

>>> import logdrum
>>> det = logdrum.detect_amapiano_log_drums(audio, sr)   # None, or a Detection  # doctest: +SKIP

The package imports numpy, scipy and numba only (no torch, no matplotlib).
"""

from .core.config import DEFAULT_CONFIG, DetectorConfig
from .core.detector import analyze, detect_amapiano_log_drums
from .core.result import REJECT_REASONS, Analysis, Candidate, Detection, LogDrumEvent
from .dataset.score import amapiano_proxy_score

__version__ = "0.1.0"

__all__ = [
    "analyze", "detect_amapiano_log_drums", "amapiano_proxy_score",
    "DetectorConfig", "DEFAULT_CONFIG",
    "Analysis", "Candidate", "Detection", "LogDrumEvent", "REJECT_REASONS",
]
