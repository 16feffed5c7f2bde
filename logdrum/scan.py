"""Alias of :mod:`logdrum.dataset.scan`, kept so that ``import logdrum.scan`` (the 0.1 path) still works."""

import sys

from .dataset import scan as _moved

sys.modules[__name__] = _moved
