"""The index directory: versions of a list of immutable segments, switched atomically. No pickle.

Layout::

    index/
      manifest.json          the current version's manifest; replaced atomically to switch versions
      v-<time>-<id>/         one complete version:
        manifest.json        its segments, counts, model, chunking, analyzer
        deletions.json       tombstones: what was deleted from each segment since it was written
        sources.json         the source files indexed (size, modification time, article ids, bad records)
        s-<time>-<id>/       a segment (see segments.py): chunks.sqlite, gram postings, word
                             frequencies, dense.faiss; hard links to the same files in other versions
      .build.lock            held by the one build allowed at a time

A build writes ``v-….partial/``, renames it when complete, then replaces ``manifest.json``; a
reader therefore sees the old version or the new one, never a mixture. Segment files are never
changed once written, so versions share them through hard links and an update writes only its own.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .config import ANN, FORMAT_VERSION, RETRIEVAL
from .errors import IndexCorrupt, IndexMissing
from .lexical import BM25
from .records import Article, Chunk, SourceFile
from .segments import (
    Segment,
    SegmentInfo,
    SegmentWriter,
    SentenceVectors,
    Stored,
    Tombstones,
    merge,
    merge_plan,
    merged_segment_name,
    new_segment_name,
)
from .textnorm import ANALYZER_VERSION

MANIFEST = "manifest.json"
DELETIONS = "deletions.json"
SOURCES = "sources.json"
PARTIAL = ".partial"
REBUILD_HINT = "Rebuild it with `rag-qa build --full`."
# a source file as the last build left it: its size and modification time, article ids, bad records
TrackedFile = tuple[SourceFile, list[str], list[str]]


@dataclass(frozen=True)
class Manifest:
    format_version: int
    version_dir: str
    mode: str  # "hybrid" (FAISS + BM25) or "lexical" (BM25 only)
    model: dict[str, Any] | None  # Embedder.describe(), or None for lexical-only
    model_requested: str
    fallback_reason: str | None
    chunking: dict[str, Any]
    analyzer: dict[str, Any]
    bm25: dict[str, Any]
    dense: dict[str, Any] | None
    documents: int
    chunks: int
    created_at: str
    build_seconds: float
    software: dict[str, str] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)  # what the build indexed, so the app can add to it
    segments: list[dict[str, Any]] = field(default_factory=list)  # segments.SegmentInfo of each segment
    next_chunk_id: int = 1  # chunk ids are never reused
    abstention: dict[str, Any] | None = None  # abstention.calibrate(): the evidence thresholds of this index
    confidence: dict[str, Any] | None = None  # abstention.confident_level(): below it an answer is weak evidence

    @property
    def model_name(self) -> str | None:
        return self.model["name"] if self.model else None

    def to_json(self) -> str:
        return json.dumps({"format": "rag_qa-index", **asdict(self)}, ensure_ascii=False, indent=2)

    @classmethod
    def read(cls, path: Path) -> Manifest:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise IndexMissing(f"No index at {path.parent}: build one with `rag-qa build`.") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            raise IndexCorrupt(f"The index manifest {path} is unreadable. {REBUILD_HINT}") from None
        if not isinstance(data, dict) or data.get("format") != "rag_qa-index":
            raise IndexCorrupt(f"{path} is not a rag_qa index manifest. {REBUILD_HINT}")
        if data.get("format_version") != FORMAT_VERSION:
            raise IndexCorrupt(
                f"The index at {path.parent} has format version {data.get('format_version')}; this rag_qa reads "
                f"version {FORMAT_VERSION}. {REBUILD_HINT}"
            )
        data.pop("format")
        try:
            manifest = cls(**data)
        except TypeError:
            raise IndexCorrupt(f"The index manifest {path} has missing or unknown fields. {REBUILD_HINT}") from None
        if manifest.mode not in ("hybrid", "lexical") or (manifest.mode == "hybrid") != bool(manifest.model):
            raise IndexCorrupt(f"The index manifest {path} is inconsistent (mode {manifest.mode!r}). {REBUILD_HINT}")
        thresholds = manifest.abstention
        groups = [thresholds, *((thresholds.get("by_script") or {}).values())] if isinstance(thresholds, dict) else []
        if thresholds is not None and not (
            groups
            and all(isinstance(g, dict) for g in groups)
            and all(
                isinstance(g.get(k), (int, float)) for g in groups for k in ("min_evidence", "min_lexical_evidence")
            )  # noqa: E501
        ):
            raise IndexCorrupt(f"The index manifest {path} has damaged abstention thresholds. {REBUILD_HINT}")
        return manifest


def read_current_manifest(index_dir: Path) -> Manifest:
    if not index_dir.is_dir():
        raise IndexMissing(f"No index directory {index_dir}: build one with `rag-qa build`.")
    return Manifest.read(index_dir / MANIFEST)


# ---------------------------------------------------------------- writing


def read_build_state(index_dir: Path, previous: Manifest | None) -> tuple[dict[str, str], dict[str, TrackedFile]]:
    """What an incremental build compares against: each live document's content hash, and the source
    files (size, modification time, article ids, bad records) of the previous version. Empty for a
    first or full build."""
    if previous is None:
        return {}, {}
    folder = index_dir / previous.version_dir
    hashes: dict[str, str] = {}
    for segment in _open_segments(folder, previous):
        try:
            rows = segment.db.execute("SELECT doc_id, content_hash FROM documents").fetchall()
        except (OSError, sqlite3.DatabaseError):
            raise IndexCorrupt(f"The chunk database of {segment.folder} is damaged. {REBUILD_HINT}") from None
        finally:
            segment.close()
        hashes.update((d, h) for d, h in rows if d not in segment.tombstones.documents)
    try:
        listed = json.loads((folder / SOURCES).read_text(encoding="utf-8"))
        files = {row[0]: (SourceFile(*row[:3]), list(row[3]), list(row[4])) for row in listed}
    except (OSError, ValueError, TypeError, IndexError):
        raise IndexCorrupt(f"The source list of the index at {index_dir} is damaged. {REBUILD_HINT}") from None
    return hashes, files


def _open_segments(folder: Path, manifest: Manifest) -> list[Segment]:
    """The version's segments (not loaded yet) with their tombstones."""
    try:
        deleted = json.loads((folder / DELETIONS).read_text(encoding="utf-8"))
        tombstones = {name: Tombstones.from_json(data) for name, data in deleted.items()}
        infos = [SegmentInfo(**info) for info in manifest.segments]
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        raise IndexCorrupt(f"The index at {folder.parent} has a damaged list of segments. {REBUILD_HINT}") from None
    return [Segment(folder / info.name, info, tombstones.get(info.name)) for info in infos]


