"""Alias of :mod:`logdrum.dataset.score`, kept so that ``import logdrum.score`` (the 0.1 path) still works."""

import sys

from .dataset import score as _moved

sys.modules[__name__] = _moved
