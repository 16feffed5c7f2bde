"""``analyze`` on 10 min and 1 h of 44.1 kHz audio against a plain scipy pipeline and librosa,
in the same run. Run with ``pytest benchmarks/ --benchmark``."""

import time
import tracemalloc

import numpy as np
import pytest
from scipy.ndimage import uniform_filter1d
from scipy.signal import butter, sosfilt

import logdrum
from logdrum import synth
from logdrum.core.frontend import use_parallel

SR = 44100
LENGTHS = {"10min": 600, "1h": 3600}
# rounds per timing: the scipy pipeline's 10 min rounds vary 2-3x on a shared host (its
# full-rate arrays are 200 MB), so the summary compares minimum times as well as means
ROUNDS = {"10min": 5, "1h": 3}


@pytest.fixture(scope="module")
def audio():
    # a 64-bar groove (about 2.3 min) tiled: real content, not silence or noise
    bar = synth.groove(SR, bars=64, seed=0).astype(np.float32)
    cache = {}

    def get(name):
        if name not in cache:
            n = LENGTHS[name] * SR
            cache[name] = np.resize(bar, n)
        return cache[name]

    return get


def scipy_pipeline(x, sr):
    """The plain reference: 50-150 Hz band-pass, rectify, 10 ms moving average, at full rate."""
    sos = butter(4, [50, 150], btype="bandpass", fs=sr, output="sos")
    return uniform_filter1d(np.abs(sosfilt(sos, x)), int(0.01 * sr))


@pytest.mark.parametrize("length", list(LENGTHS))
def test_analyze(benchmark, realtime, peak_memory, audio, length):
    x = audio(length)
    # compile (or load from numba's cache) the kernels this length runs: a 10 s clip alone
    # would take the serial ones, and the first round would time loading the parallel ones
    logdrum.analyze(x[: 10 * SR], SR, parallel=use_parallel(x.size))
    result = benchmark.pedantic(logdrum.analyze, args=(x, SR), rounds=ROUNDS[length], iterations=1)
    assert result.holds_log_drums
    realtime(length, "logdrum.analyze", LENGTHS[length])
    tracemalloc.start()
    logdrum.analyze(x, SR)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    peak_memory(f"logdrum.analyze {length}", peak, x.nbytes)
    # flat: the analysis signal (1/22 of the samples, float64) and bounded blocks, never a
    # full-rate copy of the input
    assert peak < 0.5 * x.nbytes


@pytest.mark.parametrize("length", list(LENGTHS))
def test_analyze_serial(benchmark, realtime, audio, length):
    x = audio(length)
    logdrum.analyze(x[: 10 * SR], SR, parallel=False)
    benchmark.pedantic(logdrum.analyze, args=(x, SR), kwargs={"parallel": False}, rounds=ROUNDS[length], iterations=1)
    realtime(length, "logdrum.analyze (serial)", LENGTHS[length])


PAIRS = {"10min": 9, "1h": 3}


@pytest.mark.parametrize("length", list(LENGTHS))
def test_speedup_in_paired_rounds(benchmark, paired, audio, length):
    # The two timings above run minutes apart, and on a shared host the load moves between
    # them (the scipy pipeline's 10 min rounds vary 2-3x): here each round times the scipy
    # pipeline and analyze back to back, in alternating order, and the speed-up is taken per
    # round.
    x = audio(length)
    logdrum.analyze(x[: 10 * SR], SR, parallel=use_parallel(x.size))
    ratios = []

    def rounds():
        for i in range(PAIRS[length]):
            times = {}
            for name, fn in (("scipy", scipy_pipeline), ("analyze", logdrum.analyze))[:: 1 if i % 2 else -1]:
                start = time.perf_counter()
                fn(x, SR)
                times[name] = time.perf_counter() - start
            ratios.append((times["scipy"] / times["analyze"], times["scipy"], times["analyze"]))

    benchmark.pedantic(rounds, rounds=1, iterations=1)
    paired(length, ratios)


@pytest.mark.parametrize("length", list(LENGTHS))
def test_scipy_pipeline(benchmark, realtime, audio, length):
    x = audio(length)
    benchmark.pedantic(scipy_pipeline, args=(x, SR), rounds=ROUNDS[length] if length == "10min" else 1, iterations=1)
    realtime(length, "scipy_pipeline", LENGTHS[length])


@pytest.mark.parametrize("length", list(LENGTHS))
def test_librosa_onset_strength(benchmark, realtime, audio, length):
    librosa = pytest.importorskip("librosa")
    x = audio(length)
    benchmark.pedantic(librosa.onset.onset_strength, kwargs={"y": x, "sr": SR}, rounds=1, iterations=1)
    realtime(length, "librosa.onset_strength", LENGTHS[length])
