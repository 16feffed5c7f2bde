"""The per-clip detector summary a scan writes describes the events the verdict stands on."""

import math

import numpy as np
import soundfile as sf

import logdrum
from logdrum import synth
from logdrum.dataset.scan import score_file

SR = 16000


def test_line_notes_leave_the_summary_finite_and_consistent(tmp_path):
    # a dense groove whose line has notes with a cut decay (line notes, decay NaN)
    x = synth.groove(SR, bars=8, seed=1, tau=0.4, drive=1.5).astype(np.float32)
    a = logdrum.analyze(x, SR)
    line = [e for e in a.events if e.line_note]
    assert line and any(math.isnan(e.decay_ms) for e in line)
    strict = [e for e in a.events if not e.line_note]
    path = tmp_path / "groove.wav"
    sf.write(path, x, SR, subtype="FLOAT")  # the same samples the analysis above saw
    row = score_file(str(path))
    assert row["n_events"] == len(strict) == a.details["n_events"]
    assert math.isfinite(row["median_tau_ms"])
    assert row["median_tau_ms"] == float(np.median([e.decay_ms for e in strict]))
    assert row["events_per_min"] == 60.0 * len(strict) / a.duration_s
