"""The index directory: manifest, chunk metadata (SQLite), dense vectors (FAISS), BM25 (bm25s). No pickle.

Layout::

    index/
      manifest.json        the current version's manifest; replaced atomically to switch versions
      v-<time>-<id>/       one complete version: manifest.json, chunks.sqlite, dense.faiss, bm25/
      .build.lock          held by the one build allowed at a time

A build writes ``v-….partial/``, renames it when complete, then replaces ``manifest.json``; a
reader therefore sees the old version or the new one, never a mixture.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import vectors
from .config import ANN, FORMAT_VERSION, RETRIEVAL
from .errors import IndexCorrupt, IndexMissing
from .lexical import GRAMS, WORDS, TermCounts, files_of
from .records import Article, Chunk, SourceFile
from .textnorm import ANALYZER_VERSION

MANIFEST = "manifest.json"
CHUNKS_DB = "chunks.sqlite"
DENSE = "dense.faiss"
BM25_DIR = "bm25"
BM25_IDS = "bm25_chunk_ids.npy"
WORD_FREQUENCIES = "words_df.npy"  # chunks holding each word term (the question's IDF weights)
PARTIAL = ".partial"
REBUILD_HINT = "Rebuild it with `rag-qa build --full`."

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, title TEXT NOT NULL, source TEXT NOT NULL, date TEXT,
    content_hash TEXT NOT NULL, text TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT, doc_id TEXT NOT NULL REFERENCES documents(doc_id),
    ordinal INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    text TEXT NOT NULL, terms TEXT NOT NULL, embed_hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks(doc_id);
CREATE INDEX IF NOT EXISTS chunks_by_embed_hash ON chunks(embed_hash);
CREATE TABLE IF NOT EXISTS source_files (
    name TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, doc_ids TEXT NOT NULL);
"""


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
        return manifest


def read_current_manifest(index_dir: Path) -> Manifest:
    if not index_dir.is_dir():
        raise IndexMissing(f"No index directory {index_dir}: build one with `rag-qa build`.")
    return Manifest.read(index_dir / MANIFEST)


# ---------------------------------------------------------------- writing


def read_build_state(
    index_dir: Path, previous: Manifest | None
) -> tuple[dict[str, str], dict[str, tuple[SourceFile, list[str]]]]:
    """What an incremental build compares against: each document's content hash, and the source files
    (size, modification time, article ids) of the previous version. Empty for a first or full build."""
    if previous is None:
        return {}, {}
    path = index_dir / previous.version_dir / CHUNKS_DB
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            hashes = dict(db.execute("SELECT doc_id, content_hash FROM documents"))
            has_files = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'source_files'").fetchone()
            rows = db.execute("SELECT name, size, mtime_ns, doc_ids FROM source_files") if has_files else []
            files = {name: (SourceFile(name, size, mtime), json.loads(ids)) for name, size, mtime, ids in rows}
    except sqlite3.DatabaseError:
        raise IndexCorrupt(f"The chunk database {path} is damaged. {REBUILD_HINT}") from None
    return hashes, files


