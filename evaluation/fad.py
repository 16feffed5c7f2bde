"""Fréchet distance between two sets of audio embeddings, with a pluggable embedder.

Conventions
-----------
- An *embedder* is a callable ``embedder(audio, sr) -> (frames, dim)`` array: one embedding per
  frame of one clip (``audio`` is channels-first ``(c, n)`` float). Frames of all clips in a set
  are pooled before the Gaussian fit, as in FAD (Kilgour et al., 2019).
- The usual FAD embedders (VGGish, PANNs, CLAP) must be downloaded, which is not possible here.
  :func:`log_mel_embedder` is a download-free default (log-mel frames); its numbers are *not*
  comparable with published FAD values, only between runs that use the same embedder.
  :func:`torch_module_embedder` wraps any torch module such as MusicGen's own EnCodec encoder.
- Unreadable clips are listed, never silently dropped (as in :mod:`evaluation.authenticity`).

Reference: D. C. Dowson and B. V. Landau, "The Fréchet distance between multivariate normal
distributions", J. Multivariate Anal. 12 (1982) 450-455:
``d^2 = |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2))``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

__all__ = ["validate", "frechet_distance_from_stats", "frechet_distance", "log_mel_embedder",
           "torch_module_embedder", "embed", "frechet_audio_distance", "EmbeddingSet", "FadResult"]


def validate(a, b):
    """Check two embedding matrices ``(frames, dim)``; return them as float64 arrays."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    for name, x in (("first", a), ("second", b)):
        if x.ndim != 2:
            raise ValueError(f"{name} set must be a (frames, dim) matrix, got shape {x.shape}")
        if x.shape[0] < 2:
            raise ValueError(f"{name} set needs at least 2 embeddings for a covariance, got {x.shape[0]}")
        if not np.all(np.isfinite(x)):
            raise ValueError(f"{name} set contains NaN or Inf")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"embedding sizes differ: {a.shape[1]} vs {b.shape[1]}")
    return a, b


def frechet_distance_from_stats(mu1, sigma1, mu2, sigma2):
    """Squared Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2).

    Examples
    --------
    >>> float(frechet_distance_from_stats([0.0], [[1.0]], [1.0], [[4.0]]))
    2.0
    """
    from scipy import linalg

    mu1, mu2 = np.atleast_1d(mu1).astype(float), np.atleast_1d(mu2).astype(float)
    s1, s2 = np.atleast_2d(sigma1).astype(float), np.atleast_2d(sigma2).astype(float)
    with warnings.catch_warnings():
        # few frames give singular covariances; sqrtm warns, the result is checked below
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(s1 @ s2)
    if not np.all(np.isfinite(covmean)):
        # singular product (fewer frames than dimensions): regularise, as pytorch-fid does
        eps = 1e-6 * np.eye(s1.shape[0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", linalg.LinAlgWarning)
            covmean = linalg.sqrtm((s1 + eps) @ (s2 + eps))
    covmean = np.real(covmean)  # tiny imaginary parts are numerical noise
    diff = mu1 - mu2
    d2 = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean))
    return max(0.0, d2)


def frechet_distance(a, b):
    """Squared Fréchet distance between the Gaussian fits of two embedding sets ``(frames, dim)``."""
    a, b = validate(a, b)
    return frechet_distance_from_stats(a.mean(0), np.cov(a, rowvar=False),
                                       b.mean(0), np.cov(b, rowvar=False))


def _mel_filterbank(sr, n_fft, n_mels, fmin, fmax):
    def hz_to_mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    mels = np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2)
    hz = 700.0 * (10.0 ** (mels / 2595.0) - 1.0)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    fb = np.zeros((n_mels, freqs.size))
    for m in range(n_mels):
        lo, mid, hi = hz[m], hz[m + 1], hz[m + 2]
        fb[m] = np.clip(np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)), 0.0, None)
    return fb


def log_mel_embedder(*, sr=16000, n_mels=32, frame_s=0.064, hop_s=0.032, fmin=30.0, fmax=7000.0):
    """A download-free embedder: log-mel energies of mono frames at ``sr``.

    Returns
    -------
    callable
        ``embedder(audio, sr) -> (frames, n_mels)``.
    """
    from math import gcd

    n_fft = int(round(frame_s * sr))
    hop = int(round(hop_s * sr))
    fb = _mel_filterbank(sr, n_fft, n_mels, fmin, min(fmax, sr / 2.0))
    window = np.hanning(n_fft)

    def embedder(audio, in_sr):
        from scipy.signal import resample_poly

        x = np.asarray(audio, dtype=float)
        x = x.mean(axis=0) if x.ndim == 2 else x
        in_sr = int(round(in_sr))
        if in_sr != sr:
            g = gcd(sr, in_sr)
            x = resample_poly(x, sr // g, in_sr // g)
        if x.size < n_fft:
            x = np.pad(x, (0, n_fft - x.size))
        frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop] * window
        power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
        return np.log10(power @ fb.T + 1e-10)

    embedder.__name__ = f"log_mel_{n_mels}"
    return embedder


