"""How line notes are shown: dashed in plot_analysis, marked in events_table."""

import dataclasses

import matplotlib

matplotlib.use("Agg")

import logdrum  # noqa: E402
from logdrum import synth  # noqa: E402
from logdrum.plot import plot_analysis  # noqa: E402

SR = 16000


def test_line_notes_are_dashed_and_named_in_the_legend():
    a = logdrum.analyze(synth.groove(SR, bars=4, seed=0), SR)
    assert a.holds_log_drums and len(a.events) >= 2
    marked = (a.events[0]._replace(line_note=True),) + a.events[1:]
    fig = plot_analysis(dataclasses.replace(a, events=marked))
    ax = fig.axes[0]
    green = [ln for ln in ax.get_lines() if ln.get_color() == "tab:green"]
    assert [ln.get_linestyle() for ln in green].count("--") == 1
    assert len(green) == len(a.events)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "log drum" in labels and "log drum (line note)" in labels


def test_events_table_says_which_events_are_line_notes():
    a = logdrum.analyze(synth.groove(SR, bars=4, seed=0), SR)
    marked = dataclasses.replace(a, events=(a.events[0]._replace(line_note=True),) + a.events[1:])
    rows = marked.events_table().splitlines()
    assert rows[0].split()[-1] == "line"
    assert rows[1].endswith("yes") and not any(r.endswith("yes") for r in rows[2:])
    assert len(rows) == len(a.events) + 1
