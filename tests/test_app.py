"""The chat app: handlers without a browser, and the running server through gradio_client."""

import pytest
from conftest import SULLIVAN, US_SIDE_AR, running_app

from rag_qa.chat_render import scope_markdown, sources_html
from rag_qa.chat_service import ChatService, safe_upload_name
from rag_qa.progress import BuildProgress
from rag_qa.records import Citation
from rag_qa.ui import api_ask, respond, scope_arguments


def last(turn):
    *_, final = turn
    return final


def test_respond_streams_answer_and_highlighted_sources(lexical_index):
    service = ChatService(lexical_index)
    updates = list(respond(service, US_SIDE_AR, []))
    assert len(updates) > 2  # the answer streams in
    cleared, history, sources, turns, merged, dated = updates[-1]
    assert cleared == "" and history[-1]["role"] == "assistant" and len(turns) == 1 and not merged and not dated
    assert "[\\[1\\]](#source-1-1)" in history[-1]["content"] and "mode: lexical" in history[-1]["content"]
    assert f"**{SULLIVAN}**" in history[-1]["content"]  # the short answer, in bold
    assert SULLIVAN in sources and "<mark>" in sources and 'dir="auto"' in sources and 'id="source-1-1"' in sources


def test_follow_up_is_read_with_the_previous_question_and_says_which(lexical_index):
    service = ChatService(lexical_index)
    _, history, _, turns, _, _ = last(respond(service, US_SIDE_AR, []))
    _, history, _, turns, merged, _ = last(respond(service, "والجانب الإسرائيلي؟", history, turns=turns))
    assert merged and "رون ديرمر" in history[-1]["content"]
    assert f"read as a follow-up of «{US_SIDE_AR}»" in history[-1]["content"].replace("\\", "")
    # asked afresh, the same words stand alone
    _, history, _, turns, merged, _ = last(
        respond(service, "والجانب الإسرائيلي؟", history, turns=turns, standalone=True)
    )
    assert not merged and "follow-up" not in history[-1]["content"]


def test_a_short_unrelated_question_is_not_merged_with_the_previous_one(lexical_index):
    service = ChatService(lexical_index)
    _, history, _, turns, _, _ = last(respond(service, US_SIDE_AR, []))
    _, history, _, turns, merged, _ = last(respond(service, "ما عاصمة أستراليا؟", history, turns=turns))
    assert not merged and "follow-up" not in history[-1]["content"]
    assert "لم أجد" in history[-1]["content"]  # read on its own, the seed does not answer it


def test_every_answer_keeps_its_own_sources(lexical_index):
    service = ChatService(lexical_index)
    _, history, _, turns, _, _ = last(respond(service, US_SIDE_AR, []))
    _, history, panel, turns, _, _ = last(respond(service, "متى سيعقد الاجتماع الثاني؟", history, turns=turns))
    assert "(#source-1-1)" in history[1]["content"] and "(#source-2-1)" in history[3]["content"]
    first, second = panel.index('id="source-1-1"'), panel.index('id="source-2-1"')
    assert second < first  # the latest answer's sources come first, the earlier ones are still there
    assert SULLIVAN in panel[first:].split("</details>")[0]


def test_upload_names_cannot_escape_the_folder():
    assert safe_upload_name("../../etc/passwd") == "passwd"
    assert safe_upload_name("..\\..\\win.ini") == "win.ini"
    assert safe_upload_name(".hidden.txt") == "hidden.txt"
    assert safe_upload_name("خبر عاجل!.txt") == "خبر_عاجل_.txt"


def test_add_files_makes_new_articles_answerable(tmp_path, seed_dir):
    from rag_qa import build_index

    build_index([seed_dir], tmp_path / "index", model="none")
    service = ChatService(tmp_path / "index", uploads_dir=tmp_path / "uploads")
    upload = tmp_path / "incoming.txt"
    upload.write_text("افتتاح ميناء جديد\nافتتح وزير النقل ميناء ينبع الجديد يوم الأحد بطاقة مليون حاوية.", "utf-8")
    refused = tmp_path / "evil.exe"
    refused.write_bytes(b"MZ")
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n", "utf-8")
    progress: list[BuildProgress] = []
    report = service.add_files([upload, refused, empty], progress.append)
    assert "Added 1 article" in report and "evil.exe" in report and "holds 2 articles" in report
    assert "empty.txt: empty file" in report
    assert sorted(p.name for p in (tmp_path / "uploads").iterdir()) == ["incoming.txt"]  # refused ones are not kept
    assert (progress[-1].articles, progress[-1].passages, progress[-1].share) == (1, 1, 1.0)
    assert progress[-1].describe().startswith("1 passage · ") and "passages/s · 100 %" in progress[-1].describe()
    answer = service.ask("من افتتح ميناء ينبع؟")
    assert answer.found and "وزير النقل" in answer.text
    assert service.ask("من قاد الجانب الأمريكي في الاجتماع؟").found  # the seed is still there