class IndexWriter:
    """Builds a new index version beside the current one; ``commit`` switches to it atomically."""

    def __init__(
        self, index_dir: Path, previous: Manifest | None, dimension: int | None, ann_threshold: int | None = None
    ) -> None:
        self.index_dir = index_dir
        self.ann_threshold = ANN.threshold if ann_threshold is None else ann_threshold
        self.version = f"v-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
        self.dir = index_dir / (self.version + PARTIAL)
        self.dir.mkdir(parents=True)
        if previous is not None:
            shutil.copyfile(index_dir / previous.version_dir / CHUNKS_DB, self.dir / CHUNKS_DB)
        self.db = sqlite3.connect(self.dir / CHUNKS_DB)
        self.db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + _SCHEMA)
        self.terms, self.grams = (
            self._previous_term_counts(index_dir / previous.version_dir)
            if previous
            else (TermCounts.empty(), TermCounts.empty())
        )
        self.dense = None
        self.dense_description: dict[str, Any] | None = None
        if dimension is not None:
            if previous is not None and previous.dense is not None:
                self.dense = vectors.configure(_read_faiss(index_dir / previous.version_dir / DENSE), previous.dense)
                self.dense_description = previous.dense
            else:
                self.dense = vectors.new_flat(dimension)

    def replace_source_files(self, files: Iterable[tuple[SourceFile, list[str]]]) -> None:
        self.db.execute("DELETE FROM source_files")
        self.db.executemany(
            "INSERT OR REPLACE INTO source_files VALUES (?, ?, ?, ?)",
            [(f.name, f.size, f.mtime_ns, json.dumps(ids)) for f, ids in files],
        )

    def reusable_vectors(self, embed_hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """Vectors already in the index for these embedding inputs (so unchanged text is never re-encoded)."""
        if self.dense is None or not embed_hashes:
            return {}
        found: dict[str, int] = {}
        for batch in _batches(list(set(embed_hashes)), 500):
            marks = ",".join("?" * len(batch))
            found.update(self.db.execute(f"SELECT embed_hash, id FROM chunks WHERE embed_hash IN ({marks})", batch))
        return {h: self.dense.reconstruct(int(i)) for h, i in found.items()}

    def remove_documents(self, doc_ids: Iterable[str]) -> None:
        doc_ids = list(doc_ids)
        for batch in _batches(doc_ids, 500):
            marks = ",".join("?" * len(batch))
            ids = [row[0] for row in self.db.execute(f"SELECT id FROM chunks WHERE doc_id IN ({marks})", batch)]
            self.terms.remove(ids)
            self.grams.remove(ids)
            if self.dense is not None and ids:
                self.dense.remove_ids(np.asarray(ids, dtype=np.int64))
            self.db.execute(f"DELETE FROM chunks WHERE doc_id IN ({marks})", batch)
            self.db.execute(f"DELETE FROM documents WHERE doc_id IN ({marks})", batch)

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
        self.db.execute(
            "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?)",
            (article.doc_id, article.title, article.source, article.date, article.content_hash, article.text),
        )
        ids = []
        for chunk, chunk_terms, chunk_grams, embed_hash in zip(chunks, terms, grams, embed_hashes, strict=True):
            cursor = self.db.execute(
                'INSERT INTO chunks (doc_id, ordinal, start, "end", text, terms, embed_hash) VALUES (?,?,?,?,?,?,?)',
                (chunk.doc_id, chunk.ordinal, chunk.start, chunk.end, chunk.text, " ".join(chunk_terms), embed_hash),
            )
            ids.append(int(cursor.lastrowid or 0))
            self.terms.add(ids[-1], list(chunk_terms))
            self.grams.add(ids[-1], list(chunk_grams))
        return ids

    def add_vectors(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        if self.dense is not None and len(ids):
            self.dense.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))

    def counts(self) -> tuple[int, int]:
        documents = self.db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        chunks = self.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        return int(documents), int(chunks)

    def commit(self, manifest_fields: dict[str, Any]) -> Manifest:
        """Write BM25 and FAISS, then switch ``manifest.json`` to this version atomically."""
        self.db.commit()
        self._write_bm25()
        documents, chunks = self.counts()
        self.db.close()
        dense = None
        if self.dense is not None:
            import faiss

            dense = self._settle_dense_index()
            faiss.write_index(self.dense, str(self.dir / DENSE))
        manifest = Manifest(
            format_version=FORMAT_VERSION,
            version_dir=self.version,
            documents=documents,
            chunks=chunks,
            dense=dense,
            **manifest_fields,
        )
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

    def _settle_dense_index(self) -> dict[str, Any]:
        """Switch a flat index that grew past the threshold to IVF; describe the index for the manifest."""
        assert self.dense is not None
        if not vectors.is_ivf(self.dense) and self.dense.ntotal > self.ann_threshold:
            self.dense, description = vectors.to_ivf(self.dense)
            return description
        if vectors.is_ivf(self.dense) and self.dense_description and self.dense_description.get("kind") == "ivf":
            return self.dense_description  # same lists and nprobe; `build --full` retrains
        return vectors.describe(self.dense)

    def abort(self) -> None:
        try:
            self.db.close()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _previous_term_counts(self, previous_dir: Path) -> tuple[TermCounts, TermCounts]:
        try:
            chunk_ids = np.load(previous_dir / BM25_IDS, allow_pickle=False)
            return TermCounts.load(previous_dir, WORDS, chunk_ids), TermCounts.load(previous_dir, GRAMS, chunk_ids)
        except (OSError, ValueError, json.JSONDecodeError):
            raise IndexCorrupt(f"The BM25 part of the index at {self.index_dir} is damaged. {REBUILD_HINT}") from None

    def _write_bm25(self) -> None:
        """BM25 weights (over character grams) from the term counts: Python work for the changed chunks
        only, numpy for the rest; and the word terms' document frequencies."""
        _import_bm25s()
        self.terms.save(self.dir, WORDS)
        self.grams.save(self.dir, GRAMS)
        np.save(self.dir / WORD_FREQUENCIES, self.terms.document_frequencies(), allow_pickle=False)
        if len(self.grams.chunk_ids):
            retriever = self.grams.bm25(RETRIEVAL.bm25_k1, RETRIEVAL.bm25_b)
            retriever.save(str(self.dir / BM25_DIR), show_progress=False)
        np.save(self.dir / BM25_IDS, self.grams.chunk_ids.astype(np.int64), allow_pickle=False)


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
    """A loaded, read-only index version. Safe to share between threads."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        self.manifest = read_current_manifest(index_dir)
        self.dir = index_dir / self.manifest.version_dir
        if self.manifest.analyzer.get("version") != ANALYZER_VERSION:
            raise IndexCorrupt(f"The index at {index_dir} was built by another version of rag_qa. {REBUILD_HINT}")
        db_path = self.dir / CHUNKS_DB
        if not db_path.is_file():
            raise IndexCorrupt(f"The index at {index_dir} lacks {db_path.name}. {REBUILD_HINT}")
        try:
            self._db = sqlite3.connect(f"file:{db_path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
            self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()
        except sqlite3.DatabaseError:
            raise IndexCorrupt(f"The chunk database {db_path} is damaged. {REBUILD_HINT}") from None
        self._lock = threading.Lock()
        self.dense = None
        if self.manifest.dense is not None:
            self.dense = vectors.configure(_read_faiss(self.dir / DENSE), self.manifest.dense)
        self.bm25, self.bm25_ids = self._read_bm25()
        self.word_ids, self.word_frequencies = self._read_word_frequencies()
        if self.dense is not None and self.dense.ntotal != len(self.bm25_ids):
            raise IndexCorrupt(f"The index at {index_dir} has mismatched parts. {REBUILD_HINT}")

    def _read_bm25(self) -> tuple[Any, np.ndarray]:
        bm25s = _import_bm25s()

        try:
            ids = np.load(self.dir / BM25_IDS, allow_pickle=False)
            if len(ids) == 0:
                return None, ids
            retriever = bm25s.BM25.load(str(self.dir / BM25_DIR), mmap=False, allow_pickle=False)
        except (OSError, ValueError, EOFError, json.JSONDecodeError, KeyError):
            raise IndexCorrupt(f"The BM25 part of the index at {self.index_dir} is damaged. {REBUILD_HINT}") from None
        if retriever.scores["num_docs"] != len(ids):
            raise IndexCorrupt(f"The BM25 part of the index at {self.index_dir} is inconsistent. {REBUILD_HINT}")
        return retriever, ids

    def _read_word_frequencies(self) -> tuple[dict[str, int], np.ndarray]:
        try:
            words = json.loads((self.dir / files_of(WORDS)[0]).read_text(encoding="utf-8"))
            frequencies = np.load(self.dir / WORD_FREQUENCIES, allow_pickle=False)
        except (OSError, ValueError, json.JSONDecodeError):
            raise IndexCorrupt(f"The BM25 part of the index at {self.index_dir} is damaged. {REBUILD_HINT}") from None
        if not isinstance(words, list) or len(words) != len(frequencies):
            raise IndexCorrupt(f"The BM25 part of the index at {self.index_dir} is inconsistent. {REBUILD_HINT}")
        return {word: i for i, word in enumerate(words)}, frequencies

    def document_frequency(self, word: str) -> int:
        """How many chunks hold this (stemmed) word term."""
        i = self.word_ids.get(word)
        return int(self.word_frequencies[i]) if i is not None else 0

    def chunk_rows(self, chunk_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        if not chunk_ids:
            return {}
        marks = ",".join("?" * len(chunk_ids))
        query = (
            'SELECT c.id, c.doc_id, c.ordinal, c.start, c."end", c.text, c.terms, d.title, d.source '
            f"FROM chunks c JOIN documents d USING (doc_id) WHERE c.id IN ({marks})"
        )
        with self._lock:
            rows = self._db.execute(query, [int(i) for i in chunk_ids]).fetchall()
        keys = ("id", "doc_id", "ordinal", "start", "end", "text", "terms", "title", "source")
        return {row[0]: dict(zip(keys, row, strict=True)) for row in rows}

    def chunk_terms(self, chunk_ids: Sequence[int]) -> dict[int, list[str]]:
        """The analysed terms of each chunk, in text order."""
        if not chunk_ids:
            return {}
        marks = ",".join("?" * len(chunk_ids))
        with self._lock:
            rows = self._db.execute(f"SELECT id, terms FROM chunks WHERE id IN ({marks})", [int(i) for i in chunk_ids])
            return {row[0]: row[1].split() for row in rows.fetchall()}

    def document_text(self, doc_id: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT text FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        return row[0] if row else None

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.dir.rglob("*") if p.is_file())

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _import_bm25s() -> Any:
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets DEBUG on import
    return bm25s


def _read_faiss(path: Path) -> Any:
    import faiss

    if not path.is_file():
        raise IndexCorrupt(f"The dense index file {path} is missing. {REBUILD_HINT}")
    try:
        return faiss.read_index(str(path))
    except RuntimeError:
        raise IndexCorrupt(f"The dense index file {path} is damaged. {REBUILD_HINT}") from None


def _batches(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


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
