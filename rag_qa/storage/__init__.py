"""The index directory: versions of a list of immutable segments, switched atomically. No pickle.

Layout::

    index/
      manifest.json          the current version's manifest; replaced atomically to switch versions
      v-<time>-<id>/         one complete version:
        manifest.json        its segments, counts, model, chunking, analyzer
        deletions.json       tombstones: what was deleted from each segment since it was written
        sources.json         the source files indexed (size, modification time, article ids, bad records)
        s-<time>-<id>/       a segment (see segments.py): chunks.sqlite, gram postings, word
                             frequencies, dense.faiss; hard links to the same files in other versions
      .build.lock            held by the one build allowed at a time

A build writes ``v-….partial/``, renames it when complete, then replaces ``manifest.json``; a
reader therefore sees the old version or the new one, never a mixture. Segment files are never
changed once written, so versions share them through hard links and an update writes only its own.
"""

from .manifest import Manifest, TrackedFile, read_build_state, read_current_manifest
from .reader import IndexReader
from .writer import IndexWriter, remove_stale_versions

__all__ = [
    "IndexReader",
    "IndexWriter",
    "Manifest",
    "TrackedFile",
    "read_build_state",
    "read_current_manifest",
    "remove_stale_versions",
]
