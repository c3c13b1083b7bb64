"""Approximate (IVF) against exact (flat) dense search on a synthetic set of 1M vectors.

    python -m benchmarks.ann [--vectors 1000000] [--dimension 384] [--queries 1000]

The vectors are clustered unit vectors (random centres plus Gaussian noise; sentence embeddings are
clustered by topic, so uniformly random vectors would understate what IVF achieves, and the
noise keeps the neighbourhoods fuzzy). rag_qa's own code builds both indexes (``vectors.new_flat``
and ``vectors.to_ivf``, which trains the lists and calibrates ``nprobe`` as a build does); the
queries are held out from the index. Reports recall@10 of IVF against flat, the single-query
latency of each (p50/p95) and the speed-up, the build times, and recall at other ``nprobe`` values.
Writes ann.json and ann.md to --out.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from rag_qa.storage import vectors


def clustered_unit_vectors(count: int, dimension: int, clusters: int, noise: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dimension), dtype=np.float32)
    points = np.empty((count, dimension), dtype=np.float32)
    for start in range(0, count, 100_000):  # in slices, so memory stays near the result's own size
        stop = min(start + 100_000, count)
        points[start:stop] = centres[rng.integers(0, clusters, stop - start)]
        points[start:stop] += noise * rng.standard_normal((stop - start, dimension), dtype=np.float32)
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    return points


def single_query_ms(index: Any, queries: np.ndarray, k: int = 10) -> list[float]:
    latencies = []
    for query in queries:
        started = time.perf_counter()
        index.search(query.reshape(1, -1), k)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vectors", type=int, default=1_000_000)
    parser.add_argument("--dimension", type=int, default=384)
    parser.add_argument("--clusters", type=int, default=2_000)
    parser.add_argument("--noise", type=float, default=1.0, help="noise norm relative to the centre's, per dimension")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()

    points = clustered_unit_vectors(args.vectors + args.queries, args.dimension, args.clusters, args.noise, seed=0)
    data, queries = points[: args.vectors], points[args.vectors :]
    started = time.perf_counter()
    flat = vectors.new_flat(args.dimension)
    flat.add_with_ids(data, np.arange(args.vectors, dtype=np.int64))
    flat_build = time.perf_counter() - started
    del points, data
    started = time.perf_counter()
    ivf, description = vectors.to_ivf(flat)
    ivf_build = time.perf_counter() - started

    _, truth = flat.search(queries, 10)
    _, found = ivf.search(queries, 10)
    recall = vectors.recall_at(found, truth)
    flat_ms = single_query_ms(flat, queries)
    ivf_ms = single_query_ms(ivf, queries)
    curve = {}
    for nprobe in (1, 2, 4, 8, 16, 32, 64, 128):
        ivf.nprobe = nprobe
        _, found = ivf.search(queries, 10)
        curve[nprobe] = round(vectors.recall_at(found, truth), 4)
    report = {
        "vectors": args.vectors,
        "dimension": args.dimension,
        "clusters": args.clusters,
        "noise": args.noise,
        "queries": args.queries,
        "ivf": description,
        "recall_at_10_held_out": round(recall, 4),
        "flat_build_s": round(flat_build, 2),
        "ivf_build_s": round(ivf_build, 2),
        "flat_query_ms_p50": round(statistics.median(flat_ms), 3),
        "flat_query_ms_p95": round(float(np.percentile(flat_ms, 95)), 3),
        "ivf_query_ms_p50": round(statistics.median(ivf_ms), 3),
        "ivf_query_ms_p95": round(float(np.percentile(ivf_ms, 95)), 3),
        "speed_up_p50": round(statistics.median(flat_ms) / statistics.median(ivf_ms), 1),
        "recall_by_nprobe": curve,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ann.json").write_text(json.dumps(report, indent=2))
    lines = [
        f"{args.vectors:,} synthetic clustered unit vectors, dimension {args.dimension}; "
        f"{args.queries:,} held-out queries, k = 10, one query at a time",
        "",
        "| index | build s | query p50 ms | query p95 ms | recall@10 vs flat |",
        "| --- | --- | --- | --- | --- |",
        f"| flat (IndexFlatIP) | {report['flat_build_s']} | {report['flat_query_ms_p50']} "
        f"| {report['flat_query_ms_p95']} | 1.0 |",
        f"| {description['faiss']}, nprobe {description['nprobe']} (calibrated) | {report['ivf_build_s']} "
        f"| {report['ivf_query_ms_p50']} | {report['ivf_query_ms_p95']} | {report['recall_at_10_held_out']} |",
        "",
        f"Speed-up (p50): **{report['speed_up_p50']}×**. Recall@10 by nprobe: "
        + ", ".join(f"{n}: {r}" for n, r in curve.items()),
    ]
    (out / "ann.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
