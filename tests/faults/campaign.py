"""Kill-anywhere campaign: SIGKILL a real tiny fine-tune at every phase of its life, restart it
with the same command until it exits 0, and check that nothing was lost or doubled.

1. A reference run of the campaign config, uninterrupted, records its phase trace
   (``MUSICGEN_FT_FAULT_LOG``, see :mod:`musicgen_ft.faults`): which kill points it passes, how
   often.
2. Kill targets ``phase:n`` are drawn from that trace (seeded): one for every phase, the rest at
   random occurrences. Occurrences are counted over the whole campaign, so every restart gets
   the same command and the same environment, and each target fires once. Some restarts are
   also killed by the harness at a random time.
3. After each process: ``alerts.jsonl`` only grew, the cost state's elapsed time did not go
   back. At the end: exit 0; trainable weights, optimizer, scheduler and best weights
   bit-identical to the reference; the same ``epoch_k.ckpt`` files and ``best_model/`` export;
   each step once in ``metrics.jsonl``; the milestone decided once, at the reference's step;
   no temp file or folder left anywhere in the run folder.

As a script, for long campaigns (every run uses a fresh folder under ``--work``)::

    .venv/bin/python tests/faults/campaign.py --kills 300 --random 30 --seed 7
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
_spec = importlib.util.spec_from_file_location(
    "faults_ft_helpers", REPO / "tests" / "musicgen_ft" / "ft_helpers.py")
ft = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ft)

from musicgen_ft.faults import KILL_ENV, LOG_ENV, read_trace  # noqa: E402

# 10 train segments, batch 2 x accumulation 2: 3 optimizer steps an epoch, 12 in all; last.ckpt
# every 2 steps and at each epoch end; epoch_k.ckpt every epoch, keeping 2 (rotation from
# epoch 3); the week-5 milestone (GO) at step 4; the code cache inside the run folder.
CONFIG = dict(epochs=4, batch_size=2, grad_accum_steps=2, save_every_steps=2, warmup_steps=3,
              checkpoint_every_epochs=1, keep_last_epoch_checkpoints=2, cache_dir=None,
              milestone_step=4, milestone_samples=2, milestone_sample_seconds=0.5,
              milestone_prompts=["amapiano, log drum, piano", "house, drums"],
              milestone_min_authenticity=0.0, milestone_max_val_loss=100.0)
ENV = dict(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")


@dataclass
class Campaign:
    """What one campaign did."""

    run_dir: Path
    targets: list
    starts: int = 0
    target_kills: list = field(default_factory=list)     # "phase:n" that fired
    random_kills: list = field(default_factory=list)     # seconds after start
    random_missed: int = 0                               # random timer outlived the start
    problems: list = field(default_factory=list)
    seconds: float = 0.0
    outputs: list = field(default_factory=list)

    @property
    def kills(self):
        return len(self.target_kills) + len(self.random_kills)


def command(config):
    """The one command every start and restart runs."""
    return [sys.executable, "-m", "musicgen_ft.train", "--config", str(config)]


def make_config(folder, data, **overrides):
    """The campaign config (tiny model) with its run folder under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    return ft.tiny_config(folder, data, **{**CONFIG, **overrides})


def reference_run(folder, data):
    """Run the campaign config uninterrupted; returns ``(run_dir, trace, wall seconds)``."""
    config = make_config(folder, data)
    trace_path = folder / "trace.log"
    t0 = time.monotonic()
    proc = subprocess.run(command(config), cwd=REPO, capture_output=True, text=True,
                          env=dict(os.environ, **ENV, **{LOG_ENV: str(trace_path)}))
    if proc.returncode != 0:
        raise RuntimeError(f"reference run failed (rc {proc.returncode}):\n{proc.stdout}"
                           f"{proc.stderr}")
    return folder / "run", read_trace(trace_path), time.monotonic() - t0


# phases always killed at their last occurrence: the final export, a keep-K rotation that
# deletes (the first ones have nothing to delete yet), the end of the run
LAST = ("export:model", "export:written", "export:swap", "rotate", "finish")


