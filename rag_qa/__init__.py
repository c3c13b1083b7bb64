"""rag_qa: cited question answering over Arabic and English news articles.

from rag_qa import RagQA, build_index
build_index(["seeds"], index_dir="index")
answer = RagQA.load("index").ask("who led the US side?")
"""

from __future__ import annotations

from importlib import metadata
from typing import TYPE_CHECKING, Any

try:
    __version__ = metadata.version("rag_qa")
except metadata.PackageNotFoundError:  # run from a folder that was never installed
    __version__ = "unknown"
__all__ = ["RagQA", "build_index", "Answer", "Citation", "BuildSummary", "RagQAError", "__version__"]

if TYPE_CHECKING:
    from .errors import RagQAError
    from .pipeline import RagQA, build_index
    from .records import Answer, BuildSummary, Citation


def __getattr__(name: str) -> Any:  # heavy imports stay lazy: `import rag_qa` is instant
    if name in ("RagQA", "build_index"):
        from . import pipeline

        return getattr(pipeline, name)
    if name in ("Answer", "Citation", "BuildSummary"):
        from . import records

        return getattr(records, name)
    if name == "RagQAError":
        from .errors import RagQAError

        return RagQAError
    raise AttributeError(f"module 'rag_qa' has no attribute {name!r}")
