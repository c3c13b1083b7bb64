"""News scope, time and copies, measured on a built index of SaudiNewsNet days.

    python -m benchmarks.news_scope --index /tmp/slice_e5 [--questions benchmarks/data/news_dated.json]
        [--out docs/eval/news-dated] [--latency-only]

1. Dated questions (benchmarks/data/news_dated.json: Arabic and English questions that name a day,
   "yesterday", "today", "this week" or "latest", over 2015-07-21…27): with the time reading and without
   it (``read_time=False``), the share of answers whose quoted passage [1] lies in the asked period, whose
   citations all do, that cite the gold article, and whose text holds the gold answer.
2. Copies: over the same questions, how many citations of an answer are copies of another citation of
   the same answer, with copies grouped (the default) and without (``group_copies=False``).
3. Latency: ``ask`` p50 unfiltered and under a newspaper, a week, and a 1 % article filter, side by side.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from rag_qa import RagQA
from rag_qa.config import DEFAULTS
from rag_qa.textnorm import normalise

HERE = Path(__file__).resolve().parent


def in_period(date: str | None, period: dict[str, str]) -> bool:
    return bool(date) and period["since"] <= str(date) <= period["until"]


def dated_figures(qa: RagQA, questions: list[dict[str, Any]], language: str, read_time: bool) -> dict[str, float]:
    first = every = gold = hit = copies = cited = 0
    by_kind: dict[str, list[int]] = {}
    for q in questions:
        answer = qa.ask(q[language], read_time=read_time)
        dates = [c.date for c in answer.citations]
        in_first = bool(dates) and in_period(dates[0], q["period"])
        by_kind.setdefault(q["time"], []).append(in_first)
        first += in_first
        every += bool(dates) and all(in_period(d, q["period"]) for d in dates)
        gold += any(c.source == q["url"] for c in answer.citations)
        hit += any(normalise(a) in normalise(answer.text) for a in q["answers"])
        cited += len(answer.citations)
        copies += copies_among(qa, answer.citations)
    n = len(questions)
    return {"first_citation_in_period": round(first / n, 3), "all_citations_in_period": round(every / n, 3),
            "gold_article_cited": round(gold / n, 3), "answer_hit": round(hit / n, 3), "citations": cited,
            "citations_that_copy_another": copies,
            "first_citation_in_period_by_kind": {k: f"{sum(v)}/{len(v)}" for k, v in sorted(by_kind.items())},
            }  # fmt: skip


def copies_figures(index: str, questions: list[str]) -> dict[str, Any]:
    """Over ``questions``: citations that are copies of another citation of the same answer, and answers with
    any, with copies grouped (the default) and without."""
    out = {}
    for name, group in (("copies grouped", True), ("copies not grouped", False)):
        settings = replace(DEFAULTS, retrieval=replace(DEFAULTS.retrieval, group_copies=group))
        qa = RagQA.load(index, settings=settings)
        counts = [(copies_among(qa, a.citations), len(a.citations)) for a in (qa.ask(q) for q in questions)]
        out[name] = {"citations": sum(n for _, n in counts), "citations_that_copy_another": sum(c for c, _ in counts),
                     "answers_citing_a_copy_twice": sum(c > 0 for c, _ in counts)}  # fmt: skip
    return out


def copies_among(qa: RagQA, citations: Any) -> int:
    """Citations whose article is a copy of an earlier citation's article (another doc of its group)."""
    group_of = qa.retriever.reader.catalog.group_of
    seen: dict[int, str] = {}
    count = 0
    for c in citations:
        group = group_of.get(c.doc_id)
        if group is None:
            continue
        if group in seen and seen[group] != c.doc_id:
            count += 1
        seen.setdefault(group, c.doc_id)
    return count


