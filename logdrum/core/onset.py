"""The reported onset of a note: the spectral flux in the band its glide sweeps.

A log drum starts above its pitch and glides down to it ("bwom", a glide ratio of 1-1.5 over
some 40 ms), so energy at the final pitch f0 arrives 20-110 ms after the attack, later the
wider the glide: an envelope at f0 times the attack late, by an amount that depends on the
glide (the fixed correction of :mod:`logdrum.core.events` is right only at the median glide).
The attack is where the spectrum between ``0.96 f0`` and ``1.55 f0`` grows: the half-wave
rectified spectral flux over those bins (as in librosa's ``onset_strength``, restricted to the
note's own band), from 90 ms before the first estimate to 50 ms after it, looked at twice:

1. **Which rise**: 192 ms Hann frames every 5 ms. Their 5.2 Hz bins keep the notes of the
   line apart: in 64 ms frames (16 Hz bins) a note at 62 Hz and one at 73 Hz still ringing
   share the band's bins and beat at 11 Hz, and every beat read as an attack. Each bin's
   growth is counted over its largest magnitude of the last 150 ms: where the next note
   glides through the pitch of one still ringing, that bin dips and regrows over some 80 ms,
   and counted over the last 10 ms the regrowth outgrew the attack (the note read 50-90 ms
   late). The attack is the earliest flux peak of at least 0.45 of the largest (a kick a 16th
   after the note can grow the band more), a peak the flux falls from by a fifth before it
   grows past it (where it only pauses, as a shared bin dips, the attack is still to come)
   and not the first frame searched (a flux falling into the window peaked before it).
2. **Where exactly**: a long window's flux peaks early, as its rising edge meets the note
   (lone notes 7-30 ms early in 192 ms frames), so the attack is placed, within 30 ms of the
   first look's, by the largest rectified *complex-domain deviation* (Bello et al., 2004;
   Dixon, 2006) of 64 ms frames over ``f0`` to ``3 f0`` (the glide and the drive's first
   overtones): each bin that grew counts by how far its value lies from a steady continuation
   of the two frames before (its magnitude held, its phase advanced as much again). A note
   ringing on, or one a line's earlier note beats with, continues steadily and barely counts;
   a new attack breaks the phase even where it hardly adds magnitude. Growth in magnitude (over
   0.92-1.55 f0) peaked instead where a gliding note settled on its pitch in the bins the
   ringing notes shared, 50-75 ms late.

No calibration: the flux peaks at the attack whatever the glide.

Measured on ``benchmarks/realmix`` (100 grooves, 7,119 notes; docs/detector.md): note F
0.70 -> 0.76 with one look of 64 ms frames (round 3), 0.79 -> 0.81 with the two looks
(round 6), 0.824 -> 0.831 with the deviation in the second (round 8; the first corpus 0.804 ->
0.810), 0.840 -> 0.854 with the first look's 150 ms memory and its peaks (round 11; the first
corpus 0.814 -> 0.827). Lone notes: -11 to 0 ms over f0 52-148 Hz, glide 1-1.5, tau
0.25-0.7 s, drive 0-3, before and after round 11.
Known limit: a note a 16th after one a minor third above it (``logdrum.synth.groove``'s steps 10
and 11), gliding through the ringing note's pitch, reads 50-57 ms late with a glide of 1.4
(the interference grows the band as the glide settles; found on time up to a glide of 1.25).

The kernel sums the signal once per hop and bin (a sliding DFT in blocks: a dot product with a
fixed row of twiddles, turned by the block's phasor; every block of a note in one matrix
product) and windows afterwards, a Hann window being three neighbouring bins of the
rectangular one: ``H[k] = X[k] / 2 - (X[k-1] + X[k+1]) / 4``. Round 12 made it 1.5x faster
with the same numbers (the matrix product; magnitudes in branch-free loops; the memory's
maximum as a van Herk / Gil-Werman running maximum instead of a rescan whenever the largest
frame leaves).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .threads import map_chunks

__all__ = ["glide_flux_onsets", "refine_onsets"]

#: Band of the glide, as multiples of the final pitch (first look, second look).
GLIDE_BAND = (0.96, 1.55)
FINE_BAND = (1.0, 3.0)
#: Frame lengths of the two looks: 192 ms bins (5.2 Hz) tell the note from its neighbours of
#: the line; 64 ms frames place the attack.
_FRAME_S = 0.192
_FINE_FRAME_S = 0.064
_HOP_S = 0.005
#: Where the attack is looked for around the first estimate (s before, s after); the second
#: look, around the first look's.
SEARCH_S = (0.09, 0.05)
FINE_SEARCH_S = (0.03, 0.03)
#: Growth is counted over a bin's largest magnitude of this long before: a bin where a ringing
#: note beats with the next one dips and regrows over some 80 ms (192 ms frames), and a
#: regrowth is no attack; in the second look these first frames only fill the deviation's two
#: frames of past.
MEMORY_S = 0.15
FINE_MEMORY_S = 0.01
#: The earliest flux peak of at least this share of the largest is the attack (a kick a 16th
#: after the note, or the glide settling where a ringing note dipped, can grow the band more);
#: the second look takes the largest. Scanned with ``MEMORY_S`` and ``SEARCH_S`` on
#: ``benchmarks/realmix`` (docs/detector.md, round 11).
EARLIEST_SHARE = 0.45
#: A flux peak of the first look is one the flux falls from, to this share of it, before it
#: grows past it: where a bin the note shares with the one ringing before dips, the rise
#: pauses (a local maximum of one frame) some 70 ms before the attack's peak.
PEAK_DROP = 0.8


@njit(nogil=True, cache=True)
def _deviation(xr, xi, r1, i1, r2, i2):
    """How far a bin's value ``x`` lies from the value a steady partial would take: the last
    frame's value ``x1`` turned on by the phase it advanced since the frame before (``x2``)."""
    ur = r1 * r2 + i1 * i2  # x1 conj(x2): the phase advance
    ui = i1 * r2 - r1 * i2
    norm = np.sqrt(ur * ur + ui * ui)
    pr, pi = r1, i1
    if norm > 0.0:
        pr = (r1 * ur - i1 * ui) / norm
        pi = (r1 * ui + i1 * ur) / norm
    return np.sqrt((xr - pr) ** 2 + (xi - pi) ** 2)


