"""The BM25 index, kept as term counts so that an update costs the change, not the archive.

bm25s stores, and scores queries from, a precomputed matrix of BM25 weights. Those weights depend on
collection statistics (document frequencies, the average length), so adding ten articles changes
every weight; re-tokenising the archive to recompute them would make every update cost a full
build. rag_qa therefore keeps each chunk's term counts (a sparse matrix saved beside the bm25s
files) and derives bm25s's weights from it with vectorised numpy: Python-level work is proportional
to the chunks added, the rest is array arithmetic. The weights equal those of ``bm25s.BM25.index``
with ``method="lucene"`` (tests/test_lexical.py checks it on real text).
"""

from __future__ import annotations

import json
from array import array
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

WORDS = "words"  # stemmed words: the question's IDF weights, coverage, proximity
GRAMS = "grams"  # character n-grams: what BM25 ranks on


def files_of(kind: str) -> tuple[str, str, str, str]:
    """The vocabulary file and the three CSR arrays of one kind of term counts."""
    return (f"{kind}_vocabulary.json", f"{kind}_tf_data.npy", f"{kind}_tf_indices.npy", f"{kind}_tf_indptr.npy")


class TermCounts:
    """Term counts per chunk: rows in chunk-id order, columns in an append-only vocabulary."""

    def __init__(self, vocabulary: dict[str, int], matrix: Any, chunk_ids: np.ndarray) -> None:
        self.vocabulary = vocabulary
        self._matrix = matrix  # scipy.sparse CSR, int32 counts
        self._chunk_ids = chunk_ids
        self._removed: set[int] = set()
        self._new_ids = array("q")
        self._new_lengths = array("q")  # distinct terms per new row
        self._new_columns = array("i")
        self._new_counts = array("i")

    @classmethod
    def empty(cls) -> TermCounts:
        import scipy.sparse as sp

        return cls({}, sp.csr_matrix((0, 0), dtype=np.int32), np.zeros(0, dtype=np.int64))

    @classmethod
    def load(cls, folder: Path, kind: str, chunk_ids: np.ndarray) -> TermCounts:
        """The counts of ``kind`` saved in ``folder`` (OSError when missing, ValueError when inconsistent)."""
        import scipy.sparse as sp

        paths = [folder / name for name in files_of(kind)]
        terms = json.loads(paths[0].read_text(encoding="utf-8"))
        data, indices, indptr = (np.load(p, allow_pickle=False) for p in paths[1:])
        if len(indptr) != len(chunk_ids) + 1:
            raise ValueError("term counts do not match the chunk ids")
        matrix = sp.csr_matrix((data, indices, indptr), shape=(len(chunk_ids), len(terms)))
        return cls({term: i for i, term in enumerate(terms)}, matrix, chunk_ids)

    def save(self, folder: Path, kind: str) -> None:
        self.settle()
        vocabulary_file, *count_files = files_of(kind)
        terms = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        (folder / vocabulary_file).write_text(json.dumps(terms, ensure_ascii=False), encoding="utf-8")
        for name, values in zip(
            count_files, (self._matrix.data, self._matrix.indices, self._matrix.indptr), strict=True
        ):
            np.save(folder / name, values, allow_pickle=False)

    def document_frequencies(self) -> np.ndarray:
        """How many chunks hold each vocabulary term (0 for terms whose chunks were all removed)."""
        self.settle()
        return np.bincount(self._matrix.indices, minlength=len(self.vocabulary)).astype(np.int32)

    @property
    def chunk_ids(self) -> np.ndarray:
        """The chunk id of each row, after the pending changes."""
        self.settle()
        return self._chunk_ids

    def add(self, chunk_id: int, terms: list[str]) -> None:
        counted = Counter(self.vocabulary.setdefault(t, len(self.vocabulary)) for t in terms)
        self._new_ids.append(chunk_id)
        self._new_lengths.append(len(counted))
        self._new_columns.extend(counted.keys())
        self._new_counts.extend(counted.values())

    def remove(self, chunk_ids: Iterable[int]) -> None:
        self._removed.update(int(i) for i in chunk_ids)

    def settle(self) -> None:
        """Apply the pending removals and additions."""
        import scipy.sparse as sp

        matrix, ids = self._matrix, self._chunk_ids
        width = len(self.vocabulary)
        if not self._removed and not self._new_ids and matrix.shape[1] == width:
            return
        if self._removed:
            keep = ~np.isin(ids, np.fromiter(self._removed, dtype=np.int64))
            matrix, ids = matrix[keep], ids[keep]
        matrix = sp.csr_matrix((matrix.data, matrix.indices, matrix.indptr), shape=(matrix.shape[0], width))
        if self._new_ids:
            indptr = np.zeros(len(self._new_lengths) + 1, dtype=np.int64)
            np.cumsum(np.frombuffer(self._new_lengths, dtype=np.int64), out=indptr[1:])
            columns = np.frombuffer(self._new_columns, dtype=np.int32)
            counts = np.frombuffer(self._new_counts, dtype=np.int32)
            added = sp.csr_matrix((counts, columns, indptr), shape=(len(self._new_lengths), width))
            matrix = added if matrix.shape[0] == 0 else sp.vstack([matrix, added], format="csr", dtype=np.int32)
            ids = np.concatenate([ids, np.frombuffer(self._new_ids, dtype=np.int64)])
        self._matrix, self._chunk_ids = matrix, ids
        self._removed = set()
        self._new_ids, self._new_lengths, self._new_columns, self._new_counts = (
            array("q"),
            array("q"),
            array("i"),
            array("i"),
        )

    def bm25(self, k1: float, b: float) -> Any:
        """A bm25s retriever (method "lucene") whose weights are computed from these counts."""
        import bm25s

        self.settle()
        matrix = self._matrix
        documents, width = matrix.shape
        retriever = bm25s.BM25(k1=k1, b=b, method="lucene")
        lengths = np.asarray(matrix.sum(axis=1), dtype=np.float64).ravel()
        average = lengths.mean() if documents else 1.0
        frequency = np.bincount(matrix.indices, minlength=width).astype(np.float64)
        idf = np.log(1.0 + (documents - frequency + 0.5) / (frequency + 0.5)).astype(np.float32)
        # one float32 array per step, reused in place: the archive's grams number tens of millions
        weights = np.repeat((k1 * ((1 - b) + b * lengths / average)).astype(np.float32), np.diff(matrix.indptr))
        tf = matrix.data.astype(np.float32)
        weights += tf
        np.divide(tf, weights, out=weights)
        del tf
        weights *= idf[matrix.indices]
        import scipy.sparse as sp

        scores = sp.csr_matrix((weights, matrix.indices, matrix.indptr), shape=matrix.shape).tocsc()
        del weights
        scores.sort_indices()
        retriever.scores = {
            "data": scores.data.astype(np.float32),
            "indices": scores.indices.astype(np.int32),
            "indptr": scores.indptr.astype(np.int32 if scores.nnz < 2**31 else np.int64),
            "num_docs": documents,
        }
        retriever.vocab_dict = dict(self.vocabulary)
        retriever.nonoccurrence_array = None  # only BM25L and BM25+ use it
        return retriever
