"""Training data: metadata CSV -> audio -> 32 kHz mono segments -> EnCodec codes -> batches.

- ``training_metadata.csv`` (written by the dataset filter) has at least the columns
  ``clip_id, file_path, amapiano_proxy_score, tags, duration``; ``file_path`` is relative to
  the CSV's folder and ``tags`` is ``|``-separated (``electronic|techno|beat``).
- Audio is read with :func:`logdrum.io.audio.load_audio` as mono at the codec rate (soxr),
  then cut into fixed-length segments. A tail shorter than ``min_segment_seconds`` is dropped;
  a longer one is zero-padded and its padding frames are masked out of the loss.
- Codes are computed once with the frozen EnCodec and cached on disk as int16, one ``.npz``
  per clip, in a folder keyed by the codec's weights and the segment settings; epochs after the
  first (and restarts) never re-encode. A clip that fails to decode is logged and skipped.
- The validation split is by clip (segments of one song never straddle it), fixed by seed.
- Batches: a per-epoch permutation from ``(seed, epoch)``, so a resumed run can skip exactly
  the batches it already trained on.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from logdrum.dataset.tags import split_tags
from logdrum.io.audio import load_audio

from .faults import atomic_write, kill_point
from .inputs import REQUIRED_COLUMNS
from .model import delay_labels, encode_audio

CACHE_VERSION = 1

log = logging.getLogger("musicgen_ft")


@dataclass(frozen=True)
class Clip:
    """One row of the metadata CSV."""

    clip_id: str
    path: Path
    tags: tuple
    prompt: str


def read_metadata(csv_path, prompt_template="{tags}"):
    """Read ``training_metadata.csv`` into :class:`Clip` rows.

    Parameters
    ----------
    csv_path : str or Path
    prompt_template : str
        Text prompt for a clip; ``{tags}`` becomes its tags joined by ``", "``.

    Returns
    -------
    list of Clip

    Raises
    ------
    ValueError
        If the file lacks a required column or has duplicate ``clip_id`` values.
    """
    csv_path = Path(csv_path)
    with open(csv_path, newline="") as f:
        reader = csv.DictReader(f)
        columns = [c.strip() for c in (reader.fieldnames or [])]
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            raise ValueError(f"{csv_path}: missing column(s) {missing}; found {columns}")
        clips, seen = [], set()
        for row in reader:
            row = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
            cid = row["clip_id"]
            if cid in seen:
                raise ValueError(f"{csv_path}: duplicate clip_id {cid!r}")
            seen.add(cid)
            tags = split_tags(row["tags"])
            prompt = prompt_template.format(tags=", ".join(tags))
            clips.append(Clip(cid, csv_path.parent / row["file_path"], tags, prompt))
    return clips


def split_clips(clips, val_fraction, seed):
    """Split clips into train and validation sets, fixed by ``seed``.

    At least one validation clip whenever ``val_fraction > 0`` and there are two or more clips.
    """
    order = sorted(clips, key=lambda c: c.clip_id)
    perm = np.random.default_rng(seed).permutation(len(order))
    n_val = int(round(len(order) * val_fraction))
    if val_fraction > 0 and len(order) >= 2:
        n_val = min(max(n_val, 1), len(order) - 1)
    val = [order[i] for i in sorted(perm[:n_val])]
    train = [order[i] for i in sorted(perm[n_val:])]
    return train, val


def load_clip_audio(path, sr):
    """A training clip as float32 mono at ``sr`` Hz; ``ValueError`` for NaN or Inf samples."""
    mono, _ = load_audio(path, sr=sr, mono=True)
    if not np.all(np.isfinite(mono)):
        raise ValueError(f"{path}: audio contains NaN or Inf")
    return mono


def segment(audio, seg_len, min_len):
    """Cut audio into ``seg_len``-sample segments.

    Returns
    -------
    segments : np.ndarray
        ``(n, seg_len)``; the last one zero-padded when the tail is at least ``min_len``.
    n_valid : np.ndarray
        ``(n,)`` real samples in each segment.
    """
    n_full = len(audio) // seg_len
    segs = [audio[i * seg_len:(i + 1) * seg_len] for i in range(n_full)]
    valid = [seg_len] * n_full
    tail = len(audio) - n_full * seg_len
    if tail >= min_len:
        segs.append(np.pad(audio[n_full * seg_len:], (0, seg_len - tail)))
        valid.append(tail)
    if not segs:
        return np.zeros((0, seg_len), np.float32), np.zeros(0, np.int64)
    return np.stack(segs).astype(np.float32), np.asarray(valid, np.int64)


def count_segments(duration_s, segment_seconds, min_segment_seconds):
    """Segments :func:`segment` cuts from ``duration_s`` seconds of audio (without reading it)."""
    n_full = int(duration_s // segment_seconds)
    return n_full + int(duration_s - n_full * segment_seconds >= min_segment_seconds)


@dataclass
class CodeSet:
    """Encoded segments held in memory: ``codes`` ``(N, K, F)`` int16, ``n_valid`` frames."""

    codes: torch.Tensor
    n_valid: torch.Tensor
    prompts: list
    clip_ids: list

    def __len__(self):
        return len(self.prompts)


def _cache_name(clip):
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", clip.clip_id)[:60]
    digest = hashlib.sha1(f"{clip.clip_id}\0{clip.path}".encode()).hexdigest()[:10]
    return f"{safe}-{digest}.npz"


def _save_npz_atomic(path, **arrays):
    with atomic_write(path, "wb", kind="codes.npz") as f:
        np.savez(f, **arrays)


def cache_folder(cache_root, backend, fingerprint, segment_seconds, min_segment_seconds):
    """Folder for one codec and segmenting setup; a change of either means a new folder."""
    key = (f"v{CACHE_VERSION}-{fingerprint}-{backend.sampling_rate}hz-"
           f"{segment_seconds:g}s-min{min_segment_seconds:g}s")
    return Path(cache_root) / key


def encode_clips(clips, backend, folder, segment_seconds, min_segment_seconds,
                 should_stop=lambda: False, progress=True):
    """EnCodec codes of every clip, from the disk cache or freshly encoded and cached.

    Parameters
    ----------
    clips : list of Clip
    backend : Backend
    folder : Path
        From :func:`cache_folder`.
    should_stop : callable
        Checked between clips; a SIGTERM during encoding stops early (what is cached stays).
    progress : bool
        Show a tqdm bar.

    Returns
    -------
    codeset : CodeSet
    stats : dict
        ``encoded``, ``cached``, ``skipped`` (clip ids that failed to decode), ``stopped``,
        ``torn`` (``(path, problem)`` of cache files that were unreadable: set aside as
        ``*.corrupt`` and encoded again).
    """
    from tqdm import tqdm

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sr = backend.sampling_rate
    seg_len = int(round(segment_seconds * sr))
    min_len = int(round(min_segment_seconds * sr))
    codes, n_valid, prompts, ids = [], [], [], []
    stats = {"encoded": 0, "cached": 0, "skipped": [], "stopped": False, "torn": []}
    for clip in tqdm(clips, desc="EnCodec cache", disable=not progress, mininterval=5.0):
        if should_stop():
            stats["stopped"] = True
            break
        path = folder / _cache_name(clip)
        cached = _load_cached(path, backend.num_codebooks, stats) if path.exists() else None
        if cached is not None:
            c, v = cached
            stats["cached"] += 1
        else:
            try:
                audio = load_clip_audio(clip.path, sr)
            except Exception as exc:   # libsndfile, soxr and OS errors all mean "skip this clip"
                log.warning("Skipping clip %s: cannot decode %s (%s)", clip.clip_id, clip.path, exc)
                stats["skipped"].append(clip.clip_id)
                continue
            segs, valid = segment(audio, seg_len, min_len)
            c, v = _encode_segments(backend, segs, valid, seg_len)
            kill_point("encode")
            _save_npz_atomic(path, codes=c, n_valid=v)
            stats["encoded"] += 1
        for i in range(len(v)):
            codes.append(torch.from_numpy(c[i]))
            n_valid.append(int(v[i]))
            prompts.append(clip.prompt)
            ids.append(clip.clip_id)
    if codes:
        stacked = torch.stack(codes)
    else:
        stacked = torch.zeros((0, backend.num_codebooks, 0), dtype=torch.int16)
    return CodeSet(stacked, torch.tensor(n_valid, dtype=torch.long), prompts, ids), stats


def _load_cached(path, n_codebooks, stats):
    """A cache file's ``(codes, n_valid)``; ``None`` after setting aside a torn or foreign one."""
    from .integrity import set_aside

    try:
        with np.load(path) as z:
            c, v = z["codes"], z["n_valid"]
        if c.ndim != 3 or c.shape[1] != n_codebooks or v.shape != (len(c),):
            raise ValueError(f"codes {c.shape} and n_valid {v.shape} do not fit together")
    except Exception as exc:   # zip, pickle and shape errors all mean "encode it again"
        set_aside(path)
        stats["torn"].append((path, f"{type(exc).__name__}: {exc}"))
        return None
    return c, v


