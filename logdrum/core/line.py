"""The notes of a clip's log-drum line that fail a check on their own.

Called for a clip that holds log drums, or whose accepted events score at least
``DetectorConfig.line_score_min``: its accepted events define the line (their pitches), and
the notes added here are reported with ``line_note=True``. Those of the first two kinds count
towards the verdict and the score only of a clip that falls short without them
(:mod:`logdrum.core.detector`), and then only those whose decay does not read a tight kick's
(:func:`lifting_notes`; the others are then not reported either). Four kinds:

- **cut or bent decays** (:func:`line_notes`): a candidate that fails only the decay checks and
  lies within 3 % of a pitch of the line (one that two accepted events or more share). In a
  dense line the next note, or a neighbour a semitone away beating on the decay, cuts or bends
  the decay of one note in five (``benchmarks/realmix``), though the note is as plain to the
  ear as the others.
- **notes read at the wrong pitch** (:func:`repitched_notes`): a candidate whose own spectral
  pitch is another sound's (the note before, still ringing; a bass or kick under it) or was
  read sharp on the glide fails the band, tonality or decay checks at that pitch. Measured again
  on its envelope at each pitch the line holds twice or more, it is a line note where one of
  them shows a note's attack and a decay inside the woody range. Not the candidates rejected as
  not percussive: at the line's pitches half of those are the ringing note's beating or
  another instrument's onset 50-150 ms off a note (``benchmarks/realmix``).
- **restruck notes** (:func:`weak_notes`, only in a clip that holds on its accepted events,
  so that a clip its line lifts counts every note it reports): a candidate that fails only
  the attack check, rising 4.5-6 dB at a pitch of the line, the last note there still
  ringing. They never count towards the verdict.
- **notes a louder hit hid** (:func:`hidden_notes`, likewise): a note whose band-envelope
  peak a higher one within ``min_separation_ms`` after it kept from being a candidate, the
  envelope dipping between them (a note a 16th before a kick: of the notes read
  100-150 ms late in ``benchmarks/realmix``, 84 of 98). They never count towards the verdict.
"""

from __future__ import annotations

import numpy as np

from .classify import SAME_NOTE_PITCH, SAME_NOTE_S, failed_checks
from .config import DEFAULT_CONFIG, DetectorConfig
from .events import CandidateFeatures, level_at_pitch, note_features
from .mixlevel import mix_db
from .onset import refine_onsets
from .result import REJECT_REASONS

__all__ = ["hidden_notes", "lifting_notes", "line_candidates", "line_notes", "line_pitches", "one_strike",
           "repitch_candidates", "repitched_notes", "weak_candidates", "weak_notes"]

# A line note lies within 3 % (half a semitone) of the pitch of an accepted note: pitches read
# within 0.7 % (median) in realistic mixes, and the next note of the scale is 6 % away.
_LINE_PITCH = 1.03
_DECAY_CHECKS = tuple(REJECT_REASONS.index(r) for r in ("decay cut short", "too short a decay", "too long a decay"))
_MIX_CHECK = REJECT_REASONS.index("buried in the mix")
_ATTACK_CHECK = REJECT_REASONS.index("not percussive")
#: A restruck note of the line (:func:`weak_notes`) rises at least this much (dB), and is
#: held this much higher 100 ms on: the ringing note's beating rises less (scanned on
#: ``benchmarks/realmix``: 4 / 4.5 / 5 dB, held 0 / 2 / 2.5 dB).
WEAK_ATTACK_DB = 4.5
WEAK_HELD_DB = 2.5
#: A line note whose decay reads a tight kick's (tau under this, in ms: the plan's kicks decay
#: in about 50 ms) is reported with the line but lifts no clip under the threshold
#: (:func:`lifting_notes`): in a dense line a note cut short reads that fast too, and so do the
#: kicks on the beats of a bass line at the kick's pitch (hard negatives of ``benchmarks/realmix``
#: lifted under Vorbis and Opus; docs/detector.md, round 12).
KICK_TAU_MS = 60.0
#: Rejections that may come of a wrong pitch, and are tried again at the line's pitches.
REPITCH_REASONS = ("decay cut short", "too short a decay", "too long a decay", "out of band", "not tonal")
_REPITCH = tuple(REJECT_REASONS.index(r) for r in REPITCH_REASONS)
_RINGS = tuple(REJECT_REASONS.index(r) for r in ("decay cut short", "too long a decay"))
# what a note's envelope must pass at the line's pitch (tonality and band are the pitch's own)
_ENVELOPE_CHECKS = tuple(REJECT_REASONS.index(r) for r in (
    "too quiet", "not percussive", "decay cut short", "too short a decay", "too long a decay"))
