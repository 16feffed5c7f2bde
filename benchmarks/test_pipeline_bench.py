"""Whole-pipeline benchmarks, reported in x realtime beside the detector's own:

- ``scan``: ``logdrum.scan.scan`` over N short mp3 files, decode, analysis and the CSV
  included (one process, so it reads as the per-core rate);
- ``train step``: one optimizer step of the tiny MusicGen as ``musicgen_ft`` runs it
  (batch 4 x accumulation 2 of 1 s segments: text encoder, decoder forward and backward,
  gradient clipping, AdamW), in audio seconds trained per second.

Run with ``pytest benchmarks/ --benchmark`` (a plain ``pytest benchmarks/`` skips them).
"""

import itertools
import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from logdrum import synth

SR = 16000
N_FILES = 48
CLIP_S = 10.0
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def mp3_folder(tmp_path_factory):
    """N_FILES distinct 10 s, 16 kHz mono CBR mp3 clips (MTAT's format), half with log drums."""
    d = tmp_path_factory.mktemp("pipeline_bench")
    n = int(CLIP_S * SR)
    for k in range(N_FILES):
        x = synth.groove(SR, bars=5, bpm=108.0 + k % 8, log_drums=k % 2 == 0, seed=k)[:n]
        sf.write(d / f"clip_{k:03d}.mp3", x.astype(np.float32), SR, format="MP3",
                 bitrate_mode="CONSTANT", compression_level=0.85)
    return d


def test_scan_files_decode_included(benchmark, realtime, mp3_folder, tmp_path):
    from logdrum.dataset.scan import scan

    runs = itertools.count()

    def run():
        # a fresh results file each round: the scan resumes, and would otherwise skip everything
        return scan([mp3_folder], tmp_path / f"scores_{next(runs)}.csv", workers=1, progress=False)

    run()  # numba cache load
    rows = benchmark.pedantic(run, rounds=3, iterations=1)
    assert len(rows) == N_FILES and not any(r["error"] for r in rows)
    with_ld = [float(r["score"]) >= 0.5 for r in sorted(rows, key=lambda r: r["path"])]
    assert with_ld == [k % 2 == 0 for k in range(N_FILES)]
    x = realtime("pipeline", f"scan {N_FILES} x {CLIP_S:g} s mp3", N_FILES * CLIP_S)
    benchmark.extra_info.update(files_per_s=round(N_FILES / benchmark.stats.stats.mean, 1),
                                load_avg=round(os.getloadavg()[0], 1))
    print(f"\nscan, 1 process: {N_FILES / benchmark.stats.stats.mean:.1f} files/s, {x:.0f}x realtime")


@pytest.fixture(scope="module")
def tiny_step():
    """A callable doing one optimizer step of the tiny model on real EnCodec codes."""
    torch = pytest.importorskip("torch")
    from musicgen_ft.data import CodeSet, make_batch, segment
    from musicgen_ft.model import build_model, encode_audio, lm_loss, set_train_mode

    cfg = json.loads((REPO / "musicgen_ft" / "configs" / "tiny.json").read_text())
    torch.set_num_threads(cfg["torch_threads"])
    torch.manual_seed(0)
    be = build_model("tiny", seed=0)
    sr = be.sampling_rate
    seg_len = int(cfg["segment_seconds"] * sr)
    audio = synth.groove(sr, bars=4, seed=1).astype(np.float32)
    segs, valid = segment(audio, seg_len, int(cfg["min_segment_seconds"] * sr))
    codes = encode_audio(be, torch.from_numpy(segs))
    frames = codes.shape[-1]   # a frame is real if any real sample falls in it (as musicgen_ft.data)
    n_valid = torch.as_tensor(np.minimum(frames, np.ceil(valid * frames / seg_len))).long()
    data = CodeSet(codes=codes.to(torch.int16), n_valid=n_valid,
                   prompts=["electronic, house, drums, bass"] * len(segs),
                   clip_ids=["groove"] * len(segs))
    params = [p for p in be.model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg["lr"])
    set_train_mode(be.model, True)
    bs, accum = cfg["batch_size"], cfg["grad_accum_steps"]
    rng = np.random.default_rng(0)
    losses = []

    def step():
        for _ in range(accum):
            index = rng.choice(len(data), size=bs, replace=False)
            batch = make_batch(data, index, be, cond_dropout=cfg["cond_dropout"], rng=rng)
            loss, _ = lm_loss(be, batch, "cpu")
            (loss / accum).backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))

    step.losses = losses
    step.audio_seconds = bs * accum * cfg["segment_seconds"]
    return step


def test_tiny_training_step(benchmark, realtime, tiny_step):
    for _ in range(3):
        tiny_step()  # warm-up: first-call allocations
    benchmark.pedantic(tiny_step, rounds=30, iterations=1)
    assert all(np.isfinite(tiny_step.losses))
    assert tiny_step.losses[-1] < tiny_step.losses[0]   # the steps do train
    x = realtime("pipeline", "tiny MusicGen optimizer step", tiny_step.audio_seconds)
    benchmark.extra_info.update(steps_per_s=round(1 / benchmark.stats.stats.mean, 1))
    print(f"\ntiny train step: {benchmark.stats.stats.mean * 1e3:.1f} ms, {x:.0f}x realtime "
          f"({tiny_step.audio_seconds:g} s of audio per step)")
