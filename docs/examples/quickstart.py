# %% [markdown]
# # logdrum quickstart
#
# Run it top to bottom: as a notebook (VS Code, Jupyter with jupytext, Spyder read the `# %%`
# cells) or as a script, `python docs/examples/quickstart.py`. It writes into
# `quickstart_out/` under the current folder and needs nothing but `pip install '.[io,plot]'`.
#
# 1. analyse a few synthetic clips, 2. look at the events, 3. plot what the detector saw,
# 4. tune `DetectorConfig`, 5. score a folder of audio files.

# %%
from pathlib import Path

import numpy as np

import logdrum
from logdrum import synth

OUT = Path("quickstart_out")
OUT.mkdir(exist_ok=True)
SR = 22050
print("logdrum", logdrum.__version__)

# %% [markdown]
# ## 1. Analyse a few clips
#
# `logdrum.analyze` always answers: the accepted events, the rejected candidates with the
# reason, and a clip score in [0, 1]. `holds_log_drums` is `score >= 0.5`.

# %%
def alone(hit, seconds=3.0, at=0.3):
    """A single hit in an otherwise silent clip."""
    return synth.place(np.zeros(int(seconds * SR)), hit, at, SR)


clips = {
    "amapiano groove": synth.groove(SR, bars=4, seed=1),
    "groove without log drums": synth.groove(SR, bars=4, log_drums=False, seed=1),
    "one log drum (80 Hz, tau 400 ms)": alone(synth.log_drum(SR, 80.0, 0.4, glide=1.3)),
    "tight kick (tau 50 ms)": alone(synth.kick(SR, tau=0.05, click=True)),
    "held bass note (55 Hz)": alone(synth.tone(SR, 55.0, 1.6, fade=0.02)),
    "pink noise": synth.noise(SR, 3.0, color="pink", level_db=-12.0),
}
analyses = {}
print(f"{'clip':34s} {'verdict':>8s} {'score':>6s} {'events':>6s}  rejected candidates")
for name, audio in clips.items():
    a = logdrum.analyze(audio, SR)
    analyses[name] = a
    print(f"{name:34s} {'LOG DRUM' if a.holds_log_drums else '-':>8s} {a.score:6.2f} "
          f"{len(a.events):6d}  {a.rejected_by_reason()}")

# %% [markdown]
# ## 2. The events
#
# Each `LogDrumEvent` carries its onset, pitch `f0_hz`, the decay time constant `decay_ms`
# (tau of `exp(-t / tau)`), the glide ratio and a confidence. `detect_amapiano_log_drums`
# returns `None` when the clip holds no log drums, else a `Detection` with the same events.

# %%
det = logdrum.detect_amapiano_log_drums(clips["amapiano groove"], SR)
print(f"score {det.score:.2f}, {len(det.events)} events, {det.rate_per_s:.1f} per second")
for e in det.events[:8]:
    print(f"  {e.onset_s:6.2f} s  f0 {e.f0_hz:5.1f} Hz  tau {e.decay_ms:4.0f} ms  "
          f"glide {e.glide_ratio:4.2f}  confidence {e.confidence:.2f}")
assert logdrum.detect_amapiano_log_drums(clips["tight kick (tau 50 ms)"], SR) is None
for c in analyses["tight kick (tau 50 ms)"].rejected:
    print(f"kick rejected: {c.reason} (tau {c.decay_ms:.0f} ms, f0 {c.f0_hz:.0f} Hz)")

# %% [markdown]
# ## 3. Plot what the detector saw
#
# `logdrum.plot` (matplotlib, imported only here) draws the 50-150 Hz band envelope, the
# waveform, the accepted events with their f0 and tau, and the rejected candidates by reason.

# %%
import matplotlib.pyplot as plt  # noqa: E402

from logdrum.plot import plot_analysis  # noqa: E402

fig, axes = plt.subplots(2, 1, figsize=(11, 6))
for ax, name in zip(axes, ["amapiano groove", "groove without log drums"]):
    plot_analysis(analyses[name], clips[name], SR, title=name, ax=ax)
fig.tight_layout()
fig.savefig(OUT / "groove.png", dpi=90)
plt.show()
print("figure:", OUT / "groove.png")

# %% [markdown]
# ## 4. Tune `DetectorConfig`
#
# Every threshold is a field of the frozen dataclass; pass `config=` to any function. Here the
# accepted decay range is narrowed to the plan's "woody" 300-600 ms.

# %%
strict = logdrum.DetectorConfig(tau_min_ms=300.0, tau_max_ms=600.0)
for tau in (0.25, 0.4, 0.8):
    hit = alone(synth.log_drum(SR, 80.0, tau))
    default_ok = logdrum.analyze(hit, SR).holds_log_drums
    strict_ok = logdrum.analyze(hit, SR, config=strict).holds_log_drums
    print(f"tau {tau * 1000:4.0f} ms: default {'yes' if default_ok else 'no':3s}  strict {'yes' if strict_ok else 'no'}")

# %% [markdown]
# ## 5. Score a folder
#
# `logdrum.dataset.scan.scan` decodes every audio file under some folders, scores it in parallel and
# writes a resumable CSV (the same as `logdrum scan FOLDER --out scores.csv`). Here the clips
# above go to disk first. `amapiano_proxy_score` adds an optional MagnaTagATune tag prior.

# %%
import csv  # noqa: E402

import soundfile as sf  # noqa: E402

from logdrum.dataset.scan import scan  # noqa: E402

folder = OUT / "clips"
folder.mkdir(exist_ok=True)
for i, (name, audio) in enumerate(clips.items()):
    sf.write(folder / f"{i}_{name.split(' (')[0].replace(' ', '_')}.wav", audio.astype(np.float32), SR)
rows = scan([folder], OUT / "scores.csv", workers=1, progress=False)
for r in sorted(rows, key=lambda r: -float(r["score"] or 0)):
    print(f"  {float(r['score']):.3f}  {r['n_events']:>3s} events  {Path(r['path']).name}")
print("scores:", OUT / "scores.csv", f"({len(list(csv.DictReader(open(OUT / 'scores.csv'))))} rows)")

groove = clips["amapiano groove"]
print("proxy score, audio only:       ", round(logdrum.amapiano_proxy_score(groove, SR), 3))
print("proxy score, with MTAT tags:   ", round(logdrum.amapiano_proxy_score(groove, SR, tags=["electronic", "house", "piano"]), 3))
