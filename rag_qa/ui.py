"""The Gradio chat app: streamed answers with linked [n] markers, the cited passages beside them, status,
settings, and uploads that become answerable without a restart.

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
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .config import NO_MODEL, env_index
from .errors import RagQAError
from .records import Answer, Citation

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no version check or analytics at launch

log = logging.getLogger(__name__)

EXAMPLES = [
    "من قاد الجانب الأمريكي في الاجتماع؟",
    "who led the US side?",
    "ماذا قال نتنياهو عن رفح؟",
    "When will the second meeting be held?",
]
UPLOAD_TYPES = (".txt", ".md", ".html", ".htm", ".json", ".jsonl", ".zip")
MAX_UPLOAD_MB = 25
FOLLOW_UP_WORDS = 6  # a question this short, after another one, is read with the previous question as context
STREAM_STEPS = 12
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")
_ESCAPED_MARKER = re.compile(r"\\\[(\d+)\\\]")
_UNSAFE_NAME = re.compile(r"[^\w.\-]+")
EMPTY_SOURCES = '<p class="rag-meta">Ask a question to see the cited passages.</p>'

CSS = """
.rag-passage { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 12px; margin: 8px 0;
  line-height: 1.8; unicode-bidi: plaintext; }
.rag-passage, .rag-answer, .message { font-family: 'Noto Naskh Arabic', 'Noto Sans Arabic', 'DejaVu Sans', sans-serif; }
.rag-text { white-space: pre-wrap; }
.rag-passage mark { background: #fde68a; color: #111; padding: 0 2px; border-radius: 3px; }
.rag-passage.rag-flash { outline: 3px solid #f59e0b; }
.rag-meta { font-size: 0.85em; opacity: 0.85; margin-bottom: 4px; }
.rag-banner { background: #fff4e5; color: #7a4a00; border: 1px solid #f0b35a; border-radius: 8px; padding: 10px 12px; }
"""
# [n] markers in the chat are links to #source-n; this scrolls the sources panel to the passage.
HEAD = """
<script>
document.addEventListener('click', (event) => {
  const link = event.target.closest && event.target.closest('a[href^="#source-"]');
  if (!link) return;
  const target = document.getElementById(link.getAttribute('href').slice(1));
  if (!target) return;
  event.preventDefault();
  target.scrollIntoView({behavior: 'smooth', block: 'center'});
  target.classList.add('rag-flash');
  setTimeout(() => target.classList.remove('rag-flash'), 1600);
}, true);
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
            f"**{info['documents']:,}** articles · **{info['chunks']:,}** passages · model "
            f"`{info['model'] or 'none'}` · mode **{info['mode']}**"
        )

    def banner_html(self) -> str:
        qa = self._loaded()
        if qa is None or "hybrid" in qa.modes:
            return ""
        reason = qa.manifest.fallback_reason or "The index was built without an embedding model."
        return (
            '<div class="rag-banner" dir="auto"><b>Lexical-only mode (BM25 keyword search).</b> '
            f"{html.escape(reason)} Arabic questions over Arabic articles work; English questions over Arabic "
            "articles need the multilingual model. To fix: make <code>intfloat/multilingual-e5-small</code> "
            "available (run once with internet, or set <code>RAG_QA_MODEL</code> to a local model folder) and run "
            "<code>rag-qa build --full</code>.</div>"
        )

    def add_files(self, paths: Sequence[str | Path], show_progress: bool = False) -> str:
        """Copy uploads into the uploads folder and update the index incrementally; returns a report."""
        from .pipeline import build_index

        accepted, refused = [], []
        for path in map(Path, paths):
            name = safe_upload_name(path.name)
            if path.suffix.lower() not in UPLOAD_TYPES:
                refused.append(f"{path.name}: not one of {', '.join(UPLOAD_TYPES)}")
            elif path.stat().st_size > MAX_UPLOAD_MB * 2**20:
                refused.append(f"{path.name}: larger than {MAX_UPLOAD_MB} MB")
            else:
                accepted.append((path, name))
        if not accepted:
            return "Nothing added. " + "; ".join(refused)
        with self._build_lock:
            self.uploads_dir.mkdir(parents=True, exist_ok=True)
            for path, name in accepted:
                shutil.copyfile(path, self.uploads_dir / name)
            qa = self.qa()
            manifest = qa.manifest if qa is not None else None
            sources = list(dict.fromkeys([*(manifest.sources if manifest else []), str(self.uploads_dir)]))
            model = NO_MODEL
            if manifest is not None and manifest.fallback_reason:
                model = manifest.model_requested  # retry the default; it falls back again if still missing
            elif manifest is not None and manifest.model_name:
                model = manifest.model_name
            summary = build_index(sources, self.index_dir, model=model, show_progress=show_progress)
            self.qa()
        report = (
            f"Added {summary.added} and updated {summary.updated} articles from {len(accepted)} file(s); "
            f"the index now holds {summary.documents:,} articles."
        )
        problems = [*refused, *summary.problems]
        return report + (" Skipped: " + "; ".join(problems) if problems else "")


def safe_upload_name(name: str) -> str:
    """A file name that stays inside the uploads folder: no path parts, no leading dots, safe characters."""
    base = Path(name.replace("\\", "/")).name
    cleaned = _UNSAFE_NAME.sub("_", base).lstrip("._") or "upload"
    return cleaned[:120]


def escape_markdown(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def answer_markdown(answer: Answer) -> str:
    """The answer as chat Markdown: text escaped, each [n] a link to its passage in the sources panel."""
    return _ESCAPED_MARKER.sub(r"[\\[\1\\]](#source-\1)", escape_markdown(answer.text))


def sources_html(citations: Sequence[Citation]) -> str:
    """The cited passages as escaped HTML, the sentences quoted in the answer highlighted."""
    if not citations:
        return '<p class="rag-meta">No passages cited.</p>'
    parts = []
    for c in citations:
        body, position = "", 0
        for start, end in c.highlights:
            body += f"{html.escape(c.text[position:start])}<mark>{html.escape(c.text[start:end])}</mark>"
            position = end
        body += html.escape(c.text[position:])
        parts.append(
            f'<div class="rag-passage" id="source-{c.n}" dir="auto">'
            f'<div class="rag-meta" dir="auto"><b>[{c.n}] {html.escape(c.title)}</b><br>'
            f'<span dir="ltr">{html.escape(c.source)} · chars {c.start}–{c.end} · score {c.score:.3f}</span></div>'
            f'<div class="rag-text" dir="auto">{body}</div></div>'
        )
    return "\n".join(parts)


def previous_question(history: Sequence[dict[str, Any]], question: str) -> str | None:
    """The earlier user question to read a short follow-up with ("and the Israeli side?")."""
    if len(question.split()) > FOLLOW_UP_WORDS:
        return None
    for message in reversed(history):
        if message.get("role") == "user" and (text := _message_text(message.get("content"))):
            return _unescape_markdown(text)
    return None


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
    service: ChatService, question: str, history: list[dict[str, Any]] | None, k: int = 5, mode: str = "auto"
) -> Iterator[tuple[Any, ...]]:
    """One chat turn, streamed: yields (textbox, history, sources HTML)."""
    history = list(history or [])
    context = previous_question(history, question or "")
    history.append({"role": "user", "content": escape_markdown(question or "")})
    try:
        answer = service.ask(question, k=int(k), mode=None if mode == "auto" else mode, context=context)
    except (RagQAError, ValueError) as exc:
        history.append({"role": "assistant", "content": f"⚠️ {escape_markdown(str(exc))}"})
        yield "", history, EMPTY_SOURCES
        return
    full = answer_markdown(answer)
    footer = f"\n\n*mode: {answer.mode}" + (" · read as a follow-up*" if context else "*")
    words = full.split(" ")
    step = max(1, len(words) // STREAM_STEPS)
    history.append({"role": "assistant", "content": ""})
    sources = sources_html(answer.citations)
    for end in range(step, len(words) + step, step):
        history[-1] = {"role": "assistant", "content": " ".join(words[:end])}
        yield "", history, sources
        time.sleep(0.02)
    history[-1] = {"role": "assistant", "content": full + footer}
    yield "", history, sources


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

    service = ChatService(index_dir or env_index(), uploads_dir, rerank)
    track_progress = gr.Progress(track_tqdm=True)  # Gradio finds it among the handler's defaults
    with gr.Blocks(title="rag_qa — cited answers from news articles", analytics_enabled=False) as demo:
        gr.Markdown("## rag_qa — ask the news articles\nAnswers quote the articles; every **[n]** opens its source.")
        banner = gr.HTML(service.banner_html(), elem_id="banner")
        status = gr.Markdown(service.status_markdown(), elem_id="status")
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Chat", height=460, elem_id="chat", sanitize_html=True)
                question = gr.Textbox(
                    label="Question", placeholder="اكتب سؤالك… / Type your question…", elem_id="question", rtl=False
                )
                with gr.Row():
                    ask_button = gr.Button("Ask", variant="primary", elem_id="ask")
                    clear = gr.ClearButton([question, chatbot], value="Clear", elem_id="clear")
                gr.Examples(EXAMPLES, inputs=question, label="Examples")
                with gr.Accordion("Settings", open=False):
                    k = gr.Slider(1, 20, value=5, step=1, label="Passages to cite (k)", elem_id="k")
                    mode = gr.Radio(["auto", *service.modes()], value="auto", label="Retrieval mode", elem_id="mode")
                with gr.Accordion("Add articles", open=False):
                    files = gr.File(
                        label=f"Upload {' '.join(UPLOAD_TYPES)} (up to {MAX_UPLOAD_MB} MB each)",
                        file_count="multiple",
                        file_types=list(UPLOAD_TYPES),
                        elem_id="upload",
                    )
                    add_button = gr.Button("Add to the index", elem_id="add")
                    add_report = gr.Markdown(elem_id="add-report")
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources = gr.HTML(EMPTY_SOURCES, elem_id="sources")

        def on_ask(q: str, history: list[dict[str, Any]], k_value: float, mode_value: str) -> Iterator[Any]:
            for update in respond(service, q, history, int(k_value), mode_value):
                yield *update, gr.skip(), gr.skip()
            yield gr.skip(), gr.skip(), gr.skip(), service.status_markdown(), service.banner_html()

        def on_add(paths: list[str] | None, progress: Any = track_progress) -> tuple[Any, ...]:
            if not paths:
                return "Choose one or more files first.", gr.skip(), None
            try:
                report = service.add_files(paths, show_progress=True)
            except RagQAError as exc:
                report = f"Nothing added: {exc}"
            return escape_markdown(report), service.status_markdown(), None

        outputs = [question, chatbot, sources, status, banner]
        inputs = [question, chatbot, k, mode]
        ask_button.click(on_ask, inputs, outputs, api_visibility="private")
        question.submit(on_ask, inputs, outputs, api_visibility="private")
        clear.click(lambda: EMPTY_SOURCES, None, sources, api_visibility="private")
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