class IndexWriter:
    """Builds a new index version beside the current one; ``commit`` switches to it atomically.

    The previous version's segments are kept as they are (hard links into the new version's folder);
    new and changed articles go into one new segment; deletions become tombstones."""

    def __init__(
        self, index_dir: Path, previous: Manifest | None, dimension: int | None, ann_threshold: int | None = None
    ) -> None:
        self.index_dir = index_dir
        self.ann_threshold = ANN.threshold if ann_threshold is None else ann_threshold
        self.version = f"v-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
        self.dir = index_dir / (self.version + PARTIAL)
        self.dir.mkdir(parents=True)
        self.previous = _open_segments(index_dir / previous.version_dir, previous) if previous else []
        self.next_id = previous.next_chunk_id if previous else 1
        self.new = SegmentWriter(self.dir / new_segment_name(self.next_id), dimension)
        self.files: list[TrackedFile] = []

    def replace_source_files(self, files: Iterable[TrackedFile]) -> None:
        self.files = list(files)

    def reusable(self, embed_hashes: Sequence[str]) -> Stored:
        """Vectors already in the index for these embedding inputs, and their chunks' sentence vectors
        (so unchanged text is never re-encoded)."""
        vectors: dict[str, np.ndarray] = {}
        sentences: dict[str, SentenceVectors] = {}
        if self.new.dense is None or not embed_hashes:
            return vectors, sentences
        holders: list[Segment | SegmentWriter] = [*self.previous, self.new]
        for segment in holders:
            try:
                found, held = segment.stored([h for h in embed_hashes if h not in vectors])
            except (OSError, ValueError, RuntimeError, sqlite3.DatabaseError):
                raise IndexCorrupt(f"The index segment {segment.folder} is damaged. {REBUILD_HINT}") from None
            vectors |= found
            sentences |= held
        return vectors, sentences

    def remove_documents(self, doc_ids: Iterable[str]) -> None:
        """Mark these articles deleted in the segments that hold them."""
        wanted = list(doc_ids)
        for segment in self.previous:
            if not wanted:
                return
            try:
                found = segment.live_document_chunks(wanted)
            except sqlite3.DatabaseError:
                raise IndexCorrupt(f"The chunk database of {segment.folder} is damaged. {REBUILD_HINT}") from None
            for doc_id, chunks in found.items():
                segment.delete(doc_id, chunks)
            wanted = [d for d in wanted if d not in found]

    def add_document(
        self,
        article: Article,
        chunks: Sequence[Chunk],
        terms: Sequence[list[str]],
        grams: Sequence[list[str]],
        embed_hashes: Sequence[str],
    ) -> list[int]:
        """Store an article and its chunks with their word terms and character grams; returns the new
        chunk ids (the FAISS ids of their vectors)."""
        ids = list(range(self.next_id, self.next_id + len(chunks)))
        self.next_id += len(chunks)
        self.new.add_document(article, chunks, terms, grams, embed_hashes, ids)
        return ids

    def add_vectors(self, ids: Sequence[int], matrix: np.ndarray) -> None:
        self.new.add_vectors(ids, matrix)

    def add_sentences(self, chunk_id: int, sentences: SentenceVectors) -> None:
        self.new.add_sentences(chunk_id, sentences)

    def commit(
        self, manifest_fields: dict[str, Any], calibrate: Callable[[IndexReader], dict[str, Any]] | None = None
    ) -> Manifest:
        """Write the new segment, merge where the policy asks, then switch ``manifest.json`` to this
        version atomically. ``calibrate`` reads the finished version before the switch; the manifest
        fields it returns (``abstention``, ``confidence``) go into the manifest."""
        new = self.new.finish(self.ann_threshold)
        segments = [*self.previous]
        if new.chunks or new.documents:
            segments.append(Segment(self.new.folder, new))
        else:
            shutil.rmtree(self.new.folder)
        for group in merge_plan(segments):
            segments = [s for s in segments if s not in group]
            if any(s.live_chunks or s.live_documents for s in group):
                group.sort(key=lambda s: s.folder.name)
                try:
                    merged = merge(group, self.dir / merged_segment_name(group), self.ann_threshold)
                except (OSError, ValueError, RuntimeError, sqlite3.DatabaseError):
                    raise IndexCorrupt(f"The index at {self.index_dir} has damaged segments. {REBUILD_HINT}") from None
                segments.append(Segment(self.dir / merged.name, merged))
            for segment in group:
                segment.close()
                if segment.folder.parent == self.dir:  # written by this build and merged at once
                    shutil.rmtree(segment.folder)
        for segment in segments:
            segment.close()
            if segment.folder.parent != self.dir:
                _link_folder(segment.folder, self.dir / segment.folder.name)
        segments.sort(key=lambda s: s.folder.name)
        deletions = {
            s.info.name: s.tombstones.to_json() for s in segments if s.tombstones.chunks or s.tombstones.documents
        }
        (self.dir / DELETIONS).write_text(json.dumps(deletions, ensure_ascii=False), encoding="utf-8")
        listed = [[f.name, f.size, f.mtime_ns, ids, problems] for f, ids, problems in self.files]
        (self.dir / SOURCES).write_text(json.dumps(listed, ensure_ascii=False), encoding="utf-8")
        largest = max(segments, key=lambda s: s.info.chunks, default=None)
        manifest = Manifest(
            format_version=FORMAT_VERSION,
            version_dir=self.version,
            documents=sum(s.live_documents for s in segments),
            chunks=sum(s.live_chunks for s in segments),
            dense=largest.info.dense if largest else None,
            segments=[asdict(s.info) for s in segments],
            next_chunk_id=self.next_id,
            **manifest_fields,
        )
        if calibrate is not None:
            staged = IndexReader(self.index_dir, manifest, self.dir)
            try:
                manifest = replace(manifest, **calibrate(staged))
            finally:
                staged.close()
        (self.dir / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
        _fsync_tree(self.dir)
        final = self.index_dir / self.version
        os.rename(self.dir, final)
        tmp = self.index_dir / f".{MANIFEST}.{self.version}.tmp"
        tmp.write_text(manifest.to_json(), encoding="utf-8")
        _fsync_file(tmp)
        os.replace(tmp, self.index_dir / MANIFEST)
        _fsync_dir(self.index_dir)
        return manifest

    def abort(self) -> None:
        try:
            self.new.abort()
            for segment in self.previous:
                segment.close()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def _link_folder(source: Path, target: Path) -> None:
    """Hard-link a written segment into a new version (its files never change); copy where the file
    system has no hard links."""
    target.mkdir()
    for path in source.iterdir():
        try:
            os.link(path, target / path.name)
        except OSError:
            shutil.copy2(path, target / path.name)


def remove_stale_versions(index_dir: Path, keep: int) -> None:
    """Delete unfinished builds and all but the newest ``keep`` complete versions (current one always kept)."""
    current = None
    try:
        current = Manifest.read(index_dir / MANIFEST).version_dir
    except (IndexMissing, IndexCorrupt):
        pass
    for leftover in index_dir.glob(f"v-*{PARTIAL}"):
        shutil.rmtree(leftover, ignore_errors=True)
    for tmp in index_dir.glob(f".{MANIFEST}.*.tmp"):
        tmp.unlink(missing_ok=True)
    versions = sorted((p for p in index_dir.glob("v-*") if p.is_dir() and not p.name.endswith(PARTIAL)), reverse=True)
    older = [v for v in versions if v.name != current]
    for version in older[max(keep - 1, 0) :]:
        shutil.rmtree(version, ignore_errors=True)


# ---------------------------------------------------------------- reading


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
        self.segments = _open_segments(self.dir, self.manifest)
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
        self.bm25 = BM25([(s.postings, s.live) for s in self.segments], RETRIEVAL.bm25_k1, RETRIEVAL.bm25_b)
        self._row_ids = np.concatenate([s.chunk_ids for s in self.segments]) if self.segments else np.zeros(0)
        self.word_frequencies: Counter[str] = Counter()
        for segment in self.segments:
            self.word_frequencies.update(segment.words.frequencies)
            self.word_frequencies.subtract(segment.tombstones.words)

    @property
    def chunk_count(self) -> int:
        """Live chunks: the N of BM25's IDF."""
        return self.bm25.documents

    def document_frequency(self, word: str) -> int:
        """How many live chunks hold this (stemmed) word term."""
        return self.word_frequencies.get(word, 0)

    def lexical_search(self, grams: Sequence[str], n: int) -> dict[int, float]:
        """The ``n`` best chunks by BM25 over these character grams: chunk id → score (> 0)."""
        if not grams or not len(self._row_ids):
            return {}
        try:
            scores = np.concatenate(self.bm25.scores(grams))
        except (IndexError, ValueError):  # mapped postings are checked by size at opening, not row by row
            raise IndexCorrupt(f"The BM25 postings at {self.index_dir} are damaged. {REBUILD_HINT}") from None
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        return {int(self._row_ids[i]): float(scores[i]) for i in top if scores[i] > 0}

    def dense_search(self, vector: np.ndarray, n: int) -> dict[int, float]:
        """The ``n`` chunks nearest this (normalised) vector: chunk id → cosine similarity."""
        found: dict[int, float] = {}
        for segment in self.segments:
            found |= segment.dense_search(vector, n)
        return dict(sorted(found.items(), key=lambda kv: -kv[1])[:n])

    def _by_segment(self, chunk_ids: Sequence[int]) -> Iterator[tuple[Segment, list[int]]]:
        wanted = np.asarray(chunk_ids, dtype=np.int64)
        for segment in self.segments:
            mine = wanted[segment.holds(wanted)]
            if len(mine):
                yield segment, [int(i) for i in mine]

    def chunk_rows(self, chunk_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        keys = ("id", "doc_id", "ordinal", "start", "end", "text", "terms", "title", "source", "date")
        rows: dict[int, dict[str, Any]] = {}
        for segment, ids in self._by_segment(chunk_ids):
            query = (
                'SELECT c.id, c.doc_id, c.ordinal, c.start, c."end", c.text, c.terms, d.title, d.source, d.date '
                f"FROM chunks c JOIN documents d USING (doc_id) WHERE c.id IN ({','.join('?' * len(ids))})"
            )
            with self._lock:
                found = segment.db.execute(query, ids).fetchall()
            rows |= {row[0]: dict(zip(keys, row, strict=True)) for row in found}
        return rows

    def sentences(self, chunk_ids: Sequence[int]) -> dict[int, SentenceVectors]:
        """The stored sentence vectors of these chunks (none for an index built before they were stored)."""
        found: dict[int, SentenceVectors] = {}
        for segment, ids in self._by_segment(chunk_ids):
            found |= segment.sentences(ids)
        return found

    def chunk_terms(self, chunk_ids: Sequence[int]) -> dict[int, list[str]]:
        """The analysed terms of each chunk, in text order."""
        terms: dict[int, list[str]] = {}
        for segment, ids in self._by_segment(chunk_ids):
            query = f"SELECT id, terms FROM chunks WHERE id IN ({','.join('?' * len(ids))})"
            with self._lock:
                terms |= {row[0]: row[1].split() for row in segment.db.execute(query, ids).fetchall()}
        return terms

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
        try:
            listed = json.loads((self.dir / SOURCES).read_text(encoding="utf-8"))
            return {str(row[0]): len(row[3]) for row in listed}
        except (OSError, ValueError, TypeError, IndexError):
            raise IndexCorrupt(f"The source list of the index at {self.index_dir} is damaged. {REBUILD_HINT}") from None

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.dir.rglob("*") if p.is_file())

    def close(self) -> None:
        with self._lock:
            for segment in self.segments:
                segment.close()


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            _fsync_file(path)
    for path in [*(p for p in root.rglob("*") if p.is_dir()), root]:
        _fsync_dir(path)
