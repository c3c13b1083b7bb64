"""``rag-qa eval``: retrieval and answer quality on SQuAD-format data (XQuAD, ARCD, MLQA).

The corpus paragraphs (plus optional distractor articles) are indexed in a temporary directory; every
question is asked through the public ``RagQA.ask`` and matched to its gold paragraph by question id.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import RagQAError
from .ingest import display_name, doc_id_for, squad_paragraph_key
from .pipeline import RagQA, build_index
from .textnorm import words


@dataclass(frozen=True)
class GoldQuestion:
    qid: str
    question: str
    doc_id: str  # the gold paragraph
    answers: tuple[str, ...]


def read_squad(path: str | Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RagQAError(f"Cannot read the SQuAD file {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise RagQAError(f"{path} is not in SQuAD format (a 'data' list of articles with 'paragraphs').")
    return data


def gold_paragraphs(corpus: str | Path) -> dict[str, str]:
    """Question id → doc id of its paragraph, as the ingester names SQuAD paragraphs."""
    name = display_name(Path(corpus))
    gold = {}
    for article in read_squad(corpus)["data"]:
        title = str(article.get("title", "")).replace("_", " ")
        for j, paragraph in enumerate(article.get("paragraphs", [])):
            for qa in paragraph.get("qas", []):
                gold[str(qa["id"])] = doc_id_for(squad_paragraph_key(name, title, j))
    return gold


def questions_of(path: str | Path, gold: dict[str, str]) -> Iterator[GoldQuestion]:
    for article in read_squad(path)["data"]:
        for paragraph in article.get("paragraphs", []):
            for qa in paragraph.get("qas", []):
                qid = str(qa.get("id"))
                if qid in gold and qa.get("question"):
                    answers = tuple(a["text"] for a in qa.get("answers", []) if a.get("text"))
                    yield GoldQuestion(qid, qa["question"], gold[qid], answers)


def normalised(text: str) -> str:
    return " ".join(words(text))


def evaluate(
    corpus: str | Path,
    questions: str | Path | None = None,
    extra_sources: Iterable[str | Path] = (),
    k: int = 5,
    model: str | None = None,
    mode: str | None = None,
    limit: int | None = None,
    show_progress: bool = False,
) -> dict[str, Any]:
    gold = gold_paragraphs(corpus)
    asked = list(questions_of(questions or corpus, gold))[:limit]
    if not asked:
        raise RagQAError("No question of the questions file matches a paragraph of the corpus by id.")
    depth = max(k, 10)
    with tempfile.TemporaryDirectory(prefix="rag_qa_eval_") as index_dir:
        summary = build_index([corpus, *extra_sources], index_dir, model=model, full=True, show_progress=show_progress)
        qa = RagQA.load(index_dir)
        hits = {1: 0, 5: 0, 10: 0}
        reciprocal_ranks, in_citations, answer_hits, abstained, latencies = [], 0, 0, 0, []
        modes = set()
        for item in _progress(asked, show_progress):
            started = time.perf_counter()
            answer = qa.ask(item.question, k=depth, mode=mode)
            latencies.append((time.perf_counter() - started) * 1000)
            modes.add(answer.mode)
            ranked = [c.doc_id for c in answer.citations]
            rank = ranked.index(item.doc_id) + 1 if item.doc_id in ranked else None
            for cutoff in hits:
                hits[cutoff] += rank is not None and rank <= cutoff
            reciprocal_ranks.append(1.0 / rank if rank else 0.0)
            gold_answers = [normalised(a) for a in item.answers if normalised(a)]
            top = normalised(" ".join(c.text for c in answer.citations[:5]))
            in_citations += any(a in top for a in gold_answers)
            answer_hits += answer.found and any(a in normalised(answer.text) for a in gold_answers)
            abstained += not answer.found
    n = len(asked)
    return {
        "n": n,
        "mode": "/".join(sorted(modes)),
        "recall@1": round(hits[1] / n, 4),
        "recall@5": round(hits[5] / n, 4),
        "recall@10": round(hits[10] / n, 4),
        "mrr@10": round(float(np.mean(reciprocal_ranks)), 4),
        "answer_in_citations@5": round(in_citations / n, 4),
        "answer_hit": round(answer_hits / n, 4),
        "abstained": round(abstained / n, 4),
        "latency_ms_p50": round(float(np.percentile(latencies, 50)), 2),
        "latency_ms_p95": round(float(np.percentile(latencies, 95)), 2),
        "model": summary.model,
        "documents": summary.documents,
        "chunks": summary.chunks,
        "build_seconds": round(summary.seconds, 2),
        "warnings": list(summary.warnings),
    }


def _progress(items: list[GoldQuestion], show: bool) -> Iterable[GoldQuestion]:
    if not show:
        return items
    from tqdm import tqdm

    return tqdm(items, desc="asking", unit=" questions", file=sys.stderr)
