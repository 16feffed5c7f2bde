"""The model backend: Hugging Face transformers' ``MusicgenForConditionalGeneration``.

Three ways to get one, all the same classes:

- ``build_model("facebook/musicgen-small")`` loads pretrained weights (the production path).
- ``build_model("tiny")`` builds a random-initialised model from a small config (a 1-layer T5
  text encoder, a small EnCodec at 32 kHz with 4 codebooks of 64 entries, a 2-layer decoder)
  for tests and the CPU demo. A random EnCodec's codebooks are all zeros, so every frame
  would quantise to code 0 and the decoder would learn nothing; :func:`init_codebooks` fills
  them from the encoder's own output on a fixed calibration signal.
- ``build_model("musicgen-small-shape")`` builds musicgen-small's exact architecture the same
  way, with random weights, to size memory and speed without a download (:mod:`.shapes`).

Only the language model trains: the decoder and the projection that feeds it the text
embedding (``enc_to_dec_proj``, part of the LM's conditioning path). The T5 text encoder and
EnCodec are frozen and kept in eval mode.

Conventions: codes are ``(batch, codebooks, frames)``; labels carry MusicGen's delay pattern
(codebook ``k`` shifted right by ``k`` frames) with ``-100`` wherever there is no target.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
from dataclasses import dataclass

import torch
from torch import nn

from .memory import LORA_MARK
from .tokenizers import ByteTokenizer

IGNORE_INDEX = -100


@dataclass
class Backend:
    """A model with everything the training loop needs to know about it."""

    model: nn.Module
    tokenizer: object
    sampling_rate: int
    num_codebooks: int
    codebook_size: int
    pad_token_id: int
    name: str


def tiny_config():
    """The ``tiny`` preset's ``MusicgenConfig``: same classes as musicgen-small, ~100k params."""
    from transformers import EncodecConfig, MusicgenConfig, MusicgenDecoderConfig, T5Config

    text = T5Config(vocab_size=ByteTokenizer.vocab_size + 1, d_model=32, d_kv=8, d_ff=64,
                    num_layers=1, num_heads=2, dropout_rate=0.0)
    # 32 kHz and a 640-sample hop (50 frames/s) like musicgen-small's EnCodec; 1.2 kbps with
    # 64-entry codebooks gives 4 codebooks.
    audio = EncodecConfig(sampling_rate=32000, audio_channels=1, upsampling_ratios=[8, 5, 4, 4],
                          hidden_size=16, num_filters=4, num_lstm_layers=1, codebook_size=64,
                          target_bandwidths=[1.2], norm_type="weight_norm")
    decoder = MusicgenDecoderConfig(vocab_size=64, pad_token_id=64, bos_token_id=64,
                                    decoder_start_token_id=64, hidden_size=32,
                                    num_hidden_layers=2, num_attention_heads=2, ffn_dim=64,
                                    num_codebooks=4, max_position_embeddings=1024, dropout=0.1)
    return MusicgenConfig(text_encoder=text.to_dict(), audio_encoder=audio.to_dict(),
                          decoder=decoder.to_dict())


@torch.no_grad()
def init_codebooks(audio_encoder, *, seed=0, seconds=4.0):
    """Fill a random EnCodec's residual codebooks from its own encoder output.

    Each quantiser's codebook gets randomly chosen frames of the residual it will see, on a
    fixed calibration signal (decaying tones of random pitch plus noise), so codes spread over
    the whole codebook instead of all being 0. Deterministic given ``seed``.
    """
    gen = torch.Generator().manual_seed(seed)
    sr = audio_encoder.config.sampling_rate
    n = int(seconds * sr)
    t = torch.arange(n, dtype=torch.float32) / sr
    signal = 0.05 * torch.randn(n, generator=gen)
    for _ in range(24):
        f = 40.0 + 2000.0 * torch.rand((), generator=gen)
        start = torch.rand((), generator=gen) * seconds
        tt = (t - start).clamp(min=0.0)
        signal = signal + 0.3 * torch.sin(2 * math.pi * f * tt) * torch.exp(-tt / 0.3) * (t >= start)
    emb = audio_encoder.encoder(signal.view(1, 1, -1))          # (1, dim, frames)
    residual = emb[0].T                                         # (frames, dim)
    for layer in audio_encoder.quantizer.layers:
        book = layer.codebook
        pick = torch.randint(0, residual.shape[0], (book.codebook_size,), generator=gen)
        entries = residual[pick] + 1e-3 * torch.randn(book.codebook_size, residual.shape[1],
                                                      generator=gen)
        book.embed.copy_(entries)
        book.embed_avg.copy_(entries)
        residual = residual - book.decode(book.quantize(residual))


