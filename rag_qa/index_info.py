"""What ``rag-qa info`` (and the app's status) shows about an index: its counts, sources, model and
thresholds, its publishers and dates, its groups of copies, and where and how large it is."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .sources import covers
from .storage.store import Reader


def describe_index(reader: Reader, modes: Sequence[str], warnings: Sequence[str]) -> dict[str, Any]:
    """The index as ``rag-qa info --json`` gives it; ``modes``: those it answers in (the first is the default)."""
    manifest, catalog = reader.manifest, reader.catalog
    per_file = reader.articles_per_file()
    sources = [
        {
            "path": source,
            "articles": sum(n for name, n in per_file.items() if covers(source, name)),
            "exists": Path(source).exists(),
        }
        for source in manifest.sources
    ]
    return {
        "index": str(reader.index_dir),
        "version": manifest.version_dir,
        "documents": manifest.documents,
        "chunks": manifest.chunks,
        "sources": sources,
        "model": manifest.model_name,
        "mode": modes[0],
        "modes": list(modes),
        "lexical_only_reason": manifest.fallback_reason,
        "built_at": manifest.created_at,
        "build_seconds": manifest.build_seconds,
        **reader.storage_details(),  # the store, its size_bytes, segments and deleted_chunks
        "abstention": manifest.abstention,  # the evidence thresholds calibrated by the build (abstention.py)
        "confidence": manifest.confidence,  # the confident level of lexical evidence (abstention.py)
        "chunking": {k: v for k, v in manifest.chunking.items() if k != "separators"},
        "publishers": catalog.publishers(),  # name → articles
        "dates": {"first": catalog.first_date, "last": catalog.last_date},
        "undated": int((catalog.days < 0).sum()),
        "copy_groups": {"groups": len(catalog.groups), "articles": sum(map(len, catalog.groups))},
        "warnings": list(warnings),
    }
