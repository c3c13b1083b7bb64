"""One exception hierarchy. Messages say what is wrong and what to run; the CLI and UI show them as is."""


class RagQAError(Exception):
    """Base class of every error rag_qa raises on purpose."""


class ModelUnavailable(RagQAError):
    """The embedding model cannot be loaded (not cached and no network, or a bad folder)."""


class IndexMissing(RagQAError):
    """There is no index where one was expected."""


class IndexCorrupt(RagQAError):
    """The index on disk cannot be read (truncated file, edited manifest, other format version)."""


class ModelMismatch(RagQAError):
    """The index was built with a different embedding model than the one asked for."""


class BuildLocked(RagQAError):
    """Another build holds the index lock."""


class BadQuestion(RagQAError):
    """The question is empty or unusable."""


class SourceMissing(RagQAError):
    """A source to index or remove does not exist (or is not one of the index's sources)."""
