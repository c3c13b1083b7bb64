"""The chat app in a real browser: Playwright driving Debian's Chromium (installed by `make test`)."""

import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest
from conftest import SEED, SULLIVAN, US_SIDE_AR, running_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.slow

INJECTION = (
    "تقرير مؤتمر الأمن السيبراني\n"
    "ناقش خبراء الأمن السيبراني في مؤتمر الرياض الثغرات الخطيرة "
    '<script>window.__pwned = 1</script> <img src=x onerror="window.__pwned = 2"> '
    '<iframe srcdoc="<script>parent.__pwned = 3</script>"></iframe> <b>bold</b> '
    "[اضغط هنا](javascript:window.__pwned=4) قبل اختتام المؤتمر.\n"
)


@pytest.fixture(scope="module")
def app_base(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("browser")


@pytest.fixture(scope="module")
def app_url(app_base):
    from rag_qa import build_index

    base = app_base
    articles = base / "articles"
    articles.mkdir()
    shutil.copy(SEED, articles / SEED.name)
    (articles / "injection.txt").write_text(INJECTION, "utf-8")
    # as after a plain `make run` here: the default model is unavailable, so the index fell back to lexical-only
    assert build_index([articles], base / "index").lexical_only_reason
    with running_app(base / "index", env={"RAG_QA_UPLOADS": str(base / "uploads")}, log=base / "app.log") as url:
        yield url



@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs it (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--disable-gpu", "--disable-quic"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser, app_url):
    yield from _page(browser, app_url, {"width": 1360, "height": 1000})


@pytest.fixture
def phone(browser, app_url):
    yield from _page(browser, app_url, {"width": 390, "height": 844})


def _page(browser, app_url, viewport):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if _leaves_machine(r.url) else None)
    page.goto(app_url)
    page.wait_for_selector("#question textarea")
    yield page
    context.close()
    assert outside == [], f"requests left 127.0.0.1: {outside[:5]}"


def _leaves_machine(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme in ("http", "https", "ws", "wss") and parsed.hostname not in ("127.0.0.1", "localhost")


IN_VIEW = "el => { const r = el.getBoundingClientRect(); return r.top < innerHeight && r.bottom > 0; }"
FINISHED_TURNS = "() => document.querySelector('#chat').innerText.split(/mode:|⚠/).length - 1"


def ask(page, question: str) -> str:
    """Type a question, press Ask, wait until the streamed answer is complete; returns the chat text."""
    before = page.evaluate(FINISHED_TURNS)
    page.fill("#question textarea", question)
    page.click("#ask")
    page.wait_for_function(f"() => ({FINISHED_TURNS})() > {before}", timeout=30_000)
    return page.inner_text("#chat")


def test_arabic_question_shows_answer_and_highlighted_passage(page):
    chat = ask(page, US_SIDE_AR)
    assert SULLIVAN in chat and "[1]" in chat
    marked = page.inner_text("#sources mark")
    assert SULLIVAN in marked and "قاد" in marked
    assert page.get_attribute("#source-1-1", "dir") == "auto"
    assert page.locator('#chat a[href="#source-1-1"]').count() >= 1  # [1] links to its passage
    assert "Lexical-only mode" in page.inner_text("#banner")
    assert "articles" in page.inner_text("#status")


def test_arabic_renders_with_real_glyphs_and_screenshot(page, tmp_path):
    ask(page, US_SIDE_AR)
    widths = page.evaluate(
        """() => {
            const el = document.querySelector('#sources .rag-text');
            const ctx = document.createElement('canvas').getContext('2d');
            ctx.font = getComputedStyle(el).font;
            return ['ااااا', 'ممممم', 'ششششش'].map(s => ctx.measureText(s).width);
        }"""
    )
    # with no Arabic font every glyph is the same empty box, so these widths would be equal
    assert len({round(w, 1) for w in widths}) == 3, widths
    shot = tmp_path / "main.png"  # (docs/screenshot.png comes from docs/examples.py)
    page.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 20_000


def test_unrelated_question_says_not_found(page):
    chat = ask(page, "What is the capital of Australia?")
    assert "Not found in the indexed articles" in chat
    assert "No passages cited" in page.inner_text("#sources")


def test_injected_markup_in_articles_stays_inert_text(page):
    chat = ask(page, "ماذا ناقش خبراء الأمن السيبراني في مؤتمر الرياض؟")
    sources = page.inner_text("#sources")
    assert "<script>window.__pwned = 1</script>" in sources and "onerror" in sources
    assert "<script>" in chat  # shown as text in the chat as well
    assert page.evaluate("() => window.__pwned") is None
    inert = ("#sources img", "#sources iframe", "#sources script", "#sources .rag-text b", "#chat img", "#chat iframe")
    for selector in inert:
        assert page.locator(selector).count() == 0, selector
    assert page.locator('#chat a[href^="javascript"]').count() == 0


def test_upload_into_the_lexical_fallback_index_works_and_refusals_leave_nothing(page, app_base, tmp_path):
    upload = tmp_path / "port.txt"
    upload.write_text("افتتاح ميناء جديد\nافتتح وزير النقل ميناء ينبع الجديد يوم الأحد بطاقة مليون حاوية.", "utf-8")
    empty = tmp_path / "blank.txt"
    empty.write_text("   \n", "utf-8")
    page.get_by_text("Add articles").click()
    page.set_input_files("#upload input[type=file]", [str(upload), str(empty)])
    page.wait_for_timeout(500)
    page.click("#add")
    page.wait_for_function("() => document.querySelector('#add-report').innerText.includes('Added')", timeout=60_000)
    report = page.inner_text("#add-report")
    assert "Added 1 article" in report and "lexical mode" in report and "blank.txt: empty file" in report
    assert "cannot be reached" not in report
    assert sorted(p.name for p in (app_base / "uploads").iterdir()) == ["port.txt"]  # the refused one is not kept
    assert "3 articles" in page.inner_text("#status")
    chat = ask(page, "من افتتح ميناء ينبع؟")
    assert "وزير النقل" in chat


def test_each_answers_links_open_the_passage_that_answer_quoted(page):
    ask(page, US_SIDE_AR)
    ask(page, "ماذا ناقش خبراء الأمن السيبراني في مؤتمر الرياض؟")
    assert "الأمن السيبراني" in page.inner_text("#sources #turn-2 mark")
    assert not page.locator("#sources #turn-1").evaluate("d => d.open")  # the earlier answer's sources are folded
    page.locator('#chat a[href="#source-1-1"]').first.click()  # [1] of the first answer
    passage = page.locator("#source-1-1")
    passage.wait_for(state="visible")
    page.wait_for_timeout(800)  # the smooth scroll
    assert SULLIVAN in passage.locator("mark").first.inner_text()
    assert passage.evaluate(IN_VIEW)
    assert "rag-flash" in (passage.get_attribute("class") or "")


def test_follow_ups_are_merged_and_shown_short_standalone_questions_are_not(page):
    ask(page, US_SIDE_AR)
    chat = ask(page, "والجانب الإسرائيلي؟")
    last_turn = chat.split("والجانب الإسرائيلي؟")[-1]
    assert "رون ديرمر" in last_turn and f"read as a follow-up of «{US_SIDE_AR}»" in last_turn
    page.locator("#afresh").wait_for(state="visible")
    chat = ask(page, "ما عاصمة أستراليا؟")
    assert "follow-up" not in chat.split("ما عاصمة أستراليا؟")[-1]
    assert page.locator("#afresh").is_hidden()
    page.click("#clear")
    page.wait_for_function("() => !document.querySelector('#chat').innerText.includes('رون ديرمر')")


def test_asking_afresh_reads_the_question_on_its_own(page):
    ask(page, US_SIDE_AR)
    ask(page, "والجانب الإسرائيلي؟")
    before = page.evaluate(FINISHED_TURNS)
    page.click("#afresh")
    page.wait_for_function(f"() => ({FINISHED_TURNS})() > {before}", timeout=30_000)
    newest = page.inner_text("#chat").split("والجانب الإسرائيلي؟")[-1]
    assert "follow-up" not in newest and "mode: lexical" in newest


def test_the_question_box_follows_the_direction_of_what_is_typed(page):
    box = page.locator("#question textarea")
    assert box.get_attribute("dir") == "auto"
    box.fill(US_SIDE_AR)
    assert box.evaluate("el => el.matches(':dir(rtl)')")
    box.fill("who led the US side?")
    assert box.evaluate("el => el.matches(':dir(ltr)')")


def test_on_a_phone_the_sources_come_before_the_panels_and_the_banner_stays_small(phone, tmp_path):
    banner = phone.locator("#banner").bounding_box()
    assert banner["height"] < 0.2 * 844, banner
    ask(phone, US_SIDE_AR)
    phone.locator('#chat a[href="#source-1-1"]').first.click()
    phone.wait_for_timeout(800)
    passage = phone.locator("#source-1-1")
    assert passage.evaluate(IN_VIEW)
    top = {name: phone.locator(name).bounding_box()["y"] for name in ("#sources", "#settings", "#add-articles")}
    assert top["#sources"] < top["#settings"] and top["#sources"] < top["#add-articles"], top
    phone.screenshot(path=str(tmp_path / "phone.png"))
