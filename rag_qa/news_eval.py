"""``rag-qa eval`` on news QA files: what a journalist sees when asking about a day of news.

A news QA file (the form of ``news_qa_dev.json``) names its articles in ``corpus`` ("saudinewsnet
2015-08-03.zip, first 1000 articles with non-empty content"), and lists ``answerable`` questions, each in
Arabic (``ar``) and English (``en``) with the gold article's ``url``, exact answer strings and whether the
fact sits in the article's lead (``answer_in_lead``), and ``unanswerable`` ones. The articles are indexed
(in a temporary store, or in ``index`` when given, which a second run then updates in seconds), every
question is asked through ``RagQA.ask``, and each language is scored apart: recall@3 of the gold article,
answer_hit, how the answer was labelled (confident and right, confident and wrong, weak, not found), the
same labels for the unanswerable questions, answer_hit split by ``answer_in_lead``, and latency.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
import zipfile
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import numpy as np

from .config import Settings
from .errors import RagQAError
from .pipeline import RagQA, build_index
from .records import Answer
from .storage.store import temporary_store
from .textnorm import words

LANGUAGES = ("ar", "en")
_ARCHIVE = re.compile(r"[\w.-]+\.(?:zip|jsonl?|json)\b")
_FIRST = re.compile(r"\bfirst (\d+)\b")


@dataclass(frozen=True)
class NewsQuestion:
    qid: str
    question: str
    language: str
    url: str | None  # the gold article (None: unanswerable)
    answers: tuple[str, ...] = ()
    in_lead: bool | None = None


@dataclass(frozen=True)
class Asked:
    item: NewsQuestion
    answer: Answer
    milliseconds: float


def is_news_qa(path: str | Path) -> bool:
    """Whether ``path`` is a news QA file (an object with ``corpus`` and ``answerable``), not SQuAD."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(data, dict) and isinstance(data.get("answerable"), list) and "data" not in data


def read_news_qa(path: str | Path) -> tuple[dict[str, Any], list[NewsQuestion]]:
    """The file's fields and its questions, one per language."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RagQAError(f"Cannot read the news QA file {path}: {exc}") from None
    questions = []
    for kind in ("answerable", "unanswerable"):
        for item in data.get(kind) or []:
            if not isinstance(item, dict):
                raise RagQAError(f"{path}: every entry of '{kind}' must be an object.")
            for language in LANGUAGES:
                text = item.get(language)
                if isinstance(text, str) and text.strip():
                    url = str(item["url"]) if kind == "answerable" and item.get("url") else None
                    answers = tuple(a for a in item.get("answers") or () if isinstance(a, str) and a.strip())
                    in_lead = item.get("answer_in_lead") if kind == "answerable" else None
                    questions.append(NewsQuestion(str(item.get("id")), text, language, url, answers, in_lead))
    if not any(q.url for q in questions):
        raise RagQAError(f"{path} holds no answerable question with a 'url'.")
    return data, questions


def corpus_articles(path: str | Path, description: str) -> list[dict[str, Any]]:
    """The article records the file's ``corpus`` names: an archive (looked up beside the file, in its
    folder's siblings, e.g. ``../saudinewsnet/``) and "first N" of its articles with text."""
    found = _ARCHIVE.search(description or "")
    if not found:
        raise RagQAError(f"{path}: 'corpus' names no article file ({description!r}).")
    here = Path(path).resolve().parent
    places = [here, *here.parent.iterdir()] if here.parent.is_dir() else [here]
    archive = next((p / found.group(0) for p in places if (p / found.group(0)).is_file()), None)
    if archive is None:
        raise RagQAError(f"{path}: cannot find {found.group(0)} beside it or in a folder next to its own.")
    records = [r for r in _records(archive) if isinstance(r, dict) and str(r.get("content") or "").strip()]
    first = _FIRST.search(description)
    return records[: int(first.group(1))] if first else records


def _records(archive: Path) -> list[Any]:
    def parse(name: str, text: str) -> list[Any]:
        if name.endswith(".jsonl"):
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        data = json.loads(text)
        return data if isinstance(data, list) else [data]

    if archive.suffix != ".zip":
        return parse(archive.name, archive.read_text(encoding="utf-8"))
    with zipfile.ZipFile(archive) as z:
        names = sorted(n for n in z.namelist() if n.endswith((".json", ".jsonl")))
        return [r for n in names for r in parse(n, z.read(n).decode("utf-8"))]


