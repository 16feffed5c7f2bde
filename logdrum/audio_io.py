"""Reading audio files for the command line and batch jobs (soundfile, imported lazily)."""

from __future__ import annotations

import os

import numpy as np

__all__ = ["AudioReadError", "load_audio", "read_audio", "AUDIO_EXTENSIONS"]

#: File extensions that the scanners pick up (libsndfile reads all of them, MP3 since 1.1).
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif")


class AudioReadError(ValueError):
    """A file that cannot be decoded (missing, empty, truncated, not audio)."""


def load_audio(path, *, dtype="float32"):
    """Read an audio file as channels-first PCM.

    Parameters
    ----------
    path : str or os.PathLike
    dtype : str
        ``"float32"`` (default), ``"float64"`` or ``"int16"``.

    Returns
    -------
    audio : numpy.ndarray
        ``(c, n)``.
    sr : int

    Raises
    ------
    AudioReadError
        When the file is missing, empty or cannot be decoded; the message names the file.
    """
    try:
        import soundfile as sf
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError("reading audio files needs soundfile: pip install 'logdrum[io]'") from exc
    path = os.fspath(path)
    if not os.path.exists(path):
        raise AudioReadError(f"{path}: file not found")
    if os.path.getsize(path) == 0:
        raise AudioReadError(f"{path}: file is empty (0 bytes)")
    try:
        data, sr = sf.read(path, dtype=dtype, always_2d=True)
    except Exception as exc:
        raise AudioReadError(f"{path}: cannot decode audio ({exc})") from None
    if data.shape[0] == 0:
        raise AudioReadError(f"{path}: no audio frames")
    return np.ascontiguousarray(data.T), int(sr)


def read_audio(path, *, dtype="float32"):
    """:func:`load_audio`, plus the frame count that the file's header announces.

    A decoder reads a truncated MP3 without complaint up to where the data stops; comparing
    ``audio.shape[1]`` with ``header_frames`` finds it when the header knows the length (an MP3
    with a Xing/LAME header as libsndfile writes it, WAV, FLAC). For a plain CBR MP3 the header
    count is libsndfile's estimate from the file size, so only a duration check finds those.

    Returns
    -------
    audio : numpy.ndarray
        ``(c, n)``, exactly as :func:`load_audio` returns it.
    sr : int
    header_frames : int

    Raises
    ------
    AudioReadError
        As :func:`load_audio`.
    """
    import soundfile as sf

    audio, sr = load_audio(path, dtype=dtype)
    try:
        header_frames = int(sf.info(os.fspath(path)).frames)
    except Exception as exc:  # the file changed or vanished between the two opens
        raise AudioReadError(f"{os.fspath(path)}: cannot read the header ({exc})") from None
    return audio, sr, header_frames