#: Accepted events a pitch needs to be one of the line's (line notes and re-pitched notes).
LINE_PITCH_MIN_EVENTS = 2


def _only_fails(fails, checks):
    """True where one of ``checks`` fails and no other check does, the mix level's aside."""
    these = np.zeros_like(fails[0])
    other = np.zeros_like(fails[0])
    for code, failed in enumerate(fails):
        if code in checks:
            these |= failed
        elif code != _MIX_CHECK:
            other |= failed
    return these & ~other


def _on_line(feat, maybe, pitches):
    """``maybe`` (a mask) less the rows not within 3 % of one of ``pitches`` (Hz); no row
    where there are none."""
    cand = np.flatnonzero(maybe)
    off = _to_nearest(np.unique(np.log(pitches)), np.log(feat.f0_hz[cand])) >= np.log(_LINE_PITCH)
    maybe[cand[off]] = False
    return maybe


def _first_of_each_note(feat, cand, taken):
    """Of the rows ``cand``, those that are no second peak of a note: none of the rows
    ``taken`` lies within ``SAME_NOTE_S`` and ``SAME_NOTE_PITCH`` of it, nor an earlier one
    kept."""
    keep = np.zeros(len(feat), bool)
    taken = taken[np.argsort(feat.onset_s[taken], kind="stable")]
    cand = cand[np.argsort(feat.onset_s[cand], kind="stable")]
    taken_on = feat.onset_s[taken]
    # Python floats: numpy scalars in this loop cost a microsecond an access
    lo_hi = np.searchsorted(taken_on, feat.onset_s[cand][:, None] + [-SAME_NOTE_S, SAME_NOTE_S]).tolist()
    onset, log_f = feat.onset_s.tolist(), np.log(feat.f0_hz).tolist()
    taken = taken.tolist()
    same_pitch = float(np.log(SAME_NOTE_PITCH))
    last = []  # kept so far, in onset order
    for i, (lo, hi) in zip(cand.tolist(), lo_hi):
        t = onset[i]
        near = [j for j in taken[lo:hi] if abs(onset[j] - t) < SAME_NOTE_S]
        near += [j for j in last[-4:] if t - onset[j] < SAME_NOTE_S]
        if not any(abs(log_f[j] - log_f[i]) < same_pitch for j in near):
            keep[i] = True
            last.append(i)
    return keep


def _to_nearest(sorted_values, values):
    """Distance from each of ``values`` to the nearest of ``sorted_values`` (inf if none)."""
    if not sorted_values.size:
        return np.full(np.shape(values), np.inf)
    k = np.searchsorted(sorted_values, values)
    return np.minimum(np.abs(values - sorted_values[np.maximum(k - 1, 0)]),
                      np.abs(values - sorted_values[np.minimum(k, sorted_values.size - 1)]))


def line_candidates(feat: CandidateFeatures, reason, config: DetectorConfig = DEFAULT_CONFIG) -> np.ndarray:
    """Candidates that may be notes of the clip's line: they fail the decay checks and no
    other but, maybe, the level against the mix (the detector measures it on these only, once a
    clip holds log drums), and lie within 3 % of one of :func:`line_pitches`: a pitch that two
    accepted events or more share. One accepted event (a tom, a bass note, an 808 kick read
    with a long tail) does not make a pitch the line's: with it, a hard negative's kicks on
    every beat, their decays too short, were counted as its notes and lifted the clip."""
    accepted = np.asarray(reason) < 0
    return _on_line(feat, _only_fails(failed_checks(feat, config), _DECAY_CHECKS) & ~accepted,
                    line_pitches(feat, reason))


def line_notes(feat: CandidateFeatures, reason, config: DetectorConfig = DEFAULT_CONFIG) -> np.ndarray:
    """Rejected candidates that are notes of the clip's log-drum line.

    A line note fails the decay checks and no other (level, attack, band, tonality, mix
    level all pass), lies within 3 % of a pitch two accepted events (``reason < 0``) or more
    share (:func:`line_pitches`), and is no second peak of a note already taken (within
    ``SAME_NOTE_S`` and ``SAME_NOTE_PITCH`` of an accepted event or of an earlier line note).
    Call it only for a clip that holds log drums: the accepted events define the line.

    Returns
    -------
    numpy.ndarray of bool
    """
    cand = np.flatnonzero(line_candidates(feat, reason, config) & (feat.mix_db >= config.mix_level_min_db))
    return _first_of_each_note(feat, cand, np.flatnonzero(np.asarray(reason) < 0))


