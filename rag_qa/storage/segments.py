"""Index segments: immutable sets of chunks, so that an update writes only what changed.

A segment holds some articles and their chunks: metadata and text (SQLite), character-gram postings
and word frequencies (numpy, see ``lexical.py``), and the chunks' vectors (FAISS, hybrid indexes
only). Once written it never changes. A build adds one segment with its new and changed articles;
removed or replaced articles are marked deleted (``Tombstones``) in the segment that holds them.
Small segments are merged, and segments with many deleted chunks rewritten, on a tiered policy
(Lucene's design), so the number of segments and of dead chunks stays bounded while an update of ten
articles costs ten articles. Chunk ids are unique across the index and never reused.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ..copies import Fingerprint
from ..records import SentenceVectors
from . import vectors
from .catalog import ArticleEntry, day_number
from .lexical import Postings, WordFrequencies
from .sentence_vectors import SENTENCE_CHUNKS, SENTENCE_SPANS, SENTENCE_VECTORS

CHUNKS_DB = "chunks.sqlite"
CHUNK_IDS = "chunk_ids.npy"  # the chunk id of each row, ascending
DENSE = "dense.faiss"
EXACT_SCOPE = 20_000  # a scope with at most this many chunks in an IVF segment is searched exactly
@dataclass(frozen=True)
class SegmentInfo:
    """What a version's manifest records about one of its segments."""

    name: str
    documents: int  # stored in the segment, deleted ones included
    chunks: int
    dense: dict[str, Any] | None  # vectors.describe() of its FAISS index, None for lexical-only
    sentences: int = 0  # sentence vectors stored (0: none, e.g. lexical-only)


