"""The chat's scope in a real browser (Playwright and Debian's Chromium), on a desktop and a phone screen:
"Ask about this article" on a cited passage scopes the conversation to it until cleared, the newspaper and
date control narrows what is searched, and a copy printed by another paper is listed under its passage."""

import json
import shutil

import pytest
from conftest import DATA, SEED, SULLIVAN, US_SIDE_AR, running_app
from test_browser import _page, ask, browser  # noqa: F401  (the browser fixture)

pytestmark = pytest.mark.slow

COACH = "ما الذي كشفت عنه كوتش في مركز المملكة؟"  # a story printed by two newspapers (records 3 and 4)


@pytest.fixture(scope="module")
def scope_app(tmp_path_factory):
    from rag_qa import build_index

    base = tmp_path_factory.mktemp("browser-scope")
    articles = base / "articles"
    articles.mkdir()
    shutil.copy(SEED, articles / SEED.name)
    news = json.loads((DATA / "saudinewsnet_hard_negatives.json").read_text(encoding="utf-8"))
    (articles / "news.json").write_text(json.dumps([news[i] for i in (1, 3, 4, 8, 9, 15)], ensure_ascii=False))
    build_index([articles], base / "index", model="none")
    with running_app(base / "index", env={"RAG_QA_UPLOADS": str(base / "uploads")}, log=base / "app.log") as url:
        yield url


@pytest.fixture(params=[{"width": 1360, "height": 1000}, {"width": 390, "height": 844}], ids=["desktop", "phone"])
def screen(request, browser, scope_app):  # noqa: F811
    yield from _page(browser, scope_app, request.param)


def test_ask_about_this_article_scopes_the_conversation_until_cleared(screen):
    page = screen
    ask(page, US_SIDE_AR)
    assert SULLIVAN in page.inner_text("#sources")
    button = page.locator("#sources #source-1-1 button.rag-about")
    button.scroll_into_view_if_needed()
    button.click()
    shown = page.locator("#scope-shown")
    page.wait_for_function("() => document.querySelector('#scope-shown').innerText.includes('Asking within')")
    assert "البيت الأبيض" in shown.inner_text() and page.locator("#scope-clear").is_visible()
    page.wait_for_timeout(800)  # the smooth scroll to the question box
    assert page.locator("#question textarea").evaluate(
        "el => { const r = el.getBoundingClientRect(); return r.top < innerHeight && r.bottom > 0; }"
    )
    chat = ask(page, COACH)  # asked within the seed article: the Coach story is not in it
    assert not any("كوتش" in t for t in page.locator("#sources #turn-2 .rag-passage").all_inner_texts())
    assert "لم أجد" in chat.split(COACH)[-1] or "البيت الأبيض" in page.inner_text("#sources #turn-2")
    page.click("#scope-clear")
    page.wait_for_function("() => !document.querySelector('#scope-shown').innerText.includes('Asking within')")
    ask(page, COACH)
    latest = " ".join(page.locator("#sources #turn-3 .rag-passage").all_inner_texts())
    assert "كوتش" in latest and "also in:" in latest  # one copy cited, the other paper's listed under it


def test_the_newspaper_control_narrows_what_is_searched(screen):
    page = screen
    page.click("#scope button.label-wrap, #scope > button, #scope .label-wrap")  # open the accordion
    box = page.locator("#publishers input")
    box.click()
    box.fill("اليوم")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('#scope-shown').innerText.includes('اليوم')")
    ask(page, COACH)
    sources = " ".join(page.locator("#sources #turn-1 .rag-passage").all_inner_texts())
    assert "كوتش" not in sources  # the Coach story ran in الجزيرة and الرياض, not in اليوم
    page.click("#scope-clear")
    page.wait_for_function("() => !document.querySelector('#scope-shown').innerText.includes('Asking within')")


def test_a_time_phrase_is_shown_as_read_and_search_all_dates_undoes_it(screen):
    page = screen
    chat = ask(page, "ماذا حدث على طريق مطار كابل اليوم؟")  # "today": the newest article's day, 11 August 2015
    assert "dates read “اليوم” as 11 August 2015" in chat.split("مطار كابل اليوم؟")[-1]
    page.locator("#all-dates").wait_for(state="visible")
    before = page.evaluate("() => document.querySelectorAll('#sources .rag-turn').length")
    page.click("#all-dates")
    page.wait_for_function(f"() => document.querySelectorAll('#sources .rag-turn').length > {before}", timeout=30_000)
    page.wait_for_function("() => document.querySelector('#chat').innerText.split('mode:').length > 2")
    newest = page.inner_text("#chat").split("mode:")[-1]
    assert "dates read" not in newest
    assert "كابل" in " ".join(page.locator("#sources #turn-2 .rag-passage").all_inner_texts())
