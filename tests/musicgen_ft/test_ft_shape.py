"""The ``musicgen-small-shape`` preset: musicgen-small's published architecture, random weights.

Published figures the preset is checked against:

- facebook/musicgen-small ``config.json`` (Hugging Face Hub) and transformers'
  ``MusicgenDecoderConfig``, whose defaults are documented as musicgen-small's: decoder of 24
  layers, hidden size 1024, 16 heads, FFN 4096, 4 codebooks of 2048 (+1 pad/BOS id);
- google-t5/t5-base ``config.json``: vocabulary 32128, d_model 768, d_kv 64, d_ff 3072,
  12 layers, 12 heads, ReLU feed-forward;
- facebook/encodec_32khz ``config.json``: 32 kHz mono, ratios 8-5-4-4 (hop 640, 50 frames/s),
  codebooks of 2048 entries, one bandwidth of 2.2 kbps (= 4 codebooks of 11 bits at 50 Hz);
- parameter counts: the model card's title "MusicGen - Small - 300M" (audiocraft's size
  name) and the Hub's 0.6B (591M) for the whole checkpoint (decoder, T5 encoder, EnCodec).

The 300M of the name matches the decoder's self-attention + feed-forward stack (302.0M); the
whole decoder with its cross-attention, embeddings and heads is 419.6M. The Hub's 591M is
every stored tensor: 586.9M parameters plus 4.2M buffers (EnCodec codebooks, positions).

The full-shape SIGKILL resume test runs only with ``LOGDRUM_FULL_SHAPE_RESUME=1``: it took
10.4 minutes on a shared, loaded 2-core VM, needs about 10 GB of RAM per training process and
20 GB of disk (three processes each build the 587M-parameter model; each ``last.ckpt`` holds
5 GB of weights and AdamW state and is written after every step), far over the suite's budget.
"""

import math
import os
import signal

import pytest
import torch

from musicgen_ft.model import build_model, encode_audio
from musicgen_ft.shapes import preset_config
from musicgen_ft.tokenizers import WordHashTokenizer

from ft_helpers import make_dataset, run_training, start_training, tiny_config
from test_ft_resume import kill, wait_for_step

NAME = "musicgen-small-shape"


def _count(module):
    return sum(p.numel() for p in module.parameters())


@pytest.fixture(scope="module")
def meta_model():
    """The preset's modules on the meta device: shapes without memory or init time."""
    from transformers import MusicgenForConditionalGeneration

    with torch.device("meta"):
        return MusicgenForConditionalGeneration(preset_config(NAME))


def test_config_is_the_published_one():
    cfg = preset_config(NAME)
    dec, text, audio = cfg.decoder, cfg.text_encoder, cfg.audio_encoder
    assert (dec.num_hidden_layers, dec.hidden_size, dec.num_attention_heads, dec.ffn_dim,
            dec.num_codebooks, dec.vocab_size, dec.pad_token_id) == (24, 1024, 16, 4096, 4,
                                                                     2048, 2048)
    assert (text.vocab_size, text.d_model, text.d_kv, text.d_ff, text.num_layers,
            text.num_heads, text.feed_forward_proj) == (32128, 768, 64, 3072, 12, 12, "relu")
    hop = math.prod(audio.upsampling_ratios)
    assert (audio.sampling_rate, hop, audio.sampling_rate / hop, audio.codebook_size) == \
        (32000, 640, 50.0, 2048)
    bits = math.log2(audio.codebook_size)
    assert audio.target_bandwidths == [2.2]
    assert round(audio.target_bandwidths[0] * 1000 / (50 * bits)) == dec.num_codebooks


def test_parameter_counts_match_the_published_ones(meta_model):
    m = meta_model
    d, f, layers, k, v = 1024, 4096, 24, 4, 2048
    attn = 4 * d * d                                   # q, k, v, out; MusicGen uses no biases
    stack = layers * (attn + 2 * d * f)                # self-attention + feed-forward
    decoder = (layers * (2 * attn + 2 * d * f + 3 * 2 * d) + 2 * d   # + cross-attn, norms
               + k * (v + 1) * d + k * d * v)          # embeddings (with pad) and the 4 heads
    assert _count(m.decoder) == decoder == 419_584_000
    assert abs(stack - 300e6) / 300e6 < 0.01           # "MusicGen - Small - 300M"
    t5 = (32128 * 768 + 12 * (4 * 768 * 768 + 2 * 768 * 3072 + 2 * 768)
          + 32 * 12 + 768)                             # + relative position buckets, final norm
    assert _count(m.text_encoder) == t5 == 109_628_544
    assert _count(m.enc_to_dec_proj) == 768 * 1024 + 1024
    params = _count(m)
    buffers = sum(b.numel() for b in m.buffers() if b.dim() > 0)
    assert params == 586_884_674
    assert abs(params + buffers - 591e6) / 591e6 < 0.005   # the Hub's 591M / "0.6B"


