"""A version's manifest (what it holds and how it was built) and the build state read from a version."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from ..config import FORMAT_VERSION
from ..errors import IndexCorrupt, IndexMissing, IndexOutdated
from ..records import Calibration, SourceFile
from .segments import Segment, SegmentInfo, Tombstones

MANIFEST = "manifest.json"
DELETIONS = "deletions.json"
SOURCES = "sources.json"
COPIES = "copies.json"  # the groups of wire copies among the version's live articles (copies.py)
PARTIAL = ".partial"
REBUILD_HINT = "Rebuild it with `rag-qa build --full`."
# a source file as the last build left it: its size and modification time, article ids, bad records
TrackedFile = tuple[SourceFile, list[str], list[str]]


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
    source_roots: dict[str, str] = field(default_factory=dict)  # each source's absolute path when indexed
    segments: list[dict[str, Any]] = field(default_factory=list)  # segments.SegmentInfo of each segment
    next_chunk_id: int = 1  # chunk ids are never reused
    abstention: dict[str, Any] | None = None  # abstention.calibrate(): the evidence thresholds of this index
    confidence: dict[str, Any] | None = None  # abstention.confident_level(): below it an answer is weak evidence
    store: dict[str, Any] | None = None  # where the index lives, when not in this directory (storage/milvus.py)
    cleaning: int = 1  # formats.CLEANING, the rules that cleaned its articles (1: those before it was recorded)

    @cached_property
    def calibration(self) -> Calibration | None:
        """The typed evidence thresholds of ``abstention`` (None when the build set none)."""
        return Calibration.from_manifest(self.abstention) if self.abstention is not None else None

    @property
    def model_name(self) -> str | None:
        return self.model["name"] if self.model else None

    def to_json(self) -> str:
        return json.dumps({"format": "rag_qa-index", **asdict(self)}, ensure_ascii=False, indent=2)

    @classmethod
    def read(cls, path: Path) -> Manifest:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise IndexMissing(f"No index at {path.parent}: build one with `rag-qa build`.") from None
        except (OSError, UnicodeDecodeError):
            raise IndexCorrupt(f"The index manifest {path} is unreadable. {REBUILD_HINT}") from None
        return cls.parse(text, path)

    @classmethod
    def parse(cls, text: str, path: Path | str) -> Manifest:
        """A manifest from its JSON (``path``: where it was read, for messages); IndexCorrupt when damaged."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            raise IndexCorrupt(f"The index manifest {path} is unreadable. {REBUILD_HINT}") from None
        if not isinstance(data, dict) or data.get("format") != "rag_qa-index":
            raise IndexCorrupt(f"{path} is not a rag_qa index manifest. {REBUILD_HINT}")
        version = data.get("format_version")
        if version != FORMAT_VERSION:
            message = f"The index {path} has format version {version}; this rag_qa reads version {FORMAT_VERSION}."
            if isinstance(version, int) and 3 <= version < FORMAT_VERSION:  # what it remembers reads as today
                data.pop("format")
                try:
                    older = cls(**data)
                except TypeError:
                    raise IndexCorrupt(f"{message} {REBUILD_HINT}") from None
                raise IndexOutdated(f"{message} Update it with `rag-qa build` (it is rebuilt from its sources).", older)
            raise IndexCorrupt(f"{message} {REBUILD_HINT}")
        data.pop("format")
        try:
            manifest = cls(**data)
        except TypeError:
            raise IndexCorrupt(f"The index manifest {path} has missing or unknown fields. {REBUILD_HINT}") from None
        if manifest.mode not in ("hybrid", "lexical") or (manifest.mode == "hybrid") != bool(manifest.model):
            raise IndexCorrupt(f"The index manifest {path} is inconsistent (mode {manifest.mode!r}). {REBUILD_HINT}")
        level = manifest.confidence if isinstance(manifest.confidence, dict) else {}
        if manifest.confidence is not None and not isinstance(level.get("lexical_evidence"), (int, float)):
            raise IndexCorrupt(f"The index manifest {path} has a damaged confident level. {REBUILD_HINT}")
        if not all(isinstance((manifest.bm25 or {}).get(k), (int, float)) for k in ("k1", "b")):
            raise IndexCorrupt(f"The index manifest {path} lacks its BM25 parameters. {REBUILD_HINT}")
        try:
            manifest.calibration  # noqa: B018  (parsed once here, so a damaged one fails at opening)
        except ValueError:
            raise IndexCorrupt(f"The index manifest {path} has damaged abstention thresholds. {REBUILD_HINT}") from None
        return manifest


def read_current_manifest(index_dir: Path) -> Manifest:
    if not index_dir.is_dir():
        raise IndexMissing(f"No index directory {index_dir}: build one with `rag-qa build`.")
    return Manifest.read(index_dir / MANIFEST)


def read_build_state(index_dir: Path, previous: Manifest | None) -> tuple[dict[str, str], dict[str, TrackedFile]]:
    """What an incremental build compares against: each live document's content hash, and the source
    files (size, modification time, article ids, bad records) of the previous version. Empty for a
    first or full build."""
    if previous is None:
        return {}, {}
    folder = index_dir / previous.version_dir
    hashes: dict[str, str] = {}
    for segment in open_segments(folder, previous):
        try:
            rows = segment.db.execute("SELECT doc_id, content_hash FROM documents").fetchall()
        except (OSError, sqlite3.DatabaseError):
            raise IndexCorrupt(f"The chunk database of {segment.folder} is damaged. {REBUILD_HINT}") from None
        finally:
            segment.close()
        hashes.update((d, h) for d, h in rows if d not in segment.tombstones.documents)
    try:
        listed = json.loads((folder / SOURCES).read_text(encoding="utf-8"))
        files = {row[0]: (SourceFile(*row[:3]), list(row[3]), list(row[4])) for row in listed}
    except (OSError, ValueError, TypeError, IndexError):
        raise IndexCorrupt(f"The source list of the index at {index_dir} is damaged. {REBUILD_HINT}") from None
    return hashes, files


def open_segments(folder: Path, manifest: Manifest) -> list[Segment]:
    """The version's segments (not loaded yet) with their tombstones."""
    try:
        deleted = json.loads((folder / DELETIONS).read_text(encoding="utf-8"))
        tombstones = {name: Tombstones.from_json(data) for name, data in deleted.items()}
        infos = [SegmentInfo(**info) for info in manifest.segments]
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        raise IndexCorrupt(f"The index at {folder.parent} has a damaged list of segments. {REBUILD_HINT}") from None
    return [Segment(folder / info.name, info, tombstones.get(info.name)) for info in infos]