def torch_module_embedder(module, *, device="cpu", sample_rate=None):
    """Wrap a torch module (e.g. MusicGen's EnCodec encoder) as an embedder.

    The module receives a float tensor ``(1, channels, n)`` and must return ``(1, dim, frames)``
    (the EnCodec encoder's layout); the embedder returns ``(frames, dim)``. With ``sample_rate``
    the audio is first resampled to the module's rate. torch is imported only when called.
    """
    def embedder(audio, sr):
        import torch

        x = np.asarray(audio, dtype=np.float32)
        x = x[None, :] if x.ndim == 1 else x
        if sample_rate is not None and int(sr) != int(sample_rate):
            from math import gcd

            from scipy.signal import resample_poly
            g = gcd(int(sample_rate), int(sr))
            x = resample_poly(x, int(sample_rate) // g, int(sr) // g, axis=1).astype(np.float32)
        with torch.no_grad():
            out = module(torch.from_numpy(np.ascontiguousarray(x))[None].to(device))
        out = out[0] if isinstance(out, (tuple, list)) else out
        return out[0].detach().cpu().numpy().T

    embedder.__name__ = f"torch:{type(module).__name__}"
    return embedder


@dataclass(frozen=True)
class EmbeddingSet:
    """Embeddings of one set of clips: ``embeddings`` ``(frames, dim)``, clip names, unreadable clips."""

    embeddings: np.ndarray
    names: tuple
    unreadable: tuple


@dataclass(frozen=True)
class FadResult:
    """Result of :func:`frechet_audio_distance`."""

    distance: float
    embedder: str
    clips_a: int
    clips_b: int
    frames_a: int
    frames_b: int
    unreadable_a: tuple
    unreadable_b: tuple


def embed(clips_or_dir, embedder, sr=None):
    """Embed every clip (inputs as for :func:`evaluation.authenticity.authenticity`)."""
    from logdrum.io.audio import AudioReadError, load_audio

    from .authenticity import _to_numpy, collect_clips

    parts, names, bad = [], [], []
    for name, source, item_sr in collect_clips(clips_or_dir, sr):
        try:
            audio, item_sr = load_audio(source) if isinstance(source, str) else (_to_numpy(source), item_sr)
            e = np.asarray(embedder(audio, item_sr), dtype=float)
            if e.ndim != 2 or not np.all(np.isfinite(e)):
                raise ValueError(f"embedder returned shape {e.shape} or non-finite values")
        except (AudioReadError, ValueError) as exc:
            bad.append((name, str(exc)))
            continue
        parts.append(e)
        names.append(name)
    if not parts:
        raise ValueError("no clip could be embedded" + (f": {bad[0][1]}" if bad else ""))
    return EmbeddingSet(np.concatenate(parts), tuple(names), tuple(bad))


def frechet_audio_distance(a, b, *, embedder=None, sr=None):
    """Fréchet distance between two sets of clips in an embedder's space.

    Parameters
    ----------
    a, b : folder, sequence, mapping or batch
        As for :func:`evaluation.authenticity.authenticity` (e.g. reference and generated audio).
    embedder : callable, optional
        ``embedder(audio, sr) -> (frames, dim)``; default :func:`log_mel_embedder`.
    sr : float, optional
        Sample rate of clips held in memory.

    Returns
    -------
    FadResult
    """
    embedder = log_mel_embedder() if embedder is None else embedder
    ea, eb = embed(a, embedder, sr), embed(b, embedder, sr)
    d = frechet_distance(ea.embeddings, eb.embeddings)
    return FadResult(distance=d, embedder=getattr(embedder, "__name__", type(embedder).__name__),
                     clips_a=len(ea.names) + len(ea.unreadable), clips_b=len(eb.names) + len(eb.unreadable),
                     frames_a=ea.embeddings.shape[0], frames_b=eb.embeddings.shape[0],
                     unreadable_a=ea.unreadable, unreadable_b=eb.unreadable)