def plan_targets(trace, kills, seed, last=LAST):
    """``kills`` targets ``(phase, n)``: the last occurrence of each ``last`` phase, every
    phase of ``trace`` once (when ``kills`` allows), the rest at random occurrences, each
    drawn with the weight of its count."""
    rng = random.Random(seed)
    phases = sorted(trace)
    rng.shuffle(phases)
    targets = {(p, trace[p]) for p in last if p in trace}
    covered = {p for p, _ in targets}
    targets |= {(p, rng.randint(1, trace[p])) for p in phases[:max(0, kills - len(targets))]
                if p not in covered}
    every = [(p, n) for p in sorted(trace) for n in range(1, trace[p] + 1)]
    rest = [t for t in every if t not in targets]
    targets |= set(rng.sample(rest, min(len(rest), max(0, kills - len(targets)))))
    return sorted(targets)


def _snapshot(run_dir):
    alerts = run_dir / "alerts.jsonl"
    state = run_dir / "orchestrator_state.json"
    return (alerts.read_bytes() if alerts.exists() else b"",
            json.loads(state.read_text()) if state.exists() else None)


class _Fresh:
    """Each start is the real command in a new process."""

    def __init__(self, config, env):
        self.config, self.env = config, env

    def start(self, outfile):
        with open(outfile, "w") as out:
            self.proc = subprocess.Popen(command(self.config), cwd=REPO, env=self.env,
                                         stdout=out, stderr=subprocess.STDOUT)
        return self.proc.pid

    def wait(self, timeout=None):
        return self.proc.wait(timeout)

    def close(self):
        pass


