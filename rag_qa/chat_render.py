"""The chat's HTML and Markdown: answers with [n] links into their own turn's sources, and the cited
passages, escaped (article text is data, never markup) with the quoted sentences highlighted."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

from .records import Answer, Citation

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")
_ESCAPED_MARKER = re.compile(r"\\\[(\d+)\\\]")
EMPTY_SOURCES = '<p class="rag-meta">Ask a question to see the cited passages.</p>'
NO_CITATIONS = '<p class="rag-meta">No passages cited.</p>'


def escape_markdown(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def answer_markdown(answer: Answer, turn: int = 1) -> str:
    """The answer as chat Markdown: text escaped, each [n] a link to passage n of this turn's sources."""
    return _ESCAPED_MARKER.sub(rf"[\\[\1\\]](#source-{turn}-\1)", answer.marked("**", "**", escape_markdown))


def sources_html(citations: Sequence[Citation], turn: int = 1) -> str:
    """One answer's cited passages as escaped HTML, the sentences quoted in the answer highlighted."""
    if not citations:
        return NO_CITATIONS
    parts = []
    for c in citations:
        body, position = "", 0
        for start, end in c.highlights:
            body += f"{html.escape(c.text[position:start])}<mark>{html.escape(c.text[start:end])}</mark>"
            position = end
        body += html.escape(c.text[position:])
        details = [_source_html(c.source), f"chars {c.start}–{c.end}", *([html.escape(c.date)] if c.date else [])]
        parts.append(
            f'<div class="rag-passage" id="source-{turn}-{c.n}" dir="auto">'
            f'<div class="rag-meta" dir="auto"><b>[{c.n}] {html.escape(c.title)}</b><br>'
            f'<span dir="ltr">{" · ".join(details)} · score {c.score:.3f}</span></div>'
            f'<div class="rag-text" dir="auto">{body}</div></div>'
        )
    return "\n".join(parts)


def _source_html(source: str) -> str:
    """A file name as text; a web address as a link that opens the original article."""
    shown = html.escape(source)
    if source.startswith(("https://", "http://")):
        return f'<a href="{html.escape(source, quote=True)}" target="_blank" rel="noopener noreferrer">{shown}</a>'
    return shown


def turn_html(turn: int, question: str, answer: Answer) -> str:
    """The sources block of one chat turn; the panel keeps one per answer so old [n] links stay true."""
    label = f"Answer {turn}: {html.escape(question)}"
    return (
        f'<details class="rag-turn" id="turn-{turn}" open><summary dir="auto">{label}</summary>'
        f"{sources_html(answer.citations or answer.mentioned, turn)}</details>"
    )


def sources_panel(turns: Sequence[str]) -> str:
    """Every answer's sources, the latest first and open, the earlier ones folded (a [n] link opens them)."""
    if not turns:
        return EMPTY_SOURCES
    latest, *earlier = reversed(turns)
    return "\n".join([latest, *(block.replace(" open>", ">", 1) for block in earlier)])


def earlier_questions(history: Sequence[dict[str, Any]]) -> list[str]:
    """The user's questions so far, oldest first, as typed."""
    found = []
    for message in history:
        if message.get("role") == "user" and (text := _message_text(message.get("content"))):
            found.append(_unescape_markdown(text))
    return found


def _message_text(content: Any) -> str:
    """Text of a chat message: a string, or (as Gradio 6 sends it back) a list of typed parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or "")
    if isinstance(content, list):
        return " ".join(_message_text(part) for part in content).strip()
    return ""


def _unescape_markdown(text: str) -> str:
    return html.unescape(re.sub(r"\\(.)", r"\1", text))
