"""Training speed and memory of the full musicgen-small shape (random weights, no download).

Optimizer steps of the ``musicgen-small-shape`` preset at the real run's segment length
(``segment_seconds`` of ``configs/musicgen_small.json``), one micro-batch per step, through
the trainer's own functions (``make_batch`` from cached EnCodec codes, ``lm_loss``,
``apply_update``), per batch size, precision, gradient checkpointing and LoRA. Beside them, on
the same model and the same audio, the **plain reference loop** the seed's script runs:
EnCodec re-encodes the audio at every step (no cached codes). The ratio of the two step times
is the trainer's speed-up from caching codes, measured side by side.

Memory: on CUDA ``torch.cuda.max_memory_allocated`` per case; on CPU the process RSS,
sampled every 10 ms during the case by a thread (the peak), after freeing the previous
case and returning freed heap to the OS (``malloc_trim``), so each case's peak is its own
plus the model itself. CPU runs batch 1 and 2 in fp32, and in bf16 (CPU autocast) where the CPU
has native bf16 (AVX-512 BF16 or AMX; elsewhere it is emulated, some 20 minutes a step) or
``LOGDRUM_BENCH_CASES`` names a bf16 case; fp16 has no fast CPU kernels and no GradScaler use
there, so it is left to CUDA. CUDA runs batch 1-16.

Every figure goes to a JSON file (``LOGDRUM_BENCH_JSON``, default
``.benchmarks/train_shape_<device>.json``). ``LOGDRUM_BENCH_CASES`` (comma-separated case
ids, e.g. ``trainer-b1-fp32,trainer-b1-bf16``; ``trainer-bN-fp32`` selects the paired test of
batch N) runs a subset on a busy machine, ``LOGDRUM_BENCH_PAIRS`` sets how many
trainer/reference step pairs the paired test times (default 2 on CPU, 5 on CUDA).

Run with ``pytest benchmarks/test_train_shape_bench.py --benchmark -s``.
"""

import ctypes
import gc
import json
import os
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pytest

from logdrum import synth

REPO = Path(__file__).resolve().parents[1]
REAL_RUN = json.loads((REPO / "musicgen_ft" / "configs" / "musicgen_small.json").read_text())
SEGMENT_S = float(REAL_RUN["segment_seconds"])
PROMPTS = ["amapiano, log drum, piano", "house, drums, bass, piano", "electronic, beat, bass"]
torch = pytest.importorskip("torch")
CUDA = torch.cuda.is_available()
DEVICE = "cuda" if CUDA else "cpu"


@dataclass(frozen=True)
class Case:
    loop: str                  # "trainer" (cached codes) or "reference" (EnCodec every step)
    batch: int
    precision: str
    checkpointing: bool = False
    lora_rank: int = 0

    @property
    def id(self):
        return "-".join([self.loop, f"b{self.batch}", self.precision]
                        + (["gc"] if self.checkpointing else [])
                        + ([f"lora{self.lora_rank}"] if self.lora_rank else []))


#: The case ids ``LOGDRUM_BENCH_CASES`` names (empty: every case).
WANTED = {w.strip() for w in os.environ.get("LOGDRUM_BENCH_CASES", "").split(",") if w.strip()}