class _Forked:
    """Each start is a child forked from ``zygote.py``, which imported everything once."""

    def __init__(self, config, env):
        self.config = config
        self.server = subprocess.Popen([sys.executable, str(HERE / "zygote.py")], cwd=REPO,
                                       env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       text=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        if self._next(300) != "ready":
            raise RuntimeError("the fork server did not start")

    def _read(self):
        for line in self.server.stdout:
            self.lines.put(line.strip())
        self.lines.put("gone")

    def _next(self, timeout):
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise subprocess.TimeoutExpired("fork server", timeout) from None
        if line == "gone":
            raise RuntimeError(f"the fork server ended (rc {self.server.wait()})")
        return line

    def start(self, outfile):
        self.server.stdin.write(f"{self.config} {outfile}\n")
        self.server.stdin.flush()
        self.pid = int(self._next(300).split()[1])
        return self.pid

    def wait(self, timeout=None):
        return int(self._next(timeout).split()[1])

    def close(self):
        self.server.stdin.close()
        self.server.wait(timeout=60)


def run_campaign(folder, data, targets, random_kills=0, seed=0, max_life=30.0, fresh=False,
                 log=print):
    """Start the run, let it be killed at every target (and ``random_kills`` times at a random
    moment), restart the same command until it exits 0; returns a :class:`Campaign`.

    ``fresh``: every start is a new ``python -m musicgen_ft.train`` (slow: the imports), else
    a child forked from a process that imported everything once (see ``zygote.py``).
    """
    config = make_config(folder, data)
    run_dir = folder / "run"
    env = dict(os.environ, **ENV, **{KILL_ENV: ",".join(f"{p}:{n}" for p, n in targets),
                                     LOG_ENV: str(folder / "trace.log")})
    rng = random.Random(seed + 1)
    # which starts the harness kills at a random time: spread over the chain
    chain = len(targets) + random_kills + 1
    timed = set(rng.sample(range(chain), min(random_kills, chain)))
    lives = []   # how long starts lived: random kill times are drawn from that span
    result = Campaign(run_dir, [f"{p}:{n}" for p, n in targets])
    before = _snapshot(run_dir)
    t0 = time.monotonic()
    starter = (_Fresh if fresh else _Forked)(config, env)
    try:
        for start in range(chain + 5):
            result.starts += 1
            outfile = folder / f"start_{start + 1:03d}.log"
            pid = starter.start(outfile)
            began = time.monotonic()
            span = max(lives[-5:]) if lives else max_life
            delay = rng.uniform(0.05, span) if start in timed else None
            timer_fired = False
            try:
                code = starter.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                timer_fired = True
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                code = starter.wait()
            lives.append(time.monotonic() - began)
            out = outfile.read_text(errors="replace")
            result.outputs.append(out)
            fired = [line.rpartition("SIGKILL at ")[2] for line in out.splitlines()
                     if line.startswith("musicgen_ft.faults: SIGKILL at ")]
            if fired:   # a target, even if the harness's timer ran out in the same moment
                result.target_kills += fired
                log(f"  start {start + 1}: killed at {fired[0]}")
            elif timer_fired:
                result.random_kills.append(round(delay, 2))
                log(f"  start {start + 1}: killed by the harness after {delay:.2f} s")
            if delay is not None and not (timer_fired and not fired):
                result.random_missed += 1
            after = _snapshot(run_dir)
            if not after[0].startswith(before[0]):
                result.problems.append(f"start {start + 1}: alerts.jsonl lost lines")
            for key in ("elapsed_time", "restarts"):
                if before[1] and after[1] and after[1][key] < before[1][key]:
                    result.problems.append(f"start {start + 1}: {key} went back "
                                           f"{before[1][key]} -> {after[1][key]}")
            before = after
            if code == 0:
                break
            if code != -signal.SIGKILL:
                result.problems.append(f"start {start + 1}: exit code {code}\n{out}")
                break
        else:
            result.problems.append("the run never finished")
    finally:
        starter.close()
    result.seconds = time.monotonic() - t0
    return result


def _train_steps(run_dir):
    return [r["step"] for r in _records(run_dir) if r.get("kind") == "train"]


def _records(run_dir):
    from musicgen_ft.metrics import read_metrics

    return read_metrics(Path(run_dir) / "metrics.jsonl")


def compare(run_dir, ref_dir):
    """Every difference between a campaign's run folder and the reference's, as text lines."""
    import torch

    from musicgen_ft.checkpoint import load_checkpoint
    from logdrum.io.atomic import find_temps

    problems = []
    run_dir, ref_dir = Path(run_dir), Path(ref_dir)
    final = load_checkpoint(run_dir / "checkpoints" / "last.ckpt")
    ref = load_checkpoint(ref_dir / "checkpoints" / "last.ckpt")

    def same(a, b, where):
        if isinstance(a, dict) and isinstance(b, dict):
            if a.keys() != b.keys():
                problems.append(f"{where}: keys differ")
                return
            for k in a:
                same(a[k], b[k], f"{where}.{k}")
        elif isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
            if not torch.equal(a, b):
                problems.append(f"{where}: tensor differs")
        elif isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
            if len(a) != len(b):
                problems.append(f"{where}: length differs")
            for i, (x, y) in enumerate(zip(a, b)):
                same(x, y, f"{where}[{i}]")
        elif a != b:
            problems.append(f"{where}: {a!r} != {b!r}")

    for key in ("model", "optimizer", "scheduler", "global_step", "epoch", "best_val_loss"):
        same(final[key], ref[key], f"last.ckpt {key}")
    best, ref_best = (torch.load(d / "checkpoints" / "best_model.pt", weights_only=True)
                      for d in (run_dir, ref_dir))
    same(best["model"], ref_best["model"], "best_model.pt model")
    same(best["val_loss"], ref_best["val_loss"], "best_model.pt val_loss")
    names = [sorted(p.name for p in (d / "checkpoints").iterdir()) for d in (run_dir, ref_dir)]
    if names[0] != names[1]:
        problems.append(f"checkpoints/ holds {names[0]}, reference {names[1]}")
    export = run_dir / "checkpoints" / "best_model" / "model.safetensors"
    ref_export = ref_dir / "checkpoints" / "best_model" / "model.safetensors"
    if not export.exists() or export.read_bytes() != ref_export.read_bytes():
        problems.append("best_model/ export differs from the reference's")
    state, ref_state = (json.loads((d / "orchestrator_state.json").read_text())
                        for d in (run_dir, ref_dir))
    for key in ("global_step", "epoch", "best_val_loss", "done"):
        if state.get(key) != ref_state.get(key):
            problems.append(f"orchestrator_state {key} {state.get(key)!r}, "
                            f"reference {ref_state.get(key)!r}")
    steps, ref_steps = _train_steps(run_dir), _train_steps(ref_dir)
    if steps != ref_steps:
        problems.append(f"metrics.jsonl train steps {steps}, reference {ref_steps}")
    val = [(r["step"], r["loss"]) for r in _records(run_dir) if r.get("kind") == "val"]
    ref_val = [(r["step"], r["loss"]) for r in _records(ref_dir) if r.get("kind") == "val"]
    if val != ref_val:
        problems.append(f"metrics.jsonl validation records {val}, reference {ref_val}")
    decision, ref_decision = (json.loads((d / "milestone" / "decision.json").read_text())
                              for d in (run_dir, ref_dir))
    for key in ("step", "clips", "authenticity", "best_val_loss"):
        if decision[key] != ref_decision[key]:
            problems.append(f"milestone {key} {decision[key]!r}, reference {ref_decision[key]!r}")
    if decision["verdict"] == "NO-GO":   # GO or CONDITIONAL-GO (restarts/day counts there)
        problems.append("milestone decided NO-GO")
    codes = [{a["code"] for a in map(json.loads, (d / "alerts.jsonl").read_text().splitlines())
              if not a["code"].startswith("milestone_")} for d in (run_dir, ref_dir)]
    if codes[0] != codes[1]:
        problems.append(f"alerts {sorted(codes[0])}, reference {sorted(codes[1])}")
    left = find_temps(run_dir, depth=9) + sorted(run_dir.rglob("best_model.old")) + sorted(
        run_dir.rglob("*.corrupt"))
    if left:
        problems.append(f"left behind: {[str(p.relative_to(run_dir)) for p in left]}")
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=100, help="kill targets (phase:n) to plan")
    parser.add_argument("--random", type=int, default=10, help="restarts killed at random times")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--campaigns", type=int, default=1,
                        help="split the kills over this many independent campaigns")
    parser.add_argument("--fresh", action="store_true",
                        help="every start a new python process (slow; default: forked)")
    parser.add_argument("--work", default="/tmp/musicgen_ft_campaign",
                        help="scratch folder (data, reference, campaign runs)")
    args = parser.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    data = ft.make_dataset(work / "data", n_clips=6, seconds=2.4)
    ref_dir, trace, wall = reference_run(work / f"reference-{time.time_ns()}", data)
    print(f"reference: {sum(trace.values())} kill-point passes over {len(trace)} phases, "
          f"{wall:.1f} s")
    failed = 0
    for c in range(args.campaigns):
        seed = args.seed * 1000 + c
        share = args.kills // args.campaigns + (c < args.kills % args.campaigns)
        targets = plan_targets(trace, share, seed)
        folder = work / f"campaign-{seed}-{time.time_ns()}"
        print(f"campaign {c + 1}/{args.campaigns}: {len(targets)} targets, "
              f"{args.random} random kills, seed {seed}")
        result = run_campaign(folder, data, targets, args.random, seed, max_life=wall,
                              fresh=args.fresh)
        problems = result.problems + compare(result.run_dir, ref_dir)
        missed = sorted(set(result.targets) - set(result.target_kills))
        if missed:
            problems.append(f"targets that never fired: {missed}")
        phases = {t.rpartition(":")[0] for t in result.target_kills}
        print(f"  {result.kills} kills ({len(result.target_kills)} at {len(phases)} of "
              f"{len(trace)} phases, {len(result.random_kills)} at random times, "
              f"{result.random_missed} random timers outlived), {result.starts} starts, "
              f"{result.seconds:.1f} s")
        for p in problems:
            print(f"  PROBLEM: {p}")
        failed += bool(problems)
    print("OK" if not failed else f"{failed} campaign(s) with problems")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
