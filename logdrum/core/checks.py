"""Input checks shared by every public function: shape, dtype, sample rate.

The checks run before any numba kernel, so bad input fails with a ``ValueError`` that names the
problem instead of a crash inside compiled code. No full-size copy of the audio is made here:
numpy arrays (and CPU torch tensors, duck-typed) are viewed as they are; the kernels read
any integer or float dtype directly. NaN/Inf are found by the decimation kernel in the same pass
(see :func:`logdrum.core.frontend.decimate`).
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["MIN_SR", "MAX_SR", "as_audio_array", "check_sr", "pcm_scale"]

#: Lowest supported sample rate: the analysis signal needs about 2 kHz and headroom to decimate.
MIN_SR = 8000.0
#: Highest supported sample rate.
MAX_SR = 384000.0


def _to_numpy(audio):
    # Torch tensors are recognised by their methods so that importing logdrum never imports torch.
    if hasattr(audio, "detach") and hasattr(audio, "cpu") and hasattr(audio, "numpy"):
        t = audio.detach().cpu()
        if str(getattr(t, "dtype", "")) == "torch.bfloat16":
            t = t.float()
        return t.numpy()
    if isinstance(audio, np.ndarray):
        return audio
    try:
        return np.asarray(audio)
    except Exception as exc:  # ragged lists and other non-array input
        raise ValueError(f"audio must be an array of samples, could not convert {type(audio).__name__}: {exc}") from None


def as_audio_array(audio) -> np.ndarray:
    """Return ``audio`` as a 2-D ``(channels, n)`` numpy view, without copying.

    Parameters
    ----------
    audio : array_like or torch.Tensor
        1-D ``(n,)`` or channels-first ``(c, n)`` PCM, float or integer.

    Raises
    ------
    ValueError
        If the audio is not numeric, not 1-D or 2-D, empty, or has more channels than samples
        (which almost always means a ``(n, c)`` array that needs ``.T``).
    """
    x = _to_numpy(audio)
    if x.dtype == np.bool_ or not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise ValueError(f"audio must hold integer or float samples, got dtype {x.dtype}")
    if x.ndim == 1:
        x = x[np.newaxis, :]
    elif x.ndim != 2:
        raise ValueError(f"audio must be 1-D (n,) or 2-D channels-first (c, n), got shape {x.shape}")
    c, n = x.shape
    if n == 0 or c == 0:
        raise ValueError(f"audio is empty (shape {x.shape})")
    if c > n:
        raise ValueError(
            f"audio has shape {x.shape}: more channels than samples. Pass channels first, (c, n); "
            f"for a (n, c) array use audio.T"
        )
    if x.dtype == np.float16:
        x = x.astype(np.float32)  # numba has no float16 arithmetic
    return x


def check_sr(sr) -> float:
    """Validate a sample rate and return it as a float.

    Raises
    ------
    ValueError
        If ``sr`` is not a positive finite number within ``[MIN_SR, MAX_SR]``.
    """
    if isinstance(sr, bool) or not isinstance(sr, numbers.Real):
        raise ValueError(f"sample rate must be a number in Hz, got {sr!r}")
    sr = float(sr)
    if not np.isfinite(sr) or sr <= 0:
        raise ValueError(f"sample rate must be a positive number of Hz, got {sr}")
    if sr < MIN_SR:
        raise ValueError(
            f"sample rate {sr:g} Hz is too low for the 50-150 Hz log-drum band analysis; "
            f"the minimum is {MIN_SR:g} Hz"
        )
    if sr > MAX_SR:
        raise ValueError(f"sample rate {sr:g} Hz is above the supported maximum of {MAX_SR:g} Hz")
    return sr


def pcm_scale(dtype) -> tuple:
    """``(scale, offset)`` that map PCM of ``dtype`` to floats in [-1, 1): ``(x - offset) * scale``."""
    dtype = np.dtype(dtype)
    if np.issubdtype(dtype, np.floating):
        return 1.0, 0.0
    info = np.iinfo(dtype)
    if info.min == 0:  # unsigned PCM (8-bit WAV) is centred on half range
        half = (info.max + 1) / 2.0
        return 1.0 / half, half
    return 1.0 / (info.max + 1.0), 0.0
