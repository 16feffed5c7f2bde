"""GPU utilisation watch: a GPU busy less than 50 % of the time means a configuration error.

A sampler thread reads each visible GPU's utilisation every ``interval`` seconds, through NVML
(``pynvml``) when it is installed, else ``nvidia-smi``; when the average over the last
``window`` seconds is below ``min_percent`` it raises a WARNING alert ("configuration error?"),
at most once per window. A data loader that starves the GPU, a model left on the CPU or a
micro-batch far too small all show up this way.

Without a GPU (no NVML, no ``nvidia-smi``, or the run is on the CPU) the watch reports itself
off in the log and does nothing else.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
import time
from collections import deque

log = logging.getLogger("musicgen_ft")

QUERY = ["--query-gpu=index,utilization.gpu,memory.used,memory.total",
         "--format=csv,noheader,nounits"]


def _nvml_reader():
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
        handles = [pynvml.nvmlDeviceGetHandleByIndex(i)
                   for i in range(pynvml.nvmlDeviceGetCount())]
    except Exception:   # NVML present but no driver/GPU
        return None
    if not handles:
        return None

    def read():
        out = []
        for i, h in enumerate(handles):
            util = pynvml.nvmlDeviceGetUtilizationRates(h)
            mem = pynvml.nvmlDeviceGetMemoryInfo(h)
            out.append({"index": i, "util": float(util.gpu), "mem_used_mb": mem.used / 2**20,
                        "mem_total_mb": mem.total / 2**20})
        return out
    return read


def parse_nvidia_smi(text):
    """Rows of ``nvidia-smi --query-gpu=index,utilization.gpu,memory.used,memory.total``."""
    out = []
    for line in text.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 4:
            raise ValueError(f"unexpected nvidia-smi line: {line!r}")
        out.append({"index": int(parts[0]), "util": float(parts[1]),
                    "mem_used_mb": float(parts[2]), "mem_total_mb": float(parts[3])})
    return out


def _smi_reader():
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None

    def read():
        done = subprocess.run([exe, *QUERY], capture_output=True, text=True, timeout=20)
        if done.returncode != 0:
            raise OSError(f"nvidia-smi exit {done.returncode}: {done.stderr.strip()[:200]}")
        return parse_nvidia_smi(done.stdout)
    try:
        read()
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None   # the tool exists but no GPU answers
    return read


def find_reader():
    """``(name, read)`` for the first way to read GPU utilisation that works, else ``(None, None)``."""
    for name, make in (("NVML", _nvml_reader), ("nvidia-smi", _smi_reader)):
        read = make()
        if read is not None:
            return name, read
    return None, None


class GpuWatch:
    """Average GPU utilisation over a window and warn when it is low.

    Parameters
    ----------
    alerts : AlertLog
    min_percent : float
    window : float
        Seconds the average covers; nothing is judged before a full window.
    interval : float
        Seconds between samples.
    reader : callable, optional
        ``reader() -> list of {"index", "util", ...}``; default :func:`find_reader`.
    """

    def __init__(self, alerts, min_percent, window, interval, reader=None, source=None):
        self.alerts, self.min_percent = alerts, min_percent
        self.window, self.interval = window, interval
        if reader is None:
            source, reader = find_reader()
        self.source, self.read = source, reader
        self.samples = deque()           # (time, {index: util})
        self.warnings = 0
        self._last_warning = None
        self._stop = threading.Event()
        self._thread = None

    @property
    def on(self):
        return self.read is not None

    def start(self):
        if not self.on:
            log.info("GPU utilisation watch: off (no NVML and no working nvidia-smi)")
            return self
        log.info("GPU utilisation watch: on via %s (WARNING below %g%% over %gs)", self.source,
                 self.min_percent, self.window)
        self._thread = threading.Thread(target=self._run, name="gpu-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 25)

    def sample(self, now=None):
        """Take one sample and judge the window; returns the averages per GPU, or None."""
        now = time.monotonic() if now is None else now
        try:
            rows = self.read()
        except Exception as exc:   # a hiccup of the driver tool is not worth stopping for
            log.debug("GPU utilisation read failed: %s", exc)
            return None
        self.samples.append((now, {r["index"]: r["util"] for r in rows}))
        while self.samples and self.samples[0][0] < now - self.window:
            self.samples.popleft()
        return self.judge(now)

    def judge(self, now):
        """Averages per GPU once a full window is covered; a WARNING when one is low."""
        if not self.samples or now - self.samples[0][0] < self.window * 0.9:
            return None
        per_gpu = {}
        for _, utils in self.samples:
            for index, util in utils.items():
                per_gpu.setdefault(index, []).append(util)
        means = {i: sum(v) / len(v) for i, v in per_gpu.items()}
        low = {i: m for i, m in means.items() if m < self.min_percent}
        due = self._last_warning is None or now - self._last_warning >= self.window
        if low and due:
            self._last_warning = now
            self.warnings += 1
            text = ", ".join(f"GPU {i} {m:.0f}%" for i, m in sorted(low.items()))
            self.alerts.emit("WARNING", "low_gpu_utilization",
                             f"GPU utilisation below {self.min_percent:g}% over the last "
                             f"{self.window:g}s ({text}): configuration error? (data loading, "
                             f"micro-batch size, model on CPU)",
                             utilization={str(i): round(m, 1) for i, m in means.items()})
        return means

    def _run(self):
        while not self._stop.wait(self.interval):
            self.sample()