def _native_cpu_bf16():
    """True where oneDNN reports bf16 kernels for this CPU (AVX-512 BF16 or AMX)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a private probe: assume none where it is gone
        return False


def _cases():
    if CUDA:
        precisions = ["fp32", "fp16"] + (["bf16"] if torch.cuda.is_bf16_supported() else [])
        batches = [1, 2, 4, 8, 16]
    else:
        # bf16 autocast on a CPU without native bf16 (no AVX-512 BF16 / AMX) is emulated: one
        # full-shape step took some 20 minutes on a 2-core AVX2 host, against seconds in fp32.
        # Listed only where the CPU has it, or when LOGDRUM_BENCH_CASES names such a case.
        bf16 = _native_cpu_bf16() or any("bf16" in w for w in WANTED)
        precisions, batches = ["fp32"] + (["bf16"] if bf16 else []), [1, 2]
    # fp32 without checkpointing runs in the paired test against the reference loop
    cases = [Case("trainer", b, p, gc) for gc in (False, True) for p in precisions
             for b in batches if gc or p != "fp32"]
    # LoRA last: injecting adapters changes the shared model for the cases after it
    cases += [Case("trainer", b, "fp32", gc, lora_rank=16) for gc in (False, True)
              for b in batches[:2]]
    if WANTED:
        cases = [c for c in cases if c.id in WANTED]
    return cases


CASES = _cases()
PAIRED = [1, 2, 4, 8] if CUDA else [1, 2]
if WANTED:
    PAIRED = [b for b in PAIRED if f"trainer-b{b}-fp32" in WANTED]
_FIGURES = []


class PeakRSS:
    """Peak resident memory of this process while the ``with`` block runs (10 ms samples)."""

    def __init__(self):
        import psutil

        self.proc = psutil.Process()
        self.peak = self.base = self.proc.memory_info().rss
        self._stop = threading.Event()

    def _sample(self):
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __enter__(self):
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)


def _release_memory():
    gc.collect()
    if CUDA:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    else:
        try:   # glibc keeps freed heap; hand it back so the next case's RSS is its own
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except OSError:
            pass


@pytest.fixture(scope="module")
def shape():
    """The full-shape backend, audio segments and their cached codes."""
    from musicgen_ft.data import CodeSet
    from musicgen_ft.model import build_model, encode_audio

    if not CUDA:
        torch.set_num_threads(os.cpu_count() or 1)
    t0 = time.perf_counter()
    be = build_model("musicgen-small-shape", seed=0)
    build_s = time.perf_counter() - t0
    be.model.to(DEVICE)
    sr = be.sampling_rate
    n = int(SEGMENT_S * sr)
    n_seg = 2 * max([c.batch for c in CASES] + PAIRED + [1])
    audio = np.stack([synth.groove(sr, bars=6, bpm=112.0 + k, seed=k)[:n]
                      for k in range(n_seg)]).astype(np.float32)
    audio = torch.from_numpy(audio)
    codes = torch.cat([encode_audio(be, audio[i:i + 2]) for i in range(0, n_seg, 2)])
    frames = codes.shape[-1]
    data = CodeSet(codes=codes.to(torch.int16), n_valid=torch.full((n_seg,), frames),
                   prompts=[PROMPTS[k % len(PROMPTS)] for k in range(n_seg)],
                   clip_ids=[f"groove{k}" for k in range(n_seg)])
    yield {"backend": be, "audio": audio, "codes": data, "frames": frames, "build_s": build_s}


def _make_step(shape, case, optim=None):
    """One optimizer step of ``case``; returns the callable and its trainable-param count.

    ``optim``: the ``(optimizer, scheduler, scaler, params)`` of another step to share.
    """
    from musicgen_ft.config import TrainConfig
    from musicgen_ft.data import make_batch
    from musicgen_ft.memory import add_lora, enable_checkpointing, has_lora
    from musicgen_ft.model import delay_labels, encode_audio, lm_loss, set_train_mode
    from musicgen_ft.optim import apply_update, autocast_for, build_optimizer

    be = shape["backend"]
    model = be.model
    if case.lora_rank and not has_lora(model):
        add_lora(model, rank=case.lora_rank, alpha=16.0, dropout=0.0,
                 targets=TrainConfig().lora_targets, seed=0)
        model.to(DEVICE)
    enable_checkpointing(model, case.checkpointing)
    set_train_mode(model, True)
    if optim is None:
        params = [p for p in model.parameters() if p.requires_grad]
        cfg = TrainConfig(precision=case.precision)
        optim = (*build_optimizer(cfg, params, 1000, case.precision), params)
    optimizer, scheduler, scaler, params = optim
    autocast = autocast_for(case.precision, "cuda" if CUDA else "cpu")
    rng = np.random.default_rng(0)
    n_rows = len(shape["codes"])
    calls = iter(range(10**9))

    def step():
        rows = (np.arange(case.batch) + case.batch * next(calls)) % n_rows
        if case.loop == "reference":
            # the seed's loop: audio -> EnCodec -> codes at every step
            t0 = time.perf_counter()
            codes = encode_audio(be, shape["audio"][rows])
            step.encode_s.append(time.perf_counter() - t0)
            labels = delay_labels(codes, torch.full((case.batch,), codes.shape[-1]),
                                  be.pad_token_id)
            text = be.tokenizer([shape["codes"].prompts[i] for i in rows], padding=True,
                                return_tensors="pt")
            batch = {"labels": labels, **text}
        else:
            batch = make_batch(shape["codes"], rows, be, cond_dropout=0.1, rng=rng)
        loss, _ = lm_loss(be, batch, DEVICE, autocast)
        scaler.scale(loss).backward()
        apply_update(optimizer, scheduler, scaler, params, 1.0)
        if CUDA:
            torch.cuda.synchronize()
        step.losses.append(float(loss.detach()))

    step.losses, step.encode_s, step.optim = [], [], optim
    step.release = lambda: (optimizer.state.clear(), optimizer.zero_grad(set_to_none=True))
    return step, sum(p.numel() for p in params)


@pytest.mark.parametrize("batch", PAIRED, ids=[f"b{b}" for b in PAIRED])
def test_cached_codes_vs_reference_loop(benchmark, shape, batch):
    """Trainer steps (cached codes) and reference steps (EnCodec every step), alternated.

    Both share one model and one optimizer and alternate step by step, so a change of load on
    a shared machine hits both alike; the ratio of their median step times is the speed-up.
    """
    _release_memory()
    trainer, n_train = _make_step(shape, Case("trainer", batch, "fp32"))
    reference, _ = _make_step(shape, Case("reference", batch, "fp32"), optim=trainer.optim)
    pairs = int(os.environ.get("LOGDRUM_BENCH_PAIRS", "2" if not CUDA else "5"))
    times = {"trainer": [], "reference": []}

    def alternate():
        trainer()                       # warm-up: AdamW state, first-call allocations
        for _ in range(pairs):
            for name, step in (("reference", reference), ("trainer", trainer)):
                t0 = time.perf_counter()
                step()
                times[name].append(time.perf_counter() - t0)

    with PeakRSS() as rss:
        try:
            benchmark.pedantic(alternate, rounds=1, iterations=1)
        except RuntimeError as exc:
            trainer.release()
            if CUDA and "out of memory" in str(exc):
                pytest.skip(f"paired batch {batch}: CUDA out of memory")
            raise
    med = {k: float(np.median(v)) for k, v in times.items()}
    encode = float(np.median(reference.encode_s))
    for name in ("trainer", "reference"):
        case = Case(name, batch, "fp32")
        fig = {**asdict(case), "id": case.id, "step_s": round(med[name], 3),
               "step_s_all": [round(t, 3) for t in times[name]],
               "samples_per_s": round(batch / med[name], 4),
               "audio_s_per_s": round(batch * SEGMENT_S / med[name], 3),
               "trainable_params": n_train, "load_avg_1min": round(os.getloadavg()[0], 2)}
        if name == "reference":
            fig["encode_s"] = round(encode, 3)
        if CUDA:
            fig["peak_gpu_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 3)
        else:
            fig.update(peak_rss_gib=round(rss.peak / 2**30, 3),
                       base_rss_gib=round(rss.base / 2**30, 3))
        _FIGURES.append(fig)
    _write_json(shape)     # after every case: a long run stopped early keeps what it measured
    trainer.release()
    ratio = med["reference"] / med["trainer"]
    benchmark.extra_info.update(ratio=round(ratio, 3), encode_s=round(encode, 3), **med)
    assert np.isfinite(trainer.losses + reference.losses).all()
    assert encode > 0
    print(f"\nbatch {batch}: trainer {med['trainer']:.2f} s/step, reference {med['reference']:.2f} "
          f"s/step (EnCodec {encode:.2f} s of it): reference/trainer = {ratio:.3f}")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_full_shape_train_step(benchmark, shape, case):
    _release_memory()
    step, n_train = _make_step(shape, case)
    with PeakRSS() as rss:
        try:
            # one warm-up step: AdamW allocates its state and kernels get picked
            benchmark.pedantic(step, rounds=1 if not CUDA else 3, iterations=1,
                               warmup_rounds=1)
        except RuntimeError as exc:
            if CUDA and "out of memory" in str(exc):
                _FIGURES.append({**asdict(case), "id": case.id, "oom": True})
                _write_json(shape)
                step.release()
                pytest.skip(f"{case.id}: CUDA out of memory")
            raise
    mean = benchmark.stats.stats.mean
    fig = {**asdict(case), "id": case.id, "step_s": round(mean, 3),
           "samples_per_s": round(case.batch / mean, 4),
           "audio_s_per_s": round(case.batch * SEGMENT_S / mean, 3),
           "trainable_params": n_train, "loss": step.losses[-1]}
    if CUDA:
        fig["peak_gpu_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 3)
    else:
        fig.update(peak_rss_gib=round(rss.peak / 2**30, 3), base_rss_gib=round(rss.base / 2**30, 3))
    fig["load_avg_1min"] = round(os.getloadavg()[0], 2)
    _FIGURES.append(fig)
    _write_json(shape)
    benchmark.extra_info.update(fig)
    step.release()
    del step
    assert np.isfinite(fig["loss"])
    print(f"\n{case.id}: {mean:.2f} s/step, {fig['samples_per_s']:.3f} samples/s, "
          + (f"peak GPU {fig['peak_gpu_gib']:.2f} GiB" if CUDA else
             f"peak RSS {fig['peak_rss_gib']:.2f} GiB (before: {fig['base_rss_gib']:.2f})"))


def _write_json(shape):
    be, frames, build_s = shape["backend"], shape["frames"], shape["build_s"]
    step = {f["id"]: f.get("step_s") for f in _FIGURES}
    ratios, encode_share = {}, {}
    for f in _FIGURES:
        ref = step.get(f["id"].replace("trainer", "reference", 1))
        if f["loop"] == "trainer" and ref and f.get("step_s"):
            ratios[f["id"]] = round(ref / f["step_s"], 3)
        if f.get("encode_s"):
            # the EnCodec share of a reference step: the part that caching codes removes
            encode_share[f["id"]] = round(f["encode_s"] / f["step_s"], 3)
    out = {"model": "musicgen-small-shape", "device": DEVICE,
           "device_name": torch.cuda.get_device_name() if CUDA else "cpu",
           "torch": torch.__version__, "threads": torch.get_num_threads(),
           "cpu_count": os.cpu_count(), "segment_seconds": SEGMENT_S,
           "decoder_positions": frames + be.num_codebooks - 1, "build_s": round(build_s, 1),
           "params": sum(p.numel() for p in be.model.parameters()),
           "reference_over_trainer_step_time": ratios,
           "encode_share_of_reference_step": encode_share, "cases": _FIGURES}
    path = Path(os.environ.get("LOGDRUM_BENCH_JSON", REPO / ".benchmarks" /
                               f"train_shape_{DEVICE}.json"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2))
    print(f"\nfigures written to {path}; reference/trainer step time: {ratios}", flush=True)
