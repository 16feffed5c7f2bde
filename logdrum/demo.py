"""``logdrum demo``: the main job on built-in synthetic audio, no downloads.

It synthesises a small set of clips (amapiano-style grooves with and without log drums, a lone
log drum, a kick, an 808, a bass note, noise), runs the detector on each, prints the verdicts
and the events, and writes a figure of envelopes and detections.
"""

from __future__ import annotations

import os
import time

import numpy as np

from . import synth
from .core.detector import analyze

__all__ = ["demo_clips", "run_demo"]

SR = 22050


def demo_clips(sr=SR):
    """``[(name, audio, holds_log_drums_expected)]`` of the demo set."""
    def alone(x, total=3.0, at=0.2):
        return synth.place(np.zeros(int(total * sr)), x, at, sr)

    return [
        ("amapiano groove", synth.groove(sr, bars=6, seed=1), True),
        ("groove, log drums 10 dB under kicks", synth.groove(sr, bars=6, kick_db=-2.0, log_drum_db=-12.0, seed=2), True),
        ("groove without log drums", synth.groove(sr, bars=6, log_drums=False, seed=3), False),
        ("groove with sustained bass, no log drums", synth.groove(sr, bars=6, log_drums=False, bass=True, seed=4), False),
        ("one log drum (80 Hz, tau 400 ms)", alone(synth.log_drum(sr, 80.0, 0.4, glide=1.3)), True),
        ("tight kick (tau 50 ms)", alone(synth.kick(sr, tau=0.05, click=True)), False),
        ("percussive tone at 200 Hz", alone(synth.log_drum(sr, 200.0, 0.4)), False),
        ("white noise", synth.noise(sr, 3.0, level_db=-12.0), False),
    ]


def run_demo(out_dir="demo_out", sr=SR, verbose=True):
    """Run the demo; returns ``{name: Analysis}`` and writes ``out_dir/detections.png``."""
    from .plot import plot_clips

    os.makedirs(out_dir, exist_ok=True)
    say = print if verbose else (lambda *a, **k: None)
    results, panels, wrong = {}, [], 0
    say(f"{'clip':44s} {'expected':>9s} {'verdict':>9s} {'score':>6s} {'events':>6s}  rejected candidates")
    for name, audio, expected in demo_clips(sr):
        start = time.perf_counter()
        a = analyze(audio, sr)
        results[name] = a
        panels.append((name, audio, sr, a))
        wrong += a.holds_log_drums != expected
        rej = ", ".join(f"{k} {v}" for k, v in sorted(a.rejected_by_reason().items(), key=lambda kv: -kv[1])[:3])
        say(f"{name:44s} {'yes' if expected else 'no':>9s} {'yes' if a.holds_log_drums else 'no':>9s} "
            f"{a.score:6.2f} {len(a.events):6d}  {rej}  [{(time.perf_counter() - start) * 1e3:.0f} ms]")
    first = results["amapiano groove"]
    say("\nEvents in 'amapiano groove' (first 10):")
    say(first.events_table(limit=10))
    path = plot_clips(panels[:4] + panels[4:7], os.path.join(out_dir, "detections.png"))
    say(f"\nFigure of envelopes and detections: {path}")
    say(f"Verdicts matching expectation: {len(panels) - wrong}/{len(panels)}")
    return results
