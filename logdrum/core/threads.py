"""The parallel path of :func:`logdrum.analyze`: independent rows of work side by side on
Python threads.

Every kernel is compiled ``nogil``: while one runs, the GIL is free, so plain threads run
the serial kernels (and scipy's FFTs) on contiguous chunks of the rows at once, and each row
comes out exactly as it does in one pass. Numba's own parallel regions (``prange``) were the
parallel path until round 8: on a two-core machine each region's OpenMP threads spin a while
after it ends, taking the second core from the FFTs and the Python between the kernels, and
the candidates' spectra could not run in a region at all. Measured on 10 min of 44.1 kHz audio
(``benchmarks/test_detector_bench.py``; docs/detector.md, "Speed").

The chunks are as many as numba may use threads (``NUMBA_NUM_THREADS``,
:func:`numba.set_num_threads`): the calling thread takes the first, a pool made on first use,
one per process (a forked child makes its own), the others.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

__all__ = ["MIN_ROWS", "chunks", "map_chunks", "workers"]

#: Fewer rows than this per thread cost more to hand over than they take (a note's onset
#: or envelope takes some 10 us; the line's re-timed notes, about a hundred at 10 min, gain
#: from a second thread: 32 rather than 64 saved 1 ms there).
MIN_ROWS = 32

_pool = None
_pool_size = 0
_lock = threading.Lock()


def _forget_pool():
    # a forked child inherits the pool object but not its threads
    global _pool, _pool_size
    _pool, _pool_size = None, 0


os.register_at_fork(after_in_child=_forget_pool)


def workers() -> int:
    """Threads the parallel path uses: as many as numba may."""
    return max(1, numba.get_num_threads())


def _executor(n):
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size != n:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool, _pool_size = ThreadPoolExecutor(n, thread_name_prefix="logdrum"), n
        return _pool


def chunks(n: int, parts: int):
    """``parts`` contiguous ``(lo, hi)`` ranges covering ``range(n)`` (no empty ones)."""
    edges = np.linspace(0, n, max(1, parts) + 1).round().astype(np.int64)
    return [(int(lo), int(hi)) for lo, hi in zip(edges[:-1], edges[1:]) if hi > lo]


def map_chunks(fn, n: int, parallel: bool, min_rows: int = MIN_ROWS):
    """``[fn(lo, hi) for (lo, hi) in chunks(n, ...)]``, one chunk per thread where
    ``parallel`` (else one chunk), each of at least ``min_rows`` rows; ``[fn(0, 0)]`` for no
    rows, so that there is always a part to join. ``fn`` must not itself call
    :func:`map_chunks` in parallel: the pool's threads would wait on each other."""
    spans = chunks(n, min(workers(), max(1, n // max(1, min_rows))) if parallel else 1) or [(0, 0)]
    # the calling thread takes the first chunk: it would only wait, and a pool thread woken
    # for every call costs more than many a chunk takes
    if len(spans) == 1:
        return [fn(*spans[0])]
    pool = _executor(len(spans) - 1)
    rest = [pool.submit(fn, *span) for span in spans[1:]]
    return [fn(*spans[0])] + [future.result() for future in rest]
