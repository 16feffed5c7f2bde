"""Alias of :mod:`logdrum.dataset.tags`, kept so that ``import logdrum.tags`` (the 0.1 path) still works."""

import sys

from .dataset import tags as _moved

sys.modules[__name__] = _moved
