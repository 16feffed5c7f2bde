"""JSON text for results that may hold NaN or Inf (JSON has neither: they become null)."""

from __future__ import annotations

import json
import math

__all__ = ["to_json"]


def _clean(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def to_json(obj, indent=2) -> str:
    """JSON text of ``obj`` with NaN/Inf written as null."""
    return json.dumps(_clean(obj), indent=indent)
