"""The Gradio chat app: streamed answers with linked [n] markers, the cited passages of every answer beside
them, status, settings, and uploads that become answerable without a restart.

Handlers are plain functions of a ``ChatService`` (testable without a browser). Article text is data,
never markup: passages are HTML-escaped before they reach ``gr.HTML`` and Markdown-escaped before the
Chatbot.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .chat_render import (
    CSS,
    EMPTY_SOURCES,
    HEAD,
    answer_markdown,
    earlier_questions,
    escape_markdown,
    scope_markdown,
    sources_panel,
    turn_html,
)
from .chat_service import MAX_UPLOAD_MB, UPLOAD_TYPES, ChatService
from .config import DEFAULT_INDEX, Settings
from .conversation import context_for
from .display import WEAK_EVIDENCE
from .errors import RagQAError

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no version check or analytics at launch

log = logging.getLogger(__name__)

EXAMPLES = [
    "من قاد الجانب الأمريكي في الاجتماع؟",
    "who led the US side?",
    "ماذا قال نتنياهو عن رفح؟",
    "When will the second meeting be held?",
]
STREAM_STEPS = 12


def respond(
    service: ChatService,
    question: str,
    history: list[dict[str, Any]] | None,
    k: int = 5,
    mode: str = "auto",
    turns: Sequence[str] | None = None,
    standalone: bool = False,
    scope: dict[str, Any] | None = None,
) -> Iterator[tuple[Any, ...]]:
    """One chat turn, streamed: yields (textbox, history, sources panel HTML, turns, merged, dated).

    An elliptical follow-up ("والجانب الإسرائيلي؟", "and the Israeli side?") is read with the questions
    it continues (conversation.py), and the answer says so; ``standalone`` asks it afresh. ``turns``: the
    sources block of every earlier answer; ``merged``: whether this answer was read as a follow-up; ``scope``:
    RagQA.ask's filters; ``dated``: whether a time phrase of the question narrowed the dates."""
    history, turns = list(history or []), list(turns or [])
    context = None if standalone else context_for(question or "", earlier_questions(history))
    history.append({"role": "user", "content": escape_markdown(question or "")})
    try:
        answer = service.ask(
            question, k=int(k), mode=None if mode == "auto" else mode, context=context, **(scope or {})
        )
    except (RagQAError, ValueError) as exc:
        history.append({"role": "assistant", "content": f"⚠️ {escape_markdown(str(exc))}"})
        yield "", history, sources_panel(turns), turns, False, False
        return
    turn = len(turns) + 1
    turns.append(turn_html(turn, question, answer))
    full = answer_markdown(answer, turn)
    if answer.confidence == "weak":
        full = f"**{escape_markdown(WEAK_EVIDENCE)}**\n\n{full}"
    merged = f" · read as a follow-up of «{escape_markdown(context)}»" if context else ""
    dates = f" · dates {escape_markdown(answer.time_reading['read_as'])}" if answer.time_reading else ""
    footer = f"\n\n*mode: {answer.mode}{merged}{dates}*"
    dated = bool(answer.time_reading and not answer.time_reading.get("latest"))
    words = full.split(" ")
    step = max(1, len(words) // STREAM_STEPS)
    history.append({"role": "assistant", "content": ""})
    panel = sources_panel(turns)
    for end in range(step, len(words) + step, step):
        history[-1] = {"role": "assistant", "content": " ".join(words[:end])}
        yield "", history, panel, turns, bool(context), dated
        time.sleep(0.02)
    history[-1] = {"role": "assistant", "content": full + footer}
    yield "", history, panel, turns, bool(context), dated


def api_ask(
    service: ChatService, question: str, k: int = 5, mode: str = "", context: str = "", **scope: Any
) -> dict[str, Any]:
    """The named API endpoint: the same answer and citations as ``rag-qa ask --json``; ``scope``: RagQA.ask's
    publishers, since, until, articles, sources and read_time (empty values: no filter)."""
    try:
        filters = {key: value for key, value in scope.items() if value not in (None, "", [])}
        return service.ask(question, k=int(k), mode=mode or None, context=context or None, **filters).to_dict()
    except (RagQAError, ValueError) as exc:
        return {"question": question, "error": str(exc), "answer": "", "mode": "", "citations": []}


def scope_arguments(doc: str, papers: Sequence[str] | None, first_day: str, last_day: str, read_time: bool = True
                    ) -> dict[str, Any]:  # fmt: skip
    """RagQA.ask's scope from the chat's controls (empty ones: no filter)."""
    return {
        "publishers": list(papers or []) or None,
        "since": (first_day or "").strip() or None,
        "until": (last_day or "").strip() or None,
        "articles": [doc] if doc else None,
        "read_time": read_time,
    }


def build_demo(
    index_dir: str | Path | None = None,
    uploads_dir: str | Path | None = None,
    rerank: str | None = None,
    settings: Settings | None = None,
) -> Any:
    import gradio as gr

    service = ChatService(index_dir or DEFAULT_INDEX, uploads_dir, rerank, settings)
    upload_progress = gr.Progress()  # Gradio finds it among the handler's defaults
    with gr.Blocks(title="rag_qa — cited answers from news articles", analytics_enabled=False) as demo:
        gr.Markdown("## rag_qa — ask the news articles\nAnswers quote the articles; every **[n]** opens its source.")
        banner = gr.HTML(service.banner_html(), elem_id="banner")
        status = gr.Markdown(service.status_markdown(), elem_id="status")
        turns = gr.State([])  # the sources block of every answer so far
        with gr.Row():
            with gr.Column(scale=3):
                # no label and no top toolbar (share, copy all): on a phone they covered the first question
                chatbot = gr.Chatbot(
                    label="Chat", show_label=False, buttons=["copy"], height=460, elem_id="chat", sanitize_html=True
                )
                with gr.Row(equal_height=True):
                    scope_shown = gr.Markdown(elem_id="scope-shown")
                    scope_clear = gr.Button("Clear scope", visible=False, size="sm", elem_id="scope-clear", scale=0)
                question = gr.Textbox(
                    label="Question", placeholder="اكتب سؤالك… / Type your question…", elem_id="question"
                )
                with gr.Row():
                    ask_button = gr.Button("Ask", variant="primary", elem_id="ask")
                    afresh = gr.Button("Ask again as a new question", visible=False, elem_id="afresh")
                    all_dates = gr.Button("Search all dates", visible=False, elem_id="all-dates")
                    clear = gr.ClearButton([question, chatbot], value="Clear", elem_id="clear")
                with gr.Accordion("Scope: newspapers and dates", open=False, elem_id="scope"):
                    first, last = service.dates()
                    publishers = gr.Dropdown(
                        service.publisher_choices(), value=[], multiselect=True, label="Newspapers (all when empty)",
                        elem_id="publishers",
                    )  # fmt: skip
                    with gr.Row():
                        since = gr.Textbox(label="From", placeholder=first or "YYYY-MM-DD", elem_id="since")
                        until = gr.Textbox(label="To", placeholder=last or "YYYY-MM-DD", elem_id="until")
                article = gr.State("")  # "Ask about this article": its doc id, until the scope is cleared
                about_doc = gr.Textbox(visible="hidden", elem_id="about-doc")
                about_apply = gr.Button("Ask about the article", visible="hidden", elem_id="about-apply")
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
            q: str, history: list[dict[str, Any]], k_value: float, mode_value: str, done: list[str], doc: str,
            papers: list[str], first_day: str, last_day: str, standalone: bool = False, read_time: bool = True,
        ) -> Iterator[Any]:  # fmt: skip
            scope = scope_arguments(doc, papers, first_day, last_day, read_time)
            for text, chat, panel, new_turns, merged, dated in respond(
                service, q, history, int(k_value), mode_value, done, standalone, scope
            ):
                buttons = gr.Button(visible=merged), gr.Button(visible=dated)
                yield text, chat, panel, new_turns, *buttons, gr.skip(), gr.skip(), gr.skip()
            # a rebuilt index (picked up by this question) may hold other newspapers
            newspapers = gr.Dropdown(choices=service.publisher_choices())
            yield (gr.skip(),) * 6 + (service.status_markdown(), service.banner_html(), newspapers)

        def again(standalone: bool, read_time: bool) -> Any:
            """Ask the last question again: as a new one (not a follow-up), or over every date."""

            def handler(
                history: list[dict[str, Any]], k_value: float, mode_value: str, done: list[str], doc: str,
                papers: list[str], first_day: str, last_day: str,
            ) -> Iterator[Any]:  # fmt: skip
                asked = earlier_questions(history)
                if asked:
                    yield from on_ask(asked[-1], history, k_value, mode_value, done, doc, papers, first_day, last_day,
                                      standalone=standalone, read_time=read_time)  # fmt: skip

            return handler

        def on_add(paths: list[str] | None, progress: Any = upload_progress) -> tuple[Any, ...]:
            if not paths:
                return "Choose one or more files first.", gr.skip(), None, gr.skip()
            progress(0, desc="Reading the uploads")
            try:
                report = service.add_files(paths, lambda p: progress(p.share, desc=f"Indexing: {p.describe()}"))
            except RagQAError as exc:
                report = f"Nothing added: {exc}"
            newspapers = gr.Dropdown(choices=service.publisher_choices())  # an upload may bring new ones
            return escape_markdown(report), service.status_markdown(), None, newspapers

        outputs = [question, chatbot, sources, turns, afresh, all_dates, status, banner, publishers]
        scoped = [article, publishers, since, until]
        inputs = [question, chatbot, k, mode, turns, *scoped]
        ask_button.click(on_ask, inputs, outputs, api_visibility="private")
        question.submit(on_ask, inputs, outputs, api_visibility="private")
        afresh.click(again(True, True), [chatbot, k, mode, turns, *scoped], outputs, api_visibility="private")
        all_dates.click(again(True, False), [chatbot, k, mode, turns, *scoped], outputs, api_visibility="private")
        clear.click(
            lambda: (EMPTY_SOURCES, [], gr.Button(visible=False), gr.Button(visible=False)), None,
            [sources, turns, afresh, all_dates], api_visibility="private",
        )  # fmt: skip

        def show_scope(doc: str, papers: list[str], first_day: str, last_day: str) -> tuple[Any, ...]:
            shown = scope_markdown(service.article_title(doc) if doc else None, doc, papers, first_day, last_day)
            return doc, shown, gr.Button(visible=bool(shown))

        about_apply.click(show_scope, [about_doc, publishers, since, until], [article, scope_shown, scope_clear],
                          api_visibility="private")  # fmt: skip
        for control in (publishers, since, until):
            control.change(show_scope, scoped, [article, scope_shown, scope_clear], api_visibility="private")
        scope_clear.click(
            lambda: ("", [], "", "", "", gr.Button(visible=False)), None,
            [article, publishers, since, until, scope_shown, scope_clear], api_visibility="private",
        )  # fmt: skip
        add_button.click(on_add, [files], [add_report, status, files, publishers], api_visibility="private")

        def ask(
            question: str, k: int = 5, mode: str = "", context: str = "", publishers: list[str] | None = None,
            since: str = "", until: str = "", articles: list[str] | None = None, sources: list[str] | None = None,
            read_time: bool = True,
        ) -> dict[str, Any]:  # fmt: skip
            """Answer a question from the indexed articles: answer text with [n] markers, mode, citations. The
            scope: only these publishers, dates since/until (YYYY-MM-DD), articles (doc ids) or sources."""
            return api_ask(service, question, k, mode, context, publishers=publishers, since=since, until=until,
                           articles=articles, sources=sources, read_time=read_time)  # fmt: skip

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
    settings: Settings | None = None,
) -> None:
    credentials = None
    if auth:
        user, _, password = auth.partition(":")
        if not user or not password:
            raise RagQAError("--auth must look like USER:PASSWORD.")
        credentials = (user, password)
    _check_port_free(host, port)
    demo = build_demo(index_dir, rerank=rerank, settings=settings)
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
