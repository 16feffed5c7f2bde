"""Random-initialised presets with a published model's exact shape: ``musicgen-small-shape``.

Memory and speed depend on the architecture, not on the values of the weights, so the real
run can be sized without downloading anything. ``musicgen-small-shape`` is
``facebook/musicgen-small`` built from ``configs/models/musicgen_small_shape.json``:

- decoder: 24 layers, d_model 1024, 16 heads, FFN 4096, 4 codebooks of 2048 entries (+1 for
  the pad/BOS id), sinusoidal positions up to 2048 frames (transformers' ``MusicgenDecoderConfig``
  defaults, documented there as musicgen-small's);
- text encoder: T5-base (vocabulary 32128, d_model 768, 12 layers, 12 heads, FFN 3072);
- audio encoder: EnCodec 32 kHz, hop 640 (50 frames/s), 4 codebooks of 2048 at 2.2 kbps.

It is built by :func:`musicgen_ft.model.build_model` exactly like the ``tiny`` preset (same
classes, seeded initialisation, EnCodec codebooks filled by ``init_codebooks``), so it runs
the same training code as the pretrained model.

The T5 tokenizer (a SentencePiece model) cannot be downloaded here either.
:class:`musicgen_ft.tokenizers.WordHashTokenizer` stands in for it: it splits a prompt into words and punctuation,
as T5's tokenizer roughly does for tag lists, and maps each piece to a fixed id inside T5's
vocabulary. Prompts therefore come out about as long as T5 makes them and every id is valid
for the real embedding table; the ids themselves mean nothing, which does not matter for a
model whose weights are random anyway.
"""

from __future__ import annotations

import json
from pathlib import Path


MODELS_DIR = Path(__file__).parent / "configs" / "models"
PRESETS = {"musicgen-small-shape": "musicgen_small_shape.json"}


def preset_config(name):
    """The ``MusicgenConfig`` of a shape preset, read from its JSON file.

    Parameters
    ----------
    name : str
        A key of :data:`PRESETS`.

    Returns
    -------
    transformers.MusicgenConfig
    """
    from transformers import EncodecConfig, MusicgenConfig, MusicgenDecoderConfig, T5Config

    if name not in PRESETS:
        raise ValueError(f"unknown model preset {name!r}; known: {sorted(PRESETS)}")
    data = json.loads((MODELS_DIR / PRESETS[name]).read_text())
    parts = {key: {k: v for k, v in data[key].items() if k != "model_type"}
             for key in ("text_encoder", "audio_encoder", "decoder")}
    return MusicgenConfig(text_encoder=T5Config(**parts["text_encoder"]).to_dict(),
                          audio_encoder=EncodecConfig(**parts["audio_encoder"]).to_dict(),
                          decoder=MusicgenDecoderConfig(**parts["decoder"]).to_dict())