def build_model(name, *, seed=0):
    """Build the MusicGen backend.

    Parameters
    ----------
    name : str
        ``"tiny"`` or ``"musicgen-small-shape"`` (:mod:`.shapes`) for a random-initialised
        preset, else a model id or local directory for ``from_pretrained`` (e.g.
        ``"facebook/musicgen-small"``).
    seed : int
        Seed for a preset's random initialisation (its weights and codebooks).

    Returns
    -------
    Backend
    """
    from transformers import MusicgenForConditionalGeneration

    from .shapes import PRESETS, preset_config
    from .tokenizers import WordHashTokenizer

    if name == "tiny" or name in PRESETS:
        # The presets mirror musicgen-small, whose pad/bos id equals vocab_size (one past
        # the codebook); transformers warns about that on every build, so hush it here.
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        state = torch.random.get_rng_state()
        torch.manual_seed(seed)   # the frozen parts must be identical on every restart
        model = MusicgenForConditionalGeneration(
            tiny_config() if name == "tiny" else preset_config(name))
        torch.random.set_rng_state(state)
        init_codebooks(model.audio_encoder, seed=seed)
        tokenizer = ByteTokenizer() if name == "tiny" else WordHashTokenizer()
    else:
        from transformers import AutoTokenizer

        model = MusicgenForConditionalGeneration.from_pretrained(name)
        tokenizer = AutoTokenizer.from_pretrained(name)
    freeze_encoders(model)
    dec = model.config.decoder
    return Backend(model=model, tokenizer=tokenizer,
                   sampling_rate=int(model.config.audio_encoder.sampling_rate),
                   num_codebooks=int(dec.num_codebooks), codebook_size=int(dec.vocab_size),
                   pad_token_id=int(dec.pad_token_id), name=name)


def freeze_encoders(model):
    """Freeze the text encoder and EnCodec; only the LM side keeps gradients."""
    model.text_encoder.requires_grad_(False)
    model.audio_encoder.requires_grad_(False)
    set_train_mode(model, False)


def set_train_mode(model, training):
    """Put the LM in train or eval mode; the frozen encoders always stay in eval mode."""
    model.train(training)
    model.text_encoder.eval()
    model.audio_encoder.eval()


def trainable_prefixes(model):
    """State-dict prefixes of the trained modules (the decoder and its text projection)."""
    prefixes = ["decoder."]
    if hasattr(model, "enc_to_dec_proj"):
        prefixes.append("enc_to_dec_proj.")
    return tuple(prefixes)


def trainable_state(model):
    """The trained part of the state dict (frozen encoders are rebuilt, not checkpointed).

    With LoRA adapters (:mod:`.memory`) only the adapters train, so only they are kept.
    """
    state = model.state_dict()
    keys = [k for k in state if LORA_MARK in k]
    if not keys:
        prefixes = trainable_prefixes(model)
        keys = [k for k in state if k.startswith(prefixes)]
    return {k: state[k].detach().clone() for k in keys}


def load_trainable_state(model, state):
    """Load :func:`trainable_state` output back into ``model``; keys must match exactly."""
    expected = set(trainable_state(model))
    if set(state) != expected:
        missing, extra = sorted(expected - set(state)), sorted(set(state) - expected)
        raise ValueError(f"checkpoint does not fit this model: missing {missing[:3]}, "
                         f"unexpected {extra[:3]}")
    model.load_state_dict(state, strict=False)


def codec_fingerprint(backend):
    """A short hash of the frozen EnCodec weights: cached codes are only valid for these."""
    h = hashlib.sha256(backend.name.encode())
    for key, value in sorted(backend.model.audio_encoder.state_dict().items()):
        h.update(key.encode())
        h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


