"""Run one function over many files: in parallel, resumable, on local processes or on Dask.

:func:`run_batch` is the engine behind ``logdrum scan``, ``build-dataset`` and ``validate``.

Conventions
-----------
- The work function takes a path and returns a dict of plain values (numbers, strings,
  ``None``). It runs in another process (or on another machine with Dask), so it must be a
  module-level function. If it raises, the file gets a row with the ``error`` column set and
  the batch goes on; if it kills its worker process (a crash in a decoder, out of memory), the
  files that were in flight are retried one at a time and only the culprit gets an error row.
- The results file is an append-only CSV keyed by ``path``, ``size`` and ``mtime_ns``. Only
  the parent process writes it, one whole line per row, flushed at once, so an interrupt
  (Ctrl+C, ``kill -9``, a lost Spot instance) loses at most the rows still in flight. On the next
  run a torn last line is cut off, every row whose key still matches the file on disk counts as
  done, and only the rest is scored: nothing is lost, nothing is written twice. A file that
  changed (new size or mtime) is scored again.
- When a run completes, the results file is rewritten once (atomically) with one row per path,
  sorted by path, so an interrupted-and-resumed scan ends with the same file as an
  uninterrupted one.
"""

from __future__ import annotations

import collections
import csv
import io
import os
import signal
import sys
import threading
import time
import uuid

from ..io.atomic import atomic_write

__all__ = ["run_batch", "file_key", "ResultsFile", "KEY_FIELDS"]

#: Columns that identify one version of one file.
KEY_FIELDS = ("path", "size", "mtime_ns")


def file_key(path):
    """``(path, size, mtime_ns)`` as strings; size and mtime are empty for a missing file."""
    try:
        st = os.stat(path)
    except OSError:
        return (str(path), "", "")
    return (str(path), str(st.st_size), str(st.st_mtime_ns))


def _format(value) -> str:
    # One physical line per row: the torn-line repair relies on it.
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float):
        return format(value, ".6g")
    return str(value).replace("\r", " ").replace("\n", " ")


class ResultsFile:
    """The append-only, resumable results CSV of a batch.

    Parameters
    ----------
    path : str or os.PathLike or None
        ``None`` keeps the rows in memory only.
    fields : sequence of str
        Result columns (after :data:`KEY_FIELDS`); ``error`` is added when missing.
    """

    def __init__(self, path, fields):
        self.path = None if path is None else os.fspath(path)
        fields = list(fields) + ([] if "error" in fields else ["error"])
        self.header = list(KEY_FIELDS) + fields
        self.rows = {}  # path -> row dict (strings), last row written wins
        self._fh = None
        self._last_sync = 0.0

    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc):
        self.close()

    def open(self):
        import fcntl

        if self.path is None:
            return self
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        fh = open(self.path, "a+b")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise RuntimeError(f"{self.path} is being written by another running batch") from None
        fh.seek(0)
        data = fh.read()
        if data and not data.endswith(b"\n"):
            # a kill in the middle of a write: drop the torn row, it is scored again
            data = data[: data.rfind(b"\n") + 1]
            fh.truncate(len(data))
        self._fh = fh
        if not data:
            self._write_line(self.header)
            return self
        reader = csv.reader(io.StringIO(data.decode("utf-8")))
        header = next(reader)
        if header != self.header:
            fh.close()
            self._fh = None
            raise ValueError(f"{self.path} has other columns than this job writes "
                             f"({','.join(header[:6])}...); choose another output file")
        for values in reader:
            if len(values) == len(header):
                row = dict(zip(header, values))
                self.rows[row["path"]] = row
        return self

    def is_done(self, key) -> bool:
        row = self.rows.get(key[0])
        return row is not None and (row["size"], row["mtime_ns"]) == key[1:]

    def append(self, key, result: dict) -> dict:
        row = dict(zip(KEY_FIELDS, key))
        for name in self.header[len(KEY_FIELDS):]:
            row[name] = _format(result.get(name))
        self._write_line([row[h] for h in self.header])
        self.rows[row["path"]] = row
        return row

    def _write_line(self, values):
        if self._fh is None:
            return
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(values)
        self._fh.write(buf.getvalue().encode("utf-8"))  # one write per row
        self._fh.flush()
        now = time.monotonic()
        if now - self._last_sync > 1.0:  # survive a machine crash too, at most 1 s lost
            os.fsync(self._fh.fileno())
            self._last_sync = now

    def compact(self):
        """Rewrite the file atomically: one row per path, sorted by path."""
        if self.path is None:
            return
        with atomic_write(self.path, newline="") as out:
            w = csv.writer(out, lineterminator="\n")
            w.writerow(self.header)
            for p in sorted(self.rows):
                w.writerow([self.rows[p][h] for h in self.header])

    def close(self):
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()  # closing releases the lock
            self._fh = None


def _call(func, path):
    # Runs in the worker: a bad file must come back as a row, never as an exception.
    try:
        return func(path)
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}


def _call_in_worker(func, path):
    # A worker a core already: a long file's analysis must not start threads of its own
    # (logdrum.core.frontend.use_parallel reads numba's count, which is per calling thread).
    import numba

    numba.set_num_threads(1)
    return _call(func, path)


