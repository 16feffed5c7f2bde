"""Memory options on the tiny model (CPU): gradient checkpointing and LoRA adapters (peft).

- Gradient checkpointing really recomputes the decoder layers in backward, and gives the same
  loss and gradients as without it, dropout included.
- LoRA: exactly the adapters train (count checked against r * (in + out) per targeted layer);
  checkpoints hold only them and are smaller; a run SIGKILLed mid-epoch and restarted ends
  bit-identical to an uninterrupted one (real subprocesses, as in test_ft_resume.py); the
  ``best_model/`` export has the adapters merged and loads with a plain ``from_pretrained``.
"""

import signal

import pytest
import torch

from musicgen_ft.checkpoint import load_checkpoint
from musicgen_ft.config import ConfigError, TrainConfig, config_from_dict
from musicgen_ft.memory import apply_memory_options
from musicgen_ft.model import build_model, lm_loss, set_train_mode, trainable_state

from ft_helpers import run_training, start_training, tiny_config
from test_ft_resume import RESUME, assert_same_final_state, kill, wait_for_step

pytest.importorskip("peft")

LORA = dict(lora_rank=4, lora_alpha=8.0)


def _batch(backend, n=2, frames=12):
    gen = torch.Generator().manual_seed(0)
    codes = torch.randint(0, backend.codebook_size, (n, backend.num_codebooks, frames),
                          generator=gen)
    from musicgen_ft.model import delay_labels

    labels = delay_labels(codes, torch.full((n,), frames), backend.pad_token_id)
    text = backend.tokenizer(["house, drums", "amapiano, log drum"][:n])
    return {"labels": labels, **text}


def _loss_and_grads(cfg):
    backend = build_model("tiny", seed=0)
    apply_memory_options(backend.model, cfg)
    set_train_mode(backend.model, True)          # dropout 0.1 is active in the decoder
    calls = []
    # a module inside a layer: checkpointing replays the layer's forward during backward
    layer = backend.model.decoder.model.decoder.layers[0]
    layer.fc1.register_forward_hook(lambda *a: calls.append(1))
    torch.manual_seed(123)
    loss, _ = lm_loss(backend, _batch(backend), "cpu")
    loss.backward()
    grads = {n: p.grad.clone() for n, p in backend.model.named_parameters() if p.grad is not None}
    return loss.detach(), grads, len(calls)


def test_gradient_checkpointing_recomputes_and_keeps_loss_and_grads():
    loss, grads, calls = _loss_and_grads(TrainConfig(seed=0))
    loss_gc, grads_gc, calls_gc = _loss_and_grads(TrainConfig(seed=0, gradient_checkpointing=True))
    assert calls == 1 and calls_gc == 2           # the layer ran again during backward
    assert torch.allclose(loss, loss_gc, rtol=0, atol=1e-6)
    assert grads.keys() == grads_gc.keys() and len(grads) > 10
    for name, g in grads.items():
        assert torch.allclose(g, grads_gc[name], rtol=1e-5, atol=1e-7), name


def test_lora_trains_exactly_the_adapters():
    backend = build_model("tiny", seed=0)
    cfg = TrainConfig(seed=0, **LORA)
    apply_memory_options(backend.model, cfg)
    decoder = backend.model.decoder
    expected = 0
    for name, module in decoder.named_modules():
        if name.split(".")[-1] in cfg.lora_targets and hasattr(module, "base_layer"):
            base = module.base_layer
            expected += cfg.lora_rank * (base.in_features + base.out_features)
    trainable = {n: p for n, p in backend.model.named_parameters() if p.requires_grad}
    assert expected > 0 and sum(p.numel() for p in trainable.values()) == expected
    assert all(".lora_A." in n or ".lora_B." in n for n in trainable)
    assert set(trainable_state(backend.model)) == set(trainable)   # checkpoints hold just these


def test_memory_options_are_validated():
    with pytest.raises(ConfigError, match="lora_rank"):
        config_from_dict({"lora_rank": 0})
    with pytest.raises(ConfigError, match="lora_dropout"):
        config_from_dict({"lora_dropout": 1.5})
    with pytest.raises(ConfigError, match="gradient_checkpointing"):
        config_from_dict({"gradient_checkpointing": "yes"})
    backend = build_model("tiny", seed=0)
    with pytest.raises(ValueError, match="match no layer"):
        apply_memory_options(backend.model, TrainConfig(lora_rank=2, lora_targets=("nope",)))


def lora_config(tmp_path, data, cache, **extra):
    return tiny_config(tmp_path, data, cache_dir=str(cache), **{**RESUME, **LORA, **extra})


@pytest.fixture(scope="module")
def lora_reference(tmp_path_factory, data, cache):
    """The run folder of an uninterrupted LoRA run."""
    tmp = tmp_path_factory.mktemp("lora_ref")
    code, out = run_training(lora_config(tmp, data, cache))
    assert code == 0, out
    return tmp / "run"


def test_lora_checkpoint_holds_only_adapters_and_is_smaller(lora_reference):
    state = load_checkpoint(lora_reference / "checkpoints" / "last.ckpt")
    assert state["model"] and all(".lora_" in k for k in state["model"])
    n_adapter = sum(v.numel() for v in state["model"].values())
    n_moments = sum(s["exp_avg"].numel() for s in state["optimizer"]["state"].values())
    assert n_moments == n_adapter                  # AdamW state only for the adapters
    # a full fine-tune checkpoints the decoder and projection, each with two AdamW moments
    full = trainable_state(build_model("tiny", seed=0).model)
    full_bytes = 3 * 4 * sum(v.numel() for v in full.values())
    assert (lora_reference / "checkpoints" / "last.ckpt").stat().st_size < 0.5 * full_bytes


def test_lora_sigkill_mid_epoch_resumes_bit_exactly(tmp_path, data, cache, lora_reference):
    config = lora_config(tmp_path, data, cache)
    run = tmp_path / "run"
    proc = start_training(config)
    wait_for_step(proc, run, 5)
    code, _ = kill(proc, signal.SIGKILL)
    assert code == -signal.SIGKILL
    code, out = run_training(config)
    assert code == 0, out
    assert "RESUMING from checkpoint: last.ckpt" in out
    assert_same_final_state(run, load_checkpoint(lora_reference / "checkpoints" / "last.ckpt"))


def test_lora_export_is_merged_and_loads_without_adapters(lora_reference):
    from transformers import MusicgenForConditionalGeneration

    run = lora_reference
    exported = MusicgenForConditionalGeneration.from_pretrained(run / "checkpoints" / "best_model")
    assert not any("lora" in k for k in exported.state_dict())
    # the same weights as base + adapters of best_model.pt
    backend = build_model("tiny", seed=0)
    apply_memory_options(backend.model, TrainConfig(seed=0, **LORA))
    best = torch.load(run / "checkpoints" / "best_model.pt", weights_only=True)
    backend.model.load_state_dict(best["model"], strict=False)
    assert any(v.abs().sum() > 0 for k, v in best["model"].items() if "lora_B" in k)
    set_train_mode(backend.model, False)
    exported.eval()
    batch = _batch(backend)
    with torch.no_grad():
        want, _ = lm_loss(backend, batch, "cpu")
        backend.model = exported
        got, _ = lm_loss(backend, batch, "cpu")
    assert torch.allclose(want, got, atol=1e-5)
