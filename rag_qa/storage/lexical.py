"""BM25 over segments: character-gram postings per segment, scored with the whole index's statistics.

An index is a list of immutable segments (see ``segments.py``), so an update writes only its own
chunks. BM25's weights, though, depend on the collection (document frequencies, the average length):
a precomputed weight matrix, as bm25s stores, would have to be rewritten for the whole archive on
every update. rag_qa therefore keeps raw term counts as postings (for each gram: the rows holding it
and how often) and computes Lucene's BM25 at query time from the counts of the question's grams
only, with document frequencies and the average length taken over the live chunks of all segments,
as Lucene does. The scores equal ``bm25s.BM25(method="lucene")`` indexing the same live chunks
(tests/test_lexical.py checks it on real text, through deletions and merges).

Word terms (stemmed) are kept only as document frequencies: they weigh the question's words (IDF).
"""

from __future__ import annotations

import json
import math
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

GRAMS_VOCABULARY = "grams_vocabulary.json"
GRAMS_POSTINGS = ("grams_postings_indptr.npy", "grams_postings_rows.npy", "grams_postings_counts.npy")
GRAMS_PER_CHUNK = "grams_per_chunk.npy"  # BM25's document length
WORDS_VOCABULARY = "words_vocabulary.json"
WORD_FREQUENCIES = "words_df.npy"  # chunks of the segment holding each word term
MAX_COUNT = np.iinfo(np.uint16).max  # a gram's count in one chunk is stored as uint16


class GramCounts:
    """The character-gram counts of a segment being built, one row per chunk in insertion order."""

    def __init__(self) -> None:
        self.vocabulary: dict[str, int] = {}
        self._lengths = array("q")  # distinct grams per row
        self._columns = array("i")
        self._counts = array("i")

    def add(self, grams: Sequence[str]) -> None:
        counted = Counter(self.vocabulary.setdefault(g, len(self.vocabulary)) for g in grams)
        self._lengths.append(len(counted))
        self._columns.extend(counted.keys())
        self._counts.extend(counted.values())

    def postings(self) -> Postings:
        import scipy.sparse as sp

        indptr = np.zeros(len(self._lengths) + 1, dtype=np.int64)
        np.cumsum(np.frombuffer(self._lengths, dtype=np.int64), out=indptr[1:])
        columns = np.frombuffer(self._columns, dtype=np.int32)
        counts = np.frombuffer(self._counts, dtype=np.int32)
        rows = sp.csr_matrix((counts, columns, indptr), shape=(len(self._lengths), len(self.vocabulary)))
        return Postings.from_rows(list(self.vocabulary), rows)


