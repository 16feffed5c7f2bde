"""Memory options that let musicgen-small train on a 16 GB T4: gradient checkpointing and LoRA.

- ``gradient_checkpointing``: the decoder keeps only each layer's input during the forward pass
  and recomputes the rest in backward (about a third more compute, far fewer activations). The
  recomputation replays the same dropout masks, so loss and gradients equal those without it
  up to float rounding.
- ``lora_rank``: LoRA adapters (the optional ``peft`` package, ``pip install ".[lora]"``) are
  injected into the decoder's linear layers in place (``peft.inject_adapter_in_model``, no
  wrapper class), and only they train: the base weights, ``enc_to_dec_proj`` and the encoders
  stay frozen. Checkpoints then hold just the adapters and their optimizer state
  (:func:`musicgen_ft.model.trainable_state` keeps only ``lora_`` keys); resume rebuilds the
  base model from ``model`` and ``seed`` as it always does. The ``best_model/`` export merges
  the adapters into the base weights (:func:`merged_state_dict`), so it loads with a plain
  ``MusicgenForConditionalGeneration.from_pretrained`` and needs no peft.
"""

from __future__ import annotations

import logging

import torch

log = logging.getLogger("musicgen_ft")

ADAPTER = "default"
LORA_MARK = ".lora_"          # in the state-dict key of every adapter weight


class LoraUnavailable(RuntimeError):
    """``lora_rank`` is set but the optional peft package is not installed."""


def apply_memory_options(model, cfg):
    """Turn on the memory options ``cfg`` asks for, on a freshly built model.

    Parameters
    ----------
    model : MusicgenForConditionalGeneration
        From :func:`musicgen_ft.model.build_model`, encoders already frozen.
    cfg : TrainConfig
        Reads ``gradient_checkpointing``, ``lora_*`` and ``seed``.
    """
    if cfg.gradient_checkpointing:
        # non-reentrant: works when the checkpointed inputs need no grad (frozen embeddings
        # under LoRA), and replays the RNG state so dropout masks repeat
        enable_checkpointing(model)
        log.info("Gradient checkpointing: on (decoder layers recomputed in backward)")
    if cfg.lora_rank:
        add_lora(model, rank=cfg.lora_rank, alpha=cfg.lora_alpha, dropout=cfg.lora_dropout,
                 targets=cfg.lora_targets, seed=cfg.seed)


def enable_checkpointing(model, on=True):
    """Gradient (activation) checkpointing of the decoder layers, on or off."""
    dec = model.decoder
    new_api = hasattr(dec, "activation_checkpointing_enable")     # transformers >= 5
    if not on:
        (dec.activation_checkpointing_disable if new_api else dec.gradient_checkpointing_disable)()
    elif new_api:
        dec.activation_checkpointing_enable({"use_reentrant": False})
    else:
        dec.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})


def add_lora(model, *, rank, alpha, dropout, targets, seed):
    """Inject LoRA adapters into the decoder and make them the only trainable weights.

    The adapters' random initialisation is seeded and leaves the global RNG untouched, so a
    fresh run and its restarts start from the same adapters.

    Returns
    -------
    int
        Number of trainable parameters.
    """
    try:
        from peft import LoraConfig, inject_adapter_in_model
    except ImportError:
        raise LoraUnavailable('lora_rank needs the peft package: pip install ".[lora]"') from None
    config = LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=dropout,
                        target_modules=list(targets), bias="none")
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        inject_adapter_in_model(config, model.decoder, adapter_name=ADAPTER)
    except ValueError as exc:   # peft: "Target modules {...} not found in the base model"
        raise ValueError(f"lora_targets {list(targets)} match no layer of the decoder "
                         f"({exc})") from None
    finally:
        torch.random.set_rng_state(state)
    for name, p in model.named_parameters():
        p.requires_grad_(LORA_MARK in f".{name}")
    n_train = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log.info("LoRA: rank %d, alpha %g, on %s (%s trainable params)", rank, alpha,
             ", ".join(targets), f"{n_train:,}")
    return n_train


def has_lora(model):
    """True when LoRA adapters were injected into ``model``."""
    return any(LORA_MARK in f".{name}" for name, _ in model.named_parameters())


@torch.no_grad()
def merged_state_dict(model):
    """The state dict of ``model`` as a plain model: adapters merged into their base weights.

    Computed on the side (the model itself is not merged, so training continues bit-exactly
    after an export), with the keys a model without adapters has.
    """
    from peft.tuners.lora import LoraLayer

    state = model.state_dict()
    merged = {}
    for name, module in model.named_modules():
        if isinstance(module, LoraLayer):
            base = module.get_base_layer()
            merged[f"{name}.weight"] = base.weight + module.get_delta_weight(ADAPTER)
    out = {}
    for key, value in state.items():
        if LORA_MARK in f".{key}":
            continue
        key = key.replace(".base_layer.", ".")
        out[key] = merged.get(key, value).detach().clone()
    return out
