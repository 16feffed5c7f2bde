"""Tokenizers that need no downloaded files, for the presets built without a download.

The real model uses its T5 tokenizer, whose vocabulary files come from the Hub. The random
presets (:func:`musicgen_ft.model.build_model`) use these instead: they map prompts to ids in
the right range, with the T5 tokenizer's call signature, so the training code path is the same.
"""

from __future__ import annotations

import re
import zlib

import torch

__all__ = ["ByteTokenizer", "WordHashTokenizer"]


class ByteTokenizer:
    """A dependency-free tokenizer for the tiny preset: UTF-8 bytes, T5-style ids.

    The real model uses its T5 tokenizer; that needs downloaded files, so the tiny preset
    maps each byte to ``byte + 3`` (0 = pad, 1 = end of sequence, as in T5).
    """

    vocab_size = 259

    def __init__(self, max_length=64):
        self.max_length = max_length

    def token_ids(self, text):
        """Ids of one text, without the end-of-sequence id."""
        return [b + 3 for b in text.encode("utf-8")]

    def __call__(self, texts, **kwargs):
        # padding/truncation/return_tensors are accepted for the T5 tokenizer's signature;
        # this one always pads, truncates to max_length and returns tensors.
        ids = [self.token_ids(t)[: self.max_length - 1] + [1] for t in texts]
        width = max(len(seq) for seq in ids)
        input_ids = torch.zeros(len(ids), width, dtype=torch.long)
        mask = torch.zeros(len(ids), width, dtype=torch.long)
        for i, seq in enumerate(ids):
            input_ids[i, : len(seq)] = torch.tensor(seq)
            mask[i, : len(seq)] = 1
        return {"input_ids": input_ids, "attention_mask": mask}


class WordHashTokenizer(ByteTokenizer):
    """T5-sized ids for prompts without T5's vocabulary files.

    Each word or punctuation mark becomes ``3 + crc32(piece) mod 31997``: ids 3..31999, inside
    T5's 32000 SentencePiece ids (0 = pad, 1 = end of sequence, 2 = unknown, as in T5). The
    same text always gives the same ids, in every process.
    """

    vocab_size = 32128          # T5-base's embedding rows (32000 pieces + 100 sentinels, padded)
    _pieces = re.compile(r"\w+|[^\w\s]")

    def token_ids(self, text):
        return [3 + zlib.crc32(p.encode("utf-8")) % 31997 for p in self._pieces.findall(text)]
