"""Unattended GPU check of musicgen_ft: ``python benchmarks/gpu_check.py [--out FILE]``.

Made to run once, unattended, on a machine lent for a few minutes. Everything it finds goes
into one JSON file (default ``gpu_check.json``), rewritten after every section so a kill
keeps what was measured. Sections, in order of importance:

``device``
    torch and CUDA versions, the GPU, its memory, bf16 support.
``precision_steps``
    Optimizer steps with fp16 (GradScaler on) and bf16 of the tiny and the full-shape model
    (``musicgen-small-shape``; recorded as unavailable where this build has no such preset) at
    the seed's 10 s segments: loss, GradScaler scale, skipped steps, samples/s, peak memory.
``oom_backoff``
    A genuine CUDA out-of-memory error: the real trainer (``musicgen_ft.train.main``) on a
    batch that does not fit under a per-process memory cap (``set_per_process_memory_fraction``
    set between the measured needs of the half batch and the whole one). The back-off must
    finish the run with the same effective batch (``oom_backoff.json``, the alerts, the steps).
``batch_sweep``
    Throughput and peak memory per micro-batch 1-16 and precision, with the GPU watch's
    reader (NVML or nvidia-smi, :mod:`musicgen_ft.gpu_watch`) sampling utilisation meanwhile.

Without CUDA it prints a ``no CUDA`` line, writes ``{"skipped": true, ...}`` and exits 0.
``--cpu-smoke`` runs the sections a CPU can (tiny model, fp32) to test this script itself.

Time: ``--budget-s`` (default 420) is hard. A section starts only with enough time left for
it, and a watchdog writes the JSON and ends the process at the budget whatever is running.
Exit status 0 when it ran to the end (failures are in the JSON), 3 when the watchdog ended it.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import math
import os
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:   # run as a plain script from any folder
    sys.path.insert(0, str(REPO))

SHAPE_PRESET = "musicgen-small-shape"
SEED_SEGMENT_S = 10.0
SWEEP_BATCHES = (1, 2, 4, 8, 16)


class Recorder:
    """The JSON being built, its deadline, and the watchdog that enforces it."""

    def __init__(self, path, budget_s):
        self.path = Path(path)
        self.t0 = time.monotonic()
        self.budget_s = budget_s
        self.lock = threading.Lock()
        self.current = None
        self.data = {"script": "benchmarks/gpu_check.py", "budget_s": budget_s,
                     "started_unix": time.time(), "skipped": False, "timed_out": False,
                     "sections": {}}

    def left(self):
        return self.budget_s - (time.monotonic() - self.t0)

    def save(self):
        from logdrum.io.atomic import write_json_atomic

        with self.lock:
            self.data["elapsed_s"] = round(time.monotonic() - self.t0, 2)
            write_json_atomic(self.path, self.data)

    def start_watchdog(self):
        def fire():
            self.data["timed_out"] = True
            self.data["killed_in_section"] = self.current
            try:
                self.save()
            except Exception:   # the main thread was changing the dict: keep the last file
                pass
            print(f"gpu_check: time budget {self.budget_s:g}s spent during {self.current}; "
                  f"results so far in {self.path}", flush=True)
            os._exit(3)
        timer = threading.Timer(max(1.0, self.left()), fire)
        timer.daemon = True
        timer.start()

    def section(self, name, fn, needs_s):
        """Run ``fn() -> dict`` as section ``name`` if ``needs_s`` seconds are left."""
        if self.left() < needs_s:
            self.data["sections"][name] = {"status": "not run", "reason":
                                           f"time budget: {self.left():.0f}s left, needs "
                                           f"~{needs_s:g}s"}
            self.save()
            return None
        self.current = name
        t = time.monotonic()
        print(f"gpu_check: {name} ...", flush=True)
        try:
            out = {"status": "ok", **fn()}
        except Exception as exc:   # one broken section must not cost the others
            out = {"status": "error", "error": f"{type(exc).__name__}: {exc}",
                   "traceback": traceback.format_exc().splitlines()[-8:]}
        out["seconds"] = round(time.monotonic() - t, 2)
        self.data["sections"][name] = out
        self.current = None
        self.save()
        print(f"gpu_check: {name} {out['status']} in {out['seconds']:.1f}s", flush=True)
        return out


def _free():
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _config(**kw):
    from musicgen_ft.config import TrainConfig

    base = dict(lr=1e-5, warmup_steps=0, segment_seconds=SEED_SEGMENT_S, seed=0)
    return TrainConfig(**{**base, **kw})


def _build(name):
    from musicgen_ft.model import build_model

    try:
        return build_model(name, seed=0), None
    except Exception as exc:   # e.g. issue 13's full-shape preset not in this build
        return None, f"build_model({name!r}) raised {type(exc).__name__}: {exc}"


def device_info(device):
    import torch

    info = {"torch": torch.__version__, "torch_cuda": torch.version.cuda, "device": device}
    if device.startswith("cuda"):
        p = torch.cuda.get_device_properties(0)
        info.update(name=p.name, capability=f"{p.major}.{p.minor}",
                    total_memory_gib=round(p.total_memory / 2**30, 2),
                    gpus=torch.cuda.device_count(), bf16=p.major >= 8)
    return info


def precisions(device):
    import torch

    if not device.startswith("cuda"):
        return ["fp32"]
    return ["fp16", "bf16"] if torch.cuda.get_device_capability(0)[0] >= 8 else ["fp16"]


def precision_steps(device, models, segment_s):
    from musicgen_ft.ops.probe import measure

    out = {}
    for name in models:
        backend, error = _build(name)
        if backend is None:
            out[name] = {"available": False, "error": error}
            continue
        runs = {}
        for p in precisions(device):
            r = measure(_config(model=name, device=device, precision=p, batch_size=2,
                                grad_accum_steps=2, segment_seconds=segment_s),
                        steps=3, backend=backend)
            runs[p] = {**dataclasses.asdict(r),
                       "finite_loss": r.loss is not None and math.isfinite(r.loss),
                       "grad_scaler": p == "fp16" and r.grad_scale is not None}
        params = sum(p.numel() for p in backend.model.parameters())
        out[name] = {"available": True, "parameters": params, "precisions": runs}
        backend = None
        _free()
    return out


def batch_sweep(device, models, segment_s, rec):
    from musicgen_ft.ops.alerts import AlertLog
    from musicgen_ft.ops.gpu_watch import GpuWatch
    from musicgen_ft.ops.probe import measure

    backend, name = None, None
    for name in models:   # the largest model this build has
        backend, _ = _build(name)
        if backend is not None:
            break
    watch = GpuWatch(AlertLog(None), min_percent=0.0, window=3600.0, interval=0.5).start()
    rows = []
    try:
        for p in precisions(device):
            for b in SWEEP_BATCHES if device.startswith("cuda") else (1, 2):
                if rec.left() < 45:
                    rows.append({"precision": p, "batch_size": b, "error": "not run: time budget"})
                    continue
                r = measure(_config(model=name, device=device, precision=p, batch_size=b,
                                    grad_accum_steps=1, segment_seconds=segment_s),
                            steps=3, backend=backend)
                rows.append({"precision": p, "batch_size": b, **dataclasses.asdict(r)})
                if r.error:          # a larger batch will not fit either
                    break
    finally:
        watch.stop()
    utils = [u for _, per_gpu in watch.samples for u in per_gpu.values()]
    backend = None
    _free()
    return {"model": name, "segment_seconds": segment_s, "rows": rows,
            "gpu_watch": {"source": watch.source, "samples": len(utils),
                          "mean_util_percent": sum(utils) / len(utils) if utils else None,
                          "max_util_percent": max(utils) if utils else None,
                          "last_reading": watch.read() if watch.on else None}}


def _write_clips(folder, n=24, seconds=SEED_SEGMENT_S, sr=32000):
    import soundfile as sf

    from logdrum import synth
    from logdrum.dataset.layout import METADATA_FILE
    from logdrum.io.atomic import write_csv_atomic

    folder.mkdir(parents=True, exist_ok=True)
    mix = synth.groove(sr, bars=8, seed=1)
    rows = []
    for i in range(n):
        length = int(seconds * sr)
        start = (i * sr // 3) % max(1, len(mix) - length)
        sf.write(folder / f"clip_{i:02d}.wav", mix[start:start + length] * 0.8, sr)
        rows.append({"clip_id": f"c{i:02d}", "file_path": f"clip_{i:02d}.wav",
                     "tags": "amapiano|log drum|piano"})
    meta = folder / METADATA_FILE
    write_csv_atomic(meta, rows[0], rows)
    return meta


def _reserved_peak(cfg, backend):
    """Peak reserved CUDA memory of one optimizer step of ``cfg`` (what the cap limits)."""
    import torch

    from musicgen_ft.ops.probe import measure

    r = measure(cfg, steps=1, warmup=0, backend=backend)
    if r.error:
        raise RuntimeError(f"calibration step failed: {r.error}")
    return torch.cuda.max_memory_reserved(0)


def oom_backoff(work):
    """A real out-of-memory error in the real trainer, survived by the back-off."""
    import torch

    from evaluation.run_folder import (ALERTS_FILE, CHECKPOINTS_DIR, OOM_STATE_FILE, STATE_FILE,
                                       read_jsonl)
    from musicgen_ft.checkpoint import LAST_FILE, load_checkpoint
    from musicgen_ft.data import cache_folder, encode_clips, read_metadata
    from musicgen_ft.model import codec_fingerprint
    from musicgen_ft.train import main as train_main

    # 24 clips of 10 s, one segment each; ~19 train segments: micro-batches of 16 and 3
    batch, seg = 16, SEED_SEGMENT_S
    meta = _write_clips(work / "data")
    backend, error = _build("tiny")
    if backend is None:
        raise RuntimeError(error)
    # encode the clips first, without a cap: the check is about the training step
    backend.model.to("cuda")
    folder = cache_folder(work / "cache", backend, codec_fingerprint(backend), seg, 1.0)
    encode_clips(read_metadata(meta), backend, folder, seg, 1.0, progress=False)
    base = dict(model="tiny", device="cuda", precision="auto", grad_accum_steps=1,
                segment_seconds=seg, min_segment_seconds=1.0)
    half = _reserved_peak(_config(batch_size=batch // 2, **base), backend)
    whole = _reserved_peak(_config(batch_size=batch, **base), backend)
    backend = None
    _free()
    total = torch.cuda.get_device_properties(0).total_memory
    attempts = []
    for i, cap in enumerate(((half + whole) // 2, int(half * 1.02))):
        run_dir = work / f"run_{i}"
        cfg = {"model": "tiny", "metadata_path": str(meta), "run_dir": str(run_dir),
               "cache_dir": str(work / "cache"), "segment_seconds": seg,
               "min_segment_seconds": 1.0, "val_fraction": 0.2, "batch_size": batch,
               "grad_accum_steps": 1, "epochs": 1, "device": "cuda", "lr": 1e-4,
               "warmup_steps": 1, "log_every_steps": 1, "save_every_steps": 1000,
               "gpu_watch": False, "milestone_hours": None}
        path = work / f"config_{i}.json"
        path.write_text(json.dumps(cfg))
        _free()
        torch.cuda.set_per_process_memory_fraction(cap / total, 0)
        try:
            code = train_main(["--config", str(path)])
        finally:
            torch.cuda.set_per_process_memory_fraction(1.0, 0)
            _free()
        alerts = [a for _, a in read_jsonl(run_dir / ALERTS_FILE)]
        ooms = [a for a in alerts if a.get("code") == "cuda_oom"]
        saved = (json.loads((run_dir / OOM_STATE_FILE).read_text())
                 if (run_dir / OOM_STATE_FILE).exists() else None)
        last = run_dir / CHECKPOINTS_DIR / LAST_FILE
        state = json.loads((run_dir / STATE_FILE).read_text())
        attempt = {"cap_bytes": cap, "half_batch_reserved": half, "batch_reserved": whole,
                   "exit_code": code, "oom_alerts": [a.get("message") for a in ooms],
                   "backoff": saved,
                   "final_step": load_checkpoint(last)["global_step"] if last.exists() else None,
                   "throughput": state.get("throughput")}
        attempt["same_effective_batch"] = bool(
            saved and saved["micro_batch"] * saved["accumulation"] == batch)
        attempt["survived"] = code == 0 and bool(ooms) and attempt["same_effective_batch"]
        attempts.append(attempt)
        if ooms:
            break
    return {"batch_size": batch, "attempts": attempts,
            "survived": any(a["survived"] for a in attempts)}


def summary(sections):
    """The answers at a glance: which steps ran clean, whether the back-off survived."""
    steps = sections.get("precision_steps", {})
    out = {}
    for model, entry in steps.items():
        if isinstance(entry, dict) and entry.get("available"):
            for p, r in entry["precisions"].items():
                out[f"{model} {p} steps ok"] = r["error"] is None and r["finite_loss"]
        elif isinstance(entry, dict) and "available" in entry:
            out[f"{model} available"] = False
    oom = sections.get("oom_backoff", {})
    out["oom back-off survived"] = oom.get("survived") if oom.get("status") == "ok" else None
    sweep = sections.get("batch_sweep", {})
    out["largest batch that fit"] = {
        p: max((r["batch_size"] for r in sweep.get("rows", []) if r.get("precision") == p
                and r.get("samples_per_s")), default=None)
        for p in {r.get("precision") for r in sweep.get("rows", [])}}
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python benchmarks/gpu_check.py",
                                     description="Unattended GPU check of musicgen_ft.")
    parser.add_argument("--out", default="gpu_check.json", help="the JSON file to write")
    parser.add_argument("--budget-s", type=float, default=420.0,
                        help="hard time limit in seconds (default 420)")
    parser.add_argument("--cpu-smoke", action="store_true",
                        help="without CUDA, run what a CPU can (tiny model, fp32)")
    args = parser.parse_args(argv)
    rec = Recorder(args.out, args.budget_s)
    rec.start_watchdog()
    import torch

    cuda = torch.cuda.is_available()
    rec.data["cuda"] = cuda
    if not cuda and not args.cpu_smoke:
        rec.data.update(skipped=True, reason="no CUDA",
                        torch=torch.__version__, torch_cuda=torch.version.cuda)
        rec.save()
        print(f"gpu_check: no CUDA device visible (torch {torch.__version__}): skipped; "
              f"wrote {args.out}", flush=True)
        return 0
    device = "cuda" if cuda else "cpu"
    models = ["tiny", SHAPE_PRESET] if cuda else ["tiny"]
    segment_s = SEED_SEGMENT_S if cuda else 1.0
    rec.section("device", lambda: device_info(device), needs_s=1)
    rec.section("precision_steps", lambda: precision_steps(device, models, segment_s), needs_s=60)
    if cuda:
        with tempfile.TemporaryDirectory(prefix="gpu_check_") as work:
            rec.section("oom_backoff", lambda: oom_backoff(Path(work)), needs_s=60)
    else:
        rec.data["sections"]["oom_backoff"] = {"status": "not run", "reason": "needs CUDA"}
    sweep_models = [SHAPE_PRESET, "tiny"] if cuda else ["tiny"]
    rec.section("batch_sweep", lambda: batch_sweep(device, sweep_models, segment_s, rec),
                needs_s=60)
    rec.data["finished"] = True
    rec.data["summary"] = summary(rec.data["sections"])
    rec.save()
    failed = [k for k, v in rec.data["sections"].items() if v.get("status") != "ok"]
    print(f"gpu_check: done in {rec.data['elapsed_s']:.0f}s; sections not ok: "
          f"{', '.join(failed) or 'none'}; wrote {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
