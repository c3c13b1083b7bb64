"""``rag-qa eval``: retrieval and answer quality on SQuAD-format data (XQuAD, ARCD, MLQA).

The corpus paragraphs (plus optional distractor articles) are indexed in a temporary directory; every
question is asked through the public ``RagQA.ask`` and matched to its gold paragraph by question id.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .answering import SCRIPTS, question_script
from .config import Settings
from .errors import RagQAError
from .formats import doc_id_for, squad_paragraph_key
from .ingest import display_name
from .news_eval import evaluate_news, is_news_qa
from .pipeline import RagQA, build_index
from .storage.store import temporary_store
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


def questions_of(path: str | Path, gold: dict[str, str], corpus: str | Path | None = None) -> Iterator[GoldQuestion]:
    """The questions of ``path`` that have a gold paragraph. With ``corpus``, the gold answers are the
    corpus's own for the same id: English XQuAD questions over the Arabic paragraphs are answered by the
    Arabic answer strings, the only ones that can appear in an Arabic passage."""
    own_answers = _answers_by_id(corpus) if corpus is not None and Path(corpus) != Path(path) else {}
    for qid, question, answers in _squad_questions(path):
        if qid in gold and question:
            yield GoldQuestion(qid, question, gold[qid], own_answers.get(qid) or answers)


def _squad_questions(path: str | Path) -> Iterator[tuple[str, str, tuple[str, ...]]]:
    for article in read_squad(path)["data"]:
        for paragraph in article.get("paragraphs", []):
            for qa in paragraph.get("qas", []):
                answers = tuple(a["text"] for a in qa.get("answers", []) if a.get("text"))
                yield str(qa.get("id")), qa.get("question") or "", answers


def _answers_by_id(path: str | Path) -> dict[str, tuple[str, ...]]:
    return {qid: answers for qid, _, answers in _squad_questions(path) if answers}


def normalised(text: str) -> str:
    return " ".join(words(text))


def read_unanswerable(path: str | Path) -> list[str]:
    """Questions the corpus cannot answer: a JSON list of strings, or an object with a "questions" list."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RagQAError(f"Cannot read the unanswerable questions {path}: {exc}") from None
    questions = data.get("questions") if isinstance(data, dict) else data
    if not isinstance(questions, list) or not all(isinstance(q, str) for q in questions):
        raise RagQAError(f"{path} must hold a list of question strings (or {{'questions': [...]}}).")
    return questions


def evaluate(
    corpus: str | Path,
    questions: str | Path | None = None,
    extra_sources: Iterable[str | Path] = (),
    k: int = 5,
    model: str | None = None,
    mode: str | None = None,
    limit: int | None = None,
    show_progress: bool = False,
    unanswerable: str | Path | Sequence[str | Path] | None = None,
    out: str | Path | None = None,
    rerank: str | None = None,
    settings: Settings | None = None,
    store: str | None = None,
    ray: str | None = None,
    keep_index: str | None = None,
) -> dict[str, Any]:
    """Index the corpus (plus distractors) in a temporary folder and measure every question.

    A news QA file as ``corpus`` is scored by news_eval.evaluate_news (``keep_index``: build its index
    there and keep it).

    ``store``: build in a temporary store of that kind instead (``milvus://…`` or a Milvus Lite ``….db``:
    storage/store.py); ``ray``: encode on Ray (ray_encoding.py).

    With ``unanswerable``, also the share of those questions answered "not found". With ``out``,
    also write ``eval.md`` and ``recall_at_k.png`` (recall@k, k = 1..20, for every available mode).
    """
    if is_news_qa(corpus):
        return evaluate_news(corpus, extra_sources, k, model, mode, limit, out, settings, store, keep_index)
    gold = gold_paragraphs(corpus)
    asked = list(questions_of(questions or corpus, gold, corpus))[:limit]
    if not asked:
        raise RagQAError("No question of the questions file matches a paragraph of the corpus by id.")
    files = [unanswerable] if isinstance(unanswerable, str | Path) else list(unanswerable or ())
    negatives = [question for path in files for question in read_unanswerable(path)]
    with tempfile.TemporaryDirectory(prefix="rag_qa_eval_") as folder, temporary_store(store, folder) as index_dir:
        sources = [corpus, *extra_sources]
        summary = build_index(
            sources, index_dir, model=model, full=True, show_progress=show_progress, settings=settings, ray=ray
        )
        qa = RagQA.load(index_dir, rerank=rerank, settings=settings)
        report = score_answers(qa, _progress(asked, show_progress), max(k, 10), mode)
        if negatives:
            report["unanswerable_n"] = len(negatives)
            replies = [qa.ask(q) for q in negatives]
            report["unanswerable_abstained"] = round(sum(not a.found for a in replies) / len(negatives), 4)
            # answered anyway, but labelled weak evidence: what a reader is warned about
            report["unanswerable_weak"] = round(sum(a.confidence == "weak" for a in replies) / len(negatives), 4)
            for script in SCRIPTS:  # Arabic questions, and the others (English over Arabic articles)
                mine = [a for q, a in zip(negatives, replies, strict=True) if question_script(q) == script]
                report[f"unanswerable_{script}_n"] = len(mine)
                if mine:
                    report[f"unanswerable_{script}_abstained"] = round(sum(not a.found for a in mine) / len(mine), 4)
                    weak = sum(a.confidence == "weak" for a in mine)
                    report[f"unanswerable_{script}_weak"] = round(weak / len(mine), 4)
        curves = {m: recall_curve(qa, asked, m) for m in qa.modes} if out else {}
    report |= {
        "model": summary.model,
        "reranker": rerank,
        "documents": summary.documents,
        "chunks": summary.chunks,
        "build_seconds": round(summary.seconds, 2),
        "warnings": list(summary.warnings),
    }
    if out:
        write_report(Path(out), report, curves)
    return report