def test_tokenizer_gives_valid_t5_ids_of_t5_length():
    tok = WordHashTokenizer()
    out = tok(["amapiano, log drum, piano", ""], padding=True, return_tensors="pt")
    ids = out["input_ids"]
    # 4 words and 2 commas, then end of sequence; the empty prompt is end of sequence only
    assert ids.shape == (2, 7) and out["attention_mask"].sum().item() == 8
    assert 3 <= ids[0, :6].min() and ids.max() < 32000 and ids[0, 6] == 1
    assert ids[0, 1] == ids[0, 4] and ids[0, 0] != ids[0, 5]   # same piece, same id
    assert torch.equal(tok(["amapiano, log drum, piano"])["input_ids"][0], ids[0])


@pytest.mark.slow
def test_builds_offline_with_spread_codes(monkeypatch, meta_model):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")          # nothing may be fetched
    backend = build_model(NAME, seed=0)
    assert _count(backend.model) == _count(meta_model)
    assert (backend.sampling_rate, backend.num_codebooks, backend.codebook_size,
            backend.pad_token_id) == (32000, 4, 2048, 2048)
    assert not any(p.requires_grad for p in backend.model.audio_encoder.parameters())
    from logdrum import synth

    audio = torch.from_numpy(synth.groove(32000, bars=2, seed=3)[:64000].astype("float32"))
    codes = encode_audio(backend, audio[None])
    assert codes.shape == (1, 4, 100)                  # 2 s at 50 frames/s
    assert all(len(torch.unique(codes[0, q])) > 20 for q in range(4))


@pytest.mark.skipif(os.environ.get("LOGDRUM_FULL_SHAPE_RESUME") != "1",
                    reason="full-shape kill test: set LOGDRUM_FULL_SHAPE_RESUME=1 (~10 min, 10 GB)")
def test_full_shape_sigkill_resumes_bit_exactly(tmp_path):
    data = make_dataset(tmp_path / "data", n_clips=3, seconds=1.0)
    shape = dict(model=NAME, segment_seconds=0.5, min_segment_seconds=0.5, val_fraction=0.3,
                 batch_size=1, grad_accum_steps=1, epochs=1, warmup_steps=1, lr=1e-4,
                 save_every_steps=1, checkpoint_every_epochs=5, log_every_steps=1)
    for name in ("ref", "killed"):
        (tmp_path / name).mkdir()
    ref_cfg = tiny_config(tmp_path / "ref", data, **shape)
    code, out = run_training(ref_cfg, timeout=900)
    assert code == 0, out
    run_cfg = tiny_config(tmp_path / "killed", data, **shape)
    run = tmp_path / "killed" / "run"
    proc = start_training(run_cfg)
    wait_for_step(proc, run, 2, timeout=600)
    code, _ = kill(proc, signal.SIGKILL)
    assert code == -signal.SIGKILL
    code, out = run_training(run_cfg, timeout=900)
    assert code == 0, out
    assert "RESUMING from checkpoint: last.ckpt" in out
    want = torch.load(tmp_path / "ref" / "run" / "checkpoints" / "last.ckpt", mmap=True,
                      weights_only=True)
    got = torch.load(run / "checkpoints" / "last.ckpt", mmap=True, weights_only=True)
    assert got["global_step"] == want["global_step"] == 4
    assert len(got["model"]) == len(want["model"]) > 300
    for key, value in want["model"].items():
        assert torch.equal(got["model"][key], value), key
    for pid, st in want["optimizer"]["state"].items():
        for name, value in st.items():
            assert torch.equal(got["optimizer"]["state"][pid][name], value), (pid, name)