class Postings:
    """One segment's gram postings: for gram column ``c``, ``rows[indptr[c]:indptr[c+1]]`` are the
    segment rows (chunks) holding it and ``counts[...]`` how often; ``lengths[row]`` is the row's
    number of grams."""

    def __init__(
        self, grams: list[str], indptr: np.ndarray, rows: np.ndarray, counts: np.ndarray, lengths: np.ndarray
    ) -> None:
        if len(indptr) != len(grams) + 1 or len(rows) != len(counts) or (len(rows) and indptr[-1] != len(rows)):
            raise ValueError("inconsistent postings")
        self.grams = grams
        self.vocabulary = {g: i for i, g in enumerate(grams)}
        self.indptr, self.rows, self.counts, self.lengths = indptr, rows, counts, lengths

    @classmethod
    def from_rows(cls, grams: list[str], matrix: Any) -> Postings:
        """From a CSR matrix of counts (rows = chunks, columns = ``grams``)."""
        lengths = np.asarray(matrix.sum(axis=1), dtype=np.int64).ravel().astype(np.int32)
        columns = matrix.tocsc()
        columns.sort_indices()
        counts = np.minimum(columns.data, MAX_COUNT).astype(np.uint16)
        return cls(grams, columns.indptr.astype(np.int64), columns.indices.astype(np.int32), counts, lengths)

    @classmethod
    def load(cls, folder: Path, mmap: bool = False) -> Postings:
        """OSError when a file is missing, ValueError when they disagree. With ``mmap`` the postings stay
        on disk, mapped (a question reads only its grams' rows); segment files never change once written."""
        grams = json.loads((folder / GRAMS_VOCABULARY).read_text(encoding="utf-8"))
        indptr, rows, counts = (
            np.load(folder / name, mmap_mode="r" if mmap else None, allow_pickle=False) for name in GRAMS_POSTINGS
        )
        lengths = np.load(folder / GRAMS_PER_CHUNK, allow_pickle=False)
        if not isinstance(grams, list) or (not mmap and len(rows) and rows.max() >= len(lengths)):
            raise ValueError("inconsistent postings")  # (mapped: sizes are checked, not every row number)
        return cls(grams, indptr, rows, counts, lengths)

    def save(self, folder: Path) -> None:
        (folder / GRAMS_VOCABULARY).write_text(json.dumps(self.grams, ensure_ascii=False), encoding="utf-8")
        for name, values in zip(GRAMS_POSTINGS, (self.indptr, self.rows, self.counts), strict=True):
            np.save(folder / name, values, allow_pickle=False)
        np.save(folder / GRAMS_PER_CHUNK, self.lengths, allow_pickle=False)

    def of(self, gram: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(rows, counts) of a gram, or None when no chunk of the segment holds it."""
        column = self.vocabulary.get(gram)
        if column is None:
            return None
        start, end = self.indptr[column], self.indptr[column + 1]
        return self.rows[start:end], self.counts[start:end]

    def to_rows(self) -> Any:
        """The counts as a CSR matrix (rows = chunks)."""
        import scipy.sparse as sp

        shape = (len(self.lengths), len(self.grams))
        return sp.csc_matrix((self.counts.astype(np.int32), self.rows, self.indptr), shape=shape).tocsr()

    @classmethod
    def merge(cls, parts: Sequence[tuple[Postings, np.ndarray]], order: np.ndarray | None = None) -> Postings:
        """The postings of the kept rows (boolean mask) of several segments: rows in segment order, then
        rearranged by ``order`` (positions in that sequence) when given."""
        import scipy.sparse as sp

        grams: dict[str, int] = {}
        pieces = []
        for postings, keep in parts:
            columns = np.asarray([grams.setdefault(g, len(grams)) for g in postings.grams], dtype=np.int32)
            rows = postings.to_rows()[keep]
            pieces.append((rows.data, columns[rows.indices], rows.indptr))
        width = len(grams)
        matrices = [sp.csr_matrix(piece, shape=(len(piece[2]) - 1, width)) for piece in pieces]
        stacked = sp.vstack(matrices, format="csr") if matrices else sp.csr_matrix((0, width), dtype=np.int32)
        return cls.from_rows(list(grams), stacked if order is None else stacked[order])


class WordFrequencies:
    """How many chunks of a segment hold each word term."""

    def __init__(self, frequencies: Counter[str] | None = None) -> None:
        self.frequencies: Counter[str] = frequencies if frequencies is not None else Counter()

    def add(self, terms: Iterable[str]) -> None:
        self.frequencies.update(set(terms))

    def save(self, folder: Path) -> None:
        words = sorted(self.frequencies)
        (folder / WORDS_VOCABULARY).write_text(json.dumps(words, ensure_ascii=False), encoding="utf-8")
        counts = np.asarray([self.frequencies[w] for w in words], dtype=np.int32)
        np.save(folder / WORD_FREQUENCIES, counts, allow_pickle=False)

    @classmethod
    def load(cls, folder: Path) -> WordFrequencies:
        words = json.loads((folder / WORDS_VOCABULARY).read_text(encoding="utf-8"))
        counts = np.load(folder / WORD_FREQUENCIES, allow_pickle=False)
        if not isinstance(words, list) or len(words) != len(counts):
            raise ValueError("inconsistent word frequencies")
        return cls(Counter(dict(zip(words, counts.tolist(), strict=True))))


class BM25:
    """Lucene's BM25 (the formula of ``bm25s`` method "lucene") over the live rows of several segments."""

    def __init__(self, segments: Sequence[tuple[Postings, np.ndarray]], k1: float, b: float) -> None:
        self.segments = segments  # (postings, live mask) pairs
        self.documents = int(sum(live.sum() for _, live in segments))
        total = float(sum(postings.lengths[live].sum() for postings, live in segments))
        average = total / self.documents if self.documents else 1.0
        # the length normalisation of each row, computed once: k1 · (1 − b + b · length / average)
        self._norms = [(k1 * ((1 - b) + b * p.lengths / average)).astype(np.float32) for p, _ in segments]

    def scores(self, grams: Sequence[str]) -> list[np.ndarray]:
        """Each segment's scores for a query (a gram given twice counts twice); 0 where nothing matched
        and for deleted rows."""
        scores = [np.zeros(len(p.lengths), dtype=np.float32) for p, _ in self.segments]
        for gram, times in Counter(grams).items():
            found = []
            for s, (postings, live) in enumerate(self.segments):
                hit = postings.of(gram)
                if hit is None:
                    continue
                rows, counts = hit
                alive = live[rows]
                if not alive.all():
                    rows, counts = rows[alive], counts[alive]
                if len(rows):
                    found.append((s, rows, counts.astype(np.float32)))
            frequency = sum(len(rows) for _, rows, _ in found)
            idf = math.log(1.0 + (self.documents - frequency + 0.5) / (frequency + 0.5))
            for s, rows, counts in found:
                scores[s][rows] += np.float32(times * idf) * counts / (counts + self._norms[s][rows])
        return scores
