"""Dataset-filter throughput: decode + analysis of one MTAT-like clip, and a 2-worker scan.

MTAT clips are 29.1 s of 16 kHz mono MP3 at 32 kbit/s; the fixture encodes a groove the same
way. Run with ``pytest benchmarks/test_scan_bench.py --benchmark --benchmark-only``; the
projected time for all 25,863 MTAT clips is printed and stored in ``extra_info``.
"""

import os
import time

import numpy as np
import pytest
import soundfile as sf

from logdrum import synth
from logdrum.io.audio import load_audio
from logdrum.dataset.batch import run_batch
from logdrum.dataset.scan import SCAN_FIELDS, score_file

SR = 16000
MTAT_CLIPS = 25863
N_FILES = 400


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Four distinct 29.1 s clips (with and without log drums), hard-linked to N_FILES paths."""
    d = tmp_path_factory.mktemp("bench")
    sources = []
    for i, kw in enumerate([{}, {"log_drums": False}, {"bpm": 115.0}, {"bass": True, "log_drums": False}]):
        x = synth.groove(SR, bars=14, seed=i, **kw)[: int(29.1 * SR)].astype(np.float32)
        p = d / f"src_{i}.mp3"
        sf.write(p, x, SR, format="MP3", bitrate_mode="CONSTANT", compression_level=0.85)
        sources.append(p)
    paths = []
    for k in range(N_FILES):
        p = d / f"clip_{k:04d}.mp3"
        os.link(sources[k % 4], p)
        paths.append(str(p))
    return paths


def test_decode_and_analyze_one_clip(benchmark, clips):
    score_file(clips[0])  # numba cache load / compile
    row = benchmark.pedantic(score_file, args=(clips[0],), rounds=30, iterations=1, warmup_rounds=2)
    assert not row.get("error")
    ms = benchmark.stats.stats.mean * 1e3
    # CPU time as well: on a shared machine wall-clock time measures the neighbours too
    c0 = time.process_time()
    for _ in range(20):
        score_file(clips[0])
    cpu_ms = (time.process_time() - c0) / 20 * 1e3
    c0 = time.process_time()
    for _ in range(20):
        load_audio(clips[0])
    decode_ms = (time.process_time() - c0) / 20 * 1e3
    benchmark.extra_info.update(ms_per_clip=round(ms, 1), cpu_ms_per_clip=round(cpu_ms, 1),
                                decode_cpu_ms=round(decode_ms, 1), load_avg=os.getloadavg()[0],
                                projected_min_1_core=round(MTAT_CLIPS * ms / 1e3 / 60, 1))
    print(f"\ndecode + analysis of a 29.1 s 16 kHz mp3: {ms:.1f} ms wall, {cpu_ms:.1f} ms CPU "
          f"(decode alone {decode_ms:.1f} ms CPU); {MTAT_CLIPS} clips on 2 cores at that CPU "
          f"time: {MTAT_CLIPS * cpu_ms / 2 / 6e4:.1f} min; load average {os.getloadavg()[0]:.1f}")


def test_scan_two_workers(benchmark, clips, tmp_path):
    runs = iter(range(100))

    def scan(paths):
        return run_batch(paths, score_file, results=tmp_path / f"r{next(runs)}.csv",
                         fields=SCAN_FIELDS, workers=2, progress=False)

    # two sizes with the same pool start-up: their difference is the steady rate
    n_small = N_FILES // 4
    t0 = time.perf_counter()
    scan(clips[:n_small])
    t_small = time.perf_counter() - t0
    rows = benchmark.pedantic(scan, args=(clips,), rounds=1, iterations=1)
    assert len(rows) == N_FILES and not any(r["error"] for r in rows)
    t_all = benchmark.stats.stats.mean
    rate = N_FILES / t_all
    steady = (N_FILES - n_small) / (t_all - t_small) if t_all > t_small else rate
    startup = max(0.0, t_small - n_small / steady)
    projected = startup + MTAT_CLIPS / steady
    benchmark.extra_info.update(clips_per_s=round(rate, 1), steady_clips_per_s=round(steady, 1),
                                startup_s=round(startup, 2), projected_min_mtat=round(projected / 60, 2))
    print(f"\nscan with --workers 2: {rate:.1f} clips/s over {N_FILES} clips incl. start-up, "
          f"{steady:.1f} clips/s steady, start-up {startup:.1f} s; projected for {MTAT_CLIPS} MTAT "
          f"clips: {projected / 60:.1f} min; load average {os.getloadavg()[0]:.1f}")
