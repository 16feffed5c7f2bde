"""Divergence monitor: the early-divergence alert table as a small object.

| Condition                                        | Level    | Action            |
|--------------------------------------------------|----------|-------------------|
| loss NaN or Inf                                  | CRITICAL | stop, diagnostics |
| loss > ``alert_high_loss`` after step N          | WARNING  | keep going        |
| no improvement, or stuck >= ``stall_loss``,      | CRITICAL | stop              |
|   for ``stall_steps`` steps                      |          |                   |
| loss >= ``spike_factor`` x running mean          | WARNING  | keep going        |

The monitor watches the loss of each optimizer step, never the gradient norm: with fp16 an
infinite gradient norm is normal and GradScaler skips that step. Its state is part of the
checkpoint so a resumed run alerts exactly as an uninterrupted one would.
"""

from __future__ import annotations

import math
from collections import deque


class DivergenceMonitor:
    """Check each step's loss against the alert table.

    Parameters
    ----------
    cfg : TrainConfig
        Supplies ``alert_high_loss``, ``alert_high_loss_after_step``, ``stall_steps``,
        ``stall_loss``, ``stall_min_improvement`` and ``spike_factor``.
    """

    EMA = 0.05          # running mean over roughly the last 20 steps
    SPIKE_WARMUP = 20   # the running mean means little before this many steps

    def __init__(self, cfg):
        self.cfg = cfg
        self.ema = None
        self.n = 0
        self.best = math.inf           # best windowed mean so far
        self.best_step = 0
        self.window = deque(maxlen=cfg.stall_steps)

    def check(self, step, loss):
        """Alerts raised by this step's loss.

        Parameters
        ----------
        step : int
            Global optimizer step (1-based) the loss belongs to.
        loss : float
            Mean training loss of that step.

        Returns
        -------
        list of (level, code, message)
            Empty when all is well. A CRITICAL entry means: stop the run.
        """
        cfg = self.cfg
        if not math.isfinite(loss):
            return [("CRITICAL", "nan_loss", f"Loss is {loss} at step {step}: training diverged")]
        alerts = []
        if loss > cfg.alert_high_loss and step > cfg.alert_high_loss_after_step:
            alerts.append(("WARNING", "high_loss",
                           f"Loss unusually high: {loss:.3f} > {cfg.alert_high_loss} at step "
                           f"{step}; may need a lower learning rate"))
        if (self.ema is not None and self.n >= self.SPIKE_WARMUP
                and loss >= cfg.spike_factor * self.ema):
            alerts.append(("WARNING", "loss_spike",
                           f"Loss spike: {loss:.3f} is {loss / self.ema:.1f}x the running mean "
                           f"{self.ema:.3f} at step {step}"))
        self.ema = loss if self.ema is None else (1 - self.EMA) * self.ema + self.EMA * loss
        self.n += 1
        self.window.append(loss)
        alerts.extend(self._stall(step))
        return alerts

    def _stall(self, step):
        cfg = self.cfg
        if len(self.window) < cfg.stall_steps:
            return []
        mean = sum(self.window) / len(self.window)
        if min(self.window) >= cfg.stall_loss:
            return [("CRITICAL", "loss_stuck",
                     f"Loss stuck at or above {cfg.stall_loss} for {cfg.stall_steps} steps "
                     f"(min {min(self.window):.3f}) at step {step}")]
        if mean < self.best - cfg.stall_min_improvement:
            self.best, self.best_step = mean, step
            return []
        if step - self.best_step >= cfg.stall_steps:
            # Reset the reference so the alert fires once per stalled stretch, not every step.
            self.best, self.best_step = mean, step
            return [("CRITICAL", "loss_not_improving",
                     f"Loss not improving: mean over the last {cfg.stall_steps} steps is "
                     f"{mean:.3f}, no better than {cfg.stall_steps} steps ago (step {step})")]
        return []

    def state_dict(self):
        """Everything needed to continue monitoring after a restart."""
        return {"ema": self.ema, "n": self.n, "best": self.best, "best_step": self.best_step,
                "window": list(self.window)}

    def load_state_dict(self, state):
        """Restore :meth:`state_dict` output."""
        self.ema, self.n = state["ema"], state["n"]
        self.best, self.best_step = state["best"], state["best_step"]
        self.window = deque(state["window"], maxlen=self.cfg.stall_steps)
