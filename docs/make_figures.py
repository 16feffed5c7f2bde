"""Draw the user guide's figures from the code: ``python docs/make_figures.py [--out DIR]``.

Every figure in ``docs/guide.md`` comes from here, computed by the detector as it is now, never
pasted by hand. Rerun it after changing the detector and commit ``docs/figures/*.png``
(``tests/test_docs.py`` runs it into a temporary folder and checks what it draws).

Figures (``DIR``, default ``docs/figures``):

``three_sounds.png``
    A log drum, a kick and a bass note: the waveform, the 50-150 Hz band envelope, and what the
    detector measured (onset, f0, decay time constant tau) and decided.
``groove.png``
    An amapiano-style groove with its log-drum line, and the same groove without it.
``tau_sweep.png``
    Lone 80 Hz hits with tau from 20 ms to 2 s: the tau the detector measures, and which hits
    the default ``DetectorConfig`` and a stricter one accept.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

import numpy as np

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import logdrum  # noqa: E402
from logdrum import synth  # noqa: E402

SR = 22050
DB_PER_NEPER = 20.0 / math.log(10.0)    # exp(-t/tau) falls 8.69 dB per tau
FIGURES = ("three_sounds.png", "groove.png", "tau_sweep.png")


def _ms(tau_ms):
    if math.isnan(tau_ms):
        return "-"
    if math.isinf(tau_ms):
        return "inf"
    return f"{tau_ms / 1000:.0f} s (held)" if tau_ms >= 10000 else f"{tau_ms:.0f} ms"


def _alone(x, total=2.5, at=0.3):
    return synth.place(np.zeros(int(total * SR)), x, at, SR)


def _save(fig, path):
    fig.tight_layout()
    # no software version in the file: the PNG changes only when the picture does
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)
    return str(path)


def three_sounds(path):
    """Waveform, band envelope and the detector's measurements for three low, pitched sounds."""
    sounds = [
        ("log drum: 80 Hz, tau 400 ms, glide", synth.log_drum(SR, 80.0, 0.4, glide=1.3)),
        ("kick: sweep 150 -> 50 Hz, tau 50 ms", synth.kick(SR, tau=0.05, click=True)),
        ("bass note: 55 Hz, held 1.6 s", synth.tone(SR, 55.0, 1.6, level_db=-6.0, fade=0.02)),
    ]
    fig, axes = plt.subplots(2, 3, figsize=(13, 5.6), sharex=True,
                             gridspec_kw={"height_ratios": [1, 1.6]})
    for col, (name, hit) in enumerate(sounds):
        x = _alone(hit)
        a = logdrum.analyze(x, SR)
        t = np.arange(x.size) / SR
        ax = axes[0, col]
        ax.plot(t, x, color="0.35", lw=0.5)
        ax.set_title(name, fontsize=10)
        ax.set_ylim(-1, 1)
        if col == 0:
            ax.set_ylabel("waveform")
        ax = axes[1, col]
        env = np.asarray(a.envelope_db)
        te = np.arange(env.size) * a.hop_s
        ax.plot(te, np.maximum(env, -80), color="tab:blue", lw=1.2, label="50-150 Hz envelope")
        notes = []
        for e in a.events:
            k = int(e.onset_s / a.hop_s)
            peak = k + int(np.argmax(env[k:k + int(0.15 / a.hop_s)]))
            tt = np.linspace(0, 4 * e.decay_ms / 1000.0, 50)
            ax.plot(te[peak] + tt, env[peak] - DB_PER_NEPER * tt / (e.decay_ms / 1000.0), "--",
                    color="tab:green", lw=1.2, label="exp(-t/tau) fitted")
            ax.axvline(e.onset_s, color="tab:green", lw=1.2)
            notes.append(("tab:green", f"LOG DRUM at {e.onset_s:.2f} s\nf0 {e.f0_hz:.0f} Hz\n"
                          f"tau {_ms(e.decay_ms)}\nglide {e.glide_ratio:.2f}\n"
                          f"confidence {e.confidence:.2f}"))
        for c in a.rejected:
            if c.reason == "too quiet":   # a faint peak far under the note: drawn, not described
                ax.axvline(c.onset_s, color="0.75", lw=0.8, ls=":")
                continue
            ax.axvline(c.onset_s, color="tab:orange", lw=1.2, ls=":")
            f0 = "-" if math.isnan(c.f0_hz) else f"{c.f0_hz:.0f}"
            notes.append(("tab:orange", f"rejected at {c.onset_s:.2f} s:\n{c.reason}\n"
                          f"f0 {f0} Hz\ntau {_ms(c.decay_ms)}"))
        for i, (colour, text) in enumerate(notes[:2]):
            ax.text(0.97, 0.95 - 0.45 * i, text, transform=ax.transAxes, ha="right", va="top",
                    fontsize=9, color=colour)
        ax.set_ylim(-80, 5)
        ax.set_xlabel("time (s)")
        if col == 0:
            ax.set_ylabel("band level (dBFS)")
            ax.legend(loc="lower left", fontsize=8)
    return _save(fig, path)


