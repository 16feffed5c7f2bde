"""Work functions for the batch engine: one really kills its worker process on some files."""

import os


def crash_on_marker(path):
    if "crash" in os.path.basename(path):
        os._exit(3)  # what a segfault in a decoder or the OOM killer looks like to the pool
    return {"value": os.path.getsize(path)}


def numba_threads(path):
    """How many threads the detector's parallel kernels would get in this worker."""
    import numba

    from logdrum.core.frontend import PARALLEL_MIN_SAMPLES, use_parallel

    return {"value": numba.get_num_threads(), "parallel": use_parallel(PARALLEL_MIN_SAMPLES)}


def crash_on_marker_slowly(path):
    """:func:`crash_on_marker`, the worker dying only after the engine has waited more than once."""
    import time

    time.sleep(0.6)
    return crash_on_marker(path)
