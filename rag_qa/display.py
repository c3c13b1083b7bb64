"""Wording shared by the command line and the chat app: counts in words, and short passage snippets."""

from __future__ import annotations

from .records import Citation

SNIPPET_CHARS = 200
WEAK_EVIDENCE = (
    "Weak evidence: the passages may not answer this question (they match it less closely than this "
    "index's confident level, or lack what it names). Check them before relying on this answer."
)


def plural(count: int, noun: str) -> str:
    """"1 article", "2 articles", "1,200 passages"."""
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
