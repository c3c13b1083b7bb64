"""Writing a segment: its SQLite rows (articles, chunks with their terms and embedding-input hashes), its
gram postings and word frequencies, its FAISS index (made IVF beyond the ANN threshold) and the
vectors of each chunk's sentences (hybrid indexes: rows sorted by chunk id, the sentence's offsets in its
chunk, float16 vectors), so that answering scores sentences without encoding them."""

from __future__ import annotations

import sqlite3
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..config import AnnSettings
from ..copies import fingerprint
from ..records import Article, IndexedChunk, SentenceVectors
from . import vectors
from .lexical import GramCounts, Postings, WordFrequencies
from .segments import CHUNK_IDS, CHUNKS_DB, DENSE, SegmentInfo, Stored, stored_vectors
from .sentence_vectors import SentenceTable

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, title TEXT NOT NULL, source TEXT NOT NULL, date TEXT,
    content_hash TEXT NOT NULL, text TEXT NOT NULL, publisher TEXT, signature BLOB NOT NULL, lead TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL REFERENCES documents(doc_id),
    ordinal INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    text TEXT NOT NULL, terms TEXT NOT NULL, embed_hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks(doc_id);
CREATE INDEX IF NOT EXISTS chunks_by_embed_hash ON chunks(embed_hash);
"""



def create_db(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + _SCHEMA)
    return db


class SegmentWriter:
    """A segment being written; ``finish`` saves it and returns its ``SegmentInfo``."""

    def __init__(self, folder: Path, dimension: int | None) -> None:
        self.folder = folder
        folder.mkdir(parents=True)
        self.db = create_db(folder / CHUNKS_DB)
        self.grams = GramCounts()
        self.words = WordFrequencies()
        self.chunk_ids = array("q")
        self.documents = 0
        self.dense = vectors.new_flat(dimension) if dimension is not None else None
        self.sentences = SentenceTable()

    def add_document(self, article: Article, chunks: Sequence[IndexedChunk], ids: Sequence[int]) -> None:
        mark = fingerprint(article.doc_id, article.text)
        self.db.execute(
            "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (article.doc_id, article.title, article.source, article.date, article.content_hash, article.text,
             article.publisher, mark.signature, mark.lead),
        )  # fmt: skip
        self.documents += 1
        for chunk_id, indexed in zip(ids, chunks, strict=True):
            chunk = indexed.chunk
            self.db.execute(
                "INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?)",
                (
                    chunk_id,
                    chunk.doc_id,
                    chunk.ordinal,
                    chunk.start,
                    chunk.end,
                    chunk.text,
                    " ".join(indexed.terms),
                    indexed.embed_hash,
                ),
            )
            self.chunk_ids.append(chunk_id)
            self.words.add(indexed.terms)
            self.grams.add(indexed.grams)

    def add_vectors(self, ids: Sequence[int], matrix: np.ndarray) -> None:
        if self.dense is not None and len(ids):
            self.dense.add_with_ids(matrix, np.asarray(ids, dtype=np.int64))

    def add_sentences(self, chunk_id: int, sentences: SentenceVectors) -> None:
        self.sentences.add(chunk_id, sentences)

    def stored(self, embed_hashes: Sequence[str]) -> Stored:
        """Vectors this segment already holds for these embedding inputs, with their sentences'."""
        return stored_vectors(self.db, lambda: self.dense, self.sentences.of, embed_hashes)

    def finish(self, ann: AnnSettings) -> SegmentInfo:
        self.db.commit()
        self.db.close()
        save(self.folder, np.frombuffer(self.chunk_ids, dtype=np.int64), self.grams.postings(), self.words)
        dense = save_dense(self.folder, self.dense, ann)
        sentences = self.sentences.save(self.folder) if dense is not None else 0
        return SegmentInfo(self.folder.name, self.documents, len(self.chunk_ids), dense, sentences)

    def abort(self) -> None:
        self.db.close()


def save(folder: Path, chunk_ids: np.ndarray, postings: Postings, words: WordFrequencies) -> None:
    np.save(folder / CHUNK_IDS, chunk_ids.astype(np.int64), allow_pickle=False)
    postings.save(folder)
    words.save(folder)


def save_dense(folder: Path, index: Any, ann: AnnSettings) -> dict[str, Any] | None:
    """Write a segment's FAISS index, made approximate (IVF) beyond ``ann.threshold`` vectors."""
    if index is None:
        return None
    import faiss

    description = vectors.describe(index)
    if index.ntotal > ann.threshold:
        index, description = vectors.to_ivf(index, ann)
    faiss.write_index(index, str(folder / DENSE))
    return description