def same_article(url: str, source: str) -> bool:
    return _url_key(url) == _url_key(source)


def _url_key(url: str) -> str:
    return unquote(url).strip().rstrip("/").casefold()


def normalised(text: str) -> str:
    return " ".join(words(text))


def holds_answer(answer: Answer, answers: Sequence[str]) -> bool:
    text = normalised(answer.text)
    return answer.found and any(normalised(a) and normalised(a) in text for a in answers)


def label(answer: Answer) -> str:
    """How the user saw the answer: "not_found", "weak" or "confident"."""
    if not answer.found:
        return "not_found"
    return "weak" if answer.confidence == "weak" else "confident"


def evaluate_news(
    path: str | Path,
    extra_sources: Iterable[str | Path] = (),
    k: int = 5,
    model: str | None = None,
    mode: str | None = None,
    limit: int | None = None,
    out: str | Path | None = None,
    settings: Settings | None = None,
    store: str | None = None,
    index: str | Path | None = None,
) -> dict[str, Any]:
    """Index the articles the file names (plus distractors), ask every question in both languages, score.

    ``index``: build (or update) the index there and keep it, instead of a temporary store. ``limit``:
    the first N answerable and N unanswerable questions."""
    data, questions = read_news_qa(path)
    records = corpus_articles(path, str(data.get("corpus") or ""))
    if limit:
        keep = set(list(dict.fromkeys(q.qid for q in questions if q.url))[:limit]) | set(
            list(dict.fromkeys(q.qid for q in questions if not q.url))[:limit]
        )
        questions = [q for q in questions if q.qid in keep]
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rag_qa_news_")))
        # the articles file stays beside a kept index, which remembers it as its source
        articles_folder = Path(f"{index}-articles") if index else folder / "articles"
        articles_folder.mkdir(exist_ok=True)
        articles = _articles_file(records, articles_folder, str(data.get("corpus")))
        index_dir = index if index else stack.enter_context(temporary_store(store, str(folder / "index")))
        summary = build_index([articles, *extra_sources], index_dir, model=model, settings=settings)
        qa = RagQA.load(index_dir, settings=settings)
        report, asked = score_news(qa, questions, k, mode)
    report |= {
        "model": summary.model,
        "documents": summary.documents,
        "chunks": summary.chunks,
        "build_seconds": round(summary.seconds, 2),
        "warnings": list(summary.warnings),
    }
    if out:
        write_news_report(Path(out), report, asked)
    return report


def score_news(
    qa: RagQA, questions: Sequence[NewsQuestion], k: int = 5, mode: str | None = None
) -> tuple[dict[str, Any], list[Asked]]:
    """Ask every question of ``questions`` through ``qa``; the figures per language, and what was asked."""
    asked = [_ask(qa, q, k, mode) for q in questions]
    report: dict[str, Any] = {
        "format": "news_qa",
        "n": sum(1 for q in questions if q.url),
        "unanswerable_n": sum(1 for q in questions if not q.url),
        "mode": "/".join(sorted({a.answer.mode for a in asked})),
        **{language: score_language([a for a in asked if a.item.language == language]) for language in LANGUAGES},
    }
    # the unanswerable questions' figures also by themselves, language by language
    negatives = {lang: report[lang].get("unanswerable") for lang in LANGUAGES}
    report["unanswerable"] = {lang: figures for lang, figures in negatives.items() if figures}
    return report, asked


def _articles_file(records: list[dict[str, Any]], folder: Path, corpus: str) -> Path:
    """The named articles as one JSON file, rewritten only when they differ (so a kept index is updated
    incrementally: an unchanged file is not read again)."""
    name = re.sub(r"[^\w.-]+", "-", corpus).strip("-")[:80] or "articles"
    target = folder / f"news-{name}.json"
    text = json.dumps(records, ensure_ascii=False)
    if not target.is_file() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
    return target


def _ask(qa: RagQA, item: NewsQuestion, k: int, mode: str | None) -> Asked:
    started = time.perf_counter()
    answer = qa.ask(item.question, k=k, mode=mode)
    return Asked(item, answer, (time.perf_counter() - started) * 1000)


