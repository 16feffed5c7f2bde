"""Shared helpers for the evaluation tests: small synthetic clip sets with a known verdict,
and run directories written the way musicgen_ft leaves them.

The sets come from logdrum.synth: ``groove(sr, bars=2)`` holds a log-drum line, the same groove
with ``log_drums=False`` does not. ``test_detector_verdicts_on_fixtures`` checks that premise on
its own, so a detector change that breaks it points at the detector, not at the metric.
"""

import numpy as np

from logdrum import synth

SR = 16000


def with_log_drums(i):
    return synth.groove(SR, bars=2, seed=i)


def without_log_drums(i):
    return synth.groove(SR, bars=2, log_drums=False, seed=i)


def clip_set(k, n):
    """``n`` clips of which the first ``k`` hold log drums."""
    return [with_log_drums(i) if i < k else without_log_drums(i) for i in range(n)]


def write_wav(path, audio, sr=SR):
    import soundfile as sf

    sf.write(str(path), np.asarray(audio, dtype=np.float32), sr)
    return path


def write_run(run_dir, *, state=None, metrics=None, alerts=None, raw_metrics_lines=()):
    """Write a training run directory as musicgen_ft leaves it (only the parts given)."""
    import json

    run_dir.mkdir(parents=True, exist_ok=True)
    if state is not None:
        (run_dir / "orchestrator_state.json").write_text(json.dumps(state))
    if metrics is not None:
        lines = [json.dumps(m) for m in metrics] + list(raw_metrics_lines)
        (run_dir / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    if alerts is not None:
        (run_dir / "alerts.jsonl").write_text("".join(json.dumps(a) + "\n" for a in alerts))
    return run_dir


def healthy_metrics(steps=200, every=50):
    """A decreasing train loss every 10 steps and a val loss every ``every`` steps."""
    out = []
    for s in range(0, steps + 1, 10):
        out.append({"step": s, "epoch": s // 100, "train_loss": 5.0 - 1.8 * s / steps, "lr": 1e-4})
        if s and s % every == 0:
            out.append({"step": s, "epoch": s // 100, "val_loss": 4.6 - 1.4 * s / steps})
    return out


def healthy_state(**over):
    state = {"elapsed_time": 840 * 3600, "cost": 327.6, "epoch": 12, "global_step": 200,
             "best_val_loss": 3.2, "restarts": 2, "alerts": 1, "spot_rate_usd_per_hour": 0.39,
             "budget_usd": 600.0}
    state.update(over)
    return state
