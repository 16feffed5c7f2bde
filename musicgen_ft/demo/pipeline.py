"""The job: the six stages in order, each checked, with the summary written at the end.

See :mod:`musicgen_ft.demo` for what each stage does.
"""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from evaluation.run_folder import ALERTS_FILE, CHECKPOINTS_DIR, METRICS_FILE, SPOT_RATE_KEY, STATE_FILE, read_jsonl
from logdrum.dataset.mtat import MTAT_TAGS
from logdrum.io.atomic import write_json_atomic

from .audio import _band_peak_db, _codec_round_trip, _generate, _write_wavs
from .common import FULL, DemoError, _Clock, _prepare_out, _rel, _say, _stage
from .corpus import write_mtat_corpus
from .explain import say_the_end
from .training import _RESUMED, _run_training, kill_step, plan_training


@dataclass
class _Job:
    """What the stages share: the settings, and what each stage hands to the next."""

    out: Path
    size: object
    workers: int
    progress: bool
    seed: int
    clock: _Clock = field(default_factory=_Clock)
    summary: dict = field(default_factory=dict)
    # set by the stages, in order
    mtat: Path = None
    clips: list = None
    dataset: Path = None
    meta_csv: Path = None
    rows: list = None
    build: dict = None
    hits: int = 0
    run_dir: Path = None
    config_path: Path = None
    cfg: dict = None
    state: dict = None
    last_step: int = 0
    chance: float = math.log(64)
    samples: dict = None
    audio: dict = None
    sr: int = 0
    train_paths: list = None
    round_trip: list = None
    rep: object = None          # the evaluation.Report
    ceiling: object = None      # authenticity of the training clips
    codec: object = None        # authenticity of the training clips through the codec
    band: dict = None