@njit(nogil=True, cache=True)
def _flux_peak(y, first, k_lo, k_hi, hop, n_blocks, n_frames, memory, share, drop, cos_t, sin_t, frame_c,
               frame_s, tw_buf, y_buf, dft_buf, part_r, part_i, mags, fluxes, deviation, dft_r, dft_i, run_up,
               run_down):
    n_bins = k_hi - k_lo + 3  # the band and one bin each side, for the Hann combination
    n_fft = hop * n_blocks
    n_y = y.shape[0]
    acc = n_frames - 1 + n_blocks  # row of part_r/part_i holding the current frame's DFT
    # sum_j y[s0 + j] exp(-2j pi k (b hop + j) / n_fft) is the block's phasor exp(-2j pi k b hop /
    # n_fft) times a dot product with one fixed row of twiddles per bin: for every block at
    # once, one matrix product (blocks x samples, samples x bins with cos and sin side by side),
    # which BLAS runs twice as fast as a loop of short dot products. Table indices are
    # stepped, not taken modulo n_fft (an integer division per bin and block).
    tw = tw_buf[:hop * 2 * n_bins].reshape((hop, 2 * n_bins))
    for q in range(n_bins):
        k = k_lo - 1 + q
        m = 0
        for j in range(hop):
            tw[j, q] = cos_t[m]
            tw[j, n_bins + q] = sin_t[m]
            m += k
            if m >= n_fft:
                m -= n_fft
    samples = y_buf[:acc * hop]  # the blocks' samples, zeros outside the signal
    lo, hi = max(0, -first), min(acc * hop, n_y - first)
    samples[:lo] = 0.0
    if hi > lo:
        samples[lo:hi] = y[first + lo:first + hi]
    samples[max(hi, lo):] = 0.0
    blocks = dft_buf[:acc * 2 * n_bins].reshape((acc, 2 * n_bins))
    np.dot(samples.reshape((acc, hop)), tw, blocks)
    for q in range(n_bins):
        k_step = ((k_lo - 1 + q) * hop) % n_fft
        m = 0  # (k b hop) mod n_fft
        for b in range(acc):
            dr, di = blocks[b, q], blocks[b, n_bins + q]
            c, sn = cos_t[m], sin_t[m]
            part_r[b, q] = dr * c - di * sn
            part_i[b, q] = dr * sn + di * c
            m += k_step
            if m >= n_fft:
                m -= n_fft
    for q in range(n_bins):
        part_r[acc, q] = part_i[acc, q] = 0.0
        for b in range(n_blocks):
            part_r[acc, q] += part_r[b, q]
            part_i[acc, q] += part_i[b, q]
    # Each frame's Hann-windowed bins and magnitudes first, in loops with no branches (their
    # arithmetic runs in vector registers), then the flux of each frame from them
    for f in range(n_frames):
        if f > 0:  # rectangular-window DFT of blocks f .. f + n_blocks - 1, as a running sum
            for q in range(n_bins):
                part_r[acc, q] += part_r[f + n_blocks - 1, q] - part_r[f - 1, q]
                part_i[acc, q] += part_i[f + n_blocks - 1, q] - part_i[f - 1, q]
        # frame f starts f * hop samples after ``first``: the phase between its bins
        c, s = frame_c[f], frame_s[f]
        for q in range(1, n_bins - 1):
            xr, xi = part_r[acc, q], part_i[acc, q]
            lr, li = part_r[acc, q - 1], part_i[acc, q - 1]
            ur, ui = part_r[acc, q + 1], part_i[acc, q + 1]
            # X[k] / 2 - exp(-1j th) X[k-1] / 4 - exp(1j th) X[k+1] / 4
            hr = 0.5 * xr - 0.25 * (c * lr + s * li) - 0.25 * (c * ur - s * ui)
            hi = 0.5 * xi - 0.25 * (c * li - s * lr) - 0.25 * (c * ui + s * ur)
            dft_r[f, q], dft_i[f, q] = hr, hi
            mags[f, q] = np.sqrt(hr * hr + hi * hi)
    if not deviation:
        # the largest magnitude of frames f - memory .. f - 1, for every frame at once: the
        # larger of a running maximum from the end of one stretch of ``memory`` frames back and
        # one from the start of the next on (van Herk, 1992; Gil and Werman, 1993)
        for f in range(n_frames):
            start = f % memory == 0
            for q in range(1, n_bins - 1):
                run_up[f, q] = mags[f, q] if start else max(run_up[f - 1, q], mags[f, q])
        for f in range(n_frames - 1, -1, -1):
            end = f == n_frames - 1 or (f + 1) % memory == 0
            for q in range(1, n_bins - 1):
                run_down[f, q] = mags[f, q] if end else max(run_down[f + 1, q], mags[f, q])
    best = -1
    best_flux = 0.0
    loudest = 0.0
    for f in range(n_frames):
        flux = 0.0
        for q in range(1, n_bins - 1):
            a = mags[f, q]
            loudest = max(loudest, a)
            if deviation:
                if f >= 2 and a > mags[f - 1, q]:  # rectified: a bin that grew
                    d = _deviation(dft_r[f, q], dft_i[f, q], dft_r[f - 1, q], dft_i[f - 1, q], dft_r[f - 2, q],
                                   dft_i[f - 2, q])
                    if d > 1e-9 * loudest:  # as below: no rounding residue past the end
                        flux += d
                continue
            if f < memory:  # these frames only fill the memory
                continue
            before = max(run_down[f - memory, q], run_up[f - 1, q])
            # Past the end of the signal the running sums leave rounding residue (1e-16 of
            # the sums before), whose wobble is no growth.
            if a - before > 1e-9 * loudest:
                flux += a - before
        # the first frames have too short a past to tell growth from beating
        fluxes[f] = flux if f >= memory else 0.0
        if fluxes[f] > best_flux:
            best_flux = fluxes[f]
            best = f
    # not the first frame searched: the flux there may be falling from a peak before the window
    # (in the built-in groove, the attack of the note a 16th before, at another pitch)
    for f in range(memory + 1, best):
        if fluxes[f] >= share * best_flux and fluxes[f] >= fluxes[f - 1]:
            # a peak: the flux falls to ``drop`` of it before it grows past it (a rise that only
            # pauses, where a bin the note shares with the one before dips, is none)
            for g in range(f + 1, best + 1):
                if fluxes[g] <= drop * fluxes[f]:
                    return f
                if fluxes[g] > fluxes[f]:
                    break
    return best


