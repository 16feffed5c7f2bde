"""Measured training throughput, kept across restarts in ``orchestrator_state.json``.

What is timed: each optimizer step from the first micro-batch to the end of the update
(batch assembly, forward and backward passes, an out-of-memory retry, clipping, the optimizer
step). Not timed: start-up (model load, EnCodec encoding), validation, checkpoint saves, the
milestone, and the first step after each start, which pays for warm-up (allocator growth, CUDA
kernel selection) that later steps do not. Every step ends with ``.item()`` calls that wait
for the device, so the wall clock measures finished GPU work.

The totals (steps, samples, target tokens, seconds) continue from the state file when a run
resumes, so the figures are running averages over every start of the run, not reset by a spot
interruption. Steps replayed after a kill are real work and are counted again.
"""

from __future__ import annotations

import time


PLAN_KEYS = ("samples_per_epoch", "steps_per_epoch", "epochs", "batch_size", "grad_accum_steps",
             "device", "precision", "model")


class Throughput:
    """Sum up timed optimizer steps; ``summary()`` is what the state file and dashboard read.

    Parameters
    ----------
    saved : dict, optional
        The ``throughput`` entry of a previous start's state (its totals are continued).
    segment_seconds : float
        Audio length of one training sample.
    plan : dict, optional
        Fixed facts of the run stored beside the figures so the cost dashboard can project
        without the config: ``samples_per_epoch``, ``steps_per_epoch``, ``epochs``,
        ``batch_size``, ``grad_accum_steps``, ``device``, ``precision``, ``model``.
    warmup_steps : int
        Steps of each start left out of the figures.
    clock : callable
        Monotonic clock in seconds.
    """

    def __init__(self, saved=None, *, segment_seconds, plan=None, warmup_steps=1,
                 clock=time.perf_counter):
        saved = saved if isinstance(saved, dict) else {}
        self.totals = {"steps": int(saved.get("steps") or 0),
                       "samples": int(saved.get("samples") or 0),
                       "tokens": int(saved.get("tokens") or 0),
                       "seconds": float(saved.get("seconds") or 0.0)}
        self.segment_seconds = float(segment_seconds)
        # a start that fails before its plan is known still writes the previous one back
        self.plan = {k: saved[k] for k in PLAN_KEYS if k in saved}
        self.plan.update(plan or {})
        self.warmup_left = warmup_steps
        self.clock = clock
        self._t0 = None
        self.last_step_seconds = None

    def start_step(self):
        """Call before the step's first micro-batch."""
        self._t0 = self.clock()

    def end_step(self, samples, tokens):
        """Call after the optimizer update; adds the step unless it is a warm-up step."""
        if self._t0 is None:
            return
        dt = self.clock() - self._t0
        self._t0 = None
        self.last_step_seconds = dt
        if self.warmup_left > 0:
            self.warmup_left -= 1
            return
        t = self.totals
        t["steps"] += 1
        t["samples"] += int(samples)
        t["tokens"] += int(tokens)
        t["seconds"] += dt

    def summary(self):
        """Totals, rates and the plan as a JSON-ready dict (rates ``None`` before any step)."""
        t = self.totals
        timed = t["seconds"] > 0 and t["steps"] > 0
        sps = t["samples"] / t["seconds"] if timed else None
        return {**self.plan, "steps": t["steps"], "samples": t["samples"],
                "tokens": t["tokens"], "seconds": t["seconds"],
                "segment_seconds": self.segment_seconds,
                "samples_per_s": sps,
                "seconds_per_step": t["seconds"] / t["steps"] if timed else None,
                "tokens_per_s": t["tokens"] / t["seconds"] if timed else None,
                "audio_seconds_per_s": sps * self.segment_seconds if timed else None}
