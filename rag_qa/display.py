"""Wording shared by the command line and the chat app: counts in words, and short passage snippets."""

from __future__ import annotations

from typing import Any

from .config import DEFAULTS
from .records import Answer, BuildSummary, Citation
from .scope import Scope, publisher_name
from .storage.catalog import Catalog

SNIPPET_CHARS = 200
LEXICAL_ONLY_WARNING = "Lexical-only index:"  # how RagQA.load's warning for a lexical-only index begins
WEAK_EVIDENCE = (
    "Weak evidence: the quoted sentence may not hold what the question asks (it is not sure enough to be "
    "called confident, or the passages match the question less closely than this index's confident level, or "
    "lack what it names). Check them before relying on this answer."
)


def plural(count: int, noun: str) -> str:
    """ "1 article", "2 articles", "1,200 passages"."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def snippet(citation: Citation, limit: int = SNIPPET_CHARS, answer: str = "") -> str:
    """The sentences the answer quotes from a passage (else its opening), in the order ``answer`` quotes
    them, cut to about ``limit`` characters."""
    spans = sorted(citation.highlights, key=lambda span: _position(answer, citation.text[span[0] : span[1]]))
    spans = spans or [(0, len(citation.text))]
    text = " … ".join(" ".join(citation.text[start:end].split()) for start, end in spans)
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit].rstrip(" …") + " …"


def _position(answer: str, sentence: str) -> int:
    found = answer.find(sentence)
    return found if found >= 0 else len(answer)


def citation_details(c: Citation) -> str:
    """ "عكاظ · 2015-07-25 · archive.zip:… · chars 0-420 · score 0.031 · article 8b0f…" (the id --article takes)"""
    shown = [
        publisher_name(c.publisher) or "",
        c.date or "",
        c.source,
        f"chars {c.start}-{c.end}",
        f"score {c.score:.3f}",
        f"article {c.doc_id}",
    ]
    return " · ".join(part for part in shown if part)


def copies_line(c: Citation) -> str:
    """ "also in: عكاظ، المدينة (2 copies)" — the other newspapers that carry the same story."""
    names = dict.fromkeys(publisher_name(copy.get("publisher")) or str(copy.get("title")) for copy in c.copies)
    return f"also in: {'، '.join(names)} ({plural(len(c.copies), 'copy').replace('copys', 'copies')})"


def scope_lines(answer: Answer, catalog: Catalog | None = None) -> list[str]:
    """What the answer was asked within: the filters, and how a time phrase was read (with the way back)."""
    lines = []
    if answer.scope:
        lines.append(f"Within: {Scope.of(**answer.scope).describe(catalog)}")
    if answer.time_reading:
        lines.append(f"Dates: {answer.time_reading['read_as']} (the newest article is dated "
                     f"{answer.time_reading['newest_article']}); --all-dates searches every date.")  # fmt: skip
    return lines


def build_report(summary: BuildSummary) -> str:
    """What a build did, in two lines (``rag-qa build`` and ``remove``)."""
    if summary.lexical_only_reason:
        mode = "LEXICAL-ONLY: the default model is unavailable"
    elif summary.mode == "lexical":
        mode = "lexical-only, as asked"
    else:
        mode = f"{summary.mode}, model {summary.model}" + (f" in {summary.precision}" if summary.precision else "")
    rate = f" ({summary.passages_per_s:,.1f} passages/s)" if summary.passages_per_s else ""
    kept = f", {summary.kept:,} kept from sources not read" if summary.kept else ""
    return (
        f"{plural(summary.documents, 'article')}, {plural(summary.chunks, 'passage')} in {summary.index} ({mode}): "
        f"{summary.added:,} added, {summary.updated:,} updated, {summary.removed:,} removed, "
        f"{summary.skipped:,} unchanged{kept}, {plural(summary.errors, 'error')}, {summary.seconds:.1f} s{rate}\n"
        f"Sources: {', '.join(summary.sources) or 'none'}"
    )


def info_lines(details: dict[str, Any]) -> list[tuple[str, str]]:
    """``rag-qa info`` as labelled, readable lines (the JSON keeps the raw values)."""
    built = details["built_at"].replace("T", " ")[:16]
    lines = [
        ("Index", f"{details['index']} (version {details['version']}, built {built} in {details['build_seconds']} s)"),
        ("Articles", f"{details['documents']:,} in {plural(details['chunks'], 'passage')}"),
    ]
    for i, source in enumerate(details["sources"] or [{"path": "none", "articles": 0, "exists": True}]):
        gone = "" if source["exists"] else " (missing on disk: kept; `rag-qa remove` drops it)"
        lines.append(("Sources" if i == 0 else "", f"{source['path']}: {plural(source['articles'], 'article')}{gone}"))
    if details["lexical_only_reason"]:
        model = f"none: LEXICAL-ONLY, the default model is unavailable ({details['lexical_only_reason']})"
    else:
        model = details["model"] or "none: lexical-only, as asked"
    lines += [("Model", model), ("Modes", ", ".join(details["modes"]))]
    chunking = details["chunking"]
    unit = "model tokens" if chunking.get("unit") == "tokens" else "characters"
    lines.append(("Chunking", f"{chunking.get('size'):,} {unit}, overlap {chunking.get('overlap'):,}"))
    thresholds = details["abstention"]
    if thresholds:
        lines.append((
            "Not found",
            f"below dense evidence {thresholds['min_evidence']} and lexical evidence "
            f"{thresholds['min_lexical_evidence']} (calibrated on {thresholds.get('background_questions')} "
            "background questions)",
        ))  # fmt: skip
        scripts = thresholds.get("by_script") or {}
        if all("confident_evidence" in scripts.get(s, {}) for s in ("arabic", "other")) and scripts:
            level_text = (f"{scripts['arabic']['confident_evidence']} for Arabic questions, "
                          f"{scripts['other']['confident_evidence']} for others")  # fmt: skip
        else:
            level_text = str(thresholds.get("confident_evidence", thresholds["min_evidence"]))
        lines.append(("Confident", f"from dense evidence {level_text} (below it an answer is labelled weak)"))
    else:
        lines.append(("Not found", f"below lexical evidence {DEFAULTS.answering.min_lexical_evidence} (fixed rule)"))
    level = details.get("confidence")
    if level and not thresholds:
        lines.append((
            "Confident",
            f"from lexical evidence {level['lexical_evidence']} (below it an answer is labelled weak; "
            f"{level['background_confident']:.0%} of {level['background_questions']} background questions reach it)",
        ))  # fmt: skip
    dates = details.get("dates") or {}
    if dates.get("first"):
        lines.append(
            ("Dates", f"{dates['first']} to {dates['last']} ({plural(details.get('undated', 0), 'article')} undated)")
        )
    publishers = details.get("publishers") or {}
    if publishers:
        named = [f"{publisher_name(p)} ({n:,})" if publisher_name(p) == p else f"{publisher_name(p)} · {p} ({n:,})"
                 for p, n in publishers.items()]  # fmt: skip
        lines.append(("Publishers", ", ".join(named)))
    if details.get("copy_groups"):
        groups = details["copy_groups"]
        lines.append(("Copies", f"{plural(groups['groups'], 'group')} of wire copies, {groups['articles']:,} articles"))
    deleted, size = details["deleted_chunks"], details["size_bytes"]
    if details.get("store") == "milvus":
        lines.append(("Store", f"Milvus at {details['store_location']}"))
        storage = f"{size / 2**20:.1f} MB (Milvus Lite file)" if size is not None else "on the Milvus server"
    else:
        storage = f"{size / 2**20:.1f} MB in {plural(details['segments'], 'segment')}"
        if deleted:
            storage += f" ({plural(deleted, 'deleted passage')} until the next merge)"
    lines.append(("Size", storage))
    lines += [("Warning", w) for w in details["warnings"] if not w.startswith(LEXICAL_ONLY_WARNING)]  # (see Model)
    return lines
