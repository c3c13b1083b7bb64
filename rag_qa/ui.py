"""The Gradio chat app: streamed answers with linked [n] markers, the cited passages of every answer beside
them, status, settings, and uploads that become answerable without a restart.

Handlers are plain functions of a ``ChatService`` (testable without a browser). Article text is data,
never markup: passages are HTML-escaped before they reach ``gr.HTML`` and Markdown-escaped before the
Chatbot.
"""

from __future__ import annotations

import html
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .config import DEFAULT_INDEX
from .conversation import context_for
from .display import WEAK_EVIDENCE, plural
from .errors import RagQAError
from .ingest import SUPPORTED_SUFFIXES, iter_articles
from .records import Answer, Article, Citation, Problem

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no version check or analytics at launch

log = logging.getLogger(__name__)

EXAMPLES = [
    "من قاد الجانب الأمريكي في الاجتماع؟",
    "who led the US side?",
    "ماذا قال نتنياهو عن رفح؟",
    "When will the second meeting be held?",
]
UPLOAD_TYPES = SUPPORTED_SUFFIXES
MAX_UPLOAD_MB = 25
STREAM_STEPS = 12
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")
_ESCAPED_MARKER = re.compile(r"\\\[(\d+)\\\]")
_UNSAFE_NAME = re.compile(r"[^\w.\-]+")
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
const ragQuestionDirection = () => document.querySelectorAll('#question textarea').forEach((box) => {
  if (box.getAttribute('dir') !== 'auto') box.setAttribute('dir', 'auto');
});
new MutationObserver(ragQuestionDirection).observe(document.documentElement, {childList: true, subtree: true});
</script>
"""


class ChatService:
    """Holds the loaded index; answers, and picks up a rebuilt index without a restart."""

    def __init__(self, index_dir: str | Path, uploads_dir: str | Path | None = None, rerank: str | None = None) -> None:
        self.index_dir = Path(index_dir)
        self.rerank = rerank
        self.uploads_dir = Path(uploads_dir or os.environ.get("RAG_QA_UPLOADS") or "seeds/uploads")
        self._qa: Any = None
        self.load_error: str | None = None
        self._build_lock = threading.Lock()
        self._open()

    def _open(self) -> None:
        from .pipeline import RagQA

        try:
            self._qa = RagQA.load(self.index_dir, rerank=self.rerank)
            self.load_error = None
        except RagQAError as exc:
            self._qa, self.load_error = None, str(exc)

    def qa(self) -> Any:
        if self._qa is None:
            self._open()
        else:
            try:
                self._qa.refresh()
            except RagQAError as exc:
                log.warning("keeping the loaded index: %s", exc)
        return self._qa

    def _loaded(self) -> Any:
        """The index as last loaded (no check for a newer version: ``qa()`` does that once per question)."""
        if self._qa is None:
            self._open()
        return self._qa

    def modes(self) -> tuple[str, ...]:
        qa = self._loaded()
        return qa.modes if qa is not None else ("lexical",)

    def ask(self, question: str, k: int = 5, mode: str | None = None, context: str | None = None) -> Answer:
        qa = self.qa()
        if qa is None:
            raise RagQAError(self.load_error or "No index loaded.")
        return qa.ask(question, k=k, mode=mode or None, context=context or None)

    def status_markdown(self) -> str:
        qa = self._loaded()
        if qa is None:
            return f"**No index loaded.** {self.load_error}"
        info = qa.info()
        return (
            f"**{plural(info['documents'], 'article')}** · {plural(info['chunks'], 'passage')} · model "
            f"`{info['model'] or 'none'}` · mode **{info['mode']}**"
        )

    def banner_html(self) -> str:
        qa = self._loaded()
        if qa is None or "hybrid" in qa.modes:
            return ""
        reason = (
            qa.manifest.fallback_reason
            or next(iter(qa.warnings), None)  # the index's model could not be loaded here
            or "The index was built without an embedding model (--model none)."
        )
        return (
            '<div class="rag-banner" dir="auto"><details><summary><b>Lexical-only mode</b>: keyword search; '
            "English questions over Arabic articles need the model. Why, and how to fix</summary>"
            f"{html.escape(reason)} Arabic questions over Arabic articles work. To fix: make "
            "<code>intfloat/multilingual-e5-small</code> available (run once with internet, or set "
            "<code>RAG_QA_MODEL</code> to a local model folder) and run <code>rag-qa build --full</code>."
            "</details></div>"
        )

    def add_files(self, paths: Sequence[str | Path], progress: Callable[[int, int], None] | None = None) -> str:
        """Copy uploads into the uploads folder and update the index with its own mode and model; returns
        what happened. A refused or failed upload leaves no file behind (a replaced one is restored), so
        the next build cannot index it behind the user's back. ``progress(done, total)`` counts articles."""
        from .pipeline import build_index

        accepted: list[tuple[Path, str, int]] = []
        refused: list[str] = []
        for path in map(Path, paths):
            if path.suffix.lower() not in UPLOAD_TYPES:
                refused.append(f"{path.name}: not one of {', '.join(UPLOAD_TYPES)}")
            elif path.stat().st_size > MAX_UPLOAD_MB * 2**20:
                refused.append(f"{path.name}: larger than {MAX_UPLOAD_MB} MB")
            elif (articles := _articles_in(path))[0] == 0:
                refused.append(f"{path.name}: {articles[1] or 'no article in it'}")
            else:
                accepted.append((path, safe_upload_name(path.name), articles[0]))
        if not accepted:
            return "Nothing added. " + "; ".join(refused)
        total = sum(count for *_, count in accepted)
        with self._build_lock:
            written: dict[Path, bytes | None] = {}  # each file written, and what it replaced
            try:
                self.uploads_dir.mkdir(parents=True, exist_ok=True)
                for path, name, _ in accepted:
                    target = self.uploads_dir / name
                    written[target] = target.read_bytes() if target.exists() else None
                    shutil.copyfile(path, target)
                report = (lambda done: progress(min(done, total), total)) if progress else None
                summary = build_index([self.uploads_dir], self.index_dir, keep_model=True, on_progress=report)
            except BaseException:
                for target, before in written.items():
                    if before is None:
                        target.unlink(missing_ok=True)
                    else:
                        target.write_bytes(before)
                raise
            self.qa()
        replaced = [target.name for target, before in written.items() if before is not None]
        text = (
            f"Added {plural(summary.added, 'article')} and updated {summary.updated} from "
            f"{plural(len(accepted), 'file')} ({summary.mode} mode); the index now holds "
            f"{plural(summary.documents, 'article')}."
        )
        if replaced:
            text += f" Replaced the earlier upload of {', '.join(replaced)}."
        problems = [*refused, *summary.problems]
        return text + (" Skipped: " + "; ".join(problems) if problems else "")


