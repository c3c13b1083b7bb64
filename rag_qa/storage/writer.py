"""Writing an index version beside the current one, and switching to it atomically."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..config import DEFAULTS, FORMAT_VERSION, Settings
from ..copies import group_copies
from ..errors import IndexCorrupt, IndexMissing
from ..records import Article, IndexedChunk, SentenceVectors
from .manifest import (
    COPIES,
    DELETIONS,
    MANIFEST,
    PARTIAL,
    REBUILD_HINT,
    SOURCES,
    Manifest,
    TrackedFile,
    open_segments,
)
from .merging import merge, merge_plan
from .reader import IndexReader
from .segment_writer import SegmentWriter
from .segments import Segment, Stored, live_fingerprints, merged_segment_name, new_segment_name


class IndexWriter:
    """Builds a new index version beside the current one; ``commit`` switches to it atomically.

    The previous version's segments are kept as they are (hard links into the new version's folder);
    new and changed articles go into one new segment; deletions become tombstones."""

    def __init__(
        self, index_dir: Path, previous: Manifest | None, dimension: int | None, settings: Settings = DEFAULTS
    ) -> None:
        self.index_dir = index_dir
        self.settings = settings
        self.version = f"v-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
        self.dir = index_dir / (self.version + PARTIAL)
        self.dir.mkdir(parents=True)
        self.previous = open_segments(index_dir / previous.version_dir, previous) if previous else []
        self.next_id = previous.next_chunk_id if previous else 1
        self.new = SegmentWriter(self.dir / new_segment_name(self.next_id), dimension)
        self.files: list[TrackedFile] = []

    def replace_source_files(self, files: Iterable[TrackedFile]) -> None:
        self.files = list(files)

    def reusable(self, embed_hashes: Sequence[str]) -> Stored:
        """Vectors already in the index for these embedding inputs, and their chunks' sentence vectors
        (so unchanged text is never re-encoded)."""
        vectors: dict[str, np.ndarray] = {}
        sentences: dict[str, SentenceVectors] = {}
        if self.new.dense is None or not embed_hashes:
            return vectors, sentences
        holders: list[Segment | SegmentWriter] = [*self.previous, self.new]
        for segment in holders:
            try:
                found, held = segment.stored([h for h in embed_hashes if h not in vectors])
            except (OSError, ValueError, RuntimeError, sqlite3.DatabaseError):
                raise IndexCorrupt(f"The index segment {segment.folder} is damaged. {REBUILD_HINT}") from None
            vectors |= found
            sentences |= held
        return vectors, sentences

    def remove_documents(self, doc_ids: Iterable[str]) -> None:
        """Mark these articles deleted in the segments that hold them."""
        wanted = list(doc_ids)
        for segment in self.previous:
            if not wanted:
                return
            try:
                found = segment.live_document_chunks(wanted)
            except sqlite3.DatabaseError:
                raise IndexCorrupt(f"The chunk database of {segment.folder} is damaged. {REBUILD_HINT}") from None
            for doc_id, chunks in found.items():
                segment.delete(doc_id, chunks)
            wanted = [d for d in wanted if d not in found]

    def add_document(self, article: Article, chunks: Sequence[IndexedChunk]) -> list[int]:
        """Store an article and its chunks; returns the new chunk ids (the FAISS ids of their vectors)."""
        ids = list(range(self.next_id, self.next_id + len(chunks)))
        self.next_id += len(chunks)
        self.new.add_document(article, chunks, ids)
        return ids

    def add_vectors(self, ids: Sequence[int], matrix: np.ndarray) -> None:
        self.new.add_vectors(ids, matrix)

    def add_sentences(self, chunk_id: int, sentences: SentenceVectors) -> None:
        self.new.add_sentences(chunk_id, sentences)

    def finish(self, manifest_fields: dict[str, Any]) -> IndexReader:
        """Write the new segment and merge where the policy asks; returns a reader of the staged version
        (for the calibration), which ``publish`` makes current."""
        new = self.new.finish(self.settings.ann)
        segments = [*self.previous]
        if new.chunks or new.documents:
            segments.append(Segment(self.new.folder, new))
        else:
            shutil.rmtree(self.new.folder)
        for group in merge_plan(segments, self.settings.build):
            segments = [s for s in segments if s not in group]
            if any(s.live_chunks or s.live_documents for s in group):
                group.sort(key=lambda s: s.folder.name)
                try:
                    merged = merge(group, self.dir / merged_segment_name(group), self.settings.ann)
                except (OSError, ValueError, RuntimeError, sqlite3.DatabaseError):
                    raise IndexCorrupt(f"The index at {self.index_dir} has damaged segments. {REBUILD_HINT}") from None
                segments.append(Segment(self.dir / merged.name, merged))
            for segment in group:
                segment.close()
                if segment.folder.parent == self.dir:  # written by this build and merged at once
                    shutil.rmtree(segment.folder)
        try:
            groups = group_copies([p for s in segments for p in live_fingerprints(s)])
        except sqlite3.DatabaseError:
            raise IndexCorrupt(f"The index at {self.index_dir} has damaged segments. {REBUILD_HINT}") from None
        (self.dir / COPIES).write_text(json.dumps(groups), encoding="utf-8")
        for segment in segments:
            segment.close()
            if segment.folder.parent != self.dir:
                _link_folder(segment.folder, self.dir / segment.folder.name)
        segments.sort(key=lambda s: s.folder.name)
        deletions = {
            s.info.name: s.tombstones.to_json() for s in segments if s.tombstones.chunks or s.tombstones.documents
        }
        (self.dir / DELETIONS).write_text(json.dumps(deletions, ensure_ascii=False), encoding="utf-8")
        listed = [[f.name, f.size, f.mtime_ns, ids, problems] for f, ids, problems in self.files]
        (self.dir / SOURCES).write_text(json.dumps(listed, ensure_ascii=False), encoding="utf-8")
        largest = max(segments, key=lambda s: s.info.chunks, default=None)
        self.manifest = Manifest(
            format_version=FORMAT_VERSION,
            version_dir=self.version,
            documents=sum(s.live_documents for s in segments),
            chunks=sum(s.live_chunks for s in segments),
            dense=largest.info.dense if largest else None,
            segments=[asdict(s.info) for s in segments],
            next_chunk_id=self.next_id,
            **manifest_fields,
        )
        return IndexReader(self.index_dir, self.manifest, self.dir)

    def publish(self, manifest_fields: dict[str, Any], keep_versions: int) -> Manifest:
        """Switch ``manifest.json`` to the finished version atomically, with these further fields (the
        calibration: ``abstention``, ``confidence``); then delete all but ``keep_versions`` versions."""
        manifest = replace(self.manifest, **manifest_fields)
        (self.dir / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
        _fsync_tree(self.dir)
        final = self.index_dir / self.version
        os.rename(self.dir, final)
        tmp = self.index_dir / f".{MANIFEST}.{self.version}.tmp"
        tmp.write_text(manifest.to_json(), encoding="utf-8")
        _fsync_file(tmp)
        os.replace(tmp, self.index_dir / MANIFEST)
        _fsync_dir(self.index_dir)
        remove_stale_versions(self.index_dir, keep_versions)
        return manifest

    def abort(self) -> None:
        try:
            self.new.abort()
            for segment in self.previous:
                segment.close()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def _link_folder(source: Path, target: Path) -> None:
    """Hard-link a written segment into a new version (its files never change); copy where the file
    system has no hard links."""
    target.mkdir()
    for path in source.iterdir():
        try:
            os.link(path, target / path.name)
        except OSError:
            shutil.copy2(path, target / path.name)


def remove_stale_versions(index_dir: Path, keep: int) -> None:
    """Delete unfinished builds and all but the newest ``keep`` complete versions (current one always kept)."""
    current = None
    try:
        current = Manifest.read(index_dir / MANIFEST).version_dir
    except (IndexMissing, IndexCorrupt):
        pass
    for leftover in index_dir.glob(f"v-*{PARTIAL}"):
        shutil.rmtree(leftover, ignore_errors=True)
    for tmp in index_dir.glob(f".{MANIFEST}.*.tmp"):
        tmp.unlink(missing_ok=True)
    versions = sorted((p for p in index_dir.glob("v-*") if p.is_dir() and not p.name.endswith(PARTIAL)), reverse=True)
    older = [v for v in versions if v.name != current]
    for version in older[max(keep - 1, 0) :]:
        shutil.rmtree(version, ignore_errors=True)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            _fsync_file(path)
    for path in [*(p for p in root.rglob("*") if p.is_dir()), root]:
        _fsync_dir(path)