def lifting_notes(feat: CandidateFeatures, line) -> np.ndarray:
    """The line notes ``line`` (a mask) that count towards the verdict of a clip whose accepted
    events fall short of it: all but those whose decay reads under ``KICK_TAU_MS`` (a decay cut
    before it could be measured counts)."""
    with np.errstate(invalid="ignore"):
        return np.asarray(line, bool) & ~(feat.decay_ms < KICK_TAU_MS)


def weak_candidates(feat: CandidateFeatures, reason, line, config: DetectorConfig = DEFAULT_CONFIG) -> np.ndarray:
    """Candidates that may be restruck notes of the clip's line: they fail the attack check
    and no other but, maybe, the level against the mix, rise at least ``WEAK_ATTACK_DB``
    (held ``WEAK_HELD_DB``), lie within 3 % of the pitch of an accepted event, and are no line
    notes already."""
    accepted = np.asarray(reason) < 0
    return _on_line(feat, _only_fails(failed_checks(feat, config), (_ATTACK_CHECK,)) & ~accepted
                    & ~np.asarray(line, bool) & (feat.attack_db >= WEAK_ATTACK_DB) & (feat.held_db >= WEAK_HELD_DB),
                    feat.f0_hz[accepted])


def weak_notes(feat: CandidateFeatures, reason, line, config: DetectorConfig = DEFAULT_CONFIG) -> np.ndarray:
    """Notes of the line that rose too little on their own: a note struck again while the
    last one at its pitch still rings.

    A note of a line rises over the level its pitch still holds: with the 0.4-0.7 s decays of a
    dense line, a note struck at the pitch of one 0.4 s before rises some 5 dB, under the
    ``attack_min_db`` of 6 dB every event must pass (in ``benchmarks/realmix`` the rejected
    notes' attacks gather at 5 dB). In a clip that holds log drums on its accepted events (the
    detector calls it for no other), a candidate of :func:`weak_candidates` whose level
    against the mix passes (``feat.mix_db`` measured) is
    a line note where no accepted event or line note lies within ``SAME_NOTE_S`` and
    ``SAME_NOTE_PITCH`` of it (nor an earlier one found here). They never count towards the
    verdict.

    Returns
    -------
    numpy.ndarray of bool
    """
    cand = np.flatnonzero(weak_candidates(feat, reason, line, config) & (feat.mix_db >= config.mix_level_min_db))
    return _first_of_each_note(feat, cand, np.flatnonzero((np.asarray(reason) < 0) | np.asarray(line, bool)))




def one_strike(feat: CandidateFeatures, reason, line, config: DetectorConfig = DEFAULT_CONFIG) -> np.ndarray:
    """``line`` less the line notes that read again a strike already reported: those within
    ``min_separation_ms`` of an accepted event (``reason < 0``, not in ``line``) or of an
    earlier line note kept, at any pitch.

    A log-drum line sounds one note at a time, and two candidate peaks closer than
    ``min_separation_ms`` are one hit; but the line's passes time their notes on the notes' own
    envelopes, and a note read at a second pitch of one sound (the line's other pitch, the
    bass under it) can land on an accepted onset (in ``benchmarks/realmix``'s 30 s files this
    and the accepted events' rule take 41 reports off, and no note found: 5,690 before and
    after).
    Accepted events are checked among themselves by
    :func:`logdrum.core.classify.reject_reasons`.
    """
    line = np.array(line, bool)
    rows = np.flatnonzero(line)
    if not rows.size:
        return line
    separation = config.min_separation_ms * 1e-3
    accepted = np.sort(feat.onset_s[(np.asarray(reason) < 0) & ~line])
    rows = rows[np.argsort(feat.onset_s[rows], kind="stable")]
    free = _to_nearest(accepted, feat.onset_s[rows]) >= separation
    line[rows[~free]] = False
    last = -np.inf
    # Python floats: numpy scalars in this loop cost a microsecond an access
    for i, t in zip(rows[free].tolist(), feat.onset_s[rows[free]].tolist()):
        if t - last < separation:
            line[i] = False
        else:
            last = t
    return line


