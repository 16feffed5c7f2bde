"""Alias of :mod:`logdrum.io.audio`, kept so that ``import logdrum.audio_io`` (the 0.1 path) still works."""

import sys

from .io import audio as _moved

sys.modules[__name__] = _moved
