import json
import zipfile

from rag_qa.ingest import iter_articles
from rag_qa.records import Article, Problem


def read(*paths):
    items = list(iter_articles(paths))
    return [i for i in items if isinstance(i, Article)], [i for i in items if isinstance(i, Problem)]


def test_txt_title_is_first_line_and_news_noise_is_cleaned(seed_dir):
    (article,), problems = read(seed_dir)
    assert problems == []
    assert article.title == "البيت الأبيض يكشف تفاصيل الاجتماع الأمريكي الإسرائيلي بشأن رفح"
    assert "ADVERTISEMENT" not in article.text
    # the seed repeats a headline: exact duplicate paragraphs are kept once
    assert article.text.count("نتنياهو: لن يتحقق النصر على حماس بدون عملية عسكرية في رفح الفلسطينية\n") == 1
    assert "جيك سوليفان" in article.text


def test_ids_are_stable_and_hash_follows_content(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("Title\nFirst body line.", encoding="utf-8")
    (first,), _ = read(path)
    (again,), _ = read(path)
    path.write_text("Title\nChanged body line.", encoding="utf-8")
    (changed,), _ = read(path)
    assert first.doc_id == again.doc_id == changed.doc_id
    assert first.content_hash == again.content_hash != changed.content_hash


def test_cp1256_arabic_is_decoded(tmp_path):
    path = tmp_path / "legacy.txt"
    path.write_bytes("عنوان الخبر\nقال وزير الخارجية إن المحادثات ستستمر الأسبوع المقبل في القاهرة.".encode("cp1256"))
    (article,), problems = read(path)
    assert problems == []
    assert article.title == "عنوان الخبر"
    assert "وزير الخارجية" in article.text


def test_html_drops_scripts_and_styles(tmp_path):
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>عنوان الصفحة</title><style>p{color:red}</style></head><body>"
        "<nav>Home | About</nav><article><h1>عنوان الصفحة</h1><p>الفقرة الأولى من الخبر.</p>"
        "<script>alert('x')</script><p>The second paragraph.</p></article></body></html>",
        encoding="utf-8",
    )
    (article,), _ = read(path)
    assert article.title == "عنوان الصفحة"
    assert "الفقرة الأولى من الخبر." in article.text and "The second paragraph." in article.text
    assert "alert" not in article.text and "color" not in article.text and "Home" not in article.text


def test_markdown_json_jsonl_and_zip(tmp_path):
    (tmp_path / "note.md").write_text(
        "# Heading here\n\nSome [linked text](http://x.y) and **bold**.", encoding="utf-8"
    )
    records = [
        {
            "source": "okaz",
            "url": "http://okaz.example/1",
            "date_extracted": "2015-07-21",
            "title": "خبر أول",
            "author": "x",
            "content": "نص الخبر الأول",
        },
        {"title": "no body here"},
        {"title": "Second", "text": "Second text body"},
    ]
    (tmp_path / "news.json").write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "news.jsonl").write_text(
        json.dumps({"title": "Line one", "content": "Body one"}) + "\n{broken\n", encoding="utf-8"
    )
    with zipfile.ZipFile(tmp_path / "bundle.zip", "w") as archive:
        archive.writestr("inner/story.txt", "Zipped title\nZipped body text.")
    articles, problems = read(tmp_path)
    by_title = {a.title: a for a in articles}
    assert by_title["Heading here"].text == "Some linked text and bold."
    assert by_title["خبر أول"].source == "http://okaz.example/1" and by_title["خبر أول"].date == "2015-07-21"
    assert by_title["Second"].text == "Second text body"
    assert by_title["Line one"].text == "Body one"
    assert by_title["Zipped title"].source.endswith("bundle.zip:inner/story.txt")
    reasons = " | ".join(p.reason for p in problems)
    assert "no 'content' or 'text' field" in reasons and "invalid JSON line" in reasons


