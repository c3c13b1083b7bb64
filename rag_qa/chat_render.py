"""The chat's HTML and Markdown: answers with [n] links into their own turn's sources, and the cited
passages, escaped (article text is data, never markup) with the quoted sentences highlighted."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

from .display import copies_line
from .records import Answer, Citation
from .scope import publisher_name

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")
_ESCAPED_MARKER = re.compile(r"\\\[(\d+)\\\]")
EMPTY_SOURCES = '<p class="rag-meta">Ask a question to see the cited passages.</p>'
NO_CITATIONS = '<p class="rag-meta">No passages cited.</p>'


CSS = """
.rag-passage { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 12px; margin: 8px 0;
  line-height: 1.8; unicode-bidi: plaintext; }
.rag-passage, .rag-answer, .message { font-family: 'Noto Naskh Arabic', 'Noto Sans Arabic', 'DejaVu Sans', sans-serif; }
.rag-text { white-space: pre-wrap; }
.rag-passage mark { background: #fde68a; color: #111; padding: 0 2px; border-radius: 3px; }
.rag-passage.rag-flash { outline: 3px solid #f59e0b; }
.rag-meta { font-size: 0.85em; opacity: 0.85; margin-bottom: 4px; }
.rag-banner { background: #fff4e5; color: #7a4a00; border: 1px solid #f0b35a; border-radius: 8px; padding: 6px 10px;
  font-size: 0.9em; }
.rag-banner summary { cursor: pointer; }
.rag-turn { margin-bottom: 6px; }
.rag-copies { font-size: 0.85em; opacity: 0.85; }
.rag-about { font-size: 0.85em; margin-top: 6px; padding: 2px 10px; border: 1px solid var(--border-color-primary);
  border-radius: 6px; background: var(--button-secondary-background-fill); cursor: pointer; }
.rag-turn > summary { cursor: pointer; font-weight: 600; padding: 4px 0; }
#question textarea { unicode-bidi: plaintext; text-align: start; }
#chat .message p { unicode-bidi: plaintext; text-align: start; }
"""
# [n] markers in the chat are links to #source-<turn>-<n>: this opens that answer's sources, scrolls to the
# passage and flashes it. The question box gets dir="auto" (Gradio offers only a fixed rtl flag).
HEAD = """
<script>
document.addEventListener('click', (event) => {
  const link = event.target.closest && event.target.closest('a[href^="#source-"]');
  if (!link) return;
  const target = document.getElementById(link.getAttribute('href').slice(1));
  if (!target) return;
  event.preventDefault();
  const turn = target.closest('details');
  if (turn) turn.open = true;
  target.scrollIntoView({behavior: 'smooth', block: 'center'});
  target.classList.add('rag-flash');
  setTimeout(() => target.classList.remove('rag-flash'), 1600);
}, true);
document.addEventListener('click', (event) => {
  const about = event.target.closest && event.target.closest('button.rag-about');
  if (!about) return;
  const box = document.querySelector('#about-doc textarea, #about-doc input');
  if (!box) return;
  box.value = about.dataset.doc;
  box.dispatchEvent(new Event('input', {bubbles: true}));
  setTimeout(() => {
    document.querySelector('#about-apply').click();
    document.querySelector('#question').scrollIntoView({behavior: 'smooth', block: 'center'});
  }, 50);
}, true);
const ragQuestionDirection = () => document.querySelectorAll('#question textarea').forEach((box) => {
  if (box.getAttribute('dir') !== 'auto') box.setAttribute('dir', 'auto');
});
new MutationObserver(ragQuestionDirection).observe(document.documentElement, {childList: true, subtree: true});
</script>
"""


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
        publisher = publisher_name(c.publisher)
        details = [
            *([f'<span dir="auto">{html.escape(publisher)}</span>'] if publisher else []),
            *([html.escape(c.date)] if c.date else []), _source_html(c.source), f"chars {c.start}–{c.end}",
        ]  # fmt: skip
        also = f'<div class="rag-copies" dir="auto">{html.escape(copies_line(c))}</div>' if c.copies else ""
        about = (
            f'<button class="rag-about" type="button" data-doc="{html.escape(c.doc_id, quote=True)}">'
            "Ask about this article</button>"
        )
        parts.append(
            f'<div class="rag-passage" id="source-{turn}-{c.n}" dir="auto">'
            f'<div class="rag-meta" dir="auto"><b>[{c.n}] {html.escape(c.title)}</b><br>'
            f'<span dir="ltr">{" · ".join(details)} · score {c.score:.3f}</span>{also}</div>'
            f'<div class="rag-text" dir="auto">{body}</div>{about}</div>'
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


def scope_markdown(title: str | None, doc: str, papers: Sequence[str] | None, first_day: str, last_day: str) -> str:
    """The scope shown above the question box ("" when there is none): the article asked about (its
    ``title``), the newspapers and the dates."""
    parts = [f"«{escape_markdown(title or doc)}»"] if doc else []
    parts += [escape_markdown(publisher_name(p) or p) for p in papers or ()]
    if (first_day or "").strip() or (last_day or "").strip():
        parts.append(escape_markdown(f"{(first_day or '').strip() or '…'} – {(last_day or '').strip() or '…'}"))
    return f"**Asking within:** {' · '.join(parts)}" if parts else ""
