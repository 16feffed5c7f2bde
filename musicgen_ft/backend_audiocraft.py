"""Optional backend: Meta's audiocraft ``MusicGen`` (the seed's own code trains ``model.lm``).

audiocraft 1.3.0 pins torch 2.1.0, numpy < 2 and av 11 (a source build), about 6.4 GB; it is
never a requirement of this project (docs/training.md, DESIGN.md). ``"backend": "audiocraft"``
in the config asks for it. When it is not importable, ``python -m musicgen_ft.train`` and the
preflight stop at once with the message of :class:`BackendUnavailable` (exit code 2), before any
model is loaded, instead of failing deep inside the loop.

The transformers backend (the default) trains the same network: ``MusicgenForConditionalGeneration``
is a port of audiocraft's MusicGen, with the decoder (``.lm`` in audiocraft) as the trained part.
"""

from __future__ import annotations

import importlib.util

INSTALL_HINT = ("pip install audiocraft==1.3.0 in a separate environment (it pins torch 2.1.0 "
                "and numpy<2), or use \"backend\": \"transformers\" (the default; the same "
                "MusicGen network)")


class BackendUnavailable(RuntimeError):
    """The configured backend cannot be used here; the message says why and what to do."""


def available():
    """True when ``audiocraft`` can be imported."""
    return importlib.util.find_spec("audiocraft") is not None


def require():
    """Check the audiocraft backend can run; raise :class:`BackendUnavailable` otherwise."""
    if not available():
        raise BackendUnavailable(f"backend 'audiocraft' requested, but audiocraft is not "
                                 f"installed. {INSTALL_HINT}")
    raise BackendUnavailable("audiocraft is installed, but this build trains through the "
                             "transformers port of MusicGen only (the audiocraft training "
                             "adapter could not be tested here). " + INSTALL_HINT)


def describe():
    """One line for the preflight: whether the optional backend is installed."""
    if available():
        return "audiocraft installed (optional; training uses the transformers port)"
    return "audiocraft not installed (optional; the transformers backend is used)"
