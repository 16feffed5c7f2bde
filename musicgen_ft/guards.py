"""What stops a run, or may: stop requests, the monitor's halt, the budget, the week-5 milestone.

- Stop requests: SIGTERM/SIGINT (:class:`musicgen_ft.train.StopSignals`) and a spot
  interruption notice (:mod:`.ops.spot`) share one flag, checked between optimizer steps; it is
  also the idle watchdog's heartbeat.
- A CRITICAL divergence-monitor alert halts the run: ``diagnostics/``, ``halt.json``, exit 3.
  While ``halt.json`` exists the run refuses to start.
- The budget (:mod:`.ops.cost_tracker`): ``last.ckpt``, exit 4; later starts stop at once.
- The automatic week-5 decision (:mod:`.ops.milestone`): NO-GO writes ``halt.json``, exit 6.
"""

from __future__ import annotations

import logging

import torch

from evaluation.run_folder import HALT_FILE
from logdrum.io.atomic import write_json_atomic

from .exit_codes import ExitCode
from .model import set_train_mode
from .ops.halt import read_halt, write_halt

log = logging.getLogger("musicgen_ft")


class GuardsMixin:
    """:class:`~musicgen_ft.loop.Trainer`'s stops and the milestone hook.

    Uses the trainer's ``cfg``, ``run_dir``, ``dist``, ``alerts``, ``cost``, ``heartbeat``,
    ``milestone``, ``ckpts``, ``backend``, ``device``, ``scheduler``, ``monitor``,
    ``train_set``, its position and its ``_save_last``.
    """

    # ---- stop requests -----------------------------------------------------------------
    def should_stop(self):
        """True once SIGTERM/SIGINT or a spot notice arrived (this rank's view); a heartbeat."""
        self.heartbeat.beat()
        return bool(self._stop()) or self._notice is not None

    def _stop_now(self):
        """:meth:`should_stop` agreed by all ranks."""
        return self.dist.any(self.should_stop())

    def _signal_name(self):
        if self._notice is not None:
            return "spot interruption notice"
        return getattr(self._stop, "received", None) or "stop requested"

    def _on_spot_notice(self, notice):
        self._notice = notice
        self.alerts.emit("WARNING", "spot_interruption",
                         f"Spot interruption notice ({notice}): finishing the current step, "
                         f"then saving last.ckpt", notice=notice)

    # ---- before the start --------------------------------------------------------------
    def _refuse_start(self):
        """An exit code when an earlier halt or the budget forbids starting, else None."""
        cfg = self.cfg
        halted = read_halt(self.run_dir)
        if halted is not None:
            log.critical("Run was halted earlier (%s). Inspect alerts.jsonl, then delete %s "
                         "to continue.", halted, self.run_dir / HALT_FILE)
            return ExitCode.HALTED
        if self.cost.over_budget():
            self.alerts.emit("CRITICAL", "budget_exhausted",
                             f"Budget exhausted before start: ${self.cost.cost:.2f} of "
                             f"${cfg.budget_usd:.2f}; raise budget_usd to continue")
            return ExitCode.BUDGET
        return None

    # ---- after an optimizer step -------------------------------------------------------
    def _budget_and_milestone_due(self, step):
        """``(over_budget, milestone_due)``, agreed by all ranks."""
        return self.dist.any(
            self.cost.over_budget(),
            self.dist.is_main and self.milestone.due(step, self.cost.elapsed))

    def _stop_over_budget(self, step):
        self._save_last("budget exhausted")
        self.alerts.emit("CRITICAL", "budget_exhausted",
                         f"Budget exhausted: ${self.cost.cost:.2f} of ${self.cfg.budget_usd:.2f} "
                         f"at step {step}; stopped with last.ckpt saved", step=step)
        self.cost.update(global_step=step, epoch=self.epoch, alerts=self.alerts.count)
        return ExitCode.BUDGET

    def _milestone(self, step):
        """The automatic week-5 decision; an exit code on NO-GO, else None (training goes on)."""
        self._save_last("before the week-5 milestone")
        self.cost.update(global_step=step, epoch=self.epoch, alerts=self.alerts.count)
        verdict = None
        if self.dist.is_main:
            verdict = self.milestone.run(self.backend, self.device, step, self.alerts,
                                         on_no_go=lambda: write_halt(
                                             self.run_dir, "milestone_no_go",
                                             f"week-5 milestone decided NO-GO at step {step}; "
                                             f"see {self.milestone.folder / 'ABORT.md'}", step))
        verdict = self.dist.broadcast(verdict)
        set_train_mode(self.backend.model, True)
        if verdict != "NO-GO":
            return None
        log.critical("Stopped at step %d: week-5 NO-GO. Abort report: %s; checkpoints kept in %s",
                     step, self.milestone.folder / "ABORT.md", self.ckpts.folder)
        self.cost.update(global_step=step, epoch=self.epoch, alerts=self.alerts.count)
        return ExitCode.NO_GO

    def _halt(self, alert, step, group, start, per_cb, applied=False):
        """Stop on a CRITICAL monitor alert: diagnostics, ``halt.json``, exit code 3.

        ``applied`` means the step's update went in and its alerts were already emitted (a
        stall); a NaN step is never applied and its alert is emitted here.
        """
        level, code, message = alert
        if not applied:
            self.alerts.emit(level, code, message, step=step)
        if not self.dist.is_main:   # every rank saw the same loss; rank 0 writes the files
            return ExitCode.HALTED
        diag_dir = self.run_dir / "diagnostics"
        diag_dir.mkdir(exist_ok=True)
        diag = {"code": code, "message": message, "step": step, "epoch": self.epoch + 1,
                "batch_in_epoch": start, "applied_update": applied,
                "lr": self.scheduler.get_last_lr()[0],
                "loss_per_codebook": [float(x) for x in torch.as_tensor(per_cb).flatten()],
                "recent_losses": self.monitor.state_dict()["window"][-50:],
                "clip_ids": [[self.train_set.clip_ids[i] for i in idx] for idx in group],
                "last_checkpoint_step": self.ckpts.last_step}
        write_json_atomic(diag_dir / f"{code}_step{step}.json", diag)
        write_halt(self.run_dir, code, message, step)
        log.critical("Stopped at step %d (%s). Last good checkpoint: step %s. Diagnostics in %s",
                     step, code, diag["last_checkpoint_step"], diag_dir)
        self.cost.update(global_step=self.global_step, epoch=self.epoch, alerts=self.alerts.count)
        return ExitCode.HALTED