def line_pitches(feat: CandidateFeatures, reason, min_events: int = LINE_PITCH_MIN_EVENTS) -> np.ndarray:
    """The pitches (Hz) of the line: accepted events' pitches, grouped where neighbours lie
    within 3 %; the median of each group of at least ``min_events``."""
    log_f = np.sort(np.log(feat.f0_hz[np.asarray(reason) < 0]))
    if not log_f.size:
        return np.empty(0)
    groups = np.split(log_f, np.flatnonzero(np.diff(log_f) >= np.log(_LINE_PITCH)) + 1)
    return np.exp([np.median(g) for g in groups if g.size >= min_events])


def repitch_candidates(feat: CandidateFeatures, reason, line, config: DetectorConfig = DEFAULT_CONFIG) -> np.ndarray:
    """Candidates tried again at the line's pitches: rejected for one of
    :data:`REPITCH_REASONS`, above the level floor, and not line notes already."""
    return (np.isin(np.asarray(reason), _REPITCH) & ~np.asarray(line, bool)
            & (feat.peak_dbfs >= config.level_floor_dbfs))


def _envelope_passes(sub, config):
    fails = failed_checks(sub, config)
    return ~np.any([fails[c] for c in _ENVELOPE_CHECKS], axis=0)


def _at_pitch(feat, rows, pitch, y, rate, config, parallel, timed=True):
    """The candidates ``rows`` measured again on their envelopes at ``pitch`` (Hz, one per
    row); where ``timed``, timed first on the pitch's glide band and their level read there
    (without, a quick look from the first estimates)."""
    sub = feat.take(rows)
    if timed:
        sub.peak_dbfs = level_at_pitch(sub.peak_dbfs, sub.f0_hz, pitch, rate, config)
        sub.onset_s = refine_onsets(y, rate, sub.onset_s, pitch, parallel=parallel)
    sub.attack_db, sub.held_db, tail_s, tau_s, _ = note_features(y, rate, sub.onset_s, pitch, config, parallel)
    sub.tail_ms, sub.decay_ms, sub.f0_hz = tail_s * 1e3, tau_s * 1e3, pitch
    sub.glide_ratio = np.full(len(sub), np.nan)  # measured against the other pitch: unknown here
    return sub


def _at_a_pitch_of_its_own(feat, rows, reason, pitches, config):
    """Candidates ``rows`` read tonal, in band and off every pitch of the line, ringing there
    (their decay cut short by the next sound, or too long): a note the line does not play
    twice, not one of its notes read at another sound's pitch. Re-pitched, the glide of such a
    note (65 Hz from 92 Hz) rose at a line pitch it swept through (83 Hz) and was reported
    there, 65 ms early, in the built-in groove at glide 1.4 (``tests/core/test_onsets.py``).
    A reading that decays too fast stays a candidate: a short hit over a note of the line is
    read at the hit's pitch (``tests/core/test_repitched_notes.py``)."""
    f = feat.f0_hz[rows]
    lo, hi = config.f0_limits()
    off_line = _to_nearest(np.log(pitches), np.log(f)) > np.log(_LINE_PITCH)  # pitches come sorted
    rings = np.isin(np.asarray(reason)[rows], _RINGS)
    with np.errstate(invalid="ignore"):
        return rings & (feat.tonality[rows] >= config.tonality_min) & (f >= lo) & (f <= hi) & off_line


