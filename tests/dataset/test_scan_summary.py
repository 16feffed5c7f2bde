"""The per-clip detector summary a scan writes describes the events the verdict stands on."""

import math

import numpy as np
import pytest
import soundfile as sf

import logdrum
from logdrum import synth
from logdrum.dataset.scan import score_file

SR = 16000


def _groove(bpm):
    x = synth.groove(SR, bars=8, bpm=bpm, seed=1, tau=0.4, drive=1.5).astype(np.float32)
    return x, logdrum.analyze(x, SR)


def test_line_notes_leave_the_summary_finite_and_consistent(tmp_path):
    # a dense groove whose line has notes with a cut decay (line notes, decay NaN): which tempo
    # cuts a decay short enough depends on where the notes are timed, so the first of several
    x, a = next(((x, a) for x, a in (_groove(bpm) for bpm in (112, 108, 105, 116, 120))
                 if any(e.line_note and math.isnan(e.decay_ms) for e in a.events)), (None, None))
    assert a is not None, "no groove at 105-120 BPM has a line note with a cut decay"
    strict = [e for e in a.events if not e.line_note]
    path = tmp_path / "groove.wav"
    sf.write(path, x, SR, subtype="FLOAT")  # the same samples the analysis above saw
    row = score_file(str(path))
    assert row["n_events"] == len(strict) == a.details["n_events"]
    assert math.isfinite(row["median_tau_ms"])
    assert row["median_tau_ms"] == float(np.median([e.decay_ms for e in strict]))
    assert row["events_per_min"] == pytest.approx(60.0 * len(strict) / a.duration_s, rel=1e-12)