@njit(nogil=True, cache=True)
def glide_flux_onsets(y, rate, first, f0, hop, n_blocks, n_frames, memory, r_lo, r_hi, share, deviation=False,
                      drop=1.0):
    """Frame of the attack in ``[r_lo f0, r_hi f0]`` (a spectral-flux peak), for each note.

    Parameters
    ----------
    y : float array
        Analysis-rate signal.
    rate : float
    first : int64 array
        Sample at which frame 0 of each note starts (may lie before the signal: zeros there).
    f0 : float64 array
        Final pitch of each note, Hz.
    hop, n_blocks, n_frames : int
        Frame hop in samples; frame length in hops (the DFT size is ``hop * n_blocks``);
        frames per note.
    memory : int
        Frames over whose largest magnitude a bin's growth is counted (at least 1); the
        first ``memory`` frames are never the attack.
    r_lo, r_hi : float
        The band, as multiples of f0 (at least the DFT bin nearest f0 is used).
    share : float
        The earliest local flux peak of at least ``share`` times the largest is taken
        (1.0: the largest).
    deviation : bool
        Measure each frame by how far its grown bins lie from a steady continuation of the
        two frames before (the rectified complex-domain deviation) instead of by their growth
        in magnitude over the last ``memory`` frames (which then only mark the frames that are
        never the attack; at least 2).
    drop : float
        A peak is a frame the flux falls from to ``drop`` times its value before it grows past
        it again (1.0: any local maximum).

    Returns
    -------
    int64 array
        Index ``f`` of the attack's frame (its centre is ``first + f * hop + hop * n_blocks // 2``);
        -1 where the band never grew.
    """
    n_fft = hop * n_blocks
    cos_t = np.empty(n_fft)
    sin_t = np.empty(n_fft)
    for m in range(n_fft):
        cos_t[m] = np.cos(2.0 * np.pi * m / n_fft)
        sin_t[m] = -np.sin(2.0 * np.pi * m / n_fft)
    max_bins = n_fft // 2 + 3
    memory = max(memory, 1)
    part_r = np.empty((n_frames + n_blocks, max_bins))
    part_i = np.empty((n_frames + n_blocks, max_bins))
    mags = np.empty((n_frames, max_bins))
    # the complex bins of the frames (read back by the deviation), the running maxima
    dft_r = np.empty((n_frames, max_bins))
    dft_i = np.empty((n_frames, max_bins))
    run_up = np.empty((n_frames, max_bins))
    run_down = np.empty((n_frames, max_bins))
    # work space of the blocks' matrix product (_flux_peak)
    tw_buf = np.empty(hop * 2 * max_bins)
    y_buf = np.empty((n_frames - 1 + n_blocks) * hop)
    dft_buf = np.empty((n_frames - 1 + n_blocks) * 2 * max_bins)
    frame_c = np.empty(n_frames)
    frame_s = np.empty(n_frames)
    for f in range(n_frames):
        th = 2.0 * np.pi * ((f * hop) % n_fft) / n_fft
        frame_c[f], frame_s[f] = np.cos(th), np.sin(th)
    fluxes = np.zeros(n_frames)
    out = np.empty(first.shape[0], np.int64)
    for i in range(first.shape[0]):
        k_lo = int(np.ceil(r_lo * f0[i] * n_fft / rate))
        k_hi = int(np.floor(r_hi * f0[i] * n_fft / rate))
        if k_hi < k_lo:
            k_lo = k_hi = int(np.round(f0[i] * n_fft / rate))
        k_lo = max(k_lo, 1)
        k_hi = max(min(k_hi, n_fft // 2 - 1), k_lo)
        out[i] = _flux_peak(y, first[i], k_lo, k_hi, hop, n_blocks, n_frames, memory, share, drop, cos_t, sin_t,
                            frame_c, frame_s, tw_buf, y_buf, dft_buf, part_r, part_i, mags, fluxes, deviation, dft_r,
                            dft_i, run_up, run_down)
    return out


def refine_onsets(y, rate, onset_s, f0, *, parallel=False):
    """The onsets of notes of pitch ``f0`` moved to their attack in the glide band.

    Parameters
    ----------
    y : numpy.ndarray
        Analysis-rate signal.
    rate : float
    onset_s, f0 : numpy.ndarray
        First onset estimates (s) and final pitches (Hz, finite).
    parallel : bool
        Time contiguous chunks of the notes side by side on threads
        (:mod:`logdrum.core.threads`; the same numbers).

    Returns
    -------
    numpy.ndarray
        The refined onsets; the first estimate where the band never grew.

    Raises
    ------
    ValueError
        ``onset_s`` and ``f0`` of different shapes, a pitch that is not a positive finite
        number of Hz, or a rate that is not positive (the kernel would read out of its tables).
    """
    onset_s = np.asarray(onset_s, dtype=float)
    f0 = np.asarray(f0, dtype=float)
    if onset_s.shape != f0.shape or onset_s.ndim != 1:
        raise ValueError(f"onset_s and f0 must be 1-D arrays of one length, got shapes {onset_s.shape} and {f0.shape}")
    if not np.all(np.isfinite(f0) & (f0 > 0)) or not np.all(np.isfinite(onset_s)):
        raise ValueError("f0 must hold positive finite pitches in Hz and onset_s finite times")
    if not (np.isfinite(rate) and rate > 0):
        raise ValueError(f"rate must be a positive number of Hz, got {rate}")
    if onset_s.size == 0:
        return onset_s.copy()
    y = np.ascontiguousarray(y)
    return np.concatenate(map_chunks(lambda lo, hi: _refined(y, rate, onset_s[lo:hi], f0[lo:hi]), onset_s.size,
                                     parallel))


def _refined(y, rate, onset_s, f0):
    found = _attack(y, rate, onset_s, f0, _FRAME_S, SEARCH_S, MEMORY_S, GLIDE_BAND, EARLIEST_SHARE, drop=PEAK_DROP)
    # The first look's flux peaks some 25 ms early (a long window's rising edge): the second
    # look's short frames place the attack, within 30 ms of it.
    return _attack(y, rate, found, f0, _FINE_FRAME_S, FINE_SEARCH_S, FINE_MEMORY_S, FINE_BAND, 1.0, deviation=True)


def _attack(y, rate, onset_s, f0, frame_s, search_s, memory_s, band, share, deviation=False, drop=1.0):
    """One look of :func:`refine_onsets`: the kernel's frame turned back into seconds. The
    kernel's first ``memory`` frames are read before the search window, only to fill the
    memory, so that the whole window is searched."""
    hop = max(1, int(round(_HOP_S * rate)))
    n_blocks = max(2, int(round(frame_s * rate / hop)))
    memory = max(1, int(round(memory_s * rate / hop)))
    n_frames = int(round((search_s[0] + search_s[1]) * rate / hop)) + 1 + memory
    half = hop * n_blocks // 2
    first = np.round((onset_s - search_s[0]) * rate).astype(np.int64) - half - memory * hop
    frame = glide_flux_onsets(y, float(rate), first, f0, hop, n_blocks, n_frames, memory, band[0], band[1], share,
                              deviation, drop)
    refined = (first + frame * hop + half) / rate
    return np.where(frame >= 0, np.maximum(refined, 0.0), onset_s)