def latency(qa: RagQA, questions: list[str], scopes: dict[str, dict[str, Any]], rounds: int = 3) -> dict[str, Any]:
    """p50 of ``ask`` per scope, asked in turns (each question under every scope before the next), ms."""
    times: dict[str, list[float]] = {name: [] for name in scopes}
    for question in questions[:2]:  # warm-up
        for scope in scopes.values():
            qa.ask(question, read_time=False, **scope)
    for _ in range(rounds):
        for question in questions:
            for name, scope in scopes.items():
                started = time.perf_counter()
                qa.ask(question, read_time=False, **scope)
                times[name].append((time.perf_counter() - started) * 1000)
    p50 = {name: round(statistics.median(t), 1) for name, t in times.items()}
    return {"p50_ms": p50, "ratio_to_unfiltered": {n: round(v / p50["unfiltered"], 2) for n, v in p50.items()}}


def faiss_selector_cost(vectors: int, dimension: int = 384, repeats: int = 30) -> dict[str, float]:
    """The dense search alone at archive size: a segment of ``vectors`` random unit vectors (no model can
    encode 200,000 passages here in a session), searched as rag_qa searches a scope, p50 ms."""
    from rag_qa.storage.segments import Segment

    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((vectors, dimension)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    import faiss

    index = faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
    ids = np.arange(1, vectors + 1, dtype=np.int64)
    index.add_with_ids(matrix, ids)
    segment = Segment.__new__(Segment)
    segment.__dict__.update(dense=index, _skip_deleted=(None,))
    queries = rng.standard_normal((repeats, dimension)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    scopes = {"unfiltered": None, "one newspaper (1/7)": ids[::7], "one week (2/5)": ids[: vectors * 2 // 5],
              f"1 % ({vectors // 100:,} chunks)": ids[::100]}  # fmt: skip
    out = {}
    for name, allowed in scopes.items():
        took = []
        for query in queries:
            started = time.perf_counter()
            segment.dense_search(query, 50, allowed)
            took.append((time.perf_counter() - started) * 1000)
        out[name] = round(statistics.median(took), 2)
    return out


def scopes_of(qa: RagQA) -> dict[str, dict[str, Any]]:
    catalog = qa.retriever.reader.catalog
    publishers = list(catalog.publishers())
    last = catalog.last_date
    week_start = str(np.datetime64(last) - np.timedelta64(6, "D"))
    hundredth = [e.doc_id for e in catalog.entries[::100]]  # 1 % of the articles
    return {
        "unfiltered": {},
        "one newspaper": {"publishers": [publishers[0]]},
        "one week": {"since": week_start, "until": last},
        "1 % of the articles": {"articles": hundredth},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", required=True)
    parser.add_argument("--questions", type=Path, default=HERE / "data" / "news_dated.json")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--latency-only", action="store_true", help="only the latency (any news index)")
    parser.add_argument("--faiss-vectors", type=int, default=0, help="also time FAISS alone over this many vectors")
    parser.add_argument(
        "--copies-questions",
        type=Path,
        default=None,
        help="a news QA file (news_qa_dev.json's form) over this index: count cited copies",
    )
    args = parser.parse_args()
    qa = RagQA.load(args.index)
    data = json.loads(args.questions.read_text(encoding="utf-8"))
    questions = data["questions"]
    report: dict[str, Any] = {"index": args.index, "articles": qa.manifest.documents, "mode": qa.modes[0],
                              "copy_groups": qa.info()["copy_groups"]}  # fmt: skip
    if args.copies_questions:
        news = json.loads(args.copies_questions.read_text(encoding="utf-8"))
        asked = [q[language] for q in news["answerable"] for language in ("ar", "en")]
        report["copies"] = copies_figures(args.index, asked)
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    if not args.latency_only:
        ungrouped = RagQA.load(
            args.index, settings=replace(DEFAULTS, retrieval=replace(DEFAULTS.retrieval, group_copies=False))
        )
        for language in ("ar", "en"):
            report[language] = {
                "with time reading": dated_figures(qa, questions, language, True),
                "without (read_time=False)": dated_figures(qa, questions, language, False),
                "copies not grouped": dated_figures(ungrouped, questions, language, True),
            }
        report["n"] = len(questions)
    asked = [q["ar"] for q in questions[:20]]
    report["latency"] = latency(qa, asked, scopes_of(qa))
    if args.faiss_vectors:
        report["faiss_alone_p50_ms"] = faiss_selector_cost(args.faiss_vectors)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
