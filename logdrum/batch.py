"""Alias of :mod:`logdrum.dataset.batch`, kept so that ``import logdrum.batch`` (the 0.1 path) still works."""

import sys

from .dataset import batch as _moved

sys.modules[__name__] = _moved
