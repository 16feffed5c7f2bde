"""Benchmarks run only with ``pytest benchmarks/ --benchmark`` (or pytest-benchmark's own
``--benchmark-only``); a plain ``pytest benchmarks/`` collects and skips them. At the end the ×realtime of every benchmark and the ratios against
the plain scipy pipeline are printed."""

import numpy as np
import pytest

_RESULTS = []
_MEMORY = []
_PAIRED = []


def pytest_addoption(parser):
    parser.addoption("--benchmark", action="store_true", default=False,
                     help="run the benchmarks in benchmarks/ (slow)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--benchmark") or config.getoption("--benchmark-only", default=False):
        return
    skip = pytest.mark.skip(reason="benchmarks run with: pytest benchmarks/ --benchmark")
    for item in items:
        item.add_marker(skip)


@pytest.fixture
def realtime(benchmark):
    """Call ``realtime(label, audio_seconds)`` after ``benchmark(...)`` to record ×realtime."""

    def record(group, label, audio_seconds):
        mean = benchmark.stats.stats.mean
        x = audio_seconds / mean
        benchmark.extra_info["x_realtime"] = round(x, 1)
        _RESULTS.append((group, label, mean, benchmark.stats.stats.min, x))
        return x

    return record


@pytest.fixture
def peak_memory(benchmark):
    """Call ``peak_memory(label, peak_bytes, input_bytes)`` to record and print the extra
    memory a run took (from tracemalloc) next to the size of its input."""

    def record(label, peak_bytes, input_bytes):
        benchmark.extra_info["peak_extra_memory_vs_input"] = round(peak_bytes / input_bytes, 3)
        _MEMORY.append((label, peak_bytes, input_bytes))

    return record


@pytest.fixture
def paired():
    """Call ``paired(group, rounds)`` with ``(scipy / analyze, scipy s, analyze s)`` of each
    paired round."""

    def record(group, ratios):
        _PAIRED.append((group, sorted(ratios)))

    return record


def pytest_terminal_summary(terminalreporter):
    tr = terminalreporter
    if _PAIRED:
        tr.section("analyze vs scipy in paired rounds (back to back, alternating order)")
        for group, rounds in _PAIRED:
            ratio, scipy_s, analyze_s = np.array(rounds).T
            tr.write_line(f"  {group:6s} median {np.median(ratio):5.1f}x scipy (rounds {ratio.min():.1f}-{ratio.max():.1f}x; "
                          f"median times: scipy {np.median(scipy_s) * 1e3:.0f} ms, analyze {np.median(analyze_s) * 1e3:.1f} ms, "
                          f"{len(ratio)} rounds)")
    if _MEMORY:
        tr.section("peak extra memory (tracemalloc)")
        for label, peak, size in _MEMORY:
            tr.write_line(f"  {label:28s} {peak / 2**20:8.1f} MiB  ({peak / size:.3f}x the {size / 2**20:.0f} MiB input)")
    if not _RESULTS:
        return
    tr.section("x realtime (audio seconds per wall-clock second)")
    groups = {}
    for group, label, mean, fastest, x in _RESULTS:
        groups.setdefault(group, []).append((label, mean, fastest, x))
    for group, rows in groups.items():
        base = {label: (mean, fastest) for label, mean, fastest, _ in rows}.get("scipy_pipeline")
        tr.write_line(f"{group}:  (mean time, x realtime; speed-up on the means and on the minimum times)")
        for label, mean, fastest, x in rows:
            ratio = f"  {base[0] / mean:6.1f}x scipy (min {base[1] / fastest:.1f}x)" if base else ""
            tr.write_line(f"  {label:28s} {mean * 1e3:10.1f} ms  {x:10.0f}x realtime{ratio}")