def test_upload_into_a_lexical_fallback_index_stays_lexical(tmp_path, seed_dir):
    """The default model is unavailable here: the index fell back to lexical-only, and an upload updates it
    as it is (no "model cannot be reached"), keeping the record of why it is lexical-only."""
    from rag_qa import build_index

    built = build_index([seed_dir], tmp_path / "index")
    assert built.mode == "lexical" and built.lexical_only_reason
    service = ChatService(tmp_path / "index", uploads_dir=tmp_path / "uploads")
    upload = tmp_path / "port.txt"
    upload.write_text("افتتاح ميناء جديد\nافتتح وزير النقل ميناء ينبع الجديد يوم الأحد.", "utf-8")
    report = service.add_files([upload])
    assert "Added 1 article" in report and "lexical mode" in report
    assert service.ask("من افتتح ميناء ينبع؟").found
    assert service.qa().manifest.fallback_reason == built.lexical_only_reason


def test_a_failed_upload_leaves_no_file_and_restores_the_one_it_replaced(tmp_path, seed_dir, monkeypatch):
    from rag_qa import build_index, pipeline
    from rag_qa.errors import BuildLocked

    build_index([seed_dir], tmp_path / "index", model="none")
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "old.txt").write_text("قديم\nنص سابق رفعه المستخدم.", "utf-8")
    service = ChatService(tmp_path / "index", uploads_dir=uploads)
    fresh, again = tmp_path / "new.txt", tmp_path / "old.txt"
    fresh.write_text("جديد\nنص جديد.", "utf-8")
    again.write_text("قديم\nنسخة معدلة.", "utf-8")

    def broken(*args, **kwargs):
        raise BuildLocked("Another build is running on the index; wait for it to finish and try again.")

    monkeypatch.setattr(pipeline, "build_index", broken)
    with pytest.raises(BuildLocked):
        service.add_files([fresh, again])
    assert sorted(p.name for p in uploads.iterdir()) == ["old.txt"]
    assert "نص سابق" in (uploads / "old.txt").read_text("utf-8")


def test_respond_turns_errors_into_a_message(lexical_index, tmp_path):
    _, history, *_ = last(respond(ChatService(lexical_index), "   ", []))
    assert "Please type a question" in history[-1]["content"]
    missing = ChatService(tmp_path / "no-index")
    _, history, *_ = last(respond(missing, US_SIDE_AR, []))
    assert "rag-qa build" in history[-1]["content"].replace("\\", "")  # Markdown-escaped in the chat
    assert "No index loaded" in missing.status_markdown()


def test_lexical_only_banner_says_what_and_how_to_fix(lexical_index):
    banner = ChatService(lexical_index).banner_html()
    assert "Lexical-only" in banner and "rag-qa build --full" in banner and "English questions" in banner


def test_passages_are_escaped_never_markup():
    payload = '<script>alert(1)</script><img src=x onerror="alert(2)"><iframe srcdoc="x"></iframe>[link](javascript:x)'
    html = sources_html([Citation(1, "d", "<b>title</b>", "src", payload, 0, len(payload), 1.0, highlights=((0, 10),))])
    assert "<script>" not in html and "<img" not in html and "<iframe" not in html and "<b>title" not in html
    assert "&lt;script&gt;" in html


def test_a_source_that_is_a_web_address_is_a_link_and_the_date_is_shown():
    url = "https://www.alriyadh.com/1069281"
    citations = [
        Citation(1, "d", "t", url, "نص", 0, 2, 1.0, date="2015-07-22 00:05:53"),
        Citation(2, "e", "t", "javascript:alert(1)", "نص", 0, 2, 1.0),
    ]
    html = sources_html(citations, turn=3)
    assert f'<a href="{url}" target="_blank" rel="noopener noreferrer">{url}</a>' in html
    assert "2015-07-22 00:05:53" in html and 'id="source-3-2"' in html
    assert 'href="javascript' not in html  # only web addresses become links


