"""Merging segments on a tiered policy (Lucene's design): small segments are merged, and segments with
many deleted chunks rewritten, so the number of segments and of dead chunks stays bounded."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

import numpy as np

from ..config import AnnSettings, BuildSettings
from . import vectors
from .lexical import Postings, WordFrequencies
from .segment_writer import create_db, save, save_dense
from .segments import CHUNKS_DB, Segment, SegmentInfo
from .sentence_vectors import save_sentences


def merge_plan(segments: Sequence[Segment], policy: BuildSettings) -> list[list[Segment]]:
    """Which segments to rewrite together: each segment with too many deleted chunks on its own, and the
    segments of any size class (live chunks in [b^t, b^(t+1)), b = ``tier_base``) that holds
    ``segments_per_tier`` or more. A group with nothing live is simply dropped."""
    groups: list[list[Segment]] = []
    tiers: dict[int, list[Segment]] = {}
    for segment in segments:
        if segment.info.chunks and len(segment.tombstones.chunks) > policy.max_deleted_share * segment.info.chunks:
            groups.append([segment])
        elif segment.live_chunks == 0 and segment.live_documents == 0:
            groups.append([segment])
        else:
            tier = int(math.log(max(segment.live_chunks, 1), policy.tier_base))
            tiers.setdefault(tier, []).append(segment)
    groups.extend(members for members in tiers.values() if len(members) >= policy.segments_per_tier)
    return groups


def merge(parts: Sequence[Segment], folder: Path, ann: AnnSettings) -> SegmentInfo:
    """One new segment holding the live articles and chunks of ``parts``."""
    folder.mkdir(parents=True)
    with closing(create_db(folder / CHUNKS_DB)) as db:
        db.execute("CREATE TEMP TABLE gone_chunks (id INTEGER PRIMARY KEY)")
        db.execute("CREATE TEMP TABLE gone_documents (doc_id TEXT PRIMARY KEY)")
        for segment in parts:
            db.execute("DELETE FROM gone_chunks")
            db.execute("DELETE FROM gone_documents")
            db.executemany("INSERT INTO gone_chunks VALUES (?)", [(i,) for i in segment.tombstones.chunks])
            db.executemany("INSERT INTO gone_documents VALUES (?)", [(d,) for d in segment.tombstones.documents])
            db.execute("ATTACH DATABASE ? AS part", (f"file:{segment.folder / CHUNKS_DB}?mode=ro",))
            db.execute("INSERT INTO documents SELECT * FROM part.documents WHERE doc_id NOT IN gone_documents")
            db.execute("INSERT INTO chunks SELECT * FROM part.chunks WHERE id NOT IN gone_chunks ORDER BY id")
            db.commit()
            db.execute("DETACH DATABASE part")
        documents = db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
    # a merged segment's id range can interleave with a segment left out, so rows are sorted by id
    chunk_ids = np.concatenate([s.chunk_ids[s.live] for s in parts]) if parts else np.zeros(0, np.int64)
    order = np.argsort(chunk_ids, kind="stable")
    frequencies: Counter[str] = Counter()
    for segment in parts:
        frequencies.update(segment.words.frequencies)
        frequencies.subtract(segment.tombstones.words)
    postings = Postings.merge([(s.postings, s.live) for s in parts], order)
    save(folder, chunk_ids[order], postings, WordFrequencies(+frequencies))  # + drops words no chunk holds
    dense = None
    if parts and parts[0].info.dense is not None:
        dense = vectors.new_flat(int(parts[0].info.dense["dimension"]))
        for segment in parts:
            kept = segment.chunk_ids[segment.live]
            if len(kept):
                dense.add_with_ids(vectors.take(segment.dense, kept), kept)
    description = save_dense(folder, dense, ann)
    sentences = _merge_sentences(parts, folder) if description is not None else 0
    return SegmentInfo(folder.name, int(documents), len(chunk_ids), description, sentences)


def _merge_sentences(parts: Sequence[Segment], folder: Path) -> int:
    """The live chunks' sentence rows of ``parts`` in one table, in chunk id order."""
    kept = []
    for segment in parts:
        rows = segment.sentence_rows
        if rows is not None:
            owners, spans, matrix = rows
            live = np.isin(owners, segment.chunk_ids[segment.live])
            kept.append((owners[live], np.asarray(spans[live]), np.asarray(matrix[live])))
    if not kept:
        return 0
    owners = np.concatenate([k[0] for k in kept])
    order = np.argsort(owners, kind="stable")
    spans, matrix = np.concatenate([k[1] for k in kept]), np.concatenate([k[2] for k in kept])
    return save_sentences(folder, owners[order], spans[order], matrix[order])