def score_answers(qa: RagQA, asked: Iterable[GoldQuestion], depth: int, mode: str | None) -> dict[str, Any]:
    """The contract's metrics, from the answers ``RagQA.ask`` gives (citations in the order users see)."""
    hits = {1: 0, 5: 0, 10: 0}
    reciprocal_ranks: list[float] = []
    latencies: list[float] = []
    in_citations = answer_hits = abstained = weak = 0
    modes = set()
    for item in asked:
        started = time.perf_counter()
        answer = qa.ask(item.question, k=depth, mode=mode)
        latencies.append((time.perf_counter() - started) * 1000)
        modes.add(answer.mode)
        rank = _rank([c.doc_id for c in answer.citations], item.doc_id)
        for cutoff in hits:
            hits[cutoff] += rank is not None and rank <= cutoff
        reciprocal_ranks.append(1.0 / rank if rank else 0.0)
        gold_answers = [normalised(a) for a in item.answers if normalised(a)]
        top = normalised(" ".join(c.text for c in answer.citations[:5]))
        in_citations += any(a in top for a in gold_answers)
        answer_hits += answer.found and any(a in normalised(answer.text) for a in gold_answers)
        abstained += not answer.found
        weak += answer.confidence == "weak"
    n = len(latencies)
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
        "weak": round(weak / n, 4),  # answered, labelled weak evidence
        "latency_ms_p50": round(float(np.percentile(latencies, 50)), 2),
        "latency_ms_p95": round(float(np.percentile(latencies, 95)), 2),
    }


def recall_curve(qa: RagQA, asked: list[GoldQuestion], mode: str, max_k: int = 20) -> list[float]:
    """Retrieval alone (``search``, no abstention): recall of the gold paragraph at k = 1..max_k."""
    ranks = [_rank([h.doc_id for h in qa.search(item.question, k=max_k, mode=mode)], item.doc_id) for item in asked]
    return [round(sum(r is not None and r <= cutoff for r in ranks) / len(ranks), 4) for cutoff in range(1, max_k + 1)]


def _rank(ranked: list[str], doc_id: str) -> int | None:
    return ranked.index(doc_id) + 1 if doc_id in ranked else None


def write_report(out: Path, report: dict[str, Any], curves: dict[str, list[float]]) -> None:
    """``eval.md`` (metrics and recall@k table) and ``recall_at_k.png`` in ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    metrics = {key: value for key, value in report.items() if key != "warnings"}
    lines = ["# rag_qa eval", "", "| metric | value |", "| --- | --- |"]
    lines += [f"| {key} | {value} |" for key, value in metrics.items()]
    if curves:
        cutoffs = range(1, len(next(iter(curves.values()))) + 1)
        lines += ["", "## Retrieval recall@k", "", "| mode | " + " | ".join(f"@{c}" for c in cutoffs) + " |"]
        lines += ["| --- |" + " --- |" * len(cutoffs)]
        lines += [f"| {mode} | " + " | ".join(f"{v:.3f}" for v in values) + " |" for mode, values in curves.items()]
        figure, axes = plt.subplots(figsize=(7, 4.2))
        for mode, values in curves.items():
            axes.plot(list(cutoffs), values, marker="o", markersize=3, label=mode)
        axes.set_xlabel("k (passages)")
        axes.set_ylabel("recall of the gold paragraph")
        axes.set_title(f"recall@k, n = {report['n']}, model {report.get('model') or 'none (lexical)'}")
        axes.set_xticks(list(cutoffs))
        axes.set_ylim(0, 1.02)
        axes.grid(alpha=0.3)
        axes.legend()
        figure.tight_layout()
        figure.savefig(out / "recall_at_k.png", dpi=120)
        plt.close(figure)
    (out / "eval.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _progress(items: list[GoldQuestion], show: bool) -> Iterable[GoldQuestion]:
    if not show:
        return items
    from tqdm import tqdm

    return tqdm(items, desc="asking", unit=" questions", file=sys.stderr)