def test_each_passage_names_its_paper_its_copies_and_offers_to_ask_about_its_article():
    copy = {"doc_id": "e", "title": "t", "publisher": "okaz", "date": "2015-07-23", "source": "x"}
    cited = Citation(1, "d0c", "t", "u", "نص", 0, 2, 1.0, date="2015-07-22", publisher="alriyadh", copies=(copy,))
    html = sources_html([cited])
    assert "الرياض" in html and "also in: عكاظ (1 copy)" in html
    assert '<button class="rag-about" type="button" data-doc="d0c">Ask about this article</button>' in html


def test_a_scoped_chat_turn_asks_only_within_the_article(lexical_index):
    service = ChatService(lexical_index)
    doc = service.ask(US_SIDE_AR).citations[0].doc_id
    assert scope_markdown(service.article_title(doc), doc, [], "", "").startswith("**Asking within:** «البيت الأبيض")
    *_, (_, history, panel, _, _, _) = respond(service, US_SIDE_AR, [], scope=scope_arguments(doc, [], "", "", True))
    assert SULLIVAN in panel and f'data-doc="{doc}"' in panel
    *_, (_, history, _, _, _, _) = respond(service, US_SIDE_AR, [], scope=scope_arguments("", ["okz"], "", "", True))
    assert "No publisher okz in the index" in history[-1]["content"]


def test_api_ask_matches_the_cli_json(lexical_index):
    result = api_ask(ChatService(lexical_index), US_SIDE_AR, 5, "")
    assert result["mode"] == "lexical" and SULLIVAN in result["citations"][0]["text"]
    assert "error" in api_ask(ChatService(lexical_index), "", 5, "")
    doc = result["citations"][0]["doc_id"]
    scoped = api_ask(ChatService(lexical_index), US_SIDE_AR, 5, "", articles=[doc], publishers=[], since="")
    assert {c["doc_id"] for c in scoped["citations"]} == {doc} and scoped["scope"]["articles"] == [doc]
    assert "No article is dated" in api_ask(ChatService(lexical_index), US_SIDE_AR, 5, "", since="2030-01-01")["error"]


@pytest.fixture
def server(lexical_index):
    with running_app(lexical_index) as url:
        yield url


@pytest.mark.slow
def test_running_app_answers_through_gradio_client(server):
    from gradio_client import Client

    client = Client(server, verbose=False)
    result = client.predict(US_SIDE_AR, 5, "", api_name="/ask")
    assert result["mode"] == "lexical" and result["citations"][0]["n"] == 1
    assert SULLIVAN in result["citations"][0]["text"]
    doc = result["citations"][0]["doc_id"]
    scoped = client.predict(US_SIDE_AR, 5, "", "", [], "", "", [doc], api_name="/ask")
    assert {c["doc_id"] for c in scoped["citations"]} == {doc} and scoped["scope"]["articles"] == [doc]


def test_service_picks_up_a_rebuilt_index_without_restart(tmp_path, seed_dir):
    from rag_qa import build_index

    build_index([seed_dir], tmp_path / "index", model="none")
    service = ChatService(tmp_path / "index")
    assert not service.ask("من افتتح ميناء ينبع؟").found
    (seed_dir / "port.txt").write_text("ميناء ينبع\nافتتح وزير النقل ميناء ينبع الجديد يوم الأحد.", "utf-8")
    build_index([seed_dir], tmp_path / "index", model="none")
    assert service.ask("من افتتح ميناء ينبع؟").found
    assert "**2 articles**" in service.status_markdown()


@pytest.mark.slow
def test_auth_protects_the_app(lexical_index):
    from gradio_client import Client

    with running_app(lexical_index, env={"RAG_QA_AUTH": "reporter:s3cret-pass"}) as url:
        with pytest.raises(Exception):  # noqa: B017 - gradio_client raises its own error types
            Client(url, verbose=False).predict(US_SIDE_AR, 5, "", "", api_name="/ask")
        with pytest.raises(Exception):  # noqa: B017
            Client(url, auth=("reporter", "wrong"), verbose=False)
        client = Client(url, auth=("reporter", "s3cret-pass"), verbose=False)
        assert SULLIVAN in client.predict(US_SIDE_AR, 5, "", "", api_name="/ask")["citations"][0]["text"]
