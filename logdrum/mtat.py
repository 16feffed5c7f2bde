"""Alias of :mod:`logdrum.dataset.mtat`, kept so that ``import logdrum.mtat`` (the 0.1 path) still works."""

import sys

from .dataset import mtat as _moved

sys.modules[__name__] = _moved
