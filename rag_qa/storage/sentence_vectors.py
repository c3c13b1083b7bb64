"""Sentence vectors: each stored chunk's sentences (offsets in its text) and their vectors, written with
its segment as three arrays so that answering scores sentences without encoding them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..records import SentenceVectors

SENTENCE_CHUNKS = "sentence_chunks.npy"
SENTENCE_SPANS = "sentence_spans.npy"
SENTENCE_VECTORS = "sentence_vectors.npy"


class SentenceTable:
    """Sentence vectors gathered while a segment is written (or merged), saved as three arrays."""

    def __init__(self) -> None:
        self.by_chunk: dict[int, SentenceVectors] = {}

    def add(self, chunk_id: int, sentences: SentenceVectors) -> None:
        self.by_chunk[chunk_id] = sentences

    def of(self, chunk_ids: Sequence[int]) -> dict[int, SentenceVectors]:
        return {i: self.by_chunk[i] for i in chunk_ids if i in self.by_chunk}

    def save(self, folder: Path) -> int:
        """Write the arrays (rows in chunk id order); returns the number of sentences."""
        ids = sorted(self.by_chunk)
        parts = [self.by_chunk[i] for i in ids]
        if not parts:
            return 0
        owners = np.repeat(np.asarray(ids, dtype=np.int64), [len(p.spans) for p in parts])
        return save_sentences(
            folder, owners, np.concatenate([p.spans for p in parts]), np.concatenate([p.vectors for p in parts])
        )


def save_sentences(folder: Path, owners: np.ndarray, spans: np.ndarray, matrix: np.ndarray) -> int:
    """Write sentence rows (``owners``: each row's chunk id, ascending); returns how many."""
    if not len(owners):
        return 0
    np.save(folder / SENTENCE_CHUNKS, owners.astype(np.int64), allow_pickle=False)
    np.save(folder / SENTENCE_SPANS, spans.astype(np.int32), allow_pickle=False)
    np.save(folder / SENTENCE_VECTORS, matrix.astype(np.float16), allow_pickle=False)
    return len(owners)
