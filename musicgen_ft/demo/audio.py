"""Stages 5 and 6: sample from a model, write wavs, the codec round trip and the band level."""

from __future__ import annotations

import math

import numpy as np

# ---- 5. generation ------------------------------------------------------------------------

def _generate(model, tokenizer, prompts, seconds, seed, batch=10):
    """Sample one clip per prompt: classifier-free guidance 3, as MusicGen's default."""
    import torch

    frames = int(round(seconds * model.config.audio_encoder.frame_rate))
    torch.manual_seed(seed)
    out = []
    with torch.no_grad():
        for i in range(0, len(prompts), batch):
            inputs = tokenizer(prompts[i:i + batch])
            audio = model.generate(**inputs, do_sample=True, guidance_scale=3.0,
                                   max_new_tokens=frames)
            out.extend(a[0].float().numpy() for a in audio)
    return out


def _write_wavs(folder, clips, sr):
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    for i, x in enumerate(clips):
        sf.write(folder / f"sample_{i:03d}.wav", x, sr, subtype="FLOAT")


def _codec_round_trip(backend, paths, seconds):
    """Each training clip (its first ``seconds``) encoded and decoded by the frozen codec."""
    import torch

    from ..data import load_clip_audio
    from ..model import encode_audio

    sr = backend.sampling_rate
    out = []
    for p in paths:
        x = load_clip_audio(p, sr)[: int(seconds * sr)]
        codes = encode_audio(backend, torch.from_numpy(x)[None])
        with torch.no_grad():
            dec = backend.model.audio_encoder.decode(codes[None], [None])
        y = dec[0] if isinstance(dec, tuple) else dec.audio_values
        out.append(y[0, 0].float().numpy())
    return out


def _band_peak_db(audio, sr, skip_s=0.1):
    """Loudest 50-150 Hz band level (dBFS) of a clip after its first ``skip_s`` (the tiny
    codec's start-up transient), from the detector's own band envelope."""
    import logdrum

    a = logdrum.analyze(audio, sr)
    env = np.asarray(a.envelope_db)[int(skip_s / a.hop_s):]
    env = env[np.isfinite(env)]
    return float(env.max()) if env.size else -math.inf
