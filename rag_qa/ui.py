"""The Gradio chat app: answers with [n] markers, the cited passages beside them, index status.

Handlers are plain functions (testable without a browser). Article text is data, never markup: every
passage is HTML-escaped before it reaches ``gr.HTML`` and Markdown-escaped before the Chatbot.
"""

from __future__ import annotations

import html
import logging
import os
import re
from pathlib import Path
from typing import Any

from .config import env_index
from .errors import RagQAError
from .records import Answer, Citation

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no network calls at launch

log = logging.getLogger(__name__)

EXAMPLES = [
    "من قاد الجانب الأمريكي في الاجتماع؟",
    "who led the US side?",
    "ماذا قال نتنياهو عن رفح؟",
    "When will the second meeting be held?",
]
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")
_CSS = """
.rag-passage { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 12px; margin: 8px 0;
  font-family: 'Noto Naskh Arabic', 'Noto Sans Arabic', 'DejaVu Sans', sans-serif; line-height: 1.7; }
.rag-passage mark { background: #fde68a; color: inherit; padding: 0 2px; }
.rag-meta { font-size: 0.85em; opacity: 0.8; }
.rag-banner { background: #fff4e5; color: #7a4a00; border: 1px solid #f0b35a; border-radius: 8px; padding: 10px 12px; }
"""


class ChatService:
    """Holds the loaded index and answers; picks up a rebuilt index without a restart."""

    def __init__(self, index_dir: str | Path) -> None:
        self.index_dir = Path(index_dir)
        self._qa: Any = None
        self.load_error: str | None = None
        self._open()

    def _open(self) -> None:
        from .pipeline import RagQA

        try:
            self._qa = RagQA.load(self.index_dir)
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

    def ask(self, question: str, k: int = 5, mode: str | None = None) -> Answer:
        qa = self.qa()
        if qa is None:
            raise RagQAError(self.load_error or "No index loaded.")
        return qa.ask(question, k=k, mode=mode or None)

    def status_markdown(self) -> str:
        qa = self.qa()
        if qa is None:
            return f"**No index loaded.** {self.load_error} Then reload this page."
        info = qa.info()
        return (
            f"**{info['documents']}** articles · **{info['chunks']}** passages · model "
            f"`{info['model'] or 'none'}` · mode **{info['mode']}**"
        )

    def banner_html(self) -> str:
        qa = self.qa()
        if qa is None or "hybrid" in qa.modes:
            return ""
        reason = qa.manifest.fallback_reason or "the index was built without an embedding model"
        return (
            '<div class="rag-banner" dir="auto"><b>Lexical-only mode (BM25 keyword search).</b> '
            f"{html.escape(reason)} Arabic questions over Arabic articles work; English questions over Arabic "
            "articles need the multilingual model. To fix: make <code>intfloat/multilingual-e5-small</code> "
            "available (run once with internet, or set <code>RAG_QA_MODEL</code> to a local model folder) and run "
            "<code>rag-qa build --full</code>.</div>"
        )


def escape_markdown(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def sources_html(citations: tuple[Citation, ...] | list[Citation]) -> str:
    """The cited passages as escaped HTML, the sentence used in the answer highlighted."""
    if not citations:
        return '<p class="rag-meta">No passages cited.</p>'
    parts = []
    for c in citations:
        text = c.text
        if c.highlight:
            a, b = c.highlight
            body = f"{html.escape(text[:a])}<mark>{html.escape(text[a:b])}</mark>{html.escape(text[b:])}"
        else:
            body = html.escape(text)
        parts.append(
            f'<div class="rag-passage" id="source-{c.n}">'
            f'<div class="rag-meta" dir="auto"><b>[{c.n}] {html.escape(c.title)}</b> — {html.escape(c.source)} '
            f"· chars {c.start}–{c.end} · score {c.score:.3f}</div>"
            f'<div dir="auto">{body}</div></div>'
        )
    return "\n".join(parts)


def respond(service: ChatService, question: str, history: list[dict[str, Any]] | None) -> tuple[Any, ...]:
    """One chat turn: (cleared textbox, updated history, sources HTML)."""
    history = list(history or [])
    try:
        answer = service.ask(question)
    except (RagQAError, ValueError) as exc:
        history += [
            {"role": "user", "content": escape_markdown(question or "")},
            {"role": "assistant", "content": f"⚠️ {escape_markdown(str(exc))}"},
        ]
        return "", history, ""
    history += [
        {"role": "user", "content": escape_markdown(answer.question)},
        {"role": "assistant", "content": escape_markdown(answer.text) + f"\n\n*mode: {answer.mode}*"},
    ]
    return "", history, sources_html(answer.citations)


def api_ask(service: ChatService, question: str, k: int = 5, mode: str = "") -> dict[str, Any]:
    """The named API endpoint: the same answer and citations as ``rag-qa ask --json``."""
    try:
        return service.ask(question, k=int(k), mode=mode or None).to_dict()
    except (RagQAError, ValueError) as exc:
        return {"question": question, "error": str(exc), "answer": "", "mode": "", "citations": []}


def build_demo(index_dir: str | Path | None = None) -> Any:
    import gradio as gr

    service = ChatService(index_dir or env_index())
    with gr.Blocks(title="rag_qa — cited answers from news articles", analytics_enabled=False) as demo:
        gr.Markdown("## rag_qa — ask the news articles\nAnswers quote the articles and cite them as [n].")
        banner = gr.HTML(service.banner_html())
        status = gr.Markdown(service.status_markdown())
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Chat", height=420, rtl=False, sanitize_html=True)
                question = gr.Textbox(label="Question", placeholder="من قاد الجانب الأمريكي في الاجتماع؟", rtl=False)
                with gr.Row():
                    ask_button = gr.Button("Ask", variant="primary")
                    clear = gr.ClearButton([question, chatbot], value="Clear")
                gr.Examples(EXAMPLES, inputs=question)
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources = gr.HTML('<p class="rag-meta">Ask a question to see the cited passages.</p>')
        clear.click(lambda: '<p class="rag-meta">Ask a question to see the cited passages.</p>', None, sources)

        def on_ask(q: str, history: list[dict[str, Any]]) -> tuple[Any, ...]:
            return (*respond(service, q, history), service.status_markdown(), service.banner_html())

        outputs = [question, chatbot, sources, status, banner]
        ask_button.click(on_ask, [question, chatbot], outputs, api_visibility="private")
        question.submit(on_ask, [question, chatbot], outputs, api_visibility="private")

        def ask(question: str, k: int = 5, mode: str = "") -> dict[str, Any]:
            """Answer a question from the indexed articles; returns the answer, mode and citations."""
            return api_ask(service, question, k, mode)

        gr.api(ask, api_name="ask")
    return demo


def serve(
    index_dir: str | Path | None = None, host: str = "127.0.0.1", port: int = 7860, auth: str | None = None
) -> None:
    demo = build_demo(index_dir)
    credentials = None
    if auth:
        user, _, password = auth.partition(":")
        if not user or not password:
            raise RagQAError("--auth must look like USER:PASSWORD.")
        credentials = (user, password)
    demo.queue(default_concurrency_limit=8).launch(
        server_name=host, server_port=port, auth=credentials, show_error=False, css=_CSS
    )
