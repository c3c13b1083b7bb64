"""The Milvus store: the index in Milvus (a server, ``milvus://host:19530[/name]``, or a Milvus Lite file,
``./archive.milvus.db``), with the same answers as the directory index.

Milvus's own BM25 cannot rank Arabic the way rag_qa does (Milvus Lite has only the ``standard`` and
``jieba`` analyzers), so the lexical side is rag_qa's: each chunk holds a sparse vector over its
character grams, weighted by BM25's document side, tf / (tf + k1 · (1 − b + b · length / average));
a question's sparse vector holds each of its grams' IDF (times repeats), so Milvus's inner product is
Lucene's BM25, the directory index's formula. The IDFs need document frequencies over live chunks:
a ``terms`` collection holds each gram's and word's frequency (and the gram's sparse dimension), kept
exact by every build (each added chunk counts +1 for its distinct terms, each removed one −1). The
average length is the manifest's; chunk weights follow it until it drifts by more than
``REWEIGHT_DRIFT``, when the build re-weights every older chunk right after its switch.

Collections, per generation G (a full build starts a new one; the old is dropped after the switch):
``<name>_g<G>_chunks`` (id, build, article fields, offsets, text, terms, sparse, dense),
``<name>_g<G>_sentences`` (each chunk's sentence offsets and vectors), ``<name>_g<G>_terms`` and
``<name>_g<G>_documents`` (article text in parts). ``<name>_meta`` holds JSON blobs: ``current``
(the generation and build that readers use) and, per version, its manifest, source files, articles
(content hash, chunk ids, embedding-input hashes), its ``undo`` list and its ``pending`` work.

Versions: a build's rows carry its build number and readers filter ``build <= B``, so rows of a build
in progress are invisible; the switch is the upsert of ``current``. Removed chunks are deleted after
the switch (and excluded by id until then); a crashed build is undone by the next one (its rows
deleted, its terms restored from each row's ``before``, as its ``undo`` blob lists them).
"""

from __future__ import annotations

from pathlib import Path

from ..config import DEFAULTS, Settings
from .manifest import Manifest
from .milvus_collections import recover
from .milvus_layout import MAX_SENTENCES, REWEIGHT_DRIFT, MilvusConnection
from .milvus_reader import MilvusReader
from .milvus_writer import MilvusWriter

__all__ = ["MAX_SENTENCES", "REWEIGHT_DRIFT", "MilvusReader", "MilvusStore", "MilvusWriter"]


class MilvusStore(MilvusConnection):
    """The Store (storage/store.py) of an index in Milvus."""

    def writer(self, previous: Manifest | None, dimension: int | None, settings: Settings = DEFAULTS) -> MilvusWriter:
        return MilvusWriter(self, previous, dimension, settings)

    def reader(self) -> MilvusReader:
        return MilvusReader(self, self.current_manifest())

    def prepare(self, settings: Settings) -> None:
        recover(self)

    def own_paths(self) -> tuple[Path, ...]:
        return (self.lite_file, Path(f"{self.lite_file}.lock")) if self.lite_file is not None else ()
