"""The proxy score and the MTAT tag prior: weights only from real MTAT tags, bounds, monotonicity."""


import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import logdrum
from logdrum import synth
from logdrum.dataset.mtat import MTAT_TAGS
from logdrum.dataset.score import TAG_WEIGHT, audio_evidence, beat_share, combine_scores
from logdrum.dataset.tags import TAG_GROUPS, join_tags, split_tags, tag_prior

POSITIVE = [t for w, tags in TAG_GROUPS if w > 0 for t in tags]
NEGATIVE = [t for w, tags in TAG_GROUPS if w < 0 for t in tags]


def test_prior_uses_only_mtat_tags_each_once():
    used = [t for _, tags in TAG_GROUPS for t in tags]
    assert set(used) <= set(MTAT_TAGS), set(used) - set(MTAT_TAGS)
    assert len(used) == len(set(used))
    # the words the MTAT notes call absent must not sneak in
    assert not {"bassline", "chill", "chords", "groove", "soulful", "amapiano"} & set(used)


def test_prior_values():
    assert tag_prior([]) == 0.5
    assert tag_prior(["guitar", "not a tag"]) == 0.5
    assert tag_prior(["drum"]) == tag_prior(["drum", "drums", "percussion"])  # a group counts once
    assert tag_prior("house|dance|electronic") > tag_prior(["drums"]) > 0.5 > tag_prior(["classical"])
    assert tag_prior(["no beat"]) < tag_prior(["classical"])


def test_tag_strings_round_trip():
    assert split_tags(" House | deep |") == ("house", "deep")
    assert join_tags(["fast beat", "techno"]) == "fast beat|techno"
    assert split_tags(join_tags(("fast beat", "no drums"))) == ("fast beat", "no drums")


tag_sets = st.lists(st.sampled_from(MTAT_TAGS), max_size=12)


@given(tag_sets, st.sampled_from(POSITIVE), st.sampled_from(NEGATIVE))
def test_prior_is_monotone_in_tags(tags, good, bad):
    p = tag_prior(tags)
    assert 0.0 < p < 1.0
    assert tag_prior(tags + [good]) >= p
    assert tag_prior(tags + [bad]) <= p


@given(st.floats(0, 1), st.floats(0, 1), st.one_of(st.none(), tag_sets))
def test_combined_score_is_bounded_and_monotone_in_audio(a, b, tags):
    lo, hi = sorted((a, b))
    s_lo, s_hi = combine_scores(lo, tags), combine_scores(hi, tags)
    assert 0.0 <= s_lo <= s_hi <= 1.0


def test_tags_cannot_outvote_a_log_drum_line():
    assert combine_scores(0.0, ["house", "dance", "techno", "electronic", "drums", "bass"]) <= TAG_WEIGHT
    assert combine_scores(0.8, ["classical", "opera", "no drums", "quiet", "medieval"]) >= 0.6 - 1e-9


def test_beat_share():
    beat = 60.0 / 112.0
    assert beat_share([], 10.0) == 0.0
    assert beat_share([0.1], 0.0) == 0.0
    n = int(np.ceil(10.0 / beat))
    assert beat_share(np.arange(n) * beat + 0.01, 10.0) == 1.0
    assert beat_share([0.1, 0.2, 0.3], 10.0) == pytest.approx(1.0 / n)


def test_score_separates_grooves_and_matches_the_parts():
    sr = 16000
    with_ld = synth.groove(sr, bars=4)
    without = synth.groove(sr, bars=4, log_drums=False)
    s_with = logdrum.amapiano_proxy_score(with_ld, sr)
    s_without = logdrum.amapiano_proxy_score(without, sr)
    assert s_with > 0.5 > s_without
    a = logdrum.analyze(with_ld, sr)
    evidence, share = audio_evidence(a)
    assert share > 0.3  # the line runs through the clip, not one corner of it
    assert s_with == pytest.approx(evidence) and evidence <= a.score
    assert logdrum.amapiano_proxy_score(with_ld, sr, tags=["house"]) == pytest.approx(
        combine_scores(evidence, ["house"]))
