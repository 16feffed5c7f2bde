"""The week-5 milestone, automatic: generate, measure authenticity, decide, report, stop on NO-GO.

The success criteria (:mod:`evaluation.criteria`) are judged at week 5 (840 h of machine time):
authenticity >= 35%, best validation loss <= 3.5, cost within $600, training stable. When the run reaches
``milestone_hours`` of machine time (or optimizer step ``milestone_step``), the trainer:

1. writes ``last.ckpt`` (the checkpoint is kept, whatever the verdict);
2. generates ``milestone_samples`` clips of ``milestone_sample_seconds`` with the current model
   (transformers' ``generate``, sampling, classifier-free guidance ``milestone_guidance_scale``)
   from the fixed prompt set ``milestone_prompts`` (cycled), seeded by ``seed``, into
   ``<run_dir>/milestone/samples/``; the training RNG states are restored afterwards, so the
   milestone does not change the rest of the run;
3. measures authenticity and decides with :func:`evaluation.build_report` (thresholds
   ``milestone_min_authenticity`` and ``milestone_max_val_loss``; ``milestone_strict`` makes a
   missing input NO-GO), writing ``<run_dir>/milestone/report/`` (``report.md``,
   ``decision.json``, plots);
4. raises an alert: INFO on GO, WARNING on CONDITIONAL-GO (training goes on), CRITICAL on
   NO-GO, and records the verdict in ``<run_dir>/milestone/decision.json`` (so a resumed run
   does not repeat the milestone; written last, so a run killed during the milestone repeats
   it at the same step). On NO-GO it first writes ``milestone/ABORT.md`` and ``halt.json``, and
   the run stops (exit code 6); the checkpoints stay.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import torch

from evaluation.run_folder import ALERTS_FILE

from ..checkpoint import capture_rng, restore_rng
from ..faults import atomic_write, kill_point, write_json_atomic

log = logging.getLogger("musicgen_ft")

FOLDER = "milestone"
GENERATE_BATCH = 8


class Milestone:
    """When the milestone is due, and running it.

    Parameters
    ----------
    cfg : TrainConfig
    """

    def __init__(self, cfg):
        self.cfg = cfg
        self.folder = cfg.run_path / FOLDER
        self.enabled = cfg.milestone_hours is not None or cfg.milestone_step is not None

    @property
    def done(self):
        return (self.folder / "decision.json").exists()

    def due(self, step, elapsed_s):
        """True when the milestone has not run yet and its time or step has come."""
        cfg = self.cfg
        if not self.enabled or self.done:
            return False
        return bool((cfg.milestone_step is not None and step >= cfg.milestone_step)
                    or (cfg.milestone_hours is not None
                        and elapsed_s >= cfg.milestone_hours * 3600.0))

    # ---- generation --------------------------------------------------------------------
    @torch.no_grad()
    def generate(self, backend, device):
        """Write the samples; returns their folder."""
        import soundfile as sf

        cfg = self.cfg
        out = self.folder / "samples"
        out.mkdir(parents=True, exist_ok=True)
        for old in out.glob("*.wav"):       # an earlier, interrupted attempt
            old.unlink()
        model = backend.model
        was_training = model.training
        model.eval()
        rng = capture_rng()
        torch.manual_seed(cfg.seed)
        try:
            audio_cfg = model.config.audio_encoder
            frame_rate = audio_cfg.sampling_rate / int(np.prod(audio_cfg.upsampling_ratios))
            tokens = int(round(cfg.milestone_sample_seconds * frame_rate)) + backend.num_codebooks
            prompts = [cfg.milestone_prompts[i % len(cfg.milestone_prompts)]
                       for i in range(cfg.milestone_samples)]
            index = []
            for first in range(0, len(prompts), GENERATE_BATCH):
                chunk = prompts[first:first + GENERATE_BATCH]
                text = backend.tokenizer(chunk, padding=True, return_tensors="pt")
                wav = model.generate(input_ids=text["input_ids"].to(device),
                                     attention_mask=text["attention_mask"].to(device),
                                     do_sample=True, guidance_scale=cfg.milestone_guidance_scale,
                                     max_new_tokens=tokens)
                wav = wav.float().cpu().numpy()[:, 0]
                for j, clip in enumerate(wav):
                    name = f"sample_{first + j:03d}.wav"
                    sf.write(out / name, clip, backend.sampling_rate, subtype="FLOAT")
                    kill_point("milestone:generate")
                    index.append({"file": name, "prompt": chunk[j]})
            write_json_atomic(out / "prompts.json", index)
        finally:
            restore_rng(rng)
            model.train(was_training)
            if hasattr(model, "text_encoder"):
                model.text_encoder.eval()
                model.audio_encoder.eval()
        return out

    # ---- decision ----------------------------------------------------------------------
    def decide(self, samples, step):
        """Measure, decide and write the report; returns the summary dict."""
        import evaluation
        from evaluation.decision import CONDITIONAL_GO, NO_GO

        cfg = self.cfg
        (cfg.run_path / ALERTS_FILE).touch()   # no alert file means no alert was raised
        thresholds = evaluation.Thresholds(
            min_authenticity=cfg.milestone_min_authenticity,
            max_val_loss=cfg.milestone_max_val_loss, budget=cfg.budget_usd,
            on_missing=NO_GO if cfg.milestone_strict else CONDITIONAL_GO)
        rep = evaluation.build_report(cfg.run_dir, self.folder / "report", samples=samples,
                                      thresholds=thresholds, budget=cfg.budget_usd,
                                      spot_rate=cfg.spot_rate_usd_per_hour)
        auth = rep.candidate
        summary = {"verdict": rep.decision.verdict, "step": step, "time": time.time(),
                   "authenticity": auth.rate, "authenticity_ci": [auth.ci_low, auth.ci_high],
                   "clips": auth.n, "best_val_loss": rep.run.best_val_loss,
                   "cost": None if rep.cost is None else rep.cost.cost,
                   "reasons": [str(r) for r in rep.decision.reasons],
                   "report": str(Path(rep.markdown_path))}
        return rep, summary

    def run(self, backend, device, step, alerts, on_no_go=None):
        """Generate, decide, report and alert; returns the verdict string.

        ``decision.json``, which marks the milestone done, is written last: a kill before it
        repeats the milestone (the alert may then be raised twice, never lost), and on NO-GO
        ``on_no_go`` (the caller's ``halt.json``) runs before it, so a restart cannot train
        on past a NO-GO.
        """
        log.info("Week-5 milestone at step %d: generating %d samples of %gs", step,
                 self.cfg.milestone_samples, self.cfg.milestone_sample_seconds)
        samples = self.generate(backend, device)
        rep, summary = self.decide(samples, step)
        kill_point("milestone:report")
        verdict = summary["verdict"]
        log.info("Milestone decision: %s (authenticity %.1f%% of %d clips)\n%s", verdict,
                 100 * summary["authenticity"], summary["clips"], rep.decision.format())
        if verdict == "NO-GO":
            self._abort_report(rep, summary)
            if on_no_go is not None:
                on_no_go()
        level, code = {"GO": ("INFO", "milestone_go"),
                       "CONDITIONAL-GO": ("WARNING", "milestone_conditional_go")}.get(
                           verdict, ("CRITICAL", "milestone_no_go"))
        action = ("training stops; checkpoints kept" if verdict == "NO-GO"
                  else "training continues")
        alerts.emit(level, code, f"Week-5 milestone: {verdict} at step {step}, authenticity "
                    f"{summary['authenticity']:.1%} ({summary['clips']} clips); {action}. "
                    f"Report: {summary['report']}", step=step, verdict=verdict)
        write_json_atomic(self.folder / "decision.json", summary)
        return verdict

    def _abort_report(self, rep, summary):
        cfg = self.cfg
        failed = [r for r in rep.decision.reasons if r.status in ("FAIL", "MISSING")]
        lines = ["# Run aborted: week-5 NO-GO", "",
                 f"Run `{cfg.run_dir}` stopped at step {summary['step']} because the automatic "
                 f"milestone decided **NO-GO** (the plan for NO-GO: abort, keep this report, escalate).", "",
                 "## Why", ""] + [f"- {r}" for r in failed] + [
                 "", "## What is kept", "",
                 f"- `{cfg.run_dir}/checkpoints/` (last.ckpt at this step, best_model.pt, "
                 "epoch checkpoints)",
                 f"- the samples in `{FOLDER}/samples/` and the full report "
                 f"`{FOLDER}/report/report.md`", "",
                 "## To continue anyway", "",
                 "Delete `halt.json` (and `milestone/decision.json` to decide again later) and "
                 "run the same command; the run resumes from last.ckpt.", ""]
        with atomic_write(self.folder / "ABORT.md") as f:
            f.write("\n".join(lines))
