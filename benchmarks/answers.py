"""Answer quality on every set at once, on kept indexes: news QA (per language), XQuAD-ar dev with its
Arabic and English questions, ARCD train; bundled e5 unless the indexes were built otherwise.

    python -m benchmarks.answers [--work /tmp/rag_qa_train] [--out docs/eval/news-dev-e5]

The indexes are those of benchmarks/train_sentence_choice.py (built in --work the first time). To measure
an older commit side by side, run this file from a checkout of it (with rag_qa/news_eval.py copied in).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from rag_qa.evaluation import gold_paragraphs, questions_of, score_answers
from rag_qa.news_eval import read_news_qa, score_news, write_news_report

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
KEPT = ("recall@5", "answer_hit", "abstained", "weak", "latency_ms_p50")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "rag_qa_train")
    parser.add_argument("--out", type=Path, default=None, help="also write the news eval.md here")
    args = parser.parse_args()
    from benchmarks.train_sentence_choice import index, news_articles

    qa_file = DATA / "news_qa" / "news_qa_dev.json"
    figures = {}
    news = index(args.work, "news", [news_articles(args.work, qa_file)])
    report, asked = score_news(news, read_news_qa(qa_file)[1])
    if args.out:
        write_news_report(args.out, report, asked)
    for language in ("ar", "en"):
        figures[f"news-{language}"] = report[language]
    xquad_ar = DATA / "xquad" / "xquad.ar.dev.json"
    xquad = index(args.work, "xquad", [xquad_ar])
    for name, questions in (("xquad-ar", xquad_ar), ("xquad-en", DATA / "xquad" / "xquad.en.dev.json")):
        scored = score_answers(xquad, questions_of(questions, gold_paragraphs(xquad_ar), xquad_ar), 10, None)
        figures[name] = {key: scored[key] for key in KEPT}
    arcd_file = DATA / "arcd" / "arcd-train.json"
    arcd = index(args.work, "arcd", [arcd_file])
    scored = score_answers(arcd, questions_of(arcd_file, gold_paragraphs(arcd_file), arcd_file), 10, None)
    figures["arcd"] = {key: scored[key] for key in KEPT}
    print(json.dumps(figures, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