def score_language(asked: Sequence[Asked]) -> dict[str, Any]:
    """One language's figures: answerable questions, split by ``answer_in_lead``, and unanswerable ones."""
    answerable = [a for a in asked if a.item.url]
    negatives = [a for a in asked if not a.item.url]
    report: dict[str, Any] = {"n": len(answerable)}
    if answerable:
        hits = [holds_answer(a.answer, a.item.answers) for a in answerable]
        labels = [label(a.answer) for a in answerable]
        report |= {
            "recall@3": _share(_gold_rank(a) is not None and _gold_rank(a) <= 3 for a in answerable),  # type: ignore[operator]
            "answer_hit": _share(hits),
            "confident_right": _share(h and lab == "confident" for h, lab in zip(hits, labels, strict=True)),
            "confident_wrong": _share(not h and lab == "confident" for h, lab in zip(hits, labels, strict=True)),
            "weak": _share(lab == "weak" for lab in labels),
            "not_found": _share(lab == "not_found" for lab in labels),
            "span_hit": _share(span_holds(a) for a in answerable),
        }
        for in_lead, key in ((True, "answer_hit_in_lead"), (False, "answer_hit_not_in_lead")):
            split = [h for a, h in zip(answerable, hits, strict=True) if a.item.in_lead is in_lead]
            report[key] = _share(split) if split else None
            report[f"{key}_n"] = len(split)
    if negatives:
        labels = [label(a.answer) for a in negatives]
        report["unanswerable"] = {
            "n": len(negatives),
            **{name: _share(lab == name for lab in labels) for name in ("not_found", "weak", "confident")},
        }
    latencies = [a.milliseconds for a in asked]
    if latencies:
        report["latency_ms_p50"] = round(float(np.percentile(latencies, 50)), 2)
        report["latency_ms_p95"] = round(float(np.percentile(latencies, 95)), 2)
    return report


def span_holds(asked: Asked) -> bool:
    """Whether the marked short answer is a gold answer, or holds or sits inside one."""
    span = asked.answer.span
    if span is None:
        return False
    text = normalised(span.text)
    return bool(text) and any(text in normalised(g) or normalised(g) in text for g in asked.item.answers)


def _gold_rank(asked: Asked) -> int | None:
    url = asked.item.url or ""
    seen: list[str] = []
    for citation in asked.answer.citations:
        if citation.doc_id not in seen:
            seen.append(citation.doc_id)
        if same_article(url, citation.source):
            return len(seen)
    return None


def _share(values: Iterable[bool]) -> float:
    values = list(values)
    return round(sum(values) / len(values), 4) if values else 0.0


def write_news_report(out: Path, report: dict[str, Any], asked: Sequence[Asked]) -> None:
    """``eval.md``: the figures per language, then every answerable question missed and every unanswerable
    one answered confidently, with what was quoted (the error analysis)."""
    out.mkdir(parents=True, exist_ok=True)
    lines = ["# rag_qa eval: news questions", ""]
    lines += [f"- {key}: {report.get(key)}" for key in ("n", "unanswerable_n", "mode", "model", "documents", "chunks")]
    rows = sorted({key for language in LANGUAGES for key in report[language] if key != "unanswerable"})
    lines += ["", "| metric | " + " | ".join(LANGUAGES) + " |", "| --- |" + " --- |" * len(LANGUAGES)]
    lines += [f"| {key} | " + " | ".join(str(report[lang].get(key)) for lang in LANGUAGES) + " |" for key in rows]
    for name in ("n", "not_found", "weak", "confident"):
        cells = " | ".join(str(report[lang].get("unanswerable", {}).get(name)) for lang in LANGUAGES)
        lines.append(f"| unanswerable {name} | {cells} |")
    lines += ["", "## Answerable questions whose answer misses the fact", ""]
    for a in asked:
        if a.item.url and not holds_answer(a.answer, a.item.answers):
            lines.append(
                f"- {a.item.qid}/{a.item.language} ({label(a.answer)}, gold rank {_gold_rank(a)}): "
                f"{a.item.question} — gold {' / '.join(a.item.answers)} — answered: {a.answer.text[:300]}"
            )
    lines += ["", "## Unanswerable questions answered confidently", ""]
    for a in asked:
        if not a.item.url and label(a.answer) == "confident":
            lines.append(f"- {a.item.qid}/{a.item.language}: {a.item.question} — answered: {a.answer.text[:300]}")
    (out / "eval.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "eval.json").write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
