"""Each path of issue #17, side by side in one run: where the index lives (the directory, Milvus Lite)
and where it is encoded (this process, Ray Data actors on a local Ray).

    python -m benchmarks.stores [--articles 500] [--paths directory,milvus,ray-directory,ray-milvus]

For each path, with the bundled multilingual-e5-small (the offline default):

- a **full build** of the XQuAD-ar dev paragraphs plus the first ``--articles`` SaudiNewsNet articles
  (wall time, encoding included: the model is the same on every path);
- the **XQuAD dev figures** on that index (Arabic questions, and English questions over the Arabic
  paragraphs) through ``RagQA.ask``: recall@5, answer_in_citations@5, answer_hit, "not found";
- **ask latency** p50 / p95 over those questions (the question's encoding included).

Writes stores.json and stores.md to --out (default benchmarks/results).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.bench import load_articles

ROOT = Path(__file__).resolve().parent.parent
XQUAD = ROOT.parent / "shared" / "data" / "xquad"
PATHS = ("directory", "milvus", "ray-directory", "ray-milvus")
METRICS = ("recall@5", "answer_in_citations@5", "answer_hit", "abstained", "latency_ms_p50", "latency_ms_p95")


def measure(path: str, sources: list[Path], work: Path) -> dict[str, Any]:
    from rag_qa import RagQA, build_index
    from rag_qa.evaluation import gold_paragraphs, questions_of, score_answers

    location = str(work / (f"{path}.milvus.db" if path.endswith("milvus") else path))
    started = time.perf_counter()
    summary = build_index(sources, location, full=True, ray="local" if path.startswith("ray") else None)
    row: dict[str, Any] = {
        "path": path,
        "documents": summary.documents,
        "chunks": summary.chunks,
        "model": summary.model,
        "build_s": round(time.perf_counter() - started, 1),
    }
    qa = RagQA.load(location)
    corpus = XQUAD / "xquad.ar.dev.json"
    gold = gold_paragraphs(corpus)
    for language, questions in (("ar", corpus), ("en", XQUAD / "xquad.en.dev.json")):
        report = score_answers(qa, questions_of(questions, gold, corpus), 10, None)
        row |= {f"{language} {m}": report[m] for m in METRICS}
    print(json.dumps(row, ensure_ascii=False), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=500)
    parser.add_argument("--paths", default=",".join(PATHS))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory(prefix="rag_qa_stores_") as folder:
        work = Path(folder)
        news = work / "saudinewsnet.json"
        news.write_text(json.dumps(load_articles(args.articles), ensure_ascii=False), encoding="utf-8")
        sources = [XQUAD / "xquad.ar.dev.json", news]
        rows = [measure(path, sources, work) for path in args.paths.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "stores.json").write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    columns = ["path", "build_s", "chunks", *(f"{lang} {m}" for lang in ("ar", "en") for m in METRICS)]
    lines = [
        f"XQuAD-ar dev paragraphs + {args.articles} SaudiNewsNet articles, bundled e5 (`python -m benchmarks.stores`)",
        "",
        "| " + " | ".join(columns) + " |",
        "|" + " --- |" * len(columns),
        *("| " + " | ".join(str(r[c]) for c in columns) + " |" for r in rows),
    ]
    (args.out / "stores.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