def run_demo(out="demo_out", size=FULL, *, workers=None, progress=None, seed=0):
    """Run the whole job; returns the summary dict (also written to ``out/demo_summary.json``).

    Raises
    ------
    DemoError
        When a stage fails; the message says which and why.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    j = _Job(out=_prepare_out(out), size=size,
             workers=workers or min(2, os.cpu_count() or 1),
             progress=sys.stderr.isatty() if progress is None else progress, seed=seed)
    j.summary = {"size": asdict(size), "out": str(j.out.resolve()), "stages_s": {}}
    for key, stage in (("corpus", _corpus), ("dataset", _dataset), ("validate", _validate),
                       ("training", _training), ("generate", _generate_samples),
                       ("report", _report)):
        t = time.monotonic()
        stage(j)
        j.summary["stages_s"][key] = round(time.monotonic() - t, 1)
    j.summary["wall_s"] = round(j.clock.elapsed(), 1)
    write_json_atomic(j.out / "demo_summary.json", j.summary)
    say_the_end(j.clock, j.out, j.summary, mtat=j.mtat, meta_csv=j.meta_csv,
                config_path=j.config_path, run_dir=j.run_dir, samples=j.samples, rep=j.rep,
                figure=j.summary["report"]["detections_png"], rows=j.rows, hits=j.hits, s=j.build,
                last_step=j.last_step, state=j.state, chance=j.chance, ceiling=j.ceiling,
                codec=j.codec, band=j.band)
    return j.summary


def _corpus(j):
    _stage(j.clock, 1, "Synthesising a MagnaTagATune-layout corpus")
    j.mtat = j.out / "mtat"
    j.clips = write_mtat_corpus(j.mtat, j.size)
    n_kind = {k: sum(c["kind"] == k for c in j.clips)
              for k in ("log drums", "no log drums", "empty", "truncated")}
    _say(f"  {len(j.clips)} clips of {j.size.clip_seconds:g} s, 16 kHz mono mp3, in {_rel(j.mtat)}/0..f; "
         f"annotations_final.csv with {len(MTAT_TAGS)} tag columns")
    _say(f"  {n_kind['log drums']} with a log-drum line, {n_kind['no log drums']} without "
         f"(the amapiano-looking tags went to these), 1 empty and 1 truncated (CBR, cut short) file")
    j.summary["corpus"] = {"root": str(j.mtat), "clips": len(j.clips), **n_kind}


def _dataset(j):
    from logdrum.dataset.build import build_dataset
    from logdrum.dataset.layout import METADATA_FILE, SCAN_RESULTS_FILE

    size, clips = j.size, j.clips
    _stage(j.clock, 2, f"Building the dataset: scoring every clip, keeping the top {size.log_drum_clips}")
    kind_of = {c["mp3_path"]: c["kind"] for c in clips}
    j.dataset = j.out / "dataset"
    s = j.build = build_dataset(j.mtat, j.dataset, top=size.log_drum_clips, audio="copy",
                                workers=j.workers, progress=j.progress)
    j.meta_csv = j.dataset / METADATA_FILE
    with open(j.meta_csv, newline="", encoding="utf-8") as fh:
        rows = j.rows = list(csv.DictReader(fh))
    with open(j.dataset / SCAN_RESULTS_FILE, newline="", encoding="utf-8") as fh:
        scan_rows = {os.path.relpath(r["path"], j.mtat): r for r in csv.DictReader(fh)}
    j.hits = sum(kind_of[r["mtat_path"]] == "log drums" for r in rows)
    _say(f"  scored {s['scored']} clips, {s['failed']} failed to decode, {s['wrong_duration']} "
         f"excluded for their length (expected {s['expected_duration']:.2f} s +/- "
         f"{s['duration_tolerance'] * 100:g}%, {s['expected_duration_source']}); all listed in "
         f"summary.json; selected {s['selected']} (score >= {s['score_cut']:.3f})")
    for f in s["failed_clips"] + s["wrong_duration_clips"]:
        _say(f"    excluded {f['mtat_path']}: {f['error']}")
    _say(f"  {'rank':>4} {'score':>6} {'audio':>6} {'tags':>5} {'events':>6}  synthesised as")
    for i, r in enumerate(rows, 1):
        _say(f"  {i:4d} {float(r['amapiano_proxy_score']):6.3f} {float(r['audio_score']):6.3f} "
             f"{float(r['tag_prior']):5.2f} {int(r['n_events']):6d}  {kind_of[r['mtat_path']]}")
    selected = {r["mtat_path"] for r in rows}
    left_out = [c for c in clips if c["kind"] == "log drums" and c["mp3_path"] not in selected]
    best_other = max((float(scan_rows[c["mp3_path"]]["score"] or 0.0) for c in clips
                      if c["kind"] == "no log drums"), default=0.0)
    _say(f"  {j.hits}/{len(rows)} selected clips hold log drums by construction; "
         f"{len(left_out)} log-drum clip(s) left out; the best clip without log drums has "
         f"audio score {best_other:.3f}")
    selected_broken = [r["mtat_path"] for r in rows if kind_of[r["mtat_path"]] in ("empty", "truncated")]
    if selected_broken:
        raise DemoError(f"build-dataset selected the planted broken file(s) {selected_broken}")
    j.summary["dataset"] = {
        "metadata_csv": str(j.meta_csv), "selected": len(rows), "selected_with_log_drums": j.hits,
        "selected_broken": selected_broken, "failed": s["failed"],
        "wrong_duration": s["wrong_duration"], "score_cut": s["score_cut"],
        "best_audio_score_without_log_drums": best_other}


def _validate(j):
    from logdrum.dataset.validate import validate

    _stage(j.clock, 3, "Validating the corpus and the dataset")
    broken_mtat = validate(j.mtat, workers=j.workers, progress=j.progress)
    _say(f"  corpus:  Broken files: {len(broken_mtat)} / {len(j.clips)}")
    for b in broken_mtat:
        _say(f"    {b['problem']:>11}  {b['path']}  ({b['detail']})")
    planted = {c["mp3_path"] for c in j.clips if c["kind"] in ("empty", "truncated")}
    if {b["path"] for b in broken_mtat} != planted:
        raise DemoError(f"validate found {sorted(b['path'] for b in broken_mtat)} in the corpus, "
                        f"expected exactly the planted {sorted(planted)}")
    broken_ds = validate(j.dataset, workers=j.workers, progress=j.progress)
    _say(f"  dataset: Broken files: {len(broken_ds)} / {len(j.rows)}")
    if broken_ds:
        for b in broken_ds:
            _say(f"    {b['problem']:>11}  {b['path']}  ({b['detail']})")
        raise DemoError("the built dataset has broken files: DO NOT PROCEED "
                        "(a training set must have 0 broken files)")
    j.summary["validate"] = {"corpus_broken": len(broken_mtat), "dataset_broken": len(broken_ds)}


def _training(j):
    size = j.size
    _stage(j.clock, 4, "Fine-tuning the tiny MusicGen (a real subprocess, killed once and resumed)")
    run_dir = j.run_dir = j.out / "run"
    base = json.loads((Path(__file__).parents[1] / "configs" / "tiny.json").read_text())
    base.update(metadata_path=str(j.meta_csv.resolve()), run_dir=str(run_dir.resolve()),
                seed=j.seed, save_every_steps=size.save_every_steps, log_every_steps=1,
                checkpoint_every_epochs=2, keep_last_epoch_checkpoints=2)
    cfg, per_epoch = plan_training(j.meta_csv, base, size)
    j.cfg = cfg
    total = per_epoch * cfg["epochs"]
    config_path = j.config_path = j.out / "train_config.json"
    write_json_atomic(config_path, cfg)
    kill_at = kill_step(total, per_epoch, size.save_every_steps)
    echo = max(10, (total // 6) // 10 * 10)
    _say(f"  config: {_rel(config_path)} ({cfg['epochs']} epochs x {per_epoch} steps = {total} steps; "
         f"last.ckpt every {size.save_every_steps} steps and at each epoch end)")
    _say(f"  $ python -m musicgen_ft.train --config {_rel(config_path)}   (will be killed at step {kill_at})")
    code, _, killed_step = _run_training(config_path, kill_at_step=kill_at, echo_every=echo)
    if code != -signal.SIGKILL:
        raise DemoError(f"the first training run ended with exit code {code} before step {kill_at}; "
                        f"see {run_dir / 'train.log'}")
    _say(f"  -- SIGKILL at step {killed_step} (as a lost spot instance); the same command again:")
    _say(f"  $ python -m musicgen_ft.train --config {_rel(config_path)}")
    code, lines2, j.last_step = _run_training(config_path, echo_every=echo)
    resumed = next((m for m in map(_RESUMED.search, lines2) if m), None)
    if code != 0:
        raise DemoError(f"the resumed training run exited with code {code}; see {run_dir / 'train.log'}")
    if resumed is None:
        raise DemoError("the restarted run did not resume from a checkpoint")
    resume_step = int(resumed.group(4))
    state = j.state = json.loads((run_dir / STATE_FILE).read_text())
    metrics = [m for _, m in read_jsonl(run_dir / METRICS_FILE)]
    train_losses = [m["loss"] for m in metrics if m.get("kind") == "train"]
    val_losses = [m["loss"] for m in metrics if m.get("kind") == "val"]
    alerts = [a for _, a in read_jsonl(run_dir / ALERTS_FILE)]
    lost = killed_step - resume_step
    _say(f"  killed at step {killed_step}, resumed from {resumed.group(1)} at step {resume_step} "
         f"({lost} step{'s' if lost != 1 else ''} of work lost and redone), finished at step {j.last_step}")
    _say(f"  train loss {train_losses[0]:.3f} at step 1 -> {train_losses[-1]:.3f}; "
         f"best validation loss {state['best_val_loss']:.3f} "
         f"(chance level for 64 codes: ln 64 = {j.chance:.3f})")
    _say(f"  orchestrator state: {state['restarts']} restart(s), {state['elapsed_time']:.0f} s, "
         f"${state['cost']:.4f} at ${state[SPOT_RATE_KEY]}/h; {len(alerts)} alert(s)")
    j.summary["training"] = {
        "config": str(config_path), "run_dir": str(run_dir), "epochs": cfg["epochs"],
        "steps_per_epoch": per_epoch, "planned_steps": total, "kill_at": kill_at,
        "killed_at_step": killed_step, "resumed_from_step": resume_step, "final_step": j.last_step,
        "first_train_loss": train_losses[0], "last_train_loss": train_losses[-1],
        "best_val_loss": state["best_val_loss"], "val_losses": val_losses,
        "chance_loss": j.chance, "restarts": state["restarts"], "alerts": len(alerts)}


def _generate_samples(j):
    size = j.size
    _stage(j.clock, 5, f"Generating {size.samples} clips of {size.sample_seconds:g} s from each model")
    import torch
    from transformers import MusicgenForConditionalGeneration
    from transformers.utils import logging as hf_logging

    from ..checkpoint import BEST_EXPORT_DIR
    from ..data import read_metadata
    from ..model import build_model

    hf_logging.set_verbosity_error()       # the tiny preset's pad id = vocab size, as musicgen-small's
    hf_logging.disable_progress_bar()
    # one thread: this model is tiny, and a second thread on a busy 2-core machine made
    # generation 10-20x slower (measured), not faster
    torch.set_num_threads(1)
    best_dir = j.run_dir / CHECKPOINTS_DIR / BEST_EXPORT_DIR
    tuned = MusicgenForConditionalGeneration.from_pretrained(best_dir).eval()
    baseline = build_model("tiny", seed=j.cfg["seed"])     # the same start, never trained
    prompts = [c.prompt for c in read_metadata(j.meta_csv)]
    prompts = [prompts[i % len(prompts)] for i in range(size.samples)]
    j.sr = baseline.sampling_rate
    j.samples = {"fine-tuned": j.out / "samples" / "finetuned",
                 "baseline": j.out / "samples" / "baseline"}
    j.audio = {}
    for name, model in (("fine-tuned", tuned), ("baseline", baseline.model)):
        t1 = time.monotonic()
        j.audio[name] = _generate(model, baseline.tokenizer, prompts, size.sample_seconds, j.seed + 7)
        _write_wavs(j.samples[name], j.audio[name], j.sr)
        source = ("best_model/ via from_pretrained" if name == "fine-tuned"
                  else "build_model(tiny), untrained")
        _say(f"  {name:10s} {len(j.audio[name])} wavs in {_rel(j.samples[name])}/ "
             f"({time.monotonic() - t1:.0f} s; from {source})")
    _say(f"  prompts are the dataset's tags, e.g. {prompts[0]!r}")
    j.train_paths = [j.meta_csv.parent / r["file_path"] for r in j.rows]
    j.round_trip = _codec_round_trip(baseline, j.train_paths, size.sample_seconds)
    j.summary["samples"] = {k: str(v) for k, v in j.samples.items()}


def _report(j):
    import evaluation
    import logdrum
    from logdrum.io.audio import load_audio
    from logdrum.plot import plot_clips

    _stage(j.clock, 6, "Measuring authenticity and writing the GO/NO-GO report")
    sr, audio, round_trip = j.sr, j.audio, j.round_trip
    report_dir = j.out / "report"
    rep = evaluation.build_report(j.run_dir, report_dir, samples=j.samples["fine-tuned"],
                                  baseline=j.samples["baseline"])
    train_audio = [load_audio(p) for p in j.train_paths]
    ceiling = evaluation.authenticity(train_audio)
    codec = evaluation.authenticity([(x, sr) for x in round_trip])

    def line(label, r):
        return (f"  {label:44s} {r.k:3d}/{r.n:<3d} = {r.rate:6.1%}  "
                f"95% CI [{r.ci_low:.1%}, {r.ci_high:.1%}]")

    _say("  share of clips in which the detector finds log drums:")
    _say(line("training clips (the data itself)", ceiling))
    _say(line("training clips through the tiny codec", codec))
    _say(line("baseline samples (untrained tiny model)", rep.baseline))
    _say(line("fine-tuned samples", rep.candidate))
    if rep.comparison is not None:
        _say(f"  {rep.comparison.summary()}")
    band = {"training clips": [_band_peak_db(x, r) for x, r in train_audio],
            "codec round trip": [_band_peak_db(x, sr) for x in round_trip],
            "fine-tuned": [_band_peak_db(x, sr) for x in audio["fine-tuned"]],
            "baseline": [_band_peak_db(x, sr) for x in audio["baseline"]]}
    band = {k: float(np.median(v)) for k, v in band.items()}
    _say("  loudest 50-150 Hz band level (median over clips): "
         + ", ".join(f"{k} {v:.0f} dBFS" for k, v in band.items()))

    # one figure of what the detector heard in each kind of audio
    a_train, sr_train = train_audio[0]
    a_train = a_train[:, : int(12 * sr_train)]
    panels = [("training clip", a_train, sr_train), ("same clip through the tiny codec", round_trip[0], sr),
              ("fine-tuned sample", audio["fine-tuned"][0], sr), ("baseline sample", audio["baseline"][0], sr)]
    figure = plot_clips([(n, x, r, logdrum.analyze(x, r)) for n, x, r in panels],
                        str(j.out / "detections.png"))
    j.summary["report"] = {
        "dir": str(report_dir), "markdown": rep.markdown_path, "decision_json": rep.decision_path,
        "plots": dict(rep.plots), "verdict": rep.decision.verdict,
        "authenticity": {"fine-tuned": rep.candidate.rate, "baseline": rep.baseline.rate,
                         "training clips": ceiling.rate, "codec round trip": codec.rate},
        "band_peak_dbfs": {k: (v if math.isfinite(v) else None) for k, v in band.items()},
        "detections_png": figure}
    j.rep, j.ceiling, j.codec, j.band = rep, ceiling, codec, band
