"""Writing a version of a Milvus index (see milvus.py for the layout): new rows tagged with the build,
exact term frequencies, the switch of ``current``, then the deletions; ``recover`` undoes a crashed build."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from functools import cached_property
from typing import Any

import numpy as np

from ..config import DEFAULTS, FORMAT_VERSION, Settings
from ..copies import fingerprint, group_copies
from ..errors import IndexCorrupt
from ..records import Article, IndexedChunk, SentenceVectors
from ..textnorm import char_grams
from .manifest import REBUILD_HINT, Manifest, TrackedFile
from .milvus_collections import BATCH, create_collections, generations, recover, sparse_weights
from .milvus_layout import MAX_SENTENCES, REWEIGHT_DRIFT, TEXT_BYTES, MilvusConnection, version_key, version_of
from .milvus_reader import MilvusReader, article_fingerprints

MAX_TERM_CHARS = 250  # 4 bytes a character at most: within the terms collection's 1,024-byte keys


def _clip(text: str, limit: int = TEXT_BYTES) -> str:
    """Text within a VARCHAR's bytes (UTF-8), cut at a character."""
    data = text.encode("utf-8")
    return text if len(data) <= limit else data[:limit].decode("utf-8", "ignore")


def _text_parts(text: str, size: int = TEXT_BYTES // 4) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


class MilvusWriter:
    """The next version of a Milvus index; the same methods as ``IndexWriter``."""

    def __init__(self, store: MilvusConnection, previous: Manifest | None, dimension: int | None,
                 settings: Settings = DEFAULTS) -> None:  # fmt: skip
        self.store, self.previous, self.settings, self.dimension = store, previous, settings, dimension
        if previous is not None and previous.store is not None:
            old = version_of(previous)
            self.generation, self.build = old["generation"], old["build"] + 1
            self.articles: dict[str, list[Any]] = store.read_blob(version_key(old, "documents")) or {}
            details = previous.store
            self.next_id, self.next_dim = previous.next_chunk_id, int(details["next_term_id"])
            self.total_length, self.weights_average = int(details["total_length"]), float(details["weights_average"])
            self.chunk_count = previous.chunks
            store.load_generation(self.generation)
        else:  # a first or full build: a new generation, dropped again if this build fails
            self.generation, self.build = max(generations(store), default=0) + 1, 1
            self.articles, self.next_id, self.next_dim = {}, 1, 1
            self.total_length, self.weights_average, self.chunk_count = 0, 0.0, 0
            create_collections(store, self.generation, dimension)
        self.pointer = {"generation": self.generation, "build": self.build}
        self.chunks = store.collection(self.generation, "chunks")
        self.first_id = self.next_id  # chunks from here on are this build's
        self.rows: dict[int, dict[str, Any]] = {}  # new chunks, inserted at finish with their sparse weights
        self.in_build: dict[str, int] = {}  # embedding-input hash → a chunk of this build
        self.grams: dict[int, Counter[str]] = {}
        self.vectors: dict[int, np.ndarray] = {}
        self.sentences: dict[int, SentenceVectors] = {}
        self.document_rows: list[dict[str, Any]] = []
        self.term_changes: Counter[str] = Counter()
        self.removed_chunks: list[int] = []
        self.removed_sentences: list[int] = []
        self.removed_documents: list[str] = []
        self.files: list[TrackedFile] = []
        self.switched = False

    def replace_source_files(self, files: Iterable[TrackedFile]) -> None:
        self.files = list(files)

    def _get(self, name: str, ids: Sequence[Any], fields: list[str]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for start in range(0, len(ids), BATCH):
            rows += self.store.client.get(name, ids=list(ids[start : start + BATCH]), output_fields=fields)
        return rows

    def reusable(self, embed_hashes: Sequence[str]) -> tuple[dict[str, np.ndarray], dict[str, SentenceVectors]]:
        """Vectors already stored for these embedding inputs (any live chunk with the same hash)."""
        if self.dimension is None or not embed_hashes:
            return {}, {}
        wanted = set(embed_hashes)
        in_build = {h: self.in_build[h] for h in wanted if h in self.in_build}
        vectors = {h: self.vectors[c] for h, c in in_build.items() if c in self.vectors}
        sentences = {h: self.sentences[c] for h, c in in_build.items() if c in self.sentences}
        holders = {self._stored[h]: h for h in wanted if h in self._stored and h not in vectors}
        stored = list(holders)
        if stored and self._previous_reader is not None:
            rows = self._get(self.chunks, stored, ["dense"])
            vectors |= {holders[int(r["id"])]: np.asarray(r["dense"], dtype=np.float32) for r in rows}
            sentences |= {holders[c]: s for c, s in self._previous_reader.sentences(stored).items()}
        return vectors, {h: s for h, s in sentences.items() if h in vectors}

    @cached_property
    def _stored(self) -> dict[str, int]:
        """Embedding-input hash → a chunk of the previous version holding its vector (read once a build)."""
        return {h: int(c) for entry in self.articles.values() for c, h in reversed(entry[3]) if int(c) < self.first_id}

    @cached_property
    def _previous_reader(self) -> MilvusReader | None:
        return MilvusReader(self.store, self.previous, excluded=()) if self.previous is not None else None

    def remove_documents(self, doc_ids: Iterable[str]) -> None:
        """Take these live articles out of the next version (their rows go after the switch)."""
        gone = [d for d in doc_ids if d in self.articles]
        ids = [int(c) for d in gone for c, _ in self.articles[d][3]]
        for row in self._get(self.chunks, ids, ["title", "text", "terms", "length", "sentences"]):
            self._count_terms(row["title"], row["text"], row["terms"].split(), -1)
            self.total_length -= int(row["length"])
            self.chunk_count -= 1
            self.removed_chunks.append(int(row["id"]))
            self.removed_sentences += [int(row["id"]) * MAX_SENTENCES + i for i in range(int(row["sentences"]))]
        for doc_id in gone:
            _, build, parts = self.articles.pop(doc_id)[:3]
            self.removed_documents += [f"{doc_id}\x1f{build}\x1f{i}" for i in range(int(parts))]

    def _count_terms(self, title: str, text: str, terms: Sequence[str], change: int) -> None:
        for gram in set(char_grams(f"{title}\n{text}")):
            self.term_changes[f"g\x1f{gram}"] += change
        for word in set(terms):
            if len(word) <= MAX_TERM_CHARS:  # a primary key holds 1,024 bytes; longer "words" are noise
                self.term_changes[f"w\x1f{word}"] += change

    def add_document(self, article: Article, chunks: Sequence[IndexedChunk]) -> list[int]:
        ids = list(range(self.next_id, self.next_id + len(chunks)))
        self.next_id += len(chunks)
        parts = _text_parts(article.text)
        for chunk_id, indexed in zip(ids, chunks, strict=True):
            chunk = indexed.chunk
            self.rows[chunk_id] = {
                "id": chunk_id, "build": self.build, "doc_id": _clip(article.doc_id, 4096), "ordinal": chunk.ordinal,
                "start": chunk.start, "end": chunk.end, "length": len(indexed.grams), "sentences": 0,
                "text": _clip(chunk.text), "terms": _clip(" ".join(indexed.terms)), "embed_hash": indexed.embed_hash,
                "title": _clip(article.title), "source": _clip(article.source), "date": _clip(article.date or "", 256),
            }  # fmt: skip
            self.grams[chunk_id] = Counter(indexed.grams)
            self.in_build.setdefault(indexed.embed_hash, chunk_id)
            self._count_terms(chunk.title, chunk.text, indexed.terms, +1)
            self.total_length += len(indexed.grams)
            self.chunk_count += 1
        mark = fingerprint(article.doc_id, article.text)
        self.articles[article.doc_id] = [
            article.content_hash,
            self.build,
            len(parts),
            [[i, c.embed_hash] for i, c in zip(ids, chunks, strict=True)],
            # the catalog's fields (catalog.py) and the copy fingerprint (copies.py)
            [article.title, article.publisher, article.date, article.source, len(article.text),
             mark.signature.hex(), mark.lead],
        ]  # fmt: skip
        self.document_rows += [
            {"key": f"{article.doc_id}\x1f{self.build}\x1f{i}", "build": self.build, "text": _clip(p),
             "marker": {0: 1.0}} for i, p in enumerate(parts)
        ]  # fmt: skip
        return ids

    def add_vectors(self, ids: Sequence[int], matrix: np.ndarray) -> None:
        for chunk_id, vector in zip(ids, matrix, strict=True):
            self.vectors[int(chunk_id)] = np.asarray(vector, dtype=np.float32)

    def add_sentences(self, chunk_id: int, sentences: SentenceVectors) -> None:
        self.sentences[chunk_id] = sentences

    def _write_terms(self) -> dict[str, int]:
        """Each changed term's new frequency (a new gram gets the next sparse dimension); returns the dims
        of this build's grams. A row keeps the frequency before this build (``before``) and the build that
        changed it, so readers of the previous version still read theirs; the ``pending`` blob lists the
        rows, for ``recover`` to undo them if this build never switches."""
        touched = list(self.term_changes)  # every term of the added and removed chunks
        terms = self.store.collection(self.generation, "terms")
        rows_now = self._get(terms, touched, ["dim", "df"])
        old = {r["key"]: (int(r["dim"]), int(r["df"])) for r in rows_now}
        changed = [k for k in touched if k in old and self.term_changes[k]]
        added = [k for k in touched if k not in old]
        self.store.write_blob(version_key(self.pointer, "undo"), {"terms": changed, "terms_new": added})
        dims: dict[str, int] = {}
        rows = []
        for key in touched:
            dim, df = old.get(key, (0, 0))
            if key.startswith("g\x1f"):
                if not dim:
                    dim, self.next_dim = self.next_dim, self.next_dim + 1
                dims[key[2:]] = dim
            change = self.term_changes[key]
            if change or key not in old:
                rows.append({"key": key, "dim": dim, "df": max(df + change, 0), "before": df, "build": self.build,
                             "marker": {0: 1.0}})  # fmt: skip
        for start in range(0, len(rows), BATCH):
            self.store.client.upsert(terms, rows[start : start + BATCH])
        return dims

    def _sparse(self, counts: Counter[str], length: int, dims: dict[str, int], average: float) -> dict[int, float]:
        retrieval = self.settings.retrieval
        return sparse_weights(counts, length, dims, average, retrieval.bm25_k1, retrieval.bm25_b)

    def finish(self, manifest_fields: dict[str, Any]) -> MilvusReader:
        client = self.store.client
        dims = self._write_terms()
        average = self.total_length / self.chunk_count if self.chunk_count else 1.0
        reweight = None  # older passages are re-weighted after the switch (finish_switch), not under readers
        if not self.weights_average or abs(average / self.weights_average - 1) > REWEIGHT_DRIFT:
            if self.weights_average:
                retrieval = self.settings.retrieval
                reweight = [average, retrieval.bm25_k1, retrieval.bm25_b]
            self.weights_average = average
        rows = []
        for chunk_id, row in self.rows.items():
            row["sparse"] = self._sparse(self.grams[chunk_id], row["length"], dims, self.weights_average)
            if self.dimension is not None:
                row["dense"] = self.vectors[chunk_id].tolist()
                row["sentences"] = min(len(self.sentences[chunk_id].spans), MAX_SENTENCES)
            rows.append(row)
        for start in range(0, len(rows), BATCH):
            client.insert(self.chunks, rows[start : start + BATCH])
        sentence_rows = [
            {"id": c * MAX_SENTENCES + i, "build": self.build, "start": int(span[0]), "end": int(span[1]),
             "vector": vector.astype(np.float32).tolist()}
            for c, s in self.sentences.items() for i, (span, vector) in enumerate(zip(s.spans, s.vectors, strict=True))
            if i < MAX_SENTENCES
        ]  # fmt: skip
        for start in range(0, len(sentence_rows), BATCH):
            client.insert(self.store.collection(self.generation, "sentences"), sentence_rows[start : start + BATCH])
        documents = self.store.collection(self.generation, "documents")
        for start in range(0, len(self.document_rows), BATCH):
            client.insert(documents, self.document_rows[start : start + BATCH])
        for part in ("chunks", "sentences", "documents", "terms"):  # sealed: searched through its index
            if client.has_collection(self.store.collection(self.generation, part)):
                client.flush(self.store.collection(self.generation, part))
        pending = {"chunks": self.removed_chunks, "sentence_rows": self.removed_sentences,
                   "documents": self.removed_documents, "reweight": reweight}  # fmt: skip
        self.store.write_blob(version_key(self.pointer, "pending"), pending)
        self.store.write_blob(version_key(self.pointer, "documents"), self.articles)
        self.store.write_blob(version_key(self.pointer, "copies"), group_copies(article_fingerprints(self.articles)))
        listed = [[f.name, f.size, f.mtime_ns, ids, problems] for f, ids, problems in self.files]
        self.store.write_blob(version_key(self.pointer, "sources"), listed)
        dense = {"kind": "milvus", "index": "FLAT", "metric": "IP", "dimension": self.dimension}
        self.manifest = Manifest(
            format_version=FORMAT_VERSION, version_dir=f"g{self.generation}b{self.build}",
            documents=len(self.articles), chunks=self.chunk_count, dense=dense if self.dimension else None,
            segments=[], next_chunk_id=self.next_id,
            store={"kind": "milvus", "generation": self.generation, "build": self.build, "next_term_id": self.next_dim,
                   "total_length": self.total_length, "weights_average": self.weights_average},
            **manifest_fields,
        )  # fmt: skip
        return MilvusReader(self.store, self.manifest, excluded=self.removed_chunks)

    def publish(self, manifest_fields: dict[str, Any], keep_versions: int) -> Manifest:
        """Switch ``current`` to this version, then delete what it removed and the versions before it."""
        manifest = replace(self.manifest, **manifest_fields)
        self.store.write_blob(version_key(self.pointer, "manifest"), json.loads(manifest.to_json()))
        self.store.write_blob("current", self.pointer)  # the switch
        self.switched = True
        recover(self.store)  # re-weights, deletes what this version removed, drops older generations and blobs
        return manifest

    def abort(self) -> None:
        """Undo what this build wrote: its generation (a full build), or its rows and term counts. Once
        switched, the version stands: what is left of its work is finished (here or by the next build)."""
        try:
            if self.switched or self.store.current() == self.pointer:
                recover(self.store)
            elif self.previous is None or self.previous.store is None:
                for part in ("chunks", "sentences", "terms", "documents"):
                    self.store.client.drop_collection(self.store.collection(self.generation, part))
            else:
                recover(self.store)
        except Exception:  # the next build's recover() finishes the job
            raise IndexCorrupt(f"Undoing the failed build in {self.store.location} failed. {REBUILD_HINT}") from None