def _articles_in(path: Path) -> tuple[int, str | None]:
    """How many articles a file gives, and the first problem found in it (read before it is kept)."""
    count, problem = 0, None
    for item in iter_articles([path]):
        if isinstance(item, Article):
            count += 1
        elif isinstance(item, Problem) and problem is None:
            problem = item.reason
    return count, problem


def safe_upload_name(name: str) -> str:
    """A file name that stays inside the uploads folder: no path parts, no leading dots, safe characters."""
    base = Path(name.replace("\\", "/")).name
    cleaned = _UNSAFE_NAME.sub("_", base).lstrip("._") or "upload"
    return cleaned[:120]


def escape_markdown(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def answer_markdown(answer: Answer, turn: int = 1) -> str:
    """The answer as chat Markdown: text escaped, each [n] a link to passage n of this turn's sources."""
    return _ESCAPED_MARKER.sub(rf"[\\[\1\\]](#source-{turn}-\1)", escape_markdown(answer.text))


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
        f"{sources_html(answer.citations, turn)}</details>"
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


def respond(
    service: ChatService,
    question: str,
    history: list[dict[str, Any]] | None,
    k: int = 5,
    mode: str = "auto",
    turns: Sequence[str] | None = None,
    standalone: bool = False,
) -> Iterator[tuple[Any, ...]]:
    """One chat turn, streamed: yields (textbox, history, sources panel HTML, turns, merged).

    An elliptical follow-up ("والجانب الإسرائيلي؟", "and the Israeli side?") is read with the questions
    it continues (conversation.py), and the answer says so; ``standalone`` asks it afresh. ``turns``: the
    sources block of every earlier answer; ``merged``: whether this answer was read as a follow-up."""
    history, turns = list(history or []), list(turns or [])
    context = None if standalone else context_for(question or "", earlier_questions(history))
    history.append({"role": "user", "content": escape_markdown(question or "")})
    try:
        answer = service.ask(question, k=int(k), mode=None if mode == "auto" else mode, context=context)
    except (RagQAError, ValueError) as exc:
        history.append({"role": "assistant", "content": f"⚠️ {escape_markdown(str(exc))}"})
        yield "", history, sources_panel(turns), turns, False
        return
    turn = len(turns) + 1
    turns.append(turn_html(turn, question, answer))
    full = answer_markdown(answer, turn)
    if answer.confidence == "weak":
        full = f"**{escape_markdown(WEAK_EVIDENCE)}**\n\n{full}"
    merged = f" · read as a follow-up of «{escape_markdown(context)}»" if context else ""
    footer = f"\n\n*mode: {answer.mode}{merged}*"
    words = full.split(" ")
    step = max(1, len(words) // STREAM_STEPS)
    history.append({"role": "assistant", "content": ""})
    panel = sources_panel(turns)
    for end in range(step, len(words) + step, step):
        history[-1] = {"role": "assistant", "content": " ".join(words[:end])}
        yield "", history, panel, turns, bool(context)
        time.sleep(0.02)
    history[-1] = {"role": "assistant", "content": full + footer}
    yield "", history, panel, turns, bool(context)


def api_ask(service: ChatService, question: str, k: int = 5, mode: str = "", context: str = "") -> dict[str, Any]:
    """The named API endpoint: the same answer and citations as ``rag-qa ask --json``."""
    try:
        return service.ask(question, k=int(k), mode=mode or None, context=context or None).to_dict()
    except (RagQAError, ValueError) as exc:
        return {"question": question, "error": str(exc), "answer": "", "mode": "", "citations": []}


def build_demo(
    index_dir: str | Path | None = None, uploads_dir: str | Path | None = None, rerank: str | None = None
) -> Any:
    import gradio as gr

    service = ChatService(index_dir or DEFAULT_INDEX, uploads_dir, rerank)
    upload_progress = gr.Progress()  # Gradio finds it among the handler's defaults
    with gr.Blocks(title="rag_qa — cited answers from news articles", analytics_enabled=False) as demo:
        gr.Markdown("## rag_qa — ask the news articles\nAnswers quote the articles; every **[n]** opens its source.")
        banner = gr.HTML(service.banner_html(), elem_id="banner")
        status = gr.Markdown(service.status_markdown(), elem_id="status")
        turns = gr.State([])  # the sources block of every answer so far
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Chat", height=460, elem_id="chat", sanitize_html=True)
                question = gr.Textbox(
                    label="Question", placeholder="اكتب سؤالك… / Type your question…", elem_id="question"
                )
                with gr.Row():
                    ask_button = gr.Button("Ask", variant="primary", elem_id="ask")
                    afresh = gr.Button("Ask again as a new question", visible=False, elem_id="afresh")
                    clear = gr.ClearButton([question, chatbot], value="Clear", elem_id="clear")
                gr.Examples(EXAMPLES, inputs=question, label="Examples")
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources = gr.HTML(EMPTY_SOURCES, elem_id="sources")
        # below the chat and its sources, so that on a phone the sources come before these panels
        with gr.Row():
            with gr.Accordion("Settings", open=False, elem_id="settings"):
                k = gr.Slider(1, 20, value=5, step=1, label="Passages to cite (k)", elem_id="k")
                mode = gr.Radio(["auto", *service.modes()], value="auto", label="Retrieval mode", elem_id="mode")
            with gr.Accordion("Add articles", open=False, elem_id="add-articles"):
                files = gr.File(
                    label=f"Upload {' '.join(UPLOAD_TYPES)} (up to {MAX_UPLOAD_MB} MB each)",
                    file_count="multiple",
                    file_types=list(UPLOAD_TYPES),
                    elem_id="upload",
                )
                add_button = gr.Button("Add to the index", elem_id="add")
                add_report = gr.Markdown(elem_id="add-report")

        def on_ask(
            q: str, history: list[dict[str, Any]], k_value: float, mode_value: str, done: list[str],
            standalone: bool = False,
        ) -> Iterator[Any]:  # fmt: skip
            for text, chat, panel, new_turns, merged in respond(
                service, q, history, int(k_value), mode_value, done, standalone
            ):
                yield text, chat, panel, new_turns, gr.Button(visible=merged), gr.skip(), gr.skip()
            yield (gr.skip(),) * 5 + (service.status_markdown(), service.banner_html())

        def on_afresh(
            history: list[dict[str, Any]], k_value: float, mode_value: str, done: list[str]
        ) -> Iterator[Any]:
            asked = earlier_questions(history)
            if asked:
                yield from on_ask(asked[-1], history, k_value, mode_value, done, standalone=True)

        def on_add(paths: list[str] | None, progress: Any = upload_progress) -> tuple[Any, ...]:
            if not paths:
                return "Choose one or more files first.", gr.skip(), None
            progress((0, None), desc="Reading the uploads", unit="articles")
            try:
                report = service.add_files(
                    paths, lambda done, total: progress((done, total), desc="Indexing", unit="articles")
                )
            except RagQAError as exc:
                report = f"Nothing added: {exc}"
            return escape_markdown(report), service.status_markdown(), None

        outputs = [question, chatbot, sources, turns, afresh, status, banner]
        inputs = [question, chatbot, k, mode, turns]
        ask_button.click(on_ask, inputs, outputs, api_visibility="private")
        question.submit(on_ask, inputs, outputs, api_visibility="private")
        afresh.click(on_afresh, [chatbot, k, mode, turns], outputs, api_visibility="private")
        clear.click(
            lambda: (EMPTY_SOURCES, [], gr.Button(visible=False)), None, [sources, turns, afresh],
            api_visibility="private",
        )  # fmt: skip
        add_button.click(on_add, [files], [add_report, status, files], api_visibility="private")

        def ask(question: str, k: int = 5, mode: str = "", context: str = "") -> dict[str, Any]:
            """Answer a question from the indexed articles: answer text with [n] markers, mode, citations."""
            return api_ask(service, question, k, mode, context)

        gr.api(ask, api_name="ask")
    return demo


def theme() -> Any:
    """Gradio's default look with local fonts only: no request leaves the machine for Google Fonts."""
    import gradio as gr

    return gr.themes.Default(
        font=["Noto Naskh Arabic", "Noto Sans Arabic", "DejaVu Sans", "ui-sans-serif", "system-ui", "sans-serif"],
        font_mono=["DejaVu Sans Mono", "ui-monospace", "monospace"],
    )


def serve(
    index_dir: str | Path | None = None,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: str | None = None,
    rerank: str | None = None,
) -> None:
    credentials = None
    if auth:
        user, _, password = auth.partition(":")
        if not user or not password:
            raise RagQAError("--auth must look like USER:PASSWORD.")
        credentials = (user, password)
    _check_port_free(host, port)
    demo = build_demo(index_dir, rerank=rerank)
    demo.queue(default_concurrency_limit=8).launch(
        server_name=host,
        server_port=port,
        auth=credentials,
        show_error=False,
        css=CSS,
        head=HEAD,
        theme=theme(),
        max_file_size=f"{MAX_UPLOAD_MB}mb",
        allowed_paths=[],
    )


def _check_port_free(host: str, port: int) -> None:
    """One sentence instead of Gradio's traceback when the port is taken."""
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise RagQAError(
                f"Cannot serve on {host}:{port}: {exc.strerror or 'address in use'} (another app may be using it). "
                f"Choose another port: --port {port + 1}, or make run PORT={port + 1}."
            ) from None
