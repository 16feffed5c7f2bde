"""logdrum.io.audio: the one reader (channels, mono, resampling) and the one file finder."""

import numpy as np
import pytest
import soundfile as sf

from logdrum.io.audio import AudioReadError, find_audio_files, load_audio


@pytest.fixture
def stereo(tmp_path):
    sr = 16000
    t = np.arange(sr) / sr
    x = np.stack([np.sin(2 * np.pi * 100 * t), 0.5 * np.sin(2 * np.pi * 100 * t)]).astype(np.float32)
    path = tmp_path / "a.wav"
    sf.write(path, x.T, sr)
    return path, x, sr


def test_channels_first_and_mono(stereo):
    path, x, sr = stereo
    audio, got_sr = load_audio(path)
    assert got_sr == sr and audio.shape == (2, sr)
    mono, _ = load_audio(path, mono=True)
    assert mono.shape == (sr,)
    np.testing.assert_allclose(mono, x.mean(axis=0), atol=1e-4)


def test_resampling_keeps_the_tone(stereo):
    path, _, sr = stereo
    audio, got_sr = load_audio(path, sr=32000, mono=True)
    assert got_sr == 32000 and audio.dtype == np.float32
    assert abs(audio.shape[0] - 32000) <= 1
    spectrum = np.abs(np.fft.rfft(audio))
    assert np.argmax(spectrum) == pytest.approx(100, abs=1)   # 1 Hz bins over 1 s


def test_bad_files_name_the_problem(tmp_path):
    with pytest.raises(AudioReadError, match="not found"):
        load_audio(tmp_path / "missing.wav")
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(AudioReadError, match="empty"):
        load_audio(tmp_path / "empty.wav")
    (tmp_path / "junk.wav").write_bytes(b"RIFF" + b"\x00" * 40)
    with pytest.raises(AudioReadError, match="cannot decode"):
        load_audio(tmp_path / "junk.wav")


def test_finder_recursive_or_not(tmp_path, stereo):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.FLAC").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("x")
    top = find_audio_files([tmp_path], recursive=False)
    assert [p.rsplit("/", 1)[1] for p in top] == ["a.wav"]
    every = find_audio_files([tmp_path])
    assert [p.rsplit("/", 1)[1] for p in every] == ["a.wav", "b.FLAC"]