def test_bad_files_are_skipped_with_a_reason_and_others_survive(tmp_path):
    (tmp_path / "good.txt").write_text("Good title\nGood body.", encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (tmp_path / "broken.json").write_text('{"title": "x", "content": ', encoding="utf-8")
    (tmp_path / "wrong.json").write_text("42", encoding="utf-8")
    (tmp_path / "image.pdf").write_bytes(b"%PDF-1.4")
    good_zip = tmp_path / "whole.zip"
    with zipfile.ZipFile(good_zip, "w") as archive:
        archive.writestr("a.txt", "Zip title\n" + "zip body " * 200)
    (tmp_path / "truncated.zip").write_bytes(good_zip.read_bytes()[:60])
    articles, problems = read(tmp_path)
    assert sorted(a.title for a in articles) == ["Good title", "Zip title"]
    reasons = {p.source.rsplit("/", 1)[-1]: p.reason for p in problems}
    assert reasons["empty.txt"] == "empty file"
    assert reasons["binary.txt"] == "binary file, not text"
    assert reasons["broken.json"].startswith("invalid JSON")
    assert reasons["wrong.json"].startswith("JSON holds neither")
    assert reasons["image.pdf"].startswith("unsupported file type")
    assert "truncated or corrupt" in reasons["truncated.zip"]


def test_missing_source_is_a_problem_not_a_crash(tmp_path):
    articles, problems = read(tmp_path / "nope")
    assert articles == [] and problems[0].reason == "no such file or folder"


def test_squad_file_gives_one_article_per_paragraph():
    from conftest import DATA

    articles, problems = read(DATA / "xquad_ar_small.json")
    assert problems == [] and len(articles) == 18
    assert articles[0].title == "Super Bowl 50"


def test_an_html_page_keeps_its_publication_date_and_an_unescaped_title(tmp_path):
    from rag_qa.ingest import iter_articles

    page = tmp_path / "page.html"
    page.write_text(
        '<html><head><title>&#8220;سد&#8221; جديد</title><meta property="article:published_time" '
        'content="2024-03-18T10:00:00Z"></head><body><p>دشن أمير المنطقة سد وادي بيشة.</p></body></html>',
        "utf-8",
    )
    (article,) = list(iter_articles([page]))
    assert article.title == "“سد” جديد" and article.date == "2024-03-18"


def test_a_line_that_is_only_an_address_is_not_indexed(tmp_path):
    # a byline's contact line became a passage of its own and was quoted as an answer
    path = tmp_path / "column.txt"
    path.write_text("عمود الرأي\nنص المقال عن الغضب.\nali.salem@yahoo.com\nhttp://example.com/share\n"
                    "راسلوني على ali@example.com كل أسبوع.", encoding="utf-8")
    (article,), _ = read(path)
    assert article.text == "نص المقال عن الغضب.\nراسلوني على ali@example.com كل أسبوع."


BOILERPLATE = (  # what SaudiNewsNet's sites wrap around an article (tests/data/saudinewsnet_boilerplate.json)
    "رابط الخبر", "Next Previous", "سمات", "عين اليوم – متابعات", "شارك من خلال", "SMS", "sms", "Zain",
    "انتهى", "مقالات أخرى للكاتب", "المزيد", "* *",
)


def test_news_site_boilerplate_is_not_indexed_and_the_article_is(tmp_path):
    from conftest import DATA

    (tmp_path / "snn.json").write_bytes((DATA / "saudinewsnet_boilerplate.json").read_bytes())
    records = json.loads((DATA / "saudinewsnet_boilerplate.json").read_text(encoding="utf-8"))
    articles, problems = read(tmp_path / "snn.json")
    assert problems == [] and len(articles) == len(records) == 8
    for record, article in zip(records, articles, strict=True):
        assert [b for b in BOILERPLATE if b in article.text] == [], record["url"]
        raw = record["content"]
        for phrase in BOILERPLATE:  # what went is exactly the boilerplate: the article's words all stay
            raw = raw.replace(phrase, " ")
        kept = set(article.text.split())
        lost = [w for w in raw.split() if w not in kept]
        assert len(lost) <= 40, (record["url"], lost)  # a tag list, a link's repeated title, a phone block
    first = {a.source: a.text.split("\n", 1)[0] for a in articles}
    # the dateline stood alone on the first line; the share bar led the first sentence
    assert first[records[2]["url"]].startswith("أكد مسؤولون يمنيون إعادة فتح مطار عدن الدولي")
    assert first[records[3]["url"]].startswith("كرمت القيادة الرشيدة شهداء التفجير الإرهابي")


def test_a_fixture_line_is_kept_where_a_dateline_alone_is_dropped(tmp_path):
    path = tmp_path / "match.txt"
    path.write_text("المباريات\nعين اليوم – الرياض\nتقام اليوم مباريات الجولة الأولى.\nالمغرب - غينيا\n"
                    "8 - الخضراوات:\nتبدأ المباريات مساء.", encoding="utf-8")
    (article,), _ = read(path)
    assert article.text == "تقام اليوم مباريات الجولة الأولى.\nالمغرب - غينيا\n8 - الخضراوات:\nتبدأ المباريات مساء."


def test_each_article_knows_its_newspaper_and_its_iso_date(tmp_path):
    from rag_qa.formats import iso_date
    from rag_qa.ingest import iter_articles

    page = tmp_path / "page.html"
    page.write_text(
        '<html><head><meta property="og:site_name" content="عكاظ"><title>سد</title>'
        '<meta property="article:published_time" content="Sat, 25 Jul 2015 01:27:33 GMT"></head>'
        "<body><p>دشن أمير المنطقة سد وادي بيشة.</p></body></html>",
        "utf-8",
    )
    bare = tmp_path / "bare.html"
    bare.write_text(
        '<html><head><link rel="canonical" href="https://www.okaz.com.sa/news/1"><title>سد</title></head>'
        "<body><p>دشن أمير المنطقة سد وادي بيشة.</p></body></html>",
        "utf-8",
    )
    records = [
        {"source": "okaz", "url": "http://okaz.com.sa/1", "date_extracted": "2015-07-25 01:27:33", "content": "نص"},
        {"url": "https://www.alriyadh.com/1069281", "published": "25 July 2015", "content": "نص آخر"},
        {"content": "نص ثالث", "date": "sometime"},
    ]
    (tmp_path / "news.json").write_text(json.dumps(records, ensure_ascii=False), "utf-8")
    found = {a.source: a for a in iter_articles([page, bare, tmp_path / "news.json"]) if hasattr(a, "publisher")}
    assert (found[str(page)].publisher, found[str(page)].date) == ("عكاظ", "2015-07-25")
    assert (found[str(bare)].publisher, found[str(bare)].date) == ("okaz.com.sa", None)  # the canonical address
    assert (found["http://okaz.com.sa/1"].publisher, found["http://okaz.com.sa/1"].date) == ("okaz", "2015-07-25")
    riyadh = found["https://www.alriyadh.com/1069281"]
    assert (riyadh.publisher, riyadh.date) == ("alriyadh.com", "2015-07-25")  # no paper named: the domain
    third = next(a for a in found.values() if a.text == "نص ثالث")
    assert (third.publisher, third.date) == (None, None)  # no paper, no readable date: left unknown
    assert iso_date("2015-02-30") is None and iso_date("July 2015") is None and iso_date("2015-7-5") == "2015-07-05"