@dataclass
class Tombstones:
    """What was deleted from one segment since it was written: chunk ids, article ids, and how many
    deleted chunks hold each word term (so word frequencies stay exact)."""

    chunks: set[int] = field(default_factory=set)
    documents: set[str] = field(default_factory=set)
    words: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        return {"chunks": sorted(self.chunks), "documents": sorted(self.documents), "words": dict(self.words)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Tombstones:
        return cls(set(map(int, data["chunks"])), set(map(str, data["documents"])), Counter(data["words"]))


def new_segment_name(first_chunk_id: int) -> str:
    """Unique, and in the order of the segments' chunk ids."""
    return f"s-{first_chunk_id:012d}-{secrets.token_hex(3)}"


def merged_segment_name(parts: Sequence[Segment]) -> str:
    return new_segment_name(min(int(p.info.name.split("-")[1]) for p in parts))


class Segment:
    """A written segment, read lazily: a build needs only its database (and, to reuse vectors, its
    FAISS index); a reader loads everything."""

    def __init__(self, folder: Path, info: SegmentInfo, tombstones: Tombstones | None = None) -> None:
        self.folder = folder
        self.info = info
        self.tombstones = tombstones or Tombstones()

    @cached_property
    def db(self) -> sqlite3.Connection:
        path = self.folder / CHUNKS_DB
        if not path.is_file():
            raise FileNotFoundError(path)
        db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        db.execute("SELECT COUNT(*) FROM chunks").fetchone()  # sqlite3.DatabaseError when damaged
        return db

    @cached_property
    def chunk_ids(self) -> np.ndarray:
        ids = np.load(self.folder / CHUNK_IDS, allow_pickle=False)
        if len(ids) != self.info.chunks or (len(ids) > 1 and np.any(np.diff(ids) <= 0)):
            raise ValueError("chunk ids do not match the manifest")
        return ids

    @cached_property
    def live(self) -> np.ndarray:
        """Which rows are not deleted."""
        if not self.tombstones.chunks:
            return np.ones(len(self.chunk_ids), dtype=bool)
        return ~np.isin(self.chunk_ids, np.fromiter(self.tombstones.chunks, dtype=np.int64))

    @cached_property
    def postings(self) -> Postings:
        postings = Postings.load(self.folder, mmap=True)
        if len(postings.lengths) != len(self.chunk_ids):
            raise ValueError("postings do not match the chunk ids")
        return postings

    @cached_property
    def words(self) -> WordFrequencies:
        return WordFrequencies.load(self.folder)

    @cached_property
    def dense(self) -> Any:
        if self.info.dense is None:
            return None

        path = self.folder / DENSE
        if not path.is_file():
            raise FileNotFoundError(path)
        # mapped, not loaded (the file never changes): opening is instant and the OS may evict the pages
        index = vectors.configure(vectors.read_mapped(str(path)), self.info.dense)
        if index.ntotal != self.info.chunks:
            raise ValueError("the dense index does not match the manifest")
        return index

    @cached_property
    def sentence_rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(chunk id of each row, spans, vectors), mapped from the files; None when none are stored."""
        if not self.info.sentences:
            return None
        owners = np.load(self.folder / SENTENCE_CHUNKS, allow_pickle=False)
        spans = np.load(self.folder / SENTENCE_SPANS, mmap_mode="r", allow_pickle=False)
        matrix = np.load(self.folder / SENTENCE_VECTORS, mmap_mode="r", allow_pickle=False)
        if not (len(owners) == len(spans) == len(matrix) == self.info.sentences):
            raise ValueError("the sentence vectors do not match the manifest")
        return owners, spans, matrix

    def sentences(self, chunk_ids: Sequence[int]) -> dict[int, SentenceVectors]:
        """The stored sentences of these chunks (those that have them)."""
        rows = self.sentence_rows
        if rows is None or not len(chunk_ids):
            return {}
        owners, spans, matrix = rows
        wanted = np.asarray(chunk_ids, dtype=np.int64)
        first, last = np.searchsorted(owners, wanted, "left"), np.searchsorted(owners, wanted, "right")
        return {
            int(i): SentenceVectors(np.asarray(spans[a:b]), np.asarray(matrix[a:b]))
            for i, a, b in zip(wanted, first, last, strict=True)
            if b > a
        }

    def load(self) -> None:
        """Read every part now (a reader fails at opening, not at its first question)."""
        for part in ("db", "postings", "live", "words", "dense", "sentence_rows"):
            getattr(self, part)

    @property
    def live_chunks(self) -> int:
        return self.info.chunks - len(self.tombstones.chunks)

    @property
    def live_documents(self) -> int:
        return self.info.documents - len(self.tombstones.documents)

    def holds(self, chunk_ids: np.ndarray) -> np.ndarray:
        """Which of these chunk ids are rows of this segment."""
        ids = self.chunk_ids
        at = np.minimum(np.searchsorted(ids, chunk_ids), max(len(ids) - 1, 0))
        return (ids[at] == chunk_ids) if len(ids) else np.zeros(len(chunk_ids), dtype=bool)

    def live_document_chunks(self, doc_ids: Sequence[str]) -> dict[str, list[tuple[int, str]]]:
        """The live articles among ``doc_ids`` with their chunks (id, word terms)."""
        found: dict[str, list[tuple[int, str]]] = {}
        for batch in batches([d for d in doc_ids if d not in self.tombstones.documents], 500):
            marks = ",".join("?" * len(batch))
            for (doc_id,) in self.db.execute(f"SELECT doc_id FROM documents WHERE doc_id IN ({marks})", batch):
                found[doc_id] = []
            query = f"SELECT doc_id, id, terms FROM chunks WHERE doc_id IN ({marks}) ORDER BY id"
            for doc_id, chunk_id, terms in self.db.execute(query, batch):
                found[doc_id].append((chunk_id, terms))
        return found

    def delete(self, doc_id: str, chunks: Iterable[tuple[int, str]]) -> None:
        """Mark an article and its chunks (id, word terms) deleted."""
        self.tombstones.documents.add(doc_id)
        for chunk_id, terms in chunks:
            self.tombstones.chunks.add(chunk_id)
            self.tombstones.words.update(set(terms.split()))
        for derived in ("live", "_skip_deleted"):  # computed from the tombstones
            self.__dict__.pop(derived, None)

    def stored(self, embed_hashes: Sequence[str]) -> Stored:
        return stored_vectors(self.db, lambda: self.dense, self.sentences, embed_hashes)

    def dense_search(self, query: np.ndarray, n: int, allowed: np.ndarray | None = None) -> dict[int, float]:
        """The ``n`` nearest live chunks: (chunk id → inner product). ``allowed``: only these chunk ids
        (live ones, ascending) are searched, through a selector that FAISS checks while it scans; in an
        approximate (IVF) index a scope of few chunks is scored exactly by their stored vectors instead
        (the probed lists could hold none of them)."""
        index = self.dense
        if index is None or index.ntotal == 0 or (allowed is not None and not len(allowed)):
            return {}
        if allowed is not None and len(allowed) <= EXACT_SCOPE and vectors.is_ivf(index):
            scores = vectors.take(index, allowed) @ query.reshape(-1)
            top = np.argsort(-scores, kind="stable")[:n]
            return {int(allowed[i]): float(scores[i]) for i in top}
        if allowed is not None:
            import faiss

            bitmap = np.zeros(int(allowed[-1]) // 8 + 1, dtype=np.uint8)
            np.bitwise_or.at(bitmap, allowed // 8, (1 << (allowed % 8)).astype(np.uint8))
            selector = faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap))
            parameters: Any = faiss.SearchParametersIVF() if vectors.is_ivf(index) else faiss.SearchParameters()
            parameters.sel = selector
            if vectors.is_ivf(index):
                parameters.nprobe = index.nprobe
            scores, ids = index.search(query.reshape(1, -1), min(n, len(allowed)), params=parameters)
            return {int(i): float(s) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0}
        parameters = self._skip_deleted[-1]
        scores, ids = index.search(query.reshape(1, -1), min(n, index.ntotal), params=parameters)
        return {int(i): float(s) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0}

    @cached_property
    def _skip_deleted(self) -> tuple[Any, ...]:
        """FAISS search parameters whose selector leaves deleted chunks out (last item; None when none
        are deleted), after the selectors they refer to, which must stay alive as long."""
        if not self.tombstones.chunks:
            return (None,)
        import faiss

        batch = faiss.IDSelectorBatch(np.fromiter(self.tombstones.chunks, dtype=np.int64))
        selector = faiss.IDSelectorNot(batch)
        if vectors.is_ivf(self.dense):
            ivf = faiss.SearchParametersIVF()
            ivf.sel, ivf.nprobe = selector, self.dense.nprobe  # nprobe: else the default (1) would apply
            return batch, selector, ivf
        flat = faiss.SearchParameters()
        flat.sel = selector
        return batch, selector, flat

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.close()


def live_fingerprints(segment: Segment) -> list[Fingerprint]:
    """The copy fingerprints of the segment's live articles (copies.py)."""
    rows = segment.db.execute("SELECT doc_id, signature, lead, date FROM documents").fetchall()
    gone = segment.tombstones.documents
    return [Fingerprint(d, bytes(s), lead, day_number(date)) for d, s, lead, date in rows if d not in gone]


def live_entries(segment: Segment) -> list[ArticleEntry]:
    """The segment's live articles as the catalog lists them (catalog.py)."""
    query = (
        "SELECT d.doc_id, d.title, d.publisher, d.date, d.source, MIN(c.id), COUNT(c.id), length(d.text) "
        "FROM documents d JOIN chunks c USING (doc_id) GROUP BY d.doc_id"
    )
    gone = segment.tombstones.documents
    return [ArticleEntry(*row) for row in segment.db.execute(query).fetchall() if row[0] not in gone]


Stored = tuple[dict[str, np.ndarray], dict[str, SentenceVectors]]  # by embedding-input hash


def stored_vectors(
    db: sqlite3.Connection,
    dense: Callable[[], Any],
    sentences: Callable[[Sequence[int]], dict[int, SentenceVectors]],
    embed_hashes: Sequence[str],
) -> Stored:
    """Stored chunk vectors and sentence vectors by the hash of the chunk's embedding input (the same
    input, the same text); ``dense`` is called only if one is found."""
    found = _chunks_by_embed_hash(db, embed_hashes)
    index = dense() if found else None
    if index is None:
        return {}, {}
    held = sentences(list(found.values()))
    return (
        {h: index.reconstruct(int(i)) for h, i in found.items()},
        {h: held[i] for h, i in found.items() if i in held},
    )


def _chunks_by_embed_hash(db: sqlite3.Connection, embed_hashes: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for batch in batches(sorted(set(embed_hashes)), 500):
        marks = ",".join("?" * len(batch))
        found.update(db.execute(f"SELECT embed_hash, id FROM chunks WHERE embed_hash IN ({marks})", batch))
    return found


def batches(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
