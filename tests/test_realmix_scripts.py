"""The realistic-mix benchmark scripts (benchmarks/realmix): the key the log drums are tuned
to, and a corpus folder that is missing, foreign or holds a broken file."""

import csv
import json
import os
import sys

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given
from hypothesis import strategies as st

from logdrum import synth

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "benchmarks", "realmix"))
import build_corpus  # noqa: E402
import measure  # noqa: E402


@given(freqs=st.lists(st.floats(52.0, 145.0), min_size=3, max_size=3),
       key=st.sampled_from([p[0] for p in build_corpus.PROGRESSIONS]))
def test_snapped_pitches_are_notes_of_the_key_inside_the_range(freqs, key):
    hz = build_corpus.snap_to_scale(freqs, key)
    midi = 69 + 12 * np.log2(hz / 440.0)
    assert np.allclose(midi, np.round(midi))
    assert np.all((hz >= 52.0 * 0.97) & (hz <= 145.0))
    # the same note or a semitone and more apart: never a quarter tone
    gaps = np.abs(midi[:, None] - midi[None, :])
    assert np.all((gaps < 1e-6) | (gaps > 1 - 1e-6))


def test_a_missing_or_foreign_corpus_stops_with_a_message(tmp_path):
    with pytest.raises(SystemExit, match="build the corpus first"):
        measure.read_manifest(str(tmp_path))
    (tmp_path / "corpus.json").write_text("{not json")
    with pytest.raises(SystemExit, match="not a corpus manifest"):
        measure.read_manifest(str(tmp_path))
    (tmp_path / "corpus.json").write_text(json.dumps({"grooves": []}))
    with pytest.raises(SystemExit, match="lists no grooves"):
        measure.read_manifest(str(tmp_path))


def _groove(root, gid, sr=16000):
    x = synth.groove(sr, bars=5, seed=int(gid))[: 10 * sr]
    sf.write(os.path.join(root, f"{gid}_ld.flac"), x, sr)
    sf.write(os.path.join(root, f"{gid}_neg.flac"), synth.groove(sr, bars=5, log_drums=False)[: 10 * sr], sr)
    step = 60.0 / 112.0 / 4
    with open(os.path.join(root, f"{gid}_ld.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["onset_s", "f0_hz"])
        for b in range(5):
            for s, f0 in synth.GROOVE_LOG_DRUM_STEPS:
                w.writerow([b * 16 * step + s * step, f0])
    return {"id": gid, "log_drum": {"level_db_re_kick": -6.0}}


def test_a_broken_groove_is_skipped_and_reported_the_rest_measured(tmp_path, capsys):
    grooves = [_groove(tmp_path, "0000"), _groove(tmp_path, "0001")]
    (tmp_path / "0001_neg.flac").write_bytes(b"")  # an empty file where a FLAC should be
    (tmp_path / "corpus.json").write_text(json.dumps({"grooves": grooves}))
    raw = measure.measure(str(tmp_path), {"original": lambda x, sr: (x, sr)})
    assert len(raw["original"]["pos"]) == len(raw["original"]["neg"]) == 1
    assert raw["original"]["notes"][0]["n_ref"] == 25
    assert "skipped 0001" in capsys.readouterr().err


class _Event:
    def __init__(self, onset_s, f0_hz):
        self.onset_s, self.f0_hz = onset_s, f0_hz


def test_a_note_timed_right_but_read_at_another_pitch_counts_only_by_onset():
    ref_on, ref_f0 = np.array([1.0, 2.0, 3.0]), np.array([55.0, 65.4, 73.4])
    events = [_Event(3.02, 73.0),   # on time, at its pitch (0.5 % off)
              _Event(1.01, 65.4),   # on time, at the pitch of another note (a third off)
              _Event(2.2, 65.4)]    # at its pitch, 200 ms late
    m = measure.note_match(ref_on, ref_f0, events)
    assert m["matched"] == 2 and m["matched_at_pitch"] == 1
    assert measure.note_match(ref_on, ref_f0, [])["matched_at_pitch"] == 0
    s = measure.summarise({"original": {"pos": [], "neg": [], "notes": [m]}})["original"]
    assert s["notes"]["recall"] == pytest.approx(2 / 3)
    assert s["notes_at_pitch"]["recall"] == pytest.approx(1 / 3)
    assert s["notes_at_pitch"]["precision"] == pytest.approx(1 / 3)
