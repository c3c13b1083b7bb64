"""Reading an index version: its segments, their tombstones, and BM25 over all of them."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexCorrupt
from ..records import Passage, SentenceVectors
from ..textnorm import ANALYZER_VERSION
from .catalog import Catalog
from .lexical import BM25
from .manifest import COPIES, REBUILD_HINT, SOURCES, Manifest, open_segments, read_current_manifest
from .segments import Segment, live_entries


class IndexReader:
    """A loaded, read-only index version: its segments, their tombstones, and BM25 over all of them.
    Safe to share between threads."""

    def __init__(self, index_dir: Path, manifest: Manifest | None = None, folder: Path | None = None) -> None:
        """The current version of ``index_dir``, or (for a build about to publish it) ``manifest`` in ``folder``."""
        self.index_dir = index_dir
        self.manifest = manifest or read_current_manifest(index_dir)
        self.dir = folder or index_dir / self.manifest.version_dir
        if self.manifest.analyzer.get("version") != ANALYZER_VERSION:
            raise IndexCorrupt(f"The index at {index_dir} was built by another version of rag_qa. {REBUILD_HINT}")
        if not self.dir.is_dir():
            raise IndexCorrupt(f"The index at {index_dir} lacks its version folder. {REBUILD_HINT}")
        self._lock = threading.Lock()
        self.segments = open_segments(self.dir, self.manifest)
        try:
            for segment in self.segments:
                segment.load()
        except sqlite3.DatabaseError:
            self.close()
            raise IndexCorrupt(f"A chunk database of the index at {index_dir} is damaged. {REBUILD_HINT}") from None
        except (OSError, ValueError, EOFError, RuntimeError, json.JSONDecodeError):
            self.close()
            raise IndexCorrupt(f"The index at {index_dir} has damaged or missing files. {REBUILD_HINT}") from None
        self.has_dense = self.manifest.mode == "hybrid"
        k1, b = float(self.manifest.bm25["k1"]), float(self.manifest.bm25["b"])  # as the build recorded them
        self.bm25 = BM25([(s.postings, s.live) for s in self.segments], k1, b)
        self._row_ids = np.concatenate([s.chunk_ids for s in self.segments]) if self.segments else np.zeros(0)
        self.word_frequencies: Counter[str] = Counter()
        for segment in self.segments:
            self.word_frequencies.update(segment.words.frequencies)
            self.word_frequencies.subtract(segment.tombstones.words)
        try:
            groups = json.loads((self.dir / COPIES).read_text(encoding="utf-8"))
            self.catalog = Catalog([e for s in self.segments for e in live_entries(s)], groups)
        except (OSError, ValueError, TypeError, sqlite3.DatabaseError):
            self.close()
            raise IndexCorrupt(f"The article list of the index at {index_dir} is damaged. {REBUILD_HINT}") from None

    @property
    def chunk_count(self) -> int:
        """Live chunks: the N of BM25's IDF."""
        return self.bm25.documents

    def document_frequency(self, word: str) -> int:
        """How many live chunks hold this (stemmed) word term."""
        return self.word_frequencies.get(word, 0)

    def document_frequencies(self, words: Iterable[str]) -> dict[str, int]:
        return {word: self.word_frequencies.get(word, 0) for word in words}

    def lexical_search(self, grams: Sequence[str], n: int, within: np.ndarray | None = None) -> dict[int, float]:
        """The ``n`` best chunks by BM25 over these character grams: chunk id → score (> 0). ``within``: one
        flag per catalog article; only the chunks of flagged articles are ranked."""
        if not grams or not len(self._row_ids):
            return {}
        try:
            scores = np.concatenate(self.bm25.scores(grams))
        except (IndexError, ValueError):  # mapped postings are checked by size at opening, not row by row
            raise IndexCorrupt(f"The BM25 postings at {self.index_dir} are damaged. {REBUILD_HINT}") from None
        if within is not None:
            scores = np.where(self.catalog.chunk_mask(within, self._row_ids), scores, 0.0)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        return {int(self._row_ids[i]): float(scores[i]) for i in top if scores[i] > 0}

    def dense_search(self, vector: np.ndarray, n: int, within: np.ndarray | None = None) -> dict[int, float]:
        """The ``n`` chunks nearest this (normalised) vector: chunk id → cosine similarity. ``within``: as
        for ``lexical_search``."""
        found: dict[int, float] = {}
        for segment in self.segments:
            allowed = None if within is None else segment.chunk_ids[self.catalog.chunk_mask(within, segment.chunk_ids)]
            found |= segment.dense_search(vector, n, allowed)
        return dict(sorted(found.items(), key=lambda kv: -kv[1])[:n])

    def _by_segment(self, chunk_ids: Sequence[int]) -> Iterator[tuple[Segment, list[int]]]:
        wanted = np.asarray(chunk_ids, dtype=np.int64)
        for segment in self.segments:
            mine = wanted[segment.holds(wanted)]
            if len(mine):
                yield segment, [int(i) for i in mine]

    def passages(self, chunk_ids: Sequence[int]) -> dict[int, Passage]:
        """These chunks with their article's title, source and date (deleted or unknown ids are left out)."""
        found: dict[int, Passage] = {}
        for segment, ids in self._by_segment(chunk_ids):
            query = (
                'SELECT c.id, c.doc_id, c.ordinal, c.start, c."end", c.text, c.terms, d.title, d.source, d.date, '
                f"d.publisher FROM chunks c JOIN documents d USING (doc_id) WHERE c.id IN ({','.join('?' * len(ids))})"
            )
            with self._lock:
                rows = segment.db.execute(query, ids).fetchall()
            for chunk_id, doc_id, ordinal, start, end, text, terms, title, source, date, publisher in rows:
                found[chunk_id] = Passage(
                    chunk_id, doc_id, ordinal, start, end, text, tuple(terms.split()), title, source, date, publisher
                )
        return found

    def sentences(self, chunk_ids: Sequence[int]) -> dict[int, SentenceVectors]:
        """The stored sentence vectors of these chunks (none for an index built before they were stored)."""
        found: dict[int, SentenceVectors] = {}
        for segment, ids in self._by_segment(chunk_ids):
            found |= segment.sentences(ids)
        return found

    def document_text(self, doc_id: str) -> str | None:
        for segment in self.segments:
            if doc_id in segment.tombstones.documents:
                continue
            with self._lock:
                row = segment.db.execute("SELECT text FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
            if row:
                return str(row[0])
        return None

    def articles_per_file(self) -> dict[str, int]:
        """Each source file of this version (sources.json) and how many articles it gave."""
        return {name: len(ids) for name, ids in self.articles_by_file().items()}

    def articles_by_file(self) -> dict[str, list[str]]:
        """Each source file of this version (sources.json) and the ids of the articles it gave."""
        try:
            listed = json.loads((self.dir / SOURCES).read_text(encoding="utf-8"))
            return {str(row[0]): [str(d) for d in row[3]] for row in listed}
        except (OSError, ValueError, TypeError, IndexError):
            raise IndexCorrupt(f"The source list of the index at {self.index_dir} is damaged. {REBUILD_HINT}") from None

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.dir.rglob("*") if p.is_file())

    def storage_details(self) -> dict[str, Any]:
        return {
            "store": "directory",
            "size_bytes": self.size_bytes(),
            "segments": len(self.segments),
            "deleted_chunks": sum(len(s.tombstones.chunks) for s in self.segments),  # until their merge
        }

    def close(self) -> None:
        with self._lock:
            for segment in self.segments:
                segment.close()