def groove(path):
    """The detector's view of a groove with and without its log-drum line."""
    from logdrum.plot import plot_analysis

    fig, axes = plt.subplots(2, 1, figsize=(13, 6.4))
    for ax, (name, kw) in zip(axes, [("amapiano groove (112 BPM)", {}),
                                     ("the same groove without the log drums", {"log_drums": False})]):
        x = synth.groove(SR, bars=2, seed=1, **kw)
        plot_analysis(logdrum.analyze(x, SR), x, SR, title=name, ax=ax)
    return _save(fig, path)


def tau_sweep(path):
    """Measured tau against true tau for lone hits, and the acceptance of two configs."""
    taus = np.geomspace(0.02, 2.0, 25)
    strict = logdrum.DetectorConfig(tau_min_ms=300.0, tau_max_ms=600.0)
    fig, ax = plt.subplots(figsize=(8, 4.8))
    for cfg, label, marker, dy in [(logdrum.DEFAULT_CONFIG, "default", "o", 1.0),
                                   (strict, "tau_min_ms=300, tau_max_ms=600", "s", 1.12)]:
        for tau in taus:
            x = _alone(synth.log_drum(SR, 80.0, float(tau), duration=min(5 * tau + 0.05, 3.0)),
                       total=min(5 * tau + 0.05, 3.0) + 1.0)
            a = logdrum.analyze(x, SR, config=cfg)
            # the hit starts at 0.3 s: take what the detector made of it
            near = [c for c in (*a.events, *a.rejected) if abs(c.onset_s - 0.3) < 0.05]
            if not near or not np.isfinite(near[0].decay_ms):
                continue
            y, ok = near[0].decay_ms, near[0] in a.events
            ax.scatter(tau * 1000, y * dy, marker=marker, s=28,
                       facecolors="tab:green" if ok else "none",
                       edgecolors="tab:green" if ok else "tab:red")
        ax.scatter([], [], marker=marker, color="0.3", label=f"{label} (filled: accepted)")
    ax.axvspan(300, 600, color="tab:green", alpha=0.08, label="plan's woody range 300-600 ms")
    ax.axvspan(20, 120, color="tab:orange", alpha=0.08, label="kick range 20-120 ms")
    ax.plot([20, 2000], [20, 2000], color="0.7", lw=0.8, ls="--", label="measured = true")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("true tau of the hit (ms)")
    ax.set_ylabel("tau measured by the detector (ms)\n(strict config drawn 12% higher)")
    ax.set_title("Lone 80 Hz hits: measured decay and which hits count", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    return _save(fig, path)


def make_all(out):
    """Draw every figure into ``out``; returns the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return [three_sounds(out / FIGURES[0]), groove(out / FIGURES[1]), tau_sweep(out / FIGURES[2])]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "figures"),
                   help="output folder (default: docs/figures)")
    args = p.parse_args(argv)
    for path in make_all(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
