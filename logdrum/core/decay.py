"""Each note's own envelope and its decay time constant (numba kernels).

The 50-150 Hz band envelope finds where something happens, but it cannot measure a note's
decay in a dense line: log drums ring into each other, and two notes a tone apart beat at
5-20 Hz, which carves 10 dB valleys into the band envelope. So each candidate is measured on
its **own narrowband envelope**: the analysis signal is demodulated at the candidate's pitch
(multiplied by ``exp(-2j pi f0 t)``), summed over 5 ms hops and smoothed by two one-pole
filters (time constant ``smooth_s``). A note a whole tone away is then about 15 dB down, and
the note's attack, decay and end are read from this envelope:

- attack: rise from the quietest point in the 60 ms before the onset to the peak just after it
  (a beating peak on a note that was already sounding does not rise), and the rise still there
  100 ms later (a kick landing on a ringing note makes a peak but leaves no new note);
- end: the point ``drop_db`` under the peak, the floor, the end of the window, or the valley
  before the envelope rises again by ``min_rise`` dB (the next note at this pitch);
- onset: where the envelope last rose through ``onset_db`` under its peak (or half the rise, if
  that is less). The band envelope's onset is late where a glide enters the band from above,
  or where the next hit (a kick a 16th later) lands before the note's envelope has peaked;
  the note's own envelope rises at its attack whatever follows. The crossing lags the attack
  by a fixed amount, which the caller subtracts;
- tau: a least-squares line through the dB envelope from ``skip`` hops after the peak, or from
  a third of the way to the end if that is later. Starting late is also how a log drum is told
  from a kick that hits with it: the kick (tau ~50 ms) is 25 dB down after 150 ms and the late
  envelope is the log drum's.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["note_decays"]

#: 10 / ln(10): dB of a power ratio from its natural log
_DB_PER_NEPER = 10.0 / np.log(10.0)


@njit(nogil=True, cache=True, fastmath={"reassoc", "contract"})
def _frame(y, s0, hop, tc, ts):
    """``sum y[s0 + k] * exp(-1j w k)`` over ``k < hop`` (zero outside the signal), as
    (re, im), with ``tc, ts = cos(w k), -sin(w k)``: two multiply-adds a sample."""
    n = y.shape[0]
    ar = ai = 0.0
    if s0 >= 0 and s0 + hop <= n:
        for k in range(hop):
            ar += y[s0 + k] * tc[k]
            ai += y[s0 + k] * ts[k]
    else:
        for k in range(hop):
            if 0 <= s0 + k < n:
                ar += y[s0 + k] * tc[k]
                ai += y[s0 + k] * ts[k]
    return ar, ai


@njit(nogil=True, cache=True, fastmath={"reassoc", "contract"})
def _frames4(y, s0, hop, tc, ts, fr, fi):
    """:func:`_frame` for the four frames from ``s0`` on, into ``fr`` and ``fi``. Inside the
    signal the four are summed in one pass: eight independent sums keep the core busy, where a
    single frame is one short chain of dependent additions."""
    if s0 >= 0 and s0 + 4 * hop <= y.shape[0]:
        # four views: ``y[s0 + k]`` with a signed ``s0`` costs a negative-index check a read
        y0, y1, y2, y3 = y[s0:s0 + hop], y[s0 + hop:s0 + 2 * hop], y[s0 + 2 * hop:s0 + 3 * hop], y[s0 + 3 * hop:s0 + 4 * hop]
        r0 = r1 = r2 = r3 = i0 = i1 = i2 = i3 = 0.0
        for k in range(hop):
            c, s = tc[k], ts[k]
            v0, v1, v2, v3 = y0[k], y1[k], y2[k], y3[k]
            r0 += v0 * c
            i0 += v0 * s
            r1 += v1 * c
            i1 += v1 * s
            r2 += v2 * c
            i2 += v2 * s
            r3 += v3 * c
            i3 += v3 * s
        fr[0], fr[1], fr[2], fr[3] = r0, r1, r2, r3
        fi[0], fi[1], fi[2], fi[3] = i0, i1, i2, i3
    else:
        for q in range(4):
            fr[q], fi[q] = _frame(y, s0 + q * hop, hop, tc, ts)


@njit(nogil=True, cache=True)
def _note(y, start, f0, rate, hop, pre, search, max_frames, alpha, min_rise, drop_db, floor_db,
          skip, hold, look_back, onset_db, hop_s, env, tc, ts):
    w = 2.0 * np.pi * f0 / rate
    # exp(-1j w k) by a rotation a sample, into buffers reused from note to note: 2 * hop calls
    # to cos and sin per note took as long as a sixth of the envelopes (the rotation drifts
    # by under 1e-14 over a frame)
    c1, s1 = np.cos(w), -np.sin(w)
    tc[0], ts[0] = 1.0, 0.0
    for k in range(1, hop):
        tc[k] = tc[k - 1] * c1 - ts[k - 1] * s1
        ts[k] = tc[k - 1] * s1 + ts[k - 1] * c1
    z1r = z1i = z2r = z2i = 0.0
    n_done = 0
    p = pre
    end = max_frames - 1
    run_min = 0.0
    valley = 0
    stop_level = 0.0
    # Frame j is turned by exp(-1j w j hop) so that the frames add up coherently; the phasor
    # is stepped by one multiplication a frame (a constant phase does not change |z|).
    step_c, step_s = np.cos(w * hop), -np.sin(w * hop)
    pc, ps = 1.0 / hop, 0.0
    fr4 = np.empty(4)
    fi4 = np.empty(4)
    for j in range(max_frames):
        if j % 4 == 0:
            # Four frames at a time: up to three past the note's end are computed for nothing,
            # cheaper than summing one frame at a time. They are smoothed, and only then
            # turned into dB, in loops of their own: a call to log in the middle of the
            # smoothing and the checks below makes every value live across it go through memory.
            _frames4(y, start + j * hop, hop, tc, ts, fr4, fi4)
            group = min(4, max_frames - j)
            for q in range(group):
                fr, fi = fr4[q], fi4[q]
                ar, ai = fr * pc - fi * ps, fr * ps + fi * pc
                pc, ps = pc * step_c - ps * step_s, pc * step_s + ps * step_c
                if j + q == 0:
                    z1r, z1i, z2r, z2i = ar, ai, ar, ai
                z1r += (1.0 - alpha) * (ar - z1r)
                z1i += (1.0 - alpha) * (ai - z1i)
                z2r += (1.0 - alpha) * (z1r - z2r)
                z2i += (1.0 - alpha) * (z1i - z2i)
                # a sine of amplitude A demodulates to A/2
                env[j + q] = 4.0 * (z2r * z2r + z2i * z2i) + 1e-20
            for q in range(group):
                # 10 log10 as a multiple of the natural log: a third cheaper, the same to an ulp
                env[j + q] = _DB_PER_NEPER * np.log(env[j + q])
        e = env[j]
        n_done = j + 1
        if j <= pre + search:
            if j >= pre and e > env[p]:
                p = j
            if j == pre + search:
                stop_level = max(env[p] - drop_db, floor_db)
                run_min = env[p]
                valley = p
                for k in range(p + 1, j + 1):  # frames after the peak already computed
                    if env[k] < run_min:
                        run_min = env[k]
                        valley = k
            continue
        if e < stop_level:
            end = j
            break
        if e < run_min:
            run_min = e
            valley = j
        elif e > run_min + min_rise:
            end = valley
            break
    if n_done <= pre + search:  # the signal window was too short to finish the search
        end = n_done - 1
    # the level just before the onset: further back could be before an earlier attack of
    # this same note, which would make every wiggle on its decay look like a new note
    lo = env[p]
    for k in range(max(0, pre - look_back), pre + 1):
        lo = min(lo, env[k])
    rise = env[p] - lo
    target = env[p] - min(0.5 * rise, onset_db)
    k = p
    while k > 0 and env[k - 1] > target:
        k -= 1
    cross = float(k)
    if k > 0 and env[k] > env[k - 1]:
        cross = k - 1 + (target - env[k - 1]) / (env[k] - env[k - 1])
    # how much louder the pitch still is `hold` frames on: a kick or click landing on a note
    # that was already ringing makes a peak, but no new note
    held = env[min(p + hold, end)] - lo
    tail = (end - p) * hop_s
    fit_from = max(p + skip, p + (end - p) // 3)
    m = end - fit_from + 1
    tau = np.nan
    if m >= 3:
        mt = 0.5 * (fit_from + end)
        my = 0.0
        for k in range(fit_from, end + 1):
            my += env[k]
        my /= m
        num = 0.0
        den = 0.0
        for k in range(fit_from, end + 1):
            num += (k - mt) * (env[k] - my)
            den += (k - mt) * (k - mt)
        slope_db_per_s = num / den / hop_s
        # 20 log10(exp(-t/tau)) = -(20 / ln 10) t / tau
        tau = (20.0 / np.log(10.0)) / -slope_db_per_s if slope_db_per_s < 0 else np.inf
    return rise, held, tail, tau, (cross - pre) * hop_s


@njit(nogil=True, cache=True)
def note_decays(y, rate, starts, f0, hop, pre, search, max_frames, alpha, min_rise, drop_db,
                floor_db, skip, hold, look_back, onset_db, hop_s):
    """Attack, extent and tau of each note from its narrowband envelope.

    The envelope of note ``i`` starts at sample ``starts[i]`` (``pre`` frames of ``hop``
    samples before its onset) and is computed only as far as the note lasts.

    Parameters
    ----------
    y : float64 array
        Analysis-rate signal.
    rate : float
    starts : int64 array
    f0 : float64 array
        Demodulation frequency of each note, Hz.
    hop, pre, search, max_frames : int
        Frame length in samples; frames before the onset; frames after it in which the peak
        is looked for; most frames per note.
    alpha : float
        One-pole coefficient ``exp(-hop / (rate * smooth_s))``.
    min_rise, drop_db, floor_db : float
        See the module docstring.
    skip : int
        Frames after the peak before the tau fit may start.
    hold : int
        Frames after the peak at which ``held_db`` is read.
    look_back : int
        Frames before the onset over which the pre-onset level (the base of the rise) is taken.
    onset_db : float
        Depth under the peak at which the attack is timed.
    hop_s : float

    Returns
    -------
    rise_db, held_db, tail_s, tau_s, rise_at_s : float64 arrays
        ``rise_db`` is the rise into the peak, ``held_db`` the rise still there ``hold`` frames
        later (or at the note's end, if sooner).
        ``tau_s`` is ``inf`` for a flat or rising tail and ``nan`` with fewer than 3 frames.
        ``rise_at_s`` is when the envelope crossed ``onset_db`` under the peak, in seconds
        after the given onset (negative: before it).
    """
    n = starts.shape[0]
    out = np.empty((5, n))
    env = np.empty(max_frames)
    tc = np.empty(hop)
    ts = np.empty(hop)
    for i in range(n):
        out[0, i], out[1, i], out[2, i], out[3, i], out[4, i] = _note(
            y, starts[i], f0[i], rate, hop, pre, search, max_frames, alpha, min_rise, drop_db, floor_db,
            skip, hold, look_back, onset_db, hop_s, env, tc, ts)
    return out[0], out[1], out[2], out[3], out[4]
