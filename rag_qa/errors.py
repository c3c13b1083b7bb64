"""One exception hierarchy. Messages say what is wrong and what to run; the CLI and UI show them as is."""

from typing import Any


class RagQAError(Exception):
    """Base class of every error rag_qa raises on purpose."""


class ModelUnavailable(RagQAError):
    """The embedding model cannot be loaded (not cached and no network, or a bad folder)."""


class IndexMissing(RagQAError):
    """There is no index where one was expected."""


class IndexCorrupt(RagQAError):
    """The index on disk cannot be read (truncated file, edited manifest, other format version). The
    storage package raises ValueError internally on inconsistent files; its reader turns that into this."""


class IndexOutdated(IndexCorrupt):
    """The index was written by an older rag_qa in another format; ``manifest`` is what it remembers (its
    sources and model), so that a build can rebuild it from them."""

    def __init__(self, message: str, manifest: Any) -> None:  # a storage Manifest
        super().__init__(message)
        self.manifest = manifest


class ModelMismatch(RagQAError):
    """The index was built with a different embedding model than the one asked for."""


class BuildLocked(RagQAError):
    """Another build holds the index lock."""


class BadArgument(RagQAError, ValueError):
    """A caller passed a value out of range (k, mode, chunk sizes): bad input, not a fault of rag_qa.
    Also a ValueError, as Python code calling the library expects."""


class BadQuestion(RagQAError):
    """The question is empty or unusable."""


class SourceMissing(RagQAError):
    """A source to index or remove does not exist (or is not one of the index's sources)."""


class StoreUnavailable(RagQAError):
    """The store named (Milvus) cannot be used: its client is not installed or it cannot be reached."""
