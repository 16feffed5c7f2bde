"""Figures of what the detector saw: waveform, band envelope, accepted and rejected onsets.

matplotlib is imported when a function here is called, never by ``import logdrum``.
"""

from __future__ import annotations

import numpy as np

from .io.atomic import save_figure

__all__ = ["plot_analysis", "plot_clips"]

_REJECT_COLOURS = {
    "too short a decay": "tab:orange", "too long a decay": "tab:purple", "out of band": "tab:red",
    "not tonal": "tab:brown", "not percussive": "0.6", "decay cut short": "0.75", "too quiet": "0.85",
    "buried in the mix": "tab:pink",
}


def plot_analysis(analysis, audio=None, sr=None, *, title=None, ax=None):
    """Plot the band envelope of an :class:`~logdrum.Analysis` with its events.

    Parameters
    ----------
    analysis : Analysis
    audio, sr : array_like and float, optional
        When given, the waveform is drawn (scaled) under the envelope.
    title : str, optional
    ax : matplotlib.axes.Axes, optional
        Draw into this axes; a new figure is made otherwise.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib

    if ax is None:
        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(11, 3.6))
    else:
        fig = ax.figure
    env = np.asarray(analysis.envelope_db)
    t = np.arange(env.size) * analysis.hop_s
    floor = max(-90.0, float(np.max(env)) - 70.0) if env.size else -90.0
    if audio is not None and sr is not None:
        x = np.asarray(audio, dtype=float)
        x = x.mean(axis=0) if x.ndim == 2 else x
        step = max(1, x.size // 20000)
        tx = np.arange(0, x.size, step) / sr
        peak = np.max(np.abs(x)) or 1.0
        # the waveform on a secondary scale, squeezed into the lower part of the plot
        ax.plot(tx, floor + 12 + 10 * x[::step] / peak, color="0.8", lw=0.5, label="waveform (scaled)")
    ax.plot(t, np.maximum(env, floor), color="tab:blue", lw=1.0, label="50-150 Hz envelope (dBFS)")
    seen = set()
    for c in analysis.rejected:
        colour = _REJECT_COLOURS.get(c.reason, "0.5")
        ax.axvline(c.onset_s, color=colour, lw=0.8, ls=":",
                   label=f"rejected: {c.reason}" if c.reason not in seen else None)
        seen.add(c.reason)
    for e in analysis.events:
        # a line note (accepted for the line, its decay cut) is dashed
        label = "log drum (line note)" if e.line_note else "log drum"
        ax.axvline(e.onset_s, color="tab:green", lw=1.2, ls="--" if e.line_note else "-",
                   label=label if label not in seen else None)
        seen.add(label)
        if len(analysis.events) <= 24:
            ax.annotate(f"{e.f0_hz:.0f} Hz\n{e.decay_ms:.0f} ms", (e.onset_s, e.peak_dbfs),
                        xytext=(3, 2), textcoords="offset points", fontsize=7, color="tab:green")
    verdict = "holds log drums" if analysis.holds_log_drums else "no log drums"
    ax.set_title(f"{title + ': ' if title else ''}{verdict} (score {analysis.score:.2f}, "
                 f"{len(analysis.events)} events)", fontsize=10)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("dBFS")
    ax.set_ylim(floor, max(3.0, float(np.max(env)) + 6.0) if env.size else 0.0)
    ax.legend(loc="upper right", fontsize=7, ncol=2)
    return fig


def plot_clips(clips, path):
    """One panel per ``(name, audio, sr, analysis)`` in ``clips``, saved as a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(clips), 1, figsize=(11, 2.9 * len(clips)), squeeze=False)
    for ax, (name, audio, sr, analysis) in zip(axes[:, 0], clips):
        plot_analysis(analysis, audio, sr, title=name, ax=ax)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)
    return path