@torch.no_grad()
def encode_audio(backend, audio):
    """EnCodec codes for a batch of mono audio at the model rate.

    Parameters
    ----------
    audio : torch.Tensor
        ``(batch, samples)`` float waveform at ``backend.sampling_rate``.

    Returns
    -------
    torch.Tensor
        ``(batch, codebooks, frames)`` int64 codes.
    """
    enc = backend.model.audio_encoder
    device = next(enc.parameters()).device
    out = enc.encode(audio.to(device=device, dtype=torch.float32).unsqueeze(1))
    codes = out.audio_codes                      # (chunks=1, batch, codebooks, frames)
    return codes[0].cpu()


def delay_labels(codes, n_valid, pad_token_id):
    """Labels with MusicGen's delay pattern and padding masked.

    Parameters
    ----------
    codes : torch.Tensor
        ``(batch, K, F)`` integer codes.
    n_valid : torch.Tensor
        ``(batch,)`` number of real (non-padding) frames in each row.
    pad_token_id : int
        Unused here except to document that targets never equal it.

    Returns
    -------
    torch.Tensor
        ``(batch, K, F + K - 1)`` int64: codebook ``k``'s frame ``t`` at position ``t + k``,
        ``-100`` before the delay, after the last valid frame and in the tail.
    """
    b, k, f = codes.shape
    labels = torch.full((b, k, f + k - 1), IGNORE_INDEX, dtype=torch.long)
    frames = torch.arange(f)
    for q in range(k):
        valid = frames.unsqueeze(0) < n_valid.unsqueeze(1)          # (b, f)
        labels[:, q, q:q + f] = torch.where(valid, codes[:, q].long(), IGNORE_INDEX)
    return labels


def decoder_inputs(labels, pad_token_id):
    """Teacher-forcing inputs: labels shifted right by one, BOS (= pad id) first, pad for -100.

    Same rule as transformers' ``shift_tokens_right``, so training sees exactly what
    ``generate`` feeds the decoder (pad tokens in the delay-pattern corners).
    """
    inputs = torch.full_like(labels, pad_token_id)
    inputs[..., 1:] = labels[..., :-1]
    inputs[inputs == IGNORE_INDEX] = pad_token_id
    return inputs


def lm_loss(backend, batch, device, autocast=None, module=None):
    """Mean cross-entropy over codebooks, and each codebook's own loss.

    Parameters
    ----------
    batch : dict
        ``labels`` ``(B, K, L)``, ``input_ids`` and ``attention_mask`` for the text prompt.
    autocast : contextlib context factory, optional
        Mixed-precision context for the forward pass.
    module : torch.nn.Module, optional
        What to call for the forward pass instead of ``backend.model``: its
        ``DistributedDataParallel`` wrapper in a multi-GPU run.

    Returns
    -------
    loss : torch.Tensor
        Scalar, mean of the per-codebook losses (as transformers computes it).
    per_codebook : torch.Tensor
        ``(K,)`` detached per-codebook cross-entropy.
    """
    model = backend.model
    labels = batch["labels"].to(device)
    b, k, length = labels.shape
    text_ids = batch["input_ids"].to(device)
    text_mask = batch["attention_mask"].to(device)
    with torch.no_grad():   # frozen text encoder: no graph, no memory for it
        enc = model.text_encoder(input_ids=text_ids, attention_mask=text_mask)
    dec_in = decoder_inputs(labels, backend.pad_token_id).reshape(b * k, length)
    with autocast() if autocast is not None else contextlib.nullcontext():
        out = (module or model)(encoder_outputs=(enc.last_hidden_state,), attention_mask=text_mask,
                    decoder_input_ids=dec_in)
    logits = out.logits.float().reshape(b, k, length, -1)
    losses = torch.stack([
        nn.functional.cross_entropy(logits[:, q].reshape(-1, logits.shape[-1]),
                                    labels[:, q].reshape(-1), ignore_index=IGNORE_INDEX)
        for q in range(k)])
    return losses.mean(), losses.detach()
