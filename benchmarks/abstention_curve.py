"""Abstention trade-off: share of answerable vs unanswerable questions answered "not found" as the
lexical-evidence threshold (RetrievalSettings.min_lexical_evidence) varies.

    python -m benchmarks.abstention_curve [--corpus ../shared/data/xquad/xquad.ar.dev.json]
        [--unanswerable tests/data/unanswerable.json]

Prints a Markdown table. Lexical evidence only: a dense model's similarity threshold is not covered.
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np

from rag_qa import RagQA, build_index
from rag_qa.answering import lexical_evidence
from rag_qa.evaluation import gold_paragraphs, questions_of, read_unanswerable
from rag_qa.passages import answer_pool, distinct_passages


def best_coverage(qa: RagQA, question: str) -> float:
    """The highest IDF-weighted question-term coverage among the passages an answer would draw on."""
    found = qa.retriever.for_answer(qa.retriever.query(question, "lexical"), "lexical", 10)
    passages = distinct_passages(found.candidates, found.passages, 10)
    return max((lexical_evidence(found.query, passages[i]) for i in answer_pool(passages)), default=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="../shared/data/xquad/xquad.ar.dev.json")
    parser.add_argument("--unanswerable", default="tests/data/unanswerable.json")
    args = parser.parse_args()
    answerable = [q.question for q in questions_of(args.corpus, gold_paragraphs(args.corpus))]
    negatives = read_unanswerable(args.unanswerable)
    with tempfile.TemporaryDirectory() as index:
        build_index([args.corpus], index, model="none", full=True)
        qa = RagQA.load(index)
        positive = np.array([best_coverage(qa, q) for q in answerable])
        negative = np.array([best_coverage(qa, q) for q in negatives])
    print(f"| threshold | answerable abstain (n={len(positive)}) | unanswerable abstain (n={len(negative)}) |")
    print("| --- | --- | --- |")
    for threshold in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
        print(f"| {threshold:.1f} | {(positive < threshold).mean():.3f} | {(negative < threshold).mean():.3f} |")


if __name__ == "__main__":
    main()
