"""The dense vector index of a segment: exact (flat) while small, approximate (IVF) beyond a number of chunks.

Every kind keeps the chunk ids as FAISS ids and supports what incremental builds need: searching
without deleted ids (a selector), and reconstructing stored vectors (so unchanged text is never
re-encoded, and segments can be merged without encoding anything).

- ``flat``: ``IndexIDMap2(IndexFlatIP)``, exact inner product (cosine: vectors are normalised).
- ``ivf``: ``IndexIVFFlat`` (inner product) with a hashtable direct map, for a segment written or
  merged with more than ``ann_threshold`` chunks; its coarse centroids are trained on a sample of its
  vectors. ``nprobe`` is the smallest power of two whose recall@10 against exact search reaches
  ``AnnSettings.target_recall`` on a sample of the index's own vectors, held out of it while measured; the
  figure is recorded in the manifest.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np

from ..config import DEFAULTS, AnnSettings

log = logging.getLogger(__name__)

FLAT = "IndexIDMap2(IndexFlatIP)"


def read_mapped(path: str) -> Any:
    """A saved index with its vectors (flat codes or IVF lists) mapped from the file, read-only."""
    import faiss

    return faiss.read_index(path, faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)


def new_flat(dimension: int) -> Any:
    import faiss

    return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))


def is_ivf(index: Any) -> bool:
    import faiss

    return isinstance(index, faiss.IndexIVF)


def describe(index: Any, nprobe: int | None = None, recall: float | None = None) -> dict[str, Any]:
    """What the manifest records about the dense index."""
    base = {"metric": "inner_product", "normalized": True, "dimension": int(index.d)}
    if not is_ivf(index):
        return {"faiss": FLAT, "kind": "flat", **base}
    return {
        "faiss": f"IVF{index.nlist},Flat",
        "kind": "ivf",
        "nlist": int(index.nlist),
        "nprobe": int(nprobe or index.nprobe),
        "recall_at_10_estimate": recall,
        **base,
    }


def configure(index: Any, dense: dict[str, Any] | None) -> Any:
    """Apply the manifest's search settings (``nprobe``) to a loaded index."""
    if dense and is_ivf(index) and dense.get("nprobe"):
        index.nprobe = int(dense["nprobe"])
    return index


def list_count(vectors: int, train_per_list: int = DEFAULTS.ann.train_per_list) -> int:
    """IVF lists: about 4·√N, with at least ``train_per_list`` training vectors per list."""
    return max(1, min(int(4 * math.sqrt(vectors)), vectors // train_per_list))


def all_vectors(index: Any) -> tuple[np.ndarray, np.ndarray]:
    """(ids, vectors) of a flat ``IndexIDMap2``."""
    import faiss

    ids = faiss.vector_to_array(index.id_map).astype(np.int64)
    vectors = index.index.reconstruct_n(0, index.ntotal) if index.ntotal else np.zeros((0, index.d), np.float32)
    return ids, vectors


def to_ivf(flat: Any, settings: AnnSettings = DEFAULTS.ann, seed: int = 0) -> tuple[Any, dict[str, Any]]:
    """An IVF copy of a flat ``IndexIDMap2``, with ``nprobe`` calibrated; returns (index, description)."""
    import faiss

    ids, vectors = all_vectors(flat)
    count, dimension = vectors.shape
    nlist = list_count(count, settings.train_per_list)
    rng = np.random.default_rng(seed)
    sample = min(count, nlist * settings.train_per_list)
    training = vectors[np.sort(rng.choice(count, size=sample, replace=False))]
    quantizer = faiss.IndexFlatIP(dimension)
    ivf = faiss.IndexIVFFlat(quantizer, dimension, nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.cp.niter = settings.train_iterations
    ivf.train(training)
    ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]  # (no stubs)
    for start in range(0, count, 65536):
        ivf.add_with_ids(vectors[start : start + 65536], ids[start : start + 65536])
    nprobe, recall = calibrate_nprobe(ivf, flat, ids, vectors, rng, settings)
    ivf.nprobe = nprobe
    log.info("dense index: %d vectors in IVF%d (nprobe %d, recall@10 %.3f)", count, nlist, nprobe, recall)
    return ivf, describe(ivf, nprobe, recall)


def calibrate_nprobe(
    ivf: Any,
    exact: Any,
    ids: np.ndarray,
    vectors: np.ndarray,
    rng: np.random.Generator,
    settings: AnnSettings = DEFAULTS.ann,
) -> tuple[int, float]:
    """The smallest power-of-two ``nprobe`` with recall@10 ≥ the target, on held-out queries.

    The queries are stored vectors taken out of the IVF index while it is measured (a query that finds
    itself would flatter the recall) and put back afterwards.
    """
    picked = rng.choice(len(vectors), size=min(len(vectors) // 2, settings.calibration_queries), replace=False)
    held_ids, queries = ids[picked], vectors[picked]
    held = set(held_ids.tolist())
    k = min(10, len(vectors) - len(held))
    # up to len(held) of a query's nearest are held out themselves: enough rows to keep k others in each
    _, nearest = exact.search(queries, min(k + len(held), len(vectors)))
    truth = np.asarray([[i for i in row if i not in held][:k] for row in nearest])
    ivf.remove_ids(held_ids)
    try:
        nprobe = 1
        while True:
            ivf.nprobe = nprobe
            _, found = ivf.search(queries, k)
            recall = recall_at(found, truth)
            if recall >= settings.target_recall or nprobe >= ivf.nlist:
                return nprobe, round(recall, 4)
            nprobe *= 2
    finally:
        ivf.add_with_ids(queries, held_ids)


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    """Share of the exact top-k ids that the approximate search also returned (averaged over queries)."""
    hits = sum(len(set(f[f >= 0]) & set(t[t >= 0])) for f, t in zip(found, truth, strict=True))
    total = sum(int((t >= 0).sum()) for t in truth)
    return hits / total if total else 1.0


def take(index: Any, ids: np.ndarray) -> np.ndarray:
    """The stored vectors of these ids (a flat ``IndexIDMap2``, or IVF with its direct map)."""
    return index.reconstruct_batch(np.asarray(ids, dtype=np.int64))