def _encode_segments(backend, segs, valid, seg_len, chunk=16):
    out = []
    for i in range(0, len(segs), chunk):
        out.append(encode_audio(backend, torch.from_numpy(segs[i:i + chunk])))
    if not out:
        return np.zeros((0, backend.num_codebooks, 0), np.int16), np.zeros(0, np.int32)
    codes = torch.cat(out)                                     # (n, K, F)
    frames = codes.shape[-1]
    # a frame counts as real if any real sample falls in it
    n_frames = np.minimum(frames, np.ceil(valid * frames / seg_len)).astype(np.int32)
    if codes.max() > np.iinfo(np.int16).max:
        raise ValueError("codebook larger than int16 can hold")
    return codes.numpy().astype(np.int16), n_frames


def epoch_batches(n, batch_size, seed, epoch):
    """Micro-batches of one epoch: index arrays of a permutation fixed by ``(seed, epoch)``.

    The last short batch is kept so small datasets still train; every segment is seen once.
    """
    perm = np.random.default_rng([seed, epoch]).permutation(n)
    return [perm[i:i + batch_size] for i in range(0, n, batch_size)]


def make_batch(codeset, index, backend, *, cond_dropout=0.0, rng=None):
    """Model inputs for some segments.

    Parameters
    ----------
    codeset : CodeSet
    index : array of int
    cond_dropout : float
        Probability of replacing a prompt by the empty string (trains the unconditional
        branch that classifier-free guidance needs at generation time).
    rng : numpy.random.Generator, optional
        Source for the dropout draw; pass one seeded from the batch's position so resumed runs
        draw the same.

    Returns
    -------
    dict
        ``labels`` ``(B, K, F + K - 1)``, ``input_ids``, ``attention_mask`` (text).
    """
    index = torch.as_tensor(np.asarray(index), dtype=torch.long)
    codes = codeset.codes[index].long()
    labels = delay_labels(codes, codeset.n_valid[index], backend.pad_token_id)
    prompts = [codeset.prompts[i] for i in index.tolist()]
    if cond_dropout > 0 and rng is not None:
        drop = rng.random(len(prompts)) < cond_dropout
        prompts = ["" if d else p for p, d in zip(prompts, drop)]
    text = backend.tokenizer(prompts, padding=True, truncation=True, return_tensors="pt")
    return {"labels": labels, "input_ids": text["input_ids"],
            "attention_mask": text["attention_mask"]}

