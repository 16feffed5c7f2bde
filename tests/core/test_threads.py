"""The parallel path's thread pool (logdrum.core.threads): chunks that cover the rows once and
in order, kernels that really run side by side, and a forked child that analyses on its own."""

import multiprocessing
import threading
import time

import numba
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import logdrum
from logdrum import synth
from logdrum.core import threads


@given(n=st.integers(0, 10_000), parts=st.integers(1, 16))
def test_chunks_cover_every_row_once_in_order(n, parts):
    spans = threads.chunks(n, parts)
    rows = [i for lo, hi in spans for i in range(lo, hi)]
    assert rows == list(range(n))
    assert len(spans) <= parts and all(hi > lo for lo, hi in spans)
    if n >= parts:  # as even as integers allow
        sizes = [hi - lo for lo, hi in spans]
        assert max(sizes) - min(sizes) <= 1 and len(spans) == parts


def test_map_chunks_keeps_the_order_and_the_minimum_chunk():
    got = threads.map_chunks(lambda lo, hi: list(range(lo, hi)), 1000, parallel=True)
    assert [i for part in got for i in part] == list(range(1000))
    assert len(got) == min(threads.workers(), 1000 // threads.MIN_ROWS)
    # too few rows to hand over, or not parallel: one chunk, run here
    assert len(threads.map_chunks(lambda lo, hi: (lo, hi), threads.MIN_ROWS, parallel=True)) == 1
    assert threads.map_chunks(lambda lo, hi: (lo, hi), 1000, parallel=False) == [(0, 1000)]
    assert threads.map_chunks(lambda lo, hi: (lo, hi), 0, parallel=True) == [(0, 0)]  # a part to join


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two threads")
def test_chunks_run_side_by_side():
    # each chunk waits until both have started: run one after the other, they never would
    barrier = threading.Barrier(2, timeout=10)
    previous = numba.get_num_threads()
    numba.set_num_threads(2)
    try:
        got = threads.map_chunks(lambda lo, hi: barrier.wait(), 2 * threads.MIN_ROWS, parallel=True)
    finally:
        numba.set_num_threads(previous)
    assert sorted(got) == [0, 1]


def test_the_pool_follows_numbas_thread_count():
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        assert threads.workers() == 1
        assert len(threads.map_chunks(lambda lo, hi: None, 10_000, parallel=True)) == 1
    finally:
        numba.set_num_threads(previous)


def _analyse_in_child(queue):
    x = synth.groove(16000, bars=4, seed=1)
    queue.put(logdrum.analyze(x, 16000, parallel=True).score)


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_a_forked_child_analyses_on_a_pool_of_its_own():
    # the parent's pool has threads; a forked child inherits the object but not the threads
    x = synth.groove(16000, bars=4, seed=1)
    expected = logdrum.analyze(x, 16000, parallel=True).score
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_analyse_in_child, args=(queue,))
    start = time.monotonic()
    child.start()
    child.join(timeout=60)
    if child.is_alive():
        child.kill()
        pytest.fail("the forked child hung on the parent's pool")
    assert child.exitcode == 0 and queue.get(timeout=5) == expected
    assert time.monotonic() - start < 60
