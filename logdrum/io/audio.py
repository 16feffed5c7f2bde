"""Reading audio files for the command line and batch jobs (soundfile, imported lazily)."""

from __future__ import annotations

import os

import numpy as np

__all__ = ["AudioReadError", "load_audio", "read_audio", "audio_duration", "find_audio_files",
           "AUDIO_EXTENSIONS"]

#: File extensions that the scanners pick up (libsndfile reads all of them, MP3 since 1.1).
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif")


class AudioReadError(ValueError):
    """A file that cannot be decoded (missing, empty, truncated, not audio)."""


def load_audio(path, *, dtype="float32", sr=None, mono=False):
    """Read an audio file as channels-first PCM.

    The one audio reader of the project: the detector's command line, the batch jobs, the
    evaluation and the fine-tune's data pipeline all read through it.

    Parameters
    ----------
    path : str or os.PathLike
    dtype : str
        ``"float32"`` (default), ``"float64"`` or ``"int16"``.
    sr : int, optional
        Resample to this rate (soxr, float only); default: the file's own rate.
    mono : bool
        Average the channels into one: ``audio`` is then ``(n,)``.

    Returns
    -------
    audio : numpy.ndarray
        ``(c, n)``, or ``(n,)`` with ``mono=True``.
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
        data, file_sr = sf.read(path, dtype=dtype, always_2d=True)
    except Exception as exc:
        raise AudioReadError(f"{path}: cannot decode audio ({exc})") from None
    if data.shape[0] == 0:
        raise AudioReadError(f"{path}: no audio frames")
    audio, file_sr = np.ascontiguousarray(data.T), int(file_sr)
    if mono:
        audio = audio.mean(axis=0, dtype=audio.dtype if audio.dtype.kind == "f" else np.float64)
    if sr is not None and int(sr) != file_sr:
        if audio.dtype.kind != "f":
            raise ValueError(f"resampling needs float audio, got dtype {dtype}")
        import soxr

        # soxr works on (n,) or (n, c); keep the dtype the caller asked for
        audio = np.ascontiguousarray(soxr.resample(audio.T, file_sr, int(sr)).T.astype(audio.dtype))
        file_sr = int(sr)
    return audio, file_sr


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


def audio_duration(path):
    """Length of an audio file in seconds, from its header (nothing is decoded).

    Raises
    ------
    AudioReadError
        When the file is missing or its header cannot be read.
    """
    import soundfile as sf

    try:
        info = sf.info(os.fspath(path))
    except Exception as exc:
        raise AudioReadError(f"{os.fspath(path)}: cannot read the header ({exc})") from None
    return info.frames / info.samplerate


def find_audio_files(paths, *, recursive=True, follow_links=False):
    """Audio files under ``paths``, as sorted absolute paths: the project's one file finder.

    Parameters
    ----------
    paths : iterable of str or os.PathLike
        Folders are searched for the extensions in :data:`AUDIO_EXTENSIONS` (any case); a path
        naming anything else is taken as it is (even a missing file, which then gets an error
        row in a batch job).
    recursive : bool
        Search sub-folders too.
    follow_links : bool
        Also walk into symbolically linked folders (mind loops).

    Returns
    -------
    list of str
    """
    found = set()
    for p in paths:
        p = os.path.abspath(os.fspath(p))
        if not os.path.isdir(p):
            found.add(p)
            continue
        for folder, dirs, files in os.walk(p, followlinks=follow_links):
            if not recursive:
                dirs.clear()
            found.update(os.path.join(folder, f) for f in files
                         if f.lower().endswith(AUDIO_EXTENSIONS))
    return sorted(found)
