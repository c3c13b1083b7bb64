"""Where an index lives: a directory (the default) or Milvus, behind one interface.

A build asks its store for the current manifest, the build state (each live article's content hash
and the source files), a writer and the build lock; a question asks it for a reader. Writers and
readers of both stores have the same methods (``IndexWriter`` / ``IndexReader`` for the directory,
``milvus.MilvusWriter`` / ``milvus.MilvusReader``), so indexing, retrieval and answering never know
which one holds the index.

``open_store`` picks the store from its location: ``milvus://host:19530[/name]`` or a path ending
in ``.db`` (Milvus Lite) is Milvus, anything else a directory.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..config import DEFAULTS, Settings
from ..records import Article, IndexedChunk, Passage, SentenceVectors
from .catalog import Catalog
from .manifest import Manifest, TrackedFile, read_build_state, read_current_manifest
from .reader import IndexReader
from .writer import IndexWriter, remove_stale_versions

BUILD_LOCK = ".build.lock"


class Reader(Protocol):
    """A loaded, read-only index version (IndexReader, milvus.MilvusReader). Safe to share between threads."""

    index_dir: Any  # its location, for messages
    manifest: Manifest
    has_dense: bool

    @property
    def chunk_count(self) -> int: ...  # live chunks: the N of BM25's IDF

    @property
    def catalog(self) -> Catalog: ...  # the live articles: publishers, dates, chunks, groups of copies

    def document_frequencies(self, words: Iterable[str]) -> dict[str, int]: ...  # live chunks holding each word

    # chunk id → BM25 (> 0); ``within``: one flag per catalog article, only flagged ones searched (scope.py)
    def lexical_search(self, grams: Sequence[str], n: int, within: np.ndarray | None = None) -> dict[int, float]: ...

    def dense_search(self, vector: np.ndarray, n: int, within: np.ndarray | None = None) -> dict[int, float]: ...

    def passages(self, chunk_ids: Sequence[int]) -> dict[int, Passage]: ...

    def sentences(self, chunk_ids: Sequence[int]) -> dict[int, SentenceVectors]: ...

    def document_text(self, doc_id: str) -> str | None: ...

    def articles_per_file(self) -> dict[str, int]: ...

    def articles_by_file(self) -> dict[str, list[str]]: ...  # each source file's article ids

    def storage_details(self) -> dict[str, Any]: ...  # for `rag-qa info`: the store, its size and parts

    def close(self) -> None: ...


class Writer(Protocol):
    """The next version being written (IndexWriter, milvus.MilvusWriter); ``publish`` makes it current."""

    def replace_source_files(self, files: Iterable[TrackedFile]) -> None: ...

    def reusable(self, embed_hashes: Sequence[str]) -> tuple[dict[str, np.ndarray], dict[str, SentenceVectors]]: ...

    def remove_documents(self, doc_ids: Iterable[str]) -> None: ...

    def add_document(self, article: Article, chunks: Sequence[IndexedChunk]) -> list[int]: ...

    def add_vectors(self, ids: Sequence[int], matrix: np.ndarray) -> None: ...

    def add_sentences(self, chunk_id: int, sentences: SentenceVectors) -> None: ...

    def finish(self, manifest_fields: dict[str, Any]) -> Reader: ...

    def publish(self, manifest_fields: dict[str, Any], keep_versions: int) -> Manifest: ...

    def abort(self) -> None: ...


class Store(Protocol):
    location: str  # as the user named it, for messages

    def current_manifest(self) -> Manifest:
        """The current version's manifest; IndexMissing or IndexCorrupt when there is none to read."""
        ...

    def build_state(self, previous: Manifest | None) -> tuple[dict[str, str], dict[str, TrackedFile]]:
        """Each live article's content hash and the source files of ``previous`` (empty for None)."""
        ...

    def writer(self, previous: Manifest | None, dimension: int | None, settings: Settings) -> Writer:
        """A writer of the next version (``previous`` None: a full build, from nothing)."""
        ...

    def reader(self) -> Reader:
        """A reader of the current version."""
        ...

    def build_lock(self, timeout: float) -> AbstractContextManager[Any]:
        """Held by the one build allowed at a time; raises filelock.Timeout when another holds it."""
        ...

    def prepare(self, settings: Settings) -> None:
        """Before a build, under the lock: create the store if needed and clear what a crashed build left."""
        ...

    def own_paths(self) -> tuple[Path, ...]:
        """The local files and folders the store itself writes (never read as articles)."""
        ...


class DirectoryStore:
    """The index directory (storage/__init__.py): versions of immutable segments, switched atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = str(path)

    def current_manifest(self) -> Manifest:
        return read_current_manifest(self.path)

    def build_state(self, previous: Manifest | None) -> tuple[dict[str, str], dict[str, TrackedFile]]:
        return read_build_state(self.path, previous)

    def writer(self, previous: Manifest | None, dimension: int | None, settings: Settings = DEFAULTS) -> IndexWriter:
        return IndexWriter(self.path, previous, dimension, settings)

    def reader(self) -> IndexReader:
        return IndexReader(self.path)

    def build_lock(self, timeout: float) -> AbstractContextManager[Any]:
        from filelock import FileLock

        self.path.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.path / BUILD_LOCK), timeout=timeout)

    def prepare(self, settings: Settings) -> None:
        remove_stale_versions(self.path, settings.build.keep_versions)

    def own_paths(self) -> tuple[Path, ...]:
        return (self.path,)

    def __str__(self) -> str:
        return self.location


def is_milvus(location: str | Path) -> bool:
    text = str(location)
    return text.startswith("milvus://") or text.endswith(".db")


def open_store(location: str | Path | Store | None, default: str = "index") -> Store:
    """The store at ``location``: Milvus for ``milvus://…`` or a ``….db`` file, else a directory."""
    if location is None or location == "":
        location = default
    if not isinstance(location, (str, Path)):
        return location
    if is_milvus(location):
        from .milvus import MilvusStore

        return MilvusStore(str(location))
    return DirectoryStore(Path(location))


@contextmanager
def temporary_store(kind: str | None, folder: str) -> Iterator[str]:
    """A store for a throwaway index (``rag-qa eval``) of the kind ``kind`` names: a directory in
    ``folder`` (None or a directory), a Milvus Lite file in ``folder`` (a ``….db``), or a new name on
    the Milvus server (``milvus://…``), dropped afterwards."""
    if not kind or not is_milvus(kind):
        yield folder
        return
    from .milvus import MilvusStore

    if kind.startswith("milvus://"):
        address = kind.removeprefix("milvus://").partition("/")[0]
        location = f"milvus://{address}/rag_qa_eval_{secrets.token_hex(4)}"
    else:
        location = str(Path(folder) / "eval.milvus.db")
    try:
        yield location
    finally:
        MilvusStore(location).release(drop=True)
