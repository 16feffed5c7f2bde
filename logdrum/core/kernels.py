"""The numba kernels of the hot path. Private: call them through :mod:`logdrum.core.frontend`
and :mod:`logdrum.core.events`, which validate shapes and rates first.

Each kernel is a plain loop, compiled once and cached on disk (``cache=True``), and releases
the GIL (``nogil``): the decimator fills a range of outputs, the band-pass a range of spans of
a minute, so that :mod:`logdrum.core.threads` can run chunks of them side by side; every
output is computed the same way whatever the chunks.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# No 'nnan'/'ninf': NaN and Inf in the input must propagate so the caller can report them.
_FAST = {"reassoc", "contract", "arcp", "nsz"}
#: 10 / ln(10): ``10 log10(v)`` is computed as ``_DB_PER_NEPER * log(v)``, a third cheaper
_DB_PER_NEPER = 10.0 / np.log(10.0)


@njit(nogil=True, cache=True, fastmath=_FAST)
def decimate_rows(x, h, factor, delay, out, m_lo, m_hi):
    """``out[m] = sum_ch sum_k h[k] x[ch, m*factor + k - delay]`` for ``m_lo <= m < m_hi``,
    zero outside the signal. One contiguous row at a time keeps the inner loop vectorised.

    Inside the signal two outputs are summed in one pass over taps padded with zeros to a
    multiple of 16: the loop is then whole vectors with no scalar remainder (85 taps at
    44.1 kHz would leave 5), and two independent sums hide the latency of the adds. The
    zero taps add exact zeros (the padded reads stay inside the signal)."""
    n = x.shape[1]
    L = h.shape[0]
    Lp = -(-L // 16) * 16
    hp = np.zeros(Lp)
    hp[:L] = h
    for m in range(m_lo, m_hi):
        out[m] = 0.0
    for ch in range(x.shape[0]):
        row = x[ch]
        m = m_lo
        while m < m_hi:
            start = m * factor - delay
            if m + 1 < m_hi and start >= 0 and start + factor + Lp <= n:
                s0 = row[start:start + Lp]
                s1 = row[start + factor:start + factor + Lp]
                a0 = 0.0
                a1 = 0.0
                for k in range(Lp):
                    a0 += hp[k] * s0[k]
                    a1 += hp[k] * s1[k]
                out[m] += a0
                out[m + 1] += a1
                m += 2
                continue
            acc = 0.0
            for k in range(max(0, -start), min(L, n - start)):
                acc += h[k] * row[start + k]
            out[m] += acc
            m += 1


@njit(nogil=True, cache=True, fastmath=_FAST)
def cubic_resample(y, p, q, n_out):
    """Overwrite ``y[:n_out]`` with ``y(m * p / q)`` (``p >= q``), read between samples by
    4-point (cubic) Lagrange interpolation, zero outside ``y``. At the analysis rate it is
    exact to 0.01 dB up to 150 Hz and 0.15 dB at 300 Hz, the top of the pitch search
    (``tests/core/test_frontend.py``).

    In place, so that the analysis signal is held once (an hour at 2 kHz is 58 MB): the
    positions repeat every ``q`` outputs (``p`` inputs), so the weights and offsets are one
    table of ``q`` rows, and each period is read from a copy of its ``p + 3`` inputs in a loop
    with no branches (1.7x faster than a loop that works out each position)."""
    n = y.shape[0]
    w = np.empty((4, q))
    first = np.empty(q, np.int64)
    for j in range(q):
        i = (j * p) // q
        d = (j * p - i * q) / q
        w[0, j] = -d * (d - 1.0) * (d - 2.0) * (1.0 / 6.0)
        w[1, j] = (d + 1.0) * (d - 1.0) * (d - 2.0) * 0.5
        w[2, j] = -(d + 1.0) * d * (d - 2.0) * 0.5
        w[3, j] = (d + 1.0) * d * (d - 1.0) * (1.0 / 6.0)
        first[j] = i  # index into the period's copy, which starts one sample early
    w0, w1, w2, w3 = w[0], w[1], w[2], w[3]
    # p = q + 1 (every rate of the 44.1 kHz family: 441 / 440): output j reads inputs j .. j + 3
    # of its period, and the loop below runs on contiguous slices, in vector registers (2.5x
    # faster than reading through ``first``; the same numbers)
    contiguous = first[q - 1] == q - 1
    buf = np.zeros(p + 3)
    for period in range(-(-n_out // q)):
        base = period * p - 1
        if base >= 0 and base + p + 3 <= n:
            buf[:] = y[base:base + p + 3]
        else:
            for k in range(p + 3):
                j = base + k
                buf[k] = y[j] if 0 <= j < n else 0.0
        m0 = period * q
        count = min(q, n_out - m0)
        out = y[m0:m0 + count]
        if contiguous:
            b0, b1, b2, b3 = buf[0:count], buf[1:count + 1], buf[2:count + 2], buf[3:count + 3]
            for j in range(count):
                out[j] = w0[j] * b0[j] + w1[j] * b1[j] + w2[j] * b2[j] + w3[j] * b3[j]
        else:
            for j in range(count):
                i = first[j]
                out[j] = w0[j] * buf[i] + w1[j] * buf[i + 1] + w2[j] * buf[i + 2] + w3[j] * buf[i + 3]


@njit(nogil=True, cache=True, fastmath=_FAST)
def _biquad(v, c, z0, z1):
    """One section in transposed direct form II: its output and new state, for the
    coefficients ``c = (b0, b1, b2, a1, a2)``."""
    w = c[0] * v + z0
    return w, c[1] * v - c[3] * w + z1, c[2] * v - c[4] * w


@njit(nogil=True, cache=True)
def _section(sos, s):
    return sos[s, 0], sos[s, 1], sos[s, 2], sos[s, 4], sos[s, 5]


@njit(nogil=True, cache=True, fastmath=_FAST)
def _band_energy_span(y, sos, hop, out, j_lo, j_hi, warm):
    """Hops ``j_lo`` to ``j_hi`` of :func:`band_energy`, the filter started from rest ``warm``
    hops before hop ``j_lo`` (or at the first sample); the energies of those hops are dropped."""
    c0, c1, c2, c3 = _section(sos, 0), _section(sos, 1), _section(sos, 2), _section(sos, 3)
    z00 = z01 = z10 = z11 = z20 = z21 = z30 = z31 = 0.0
    n = y.shape[0]
    for j in range(max(0, j_lo - warm), j_hi):
        # hop by hop: an integer division per sample (i // hop) would cost more than the filter
        acc = 0.0
        for i in range(j * hop, min(n, (j + 1) * hop)):
            v, z00, z01 = _biquad(y[i], c0, z00, z01)
            v, z10, z11 = _biquad(v, c1, z10, z11)
            v, z20, z21 = _biquad(v, c2, z20, z21)
            v, z30, z31 = _biquad(v, c3, z30, z31)
            acc += v * v
        if j >= j_lo:
            out[j] = acc


@njit(nogil=True, cache=True, fastmath=_FAST)
def band_energy(y, sos, hop, out, span, warm, b_lo, b_hi):
    """Band-pass ``y`` with the cascade of four biquads ``sos`` (scipy layout, transposed
    direct form II: the 8th-order band-pass of :func:`logdrum.core.frontend.band_envelope`) and sum
    the squared output over hops of ``hop`` samples into ``out``. The states live in local
    variables, not an array: each section's recursion is then two multiply-adds deep and the
    four sections overlap from one sample to the next.

    The hops are filtered in spans of ``span`` hops, each from rest ``warm`` hops before it
    (where the filter's response to earlier input has died away below rounding); this call
    fills spans ``b_lo`` to ``b_hi``, so that spans can be filtered side by side and give the
    same numbers."""
    if sos.shape[0] != 4:
        raise ValueError("band_energy takes a cascade of exactly four biquads")
    for b in range(b_lo, b_hi):
        _band_energy_span(y, sos, hop, out, b * span, min(out.shape[0], (b + 1) * span), warm)


@njit(nogil=True, cache=True)
def smooth_envelope_db(energy, hop, width, out, j_lo=0, j_hi=-1):
    """Amplitude envelope in dB (a sine of amplitude A reads 20 log10 A) from hop energies,
    averaged over ``width`` hops centred on each hop (hops ``j_lo`` to ``j_hi``, the end where
    negative)."""
    n = energy.shape[0]
    left = width // 2
    for j in range(j_lo, n if j_hi < 0 else min(j_hi, n)):
        acc = 0.0
        for k in range(j - left, j - left + width):
            if 0 <= k < n:
                acc += energy[k]
        mean_square = acc / (width * hop)
        out[j] = _DB_PER_NEPER * np.log(2.0 * mean_square + 1e-20)  # 10 log10, cheaper


@njit(nogil=True, cache=True)
def pick_peaks(env_db, sep, attack, prominence, ignore_below, dip_after=0.0, hidden_only=False, j_lo=0, j_hi=-1):
    """Local maxima of ``env_db`` (strict within ``sep`` hops) that rise at least
    ``prominence`` dB above the minimum of the preceding ``attack`` hops. With ``dip_after``
    > 0, a higher value within ``sep`` hops *after* a maximum does not hide it where the
    envelope between them dips at least ``dip_after`` dB under it (two hits, not one); with
    ``hidden_only``, only the maxima kept that way are returned. Only hops ``j_lo`` to ``j_hi``
    (the end where negative) are looked at, each against the whole envelope around it.

    Returns
    -------
    peaks : int64 array of hop indices
    rises : float64 array of the rise in dB
    """
    n = env_db.shape[0]
    j_hi = n if j_hi < 0 else min(j_hi, n)
    peaks = np.empty(max(0, j_hi - j_lo), np.int64)
    rises = np.empty(max(0, j_hi - j_lo), np.float64)
    count = 0
    for j in range(j_lo, j_hi):
        v = env_db[j]
        if v < ignore_below:
            continue
        is_max = True
        hidden = False
        for k in range(max(0, j - sep), min(n, j + sep + 1)):
            if (k < j and env_db[k] >= v) or (k > j and env_db[k] > v):
                if dip_after > 0.0 and k > j + 1 and v - np.min(env_db[j + 1:k]) >= dip_after:
                    hidden = True
                    continue
                is_max = False
                break
        if not is_max or (hidden_only and not hidden):
            continue
        lo = v
        for k in range(max(0, j - attack), j):
            if env_db[k] < lo:
                lo = env_db[k]
        if j - attack < 0:
            # the clip starts inside the attack window: before it there was nothing
            lo = min(lo, ignore_below)
        if v - lo >= prominence:
            peaks[count] = j
            rises[count] = v - lo
            count += 1
    return peaks[:count], rises[:count]


@njit(nogil=True, cache=True)
def onset_times(env_db, peaks, below_db):
    """Fractional hop index where the rise into each peak crosses ``below_db`` under it. With
    a 20 ms energy window, 3 dB under the peak is where a sharp attack actually starts."""
    out = np.empty(peaks.shape[0])
    for i in range(peaks.shape[0]):
        p = peaks[i]
        target = env_db[p] - below_db
        k = p
        while k > 0 and env_db[k - 1] > target:
            k -= 1
        if k == 0:
            out[i] = 0.0
            continue
        lo, hi = env_db[k - 1], env_db[k]
        out[i] = k - 1 + ((target - lo) / (hi - lo) if hi > lo else 0.0)
    return out


@njit(nogil=True, cache=True, fastmath=_FAST)
def windowed_frames(x, starts, lengths, frames, filled):
    """Write Hann-windowed, mean-removed excerpts ``x[s:s+len]``, zero-padded, into the rows
    of ``frames`` (float32: the spectra feed a peak search, not a reconstruction).

    ``frames`` is reused from block to block: ``filled[i]`` is how far row ``i`` holds data
    from its last use (zeros after that), so only the part of the padding that an earlier,
    longer excerpt wrote is cleared again. Clearing every row's padding took half the
    kernel's time (the padding is half of each main-window row)."""
    n_fft = frames.shape[1]
    # Nearly every row has the same length: the window is computed again only when it changes.
    window = np.empty(n_fft)
    window_len = -1
    for i in range(starts.shape[0]):
        s, L = starts[i], min(lengths[i], n_fft)  # never write past the row
        row = frames[i]
        if L < 2:
            L = 0
        elif L != window_len:
            for k in range(L):
                window[k] = 0.5 - 0.5 * np.cos(2.0 * np.pi * k / (L - 1))
            window_len = L
        # Through views: ``x[s + k]`` with a signed ``s`` costs a negative-index check per
        # sample, which keeps LLVM from vectorising the loops (twice the time of the whole kernel).
        seg = x[s:s + L]
        mean = 0.0
        for k in range(L):
            mean += seg[k]
        mean /= max(L, 1)
        for k in range(L):
            row[k] = (seg[k] - mean) * window[k]
        for k in range(L, filled[i]):
            row[k] = 0.0
        filled[i] = L


@njit(nogil=True, cache=True)
def spectral_peaks(spec, k_max, df, f_lo, f_hi, half_widths, widen=0.0, with_contrast=True, before=None):
    """Per row of a complex spectrum (``rfft`` rows; only the first ``k_max`` bins are read):
    the interpolated peak frequency in ``[f_lo, f_hi]`` and its contrast: peak power over the
    median power of the flanks, the bins between ``w = max(half_widths[i], widen * f)`` and
    three times that from the peak ``f``, in dB. A decaying tone stands 30 dB or more above its
    flanks; the highest bin of noise of any colour rarely stands 10 dB above the median of its
    neighbours (the median, unlike the mean, ignores a second peak). With
    ``with_contrast=False`` only the frequencies are found (the contrast stays 0): the median
    is most of the cost. The power of a row is taken into a buffer reused from row to row (as
    float32 products, like ``abs(spec) ** 2``), not into a ``(rows, k_max)`` array.

    ``before`` (rows, at least ``k_max`` bins), when given: the amplitude spectrum of each
    row's signal just before its onset, on the row's scale. The peak is then the local maximum
    that grew most since (a new note under one still ringing louder), and the largest peak
    only where none grew."""
    rows = spec.shape[0]
    f0 = np.full(rows, np.nan)
    contrast = np.zeros(rows)
    n_bins = k_max
    k_lo = int(np.ceil(f_lo / df))
    k_hi = min(int(f_hi / df), n_bins - 2)
    flank = np.empty(n_bins)
    power = np.empty(n_bins)
    for i in range(rows):
        for k in range(n_bins):
            v = spec[i, k]
            power[k] = v.real * v.real + v.imag * v.imag
        best = k_lo
        for k in range(k_lo, k_hi + 1):
            if power[k] > power[best]:
                best = k
        if before is not None:
            grown = 0.0
            for k in range(max(k_lo, 1), k_hi + 1):
                # the ends of the range count as maxima where they top their neighbour inside
                # it, as for the largest peak: a tone just under the top of the search whose
                # main lobe peaks past it was read at a side lobe (299 Hz read as 94 Hz)
                if (k == k_lo or power[k] >= power[k - 1]) and (k == k_hi or power[k] >= power[k + 1]):
                    g = np.sqrt(power[k]) - before[i, k]
                    if g > grown:
                        grown = g
                        best = k
        if power[best] <= 0.0:
            continue
        # parabolic interpolation on log power around the maximum bin
        a = np.log(power[best - 1] + 1e-300)
        b = np.log(power[best] + 1e-300)
        c = np.log(power[best + 1] + 1e-300)
        den = a - 2.0 * b + c
        delta = 0.5 * (a - c) / den if den < 0 else 0.0
        # the bin below the range may be larger than the in-range maximum
        delta = min(0.5, max(-0.5, delta))
        f = (best + delta) * df
        f0[i] = f
        if not with_contrast:
            continue
        w = max(half_widths[i], widen * f)
        count = 0
        for k in range(max(1, int((f - 3.0 * w) / df)), min(n_bins, int((f + 3.0 * w) / df) + 2)):
            d = abs(k * df - f)
            if w < d <= 3.0 * w:
                flank[count] = power[k]
                count += 1
        if count == 0:
            continue
        med = np.median(flank[:count])
        contrast[i] = 10.0 * np.log10(power[best] / (med + 1e-300 * power[best] + 1e-300))
    return f0, contrast