def _worker_init():
    # Ctrl+C is the parent's to handle; workers finishing their file quietly is enough.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class _StopOnCtrlC:
    """Turns the first Ctrl+C into a request the pool loop honours between two waits.

    A KeyboardInterrupt raised at a random point of the main thread can land inside the
    executor's own bookkeeping while it holds a queue's lock; the executor's manager thread
    then blocks on that lock for ever, and so does the interpreter's exit, which joins it
    (seen about once in 50 interrupted scans). A second Ctrl+C raises at once, as usual.
    Outside the main thread (no signal handler can be set there) nothing changes.
    """

    def __init__(self):
        self.requested = False
        self._previous = None
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum, frame):
        self.requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def restore(self):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


def _run_local(todo, func, workers, emit):
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool
    import multiprocessing

    # spawn, not fork: numba's thread pools and tqdm's monitor thread are not fork-safe
    ctx = multiprocessing.get_context("spawn")

    def new_pool():
        return ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init)

    queue, isolate = collections.deque(todo), collections.deque()
    pending, alone = {}, None
    stop = _StopOnCtrlC()
    pool = new_pool()
    try:
        while (queue or isolate or pending) and not stop.requested:
            if not pending:
                alone = None  # the last suspect, if any, has its row
            if isolate or alone is not None:  # after a worker died: suspects one at a time
                if not pending:
                    alone = isolate.popleft()
                    pending[pool.submit(_call_in_worker, func, alone)] = alone
            else:
                while queue and len(pending) < 4 * workers:
                    try:
                        fut = pool.submit(_call_in_worker, func, queue[0])
                    except BrokenProcessPool:  # noticed below through the pending futures
                        break
                    pending[fut] = queue.popleft()
            done, _ = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
            broken = []
            for fut in done:
                path = pending.pop(fut)
                try:
                    emit(path, fut.result())
                except BrokenProcessPool:
                    broken.append(path)
            if broken:
                broken += list(pending.values())
                pending.clear()
                pool.shutdown(wait=True)
                pool = new_pool()
                if broken == [alone]:
                    emit(alone, {"error": "the worker process died on this file (decoder crash or out of memory)"})
                else:
                    isolate.extend(broken)
    finally:
        stop.restore()
        pool.shutdown(wait=False, cancel_futures=True)
    if stop.requested:
        raise KeyboardInterrupt


def _run_dask(todo, func, address, workers, emit):
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if address == "local":
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    else:
        client = Client(address)
    try:
        slots = max(1, sum(client.nthreads().values()))
        tag = uuid.uuid4().hex[:8]
        queue = collections.deque(enumerate(todo))
        by_key = {}

        def submit():
            i, p = queue.popleft()
            fut = client.submit(_call_in_worker, func, p, key=f"logdrum-{tag}-{i}", pure=False)
            by_key[fut.key] = p
            return fut

        # a bounded window keeps scheduler memory flat for 100k files
        ac = as_completed([submit() for _ in range(min(len(queue), 4 * slots))])
        for fut in ac:
            path = by_key.pop(fut.key)
            try:
                result = fut.result()
            except Exception as exc:  # KilledWorker and other cluster failures
                result = {"error": f"dask: {type(exc).__name__}: {exc}"}
            fut.release()
            emit(path, result)
            if queue:
                ac.add(submit())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_batch(paths, func, *, results=None, fields=(), workers=None, dask=None,
              progress=True, desc="scan"):
    """Apply ``func`` to every path, in parallel, resuming from ``results``.

    Parameters
    ----------
    paths : sequence of str
        Files to process; each path is processed once even if listed twice.
    func : callable
        Module-level ``func(path) -> dict``; see the module docstring.
    results : str or os.PathLike, optional
        The append-only results CSV. Without it nothing is saved or resumed.
    fields : sequence of str
        The result columns to keep (an ``error`` column is always added).
    workers : int, optional
        Worker processes; default all cores. ``1`` runs in this process (no pool).
    dask : str, optional
        ``"local"`` for a local Dask cluster of ``workers`` processes, or a scheduler address
        such as ``"tcp://10.0.0.5:8786"`` (the workers must see the files at the same paths).
    progress : bool
        Show a tqdm progress bar with rate and ETA on stderr.
    desc : str
        Progress bar label.

    Returns
    -------
    list of dict
        One row per unique path, in input order, values as strings (as in the CSV).

    Raises
    ------
    KeyboardInterrupt
        After saving every finished row; the next run resumes.
    """
    from tqdm import tqdm

    workers = int(workers or os.cpu_count() or 1)
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    paths = list(dict.fromkeys(str(p) for p in paths))
    keys = {p: file_key(p) for p in paths}
    store = ResultsFile(results, fields).open()
    try:
        todo = [p for p in paths if not store.is_done(keys[p])]
        if results is not None and len(todo) < len(paths):
            print(f"{desc}: {len(paths) - len(todo)} of {len(paths)} files already done in "
                  f"{results}, {len(todo)} to go", file=sys.stderr)
        bar = tqdm(total=len(todo), desc=desc, unit="file", disable=not (progress and todo),
                   smoothing=0.05, mininterval=0.5)
        errors = 0

        def emit(path, result):
            nonlocal errors
            row = store.append(keys[path], result)
            errors += bool(row["error"])
            bar.update(1)
            if errors:
                bar.set_postfix(errors=errors, refresh=False)

        try:
            if not todo:
                pass
            elif dask:
                _run_dask(todo, func, dask, workers, emit)
            elif workers == 1:
                for p in todo:
                    emit(p, _call(func, p))
            else:
                _run_local(todo, func, min(workers, len(todo)), emit)
        finally:
            bar.close()
        store.compact()
        return [store.rows[p] for p in paths]
    finally:
        store.close()