def repitched_notes(feat: CandidateFeatures, reason, line, y, rate, x, sr,
                    config: DetectorConfig = DEFAULT_CONFIG, *, parallel=False) -> np.ndarray:
    """Rejected candidates that are notes of the line at one of its pitches.

    Each of :func:`repitch_candidates` (but those read tonal, in band and ringing at a pitch
    the line does not hold: notes of their own) is read on its narrowband envelope at every pitch of
    :func:`line_pitches` from its first onset estimate, and takes the pitch where it passes the
    checks a note's envelope must pass (level, attack and the decay checks, as in
    :func:`logdrum.core.classify.reject_reasons`) with the largest rise (where it passes at
    none, the largest rise). There it is timed again on its glide band
    (:func:`logdrum.core.onset.refine_onsets`) and measured again, and it is a line note if it
    passes those checks and the level against the mix. No other note
    may be reported within ``SAME_NOTE_S`` of it, at any pitch: next to a note, another
    pitch's envelope shows that note's attack. Call it only for a clip that holds log drums.

    Parameters
    ----------
    feat : CandidateFeatures
        The candidates; the rows of the notes found are overwritten with their measurements
        at the line's pitch (``glide_ratio`` NaN; tonality as measured at first).
    reason : numpy.ndarray of int
        :func:`logdrum.core.classify.reject_reasons` of ``feat``.
    line : numpy.ndarray of bool
        The line notes already found (:func:`line_notes`).
    y, rate
        The analysis-rate signal and its rate.
    x, sr
        The input as the detector holds it (``(c, n)``) and its rate, for the level against
        the mix.
    config : DetectorConfig
    parallel : bool
        Spread the envelopes, onsets and mix levels over threads (:mod:`logdrum.core.threads`).

    Returns
    -------
    numpy.ndarray of bool
        True for the candidates that are now line notes.
    """
    found = np.zeros(len(feat), bool)
    pitches = line_pitches(feat, reason)
    reported = np.sort(feat.onset_s[(np.asarray(reason) < 0) | np.asarray(line, bool)])
    rows = np.flatnonzero(repitch_candidates(feat, reason, line, config))
    rows = rows[_to_nearest(reported, feat.onset_s[rows]) >= SAME_NOTE_S]
    if not pitches.size:
        return found
    rows = rows[~_at_a_pitch_of_its_own(feat, rows, reason, pitches, config)]
    if not rows.size:
        return found
    # Each pitch measured from the first onset estimate: the one where the note passes, with
    # the largest rise (or the largest rise, where none passes: that estimate may be off).
    # Timing every candidate at every pitch cost as much as the rest of the re-pitching.
    # every pitch in one call: rows x pitches notes, side by side on the threads
    every = _at_pitch(feat, np.tile(rows, pitches.size), np.repeat(pitches, rows.size), y, rate, config, parallel,
                      timed=False)
    rank = (_envelope_passes(every, config) * 1e3 + every.attack_db).reshape(pitches.size, rows.size)
    sub = _at_pitch(feat, rows, pitches[np.argmax(np.nan_to_num(rank, nan=-np.inf), axis=0)], y, rate, config, parallel)
    ok = _envelope_passes(sub, config)
    rows, sub = rows[ok], sub.take(ok)
    sub.mix_db = mix_db(x, sr, sub.peak_dbfs, sub.onset_s, parallel=parallel)
    loud = sub.mix_db >= config.mix_level_min_db
    rows, sub = rows[loud], sub.take(loud)
    keep = _to_nearest(reported, sub.onset_s) >= SAME_NOTE_S
    last = -np.inf
    for j in np.argsort(sub.onset_s, kind="stable"):  # of two within SAME_NOTE_S, the first
        if keep[j] and sub.onset_s[j] - last < SAME_NOTE_S:
            keep[j] = False
        elif keep[j]:
            last = sub.onset_s[j]
    feat.put(rows[keep], sub.take(keep))
    found[rows[keep]] = True
    return found


def hidden_notes(feat: CandidateFeatures, reason, line, hidden: CandidateFeatures, hidden_reason) -> CandidateFeatures:
    """Notes of the line whose band-envelope peak a louder hit just after hid.

    A higher peak within ``min_separation_ms`` after a note's peak (a kick a 16th later) keeps
    the note from being a candidate at all (:func:`logdrum.core.events.hidden_candidates`). In
    a clip that holds log drums, such a peak, measured and checked as every candidate is, is a
    note of the line where it passes every check on its own, lies within 3 % of an accepted
    event's pitch, and no reported note lies within ``SAME_NOTE_S`` and ``SAME_NOTE_PITCH`` of it.

    Parameters
    ----------
    feat, reason, line
        The clip's candidates, their :func:`~logdrum.core.classify.reject_reasons` and the
        line notes found so far.
    hidden, hidden_reason
        The hidden candidates and their reject reasons.

    Returns
    -------
    CandidateFeatures
        The hidden notes, in onset order.
    """
    ok = np.flatnonzero(np.asarray(hidden_reason) < 0)
    accepted = np.asarray(reason) < 0
    shown = np.flatnonzero(accepted | np.asarray(line, bool))
    on_line = _to_nearest(np.unique(np.log(feat.f0_hz[accepted])), np.log(hidden.f0_hz[ok])) < np.log(_LINE_PITCH)
    keep = []
    for i in ok[on_line]:
        near = shown[np.abs(feat.onset_s[shown] - hidden.onset_s[i]) < SAME_NOTE_S]
        if not np.any(np.abs(np.log(feat.f0_hz[near] / hidden.f0_hz[i])) < np.log(SAME_NOTE_PITCH)):
            keep.append(i)
    keep = np.array(keep, dtype=np.int64)
    return hidden.take(keep[np.argsort(hidden.onset_s[keep], kind="stable")])
