"""Reading a version of a Milvus index (milvus.py): BM25 through Milvus's sparse inner product, dense
search, passages and sentence vectors by primary key, every search filtered to the version's builds."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import cached_property
from typing import Any

import numpy as np

from ..copies import Fingerprint
from ..errors import IndexCorrupt
from ..records import Passage, SentenceVectors
from .catalog import ArticleEntry, Catalog, day_number
from .manifest import REBUILD_HINT, Manifest
from .milvus_layout import MAX_SENTENCES, MilvusConnection, version_key, version_of

_CHUNK_FIELDS = ["id", "build", "doc_id", "ordinal", "start", "end", "text", "terms", "title", "source", "date",
                 "sentences"]  # fmt: skip


class MilvusReader:
    """A version of a Milvus index, read through the same methods as ``IndexReader``."""

    def __init__(self, store: MilvusConnection, manifest: Manifest, excluded: Iterable[int] | None = None) -> None:
        self.store, self.manifest, self.index_dir = store, manifest, store.location
        self.version = version_of(manifest)
        generation = self.version["generation"]
        self.chunks = store.collection(generation, "chunks")
        self.sentence_rows = store.collection(generation, "sentences")
        self.terms = store.collection(generation, "terms")
        self.documents = store.collection(generation, "documents")
        if excluded is None:  # chunks removed by this version and not yet deleted (the switch is under way)
            excluded = (store.read_blob(version_key(self.version, "pending")) or {}).get("chunks", [])
        self.excluded = set(map(int, excluded))
        self.filter = f"build <= {self.version['build']}"
        if self.excluded:
            self.filter += f" and id not in {sorted(self.excluded)}"
        self.has_dense = manifest.mode == "hybrid"
        self._sentence_counts: dict[int, int] = {}  # chunk id → its stored sentences (rows never change)
        try:
            for name in [self.chunks, self.terms, self.documents] + ([self.sentence_rows] if self.has_dense else []):
                store.load(name)
        except Exception:
            raise IndexCorrupt(f"The Milvus index {store.location} lacks its collections. {REBUILD_HINT}") from None
        bm25 = manifest.bm25
        self.k1, self.b = float(bm25["k1"]), float(bm25["b"])

    @property
    def chunk_count(self) -> int:
        return self.manifest.chunks

    def _terms(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        rows = self.store.client.get(self.terms, ids=wanted, output_fields=["dim", "df", "before", "build"])
        build = self.version["build"]  # a later build's count is not this version's: its ``before`` is
        return {
            r["key"]: {"dim": int(r["dim"]), "df": int(r["df"] if r["build"] <= build else r["before"])} for r in rows
        }

    def document_frequencies(self, words: Iterable[str]) -> dict[str, int]:
        words = list(words)
        found = self._terms(f"w\x1f{w}" for w in words)
        return {w: found[f"w\x1f{w}"]["df"] if f"w\x1f{w}" in found else 0 for w in words}

    @cached_property
    def catalog(self) -> Catalog:
        entries = []
        for doc_id, entry in self._articles.items():
            title, publisher, date, source, length = entry[4][:5]
            ids = [int(c) for c, _ in entry[3]]
            if ids:
                entries.append(ArticleEntry(doc_id, title, publisher, date, source, min(ids), len(ids), int(length)))
        return Catalog(entries, self.store.read_blob(version_key(self.version, "copies")) or [])

    def _scoped(self, within: np.ndarray | None) -> str:
        """The version's filter, narrowed to the flagged articles of the catalog (the shorter list of the two)."""
        if within is None:
            return self.filter
        flagged = np.asarray(within, dtype=bool)
        inside = self.catalog.doc_ids(flagged)
        if len(inside) <= len(flagged) // 2:
            return f"{self.filter} and doc_id in {json.dumps(inside)}"
        return f"{self.filter} and doc_id not in {json.dumps(self.catalog.doc_ids(~flagged))}"

    def lexical_search(self, grams: Sequence[str], n: int, within: np.ndarray | None = None) -> dict[int, float]:
        """BM25 through Milvus's sparse inner product: the question's vector holds each gram's IDF."""
        times = Counter(grams)
        found = self._terms(f"g\x1f{g}" for g in times)
        documents = self.chunk_count
        query: dict[int, float] = {}
        for gram, repeats in times.items():
            row = found.get(f"g\x1f{gram}")
            if row is None or not 0 < row["df"] <= documents:
                continue
            df = row["df"]
            query[row["dim"]] = float(np.float32(repeats * math.log(1.0 + (documents - df + 0.5) / (df + 0.5))))
        if not query or not documents:
            return {}
        hits = self.store.client.search(
            self.chunks, data=[query], anns_field="sparse", limit=min(n, 16_384), filter=self._scoped(within),
            search_params={"metric_type": "IP", "params": {"drop_ratio_search": 0.0}},
        )[0]  # fmt: skip
        return {int(h["id"]): float(h["distance"]) for h in hits if h["distance"] > 0}

    def dense_search(self, vector: np.ndarray, n: int, within: np.ndarray | None = None) -> dict[int, float]:
        hits = self.store.client.search(
            self.chunks, data=[np.asarray(vector, dtype=np.float32).tolist()], anns_field="dense",
            limit=min(n, 16_384), filter=self._scoped(within), search_params={"metric_type": "IP"},
        )[0]  # fmt: skip
        return {int(h["id"]): float(h["distance"]) for h in hits}

    def _rows(self, chunk_ids: Sequence[int], fields: list[str]) -> list[dict[str, Any]]:
        wanted = [int(i) for i in dict.fromkeys(chunk_ids) if int(i) not in self.excluded]
        if not wanted:
            return []
        rows = self.store.client.get(self.chunks, ids=wanted, output_fields=fields)
        return [r for r in rows if int(r["build"]) <= self.version["build"]]

    def passages(self, chunk_ids: Sequence[int]) -> dict[int, Passage]:
        found: dict[int, Passage] = {}
        for r in self._rows(chunk_ids, _CHUNK_FIELDS):
            self._sentence_counts[int(r["id"])] = int(r["sentences"])  # for sentences(), asked next
            entry = self.catalog.entry(r["doc_id"])
            found[int(r["id"])] = Passage(
                int(r["id"]), r["doc_id"], int(r["ordinal"]), int(r["start"]), int(r["end"]), r["text"],
                tuple(r["terms"].split()), r["title"], r["source"], r["date"] or None,
                entry.publisher if entry else None,
            )  # fmt: skip
        return found

    def sentences(self, chunk_ids: Sequence[int]) -> dict[int, SentenceVectors]:
        if not self.has_dense:
            return {}
        known = {int(c): self._sentence_counts[int(c)] for c in chunk_ids if int(c) in self._sentence_counts}
        unknown = [c for c in chunk_ids if int(c) not in known]
        counts = known | {int(r["id"]): int(r["sentences"]) for r in self._rows(unknown, ["build", "sentences"])}
        ids = [c * MAX_SENTENCES + i for c, n in counts.items() for i in range(n)]
        if not ids:
            return {}
        rows = self.store.client.get(self.sentence_rows, ids=ids, output_fields=["start", "end", "vector"])
        by_id = {int(r["id"]): r for r in rows}
        found: dict[int, SentenceVectors] = {}
        for chunk_id, n in counts.items():
            mine = [by_id[chunk_id * MAX_SENTENCES + i] for i in range(n) if chunk_id * MAX_SENTENCES + i in by_id]
            if len(mine) == n and n:
                spans = np.asarray([[r["start"], r["end"]] for r in mine], dtype=np.int32)
                found[chunk_id] = SentenceVectors(spans, np.asarray([r["vector"] for r in mine], dtype=np.float16))
        return found

    @cached_property
    def _articles(self) -> dict[str, list[Any]]:
        return self.store.read_blob(version_key(self.version, "documents")) or {}

    def document_text(self, doc_id: str) -> str | None:
        entry = self._articles.get(doc_id)
        if entry is None:
            return None
        _, build, parts = entry[:3]
        keys = [f"{doc_id}\x1f{build}\x1f{i}" for i in range(int(parts))]
        rows = {r["key"]: r["text"] for r in self.store.client.get(self.documents, ids=keys, output_fields=["text"])}
        return "".join(rows.get(k, "") for k in keys)

    def articles_per_file(self) -> dict[str, int]:
        return {name: len(ids) for name, ids in self.articles_by_file().items()}

    def articles_by_file(self) -> dict[str, list[str]]:
        listed = self.store.read_blob(version_key(self.version, "sources")) or []
        return {str(row[0]): [str(d) for d in row[3]] for row in listed}

    def storage_details(self) -> dict[str, Any]:
        lite = self.store.lite_file
        size = sum(p.stat().st_size for p in lite.rglob("*") if p.is_file()) if lite and lite.is_dir() else None
        if lite and lite.is_file():
            size = lite.stat().st_size
        return {"store": "milvus", "store_location": self.store.location, "size_bytes": size, "segments": 0,
                "deleted_chunks": len(self.excluded)}  # fmt: skip

    def close(self) -> None:
        """Nothing to release: the Milvus client stays open for the process."""


def article_fingerprints(articles: dict[str, list[Any]]) -> list[Fingerprint]:
    """The copy fingerprints kept in a version's article list (copies.py)."""
    return [
        Fingerprint(doc_id, bytes.fromhex(entry[4][5]), entry[4][6], day_number(entry[4][2]))
        for doc_id, entry in articles.items()
    ]
