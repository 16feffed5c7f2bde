"""Alias of :mod:`logdrum.dataset.validate`, kept so that ``import logdrum.validate_dataset`` (the 0.1 path) still works."""

import sys

from .dataset import validate as _moved

sys.modules[__name__] = _moved
