"""The chat app: handlers without a browser, and the running server through gradio_client."""

import os
import socket
import subprocess
import sys
import time

import pytest
from conftest import ROOT, SULLIVAN, US_SIDE_AR

from rag_qa.records import Citation
from rag_qa.ui import ChatService, api_ask, respond, sources_html


def test_respond_shows_answer_and_highlighted_sources(lexical_index):
    service = ChatService(lexical_index)
    cleared, history, sources = respond(service, US_SIDE_AR, [])
    assert cleared == "" and history[-1]["role"] == "assistant"
    assert "\\[1\\]" in history[-1]["content"] and "mode: lexical" in history[-1]["content"]
    assert SULLIVAN in sources and "<mark>" in sources and 'dir="auto"' in sources


def test_respond_turns_errors_into_a_message(lexical_index, tmp_path):
    _, history, _ = respond(ChatService(lexical_index), "   ", [])
    assert "Please type a question" in history[-1]["content"]
    missing = ChatService(tmp_path / "no-index")
    _, history, _ = respond(missing, US_SIDE_AR, [])
    assert "rag-qa build" in history[-1]["content"].replace("\\", "")  # Markdown-escaped in the chat
    assert "No index loaded" in missing.status_markdown()


def test_lexical_only_banner_says_what_and_how_to_fix(lexical_index):
    banner = ChatService(lexical_index).banner_html()
    assert "Lexical-only" in banner and "rag-qa build --full" in banner and "English questions" in banner


def test_passages_are_escaped_never_markup():
    payload = '<script>alert(1)</script><img src=x onerror="alert(2)"><iframe srcdoc="x"></iframe>[link](javascript:x)'
    html = sources_html([Citation(1, "d", "<b>title</b>", "src", payload, 0, len(payload), 1.0, highlight=(0, 10))])
    assert "<script>" not in html and "<img" not in html and "<iframe" not in html and "<b>title" not in html
    assert "&lt;script&gt;" in html


def test_api_ask_matches_the_cli_json(lexical_index):
    result = api_ask(ChatService(lexical_index), US_SIDE_AR, 5, "")
    assert result["mode"] == "lexical" and SULLIVAN in result["citations"][0]["text"]
    assert "error" in api_ask(ChatService(lexical_index), "", 5, "")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(lexical_index):
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GRADIO_ANALYTICS_ENABLED": "False"}
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "--index", str(lexical_index), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.3)
    else:
        process.kill()
        pytest.fail("the app did not start within 60 s")
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.mark.slow
def test_running_app_answers_through_gradio_client(server):
    from gradio_client import Client

    client = Client(server, verbose=False)
    result = client.predict(US_SIDE_AR, 5, "", api_name="/ask")
    assert result["mode"] == "lexical" and result["citations"][0]["n"] == 1
    assert SULLIVAN in result["citations"][0]["text"]
