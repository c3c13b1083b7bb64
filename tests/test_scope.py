"""News scope, time and copies: filters applied inside retrieval on both stores (alone, combined, one that
keeps 1 % of the articles, an empty one), time phrases read against the newest article, and wire copies
grouped and kept right under add, change and remove."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import DATA, SEED
from fakes import HashingEmbedder

from rag_qa import RagQA, build_index
from rag_qa.cli import cli
from rag_qa.scope import EmptyScope
from rag_qa.time_reading import read_time

pytest.importorskip("pymilvus")

NEWS = DATA / "saudinewsnet_hard_negatives.json"  # 221 SaudiNewsNet articles of 18 days, 14 newspapers
STORES = ["directory", "milvus"]
KINGDOM = "ما الذي أعلنته وزارة الصحة في المملكة؟"  # words found across newspapers and days


def news() -> list[dict[str, str]]:
    return json.loads(NEWS.read_text(encoding="utf-8"))


def location(kind: str, folder: Path, name: str = "index") -> str:
    return str(folder / (f"{name}.milvus.db" if kind == "milvus" else name))


def wire_copy(record: dict[str, str], paper: str) -> dict[str, str]:
    """The same story as another newspaper prints it: its own headline, dateline and address."""
    return {**record, "source": paper, "url": record["url"] + "-copy", "title": "نقلا عن واس: " + record["title"],
            "content": "الرياض - واس\n" + record["content"]}  # fmt: skip


@pytest.fixture(scope="module", params=STORES)
def news_index(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[RagQA, Path]:
    """221 news articles (one file) and the seed article (no date, no publisher), lexical-only."""
    folder = tmp_path_factory.mktemp(f"news-{request.param}")
    (folder / "news").mkdir()
    (folder / "news" / "news.json").write_text(NEWS.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "seeds").mkdir()
    (folder / "seeds" / SEED.name).write_bytes(SEED.read_bytes())
    index = location(request.param, folder)
    build_index([folder / "news", folder / "seeds"], index, model="none")
    return RagQA.load(index), folder


def test_each_filter_keeps_retrieval_inside_its_scope_alone_and_combined(news_index):
    qa, folder = news_index
    everything = qa.search(KINGDOM, k=10)
    assert len({c.publisher for c in everything}) > 1 and len({c.date for c in everything}) > 1
    okaz = qa.search(KINGDOM, k=10, publishers=["okaz"])
    assert okaz and {c.publisher for c in okaz} == {"okaz"}
    assert {c.publisher for c in qa.search(KINGDOM, k=5, publishers="عكاظ")} == {"okaz"}  # the paper's own name
    week = qa.search(KINGDOM, k=10, since="2015-07-25", until="2015-07-31")
    assert week and all("2015-07-25" <= str(c.date) <= "2015-07-31" for c in week)
    both = qa.search(KINGDOM, k=10, publishers=["aawsat", "okaz"], since="2015-08-01")
    assert both and all(c.publisher in ("aawsat", "okaz") and str(c.date) >= "2015-08-01" for c in both)
    seed_only = qa.search("رفح", k=5, sources=[str(folder / "seeds")])
    assert seed_only and {c.source for c in seed_only} == {str(folder / "seeds" / SEED.name)}
    answer = qa.ask(KINGDOM, publishers=["okaz"], since="2015-07-21", until="2015-07-31")
    assert all(c.publisher == "okaz" for c in answer.citations)
    assert answer.to_dict()["scope"]["publishers"] == ["okaz"]


def test_a_filter_keeping_one_percent_of_the_articles_still_finds_its_passage(news_index):
    qa, _ = news_index
    rare = [r for r in news() if r["source"] == "arreyadi"]  # 2 of 222 articles
    assert len(rare) == 2
    wanted = rare[1]
    question = " ".join(wanted["content"].split()[5:17])
    for mode in qa.modes:
        found = qa.search(question, k=3, mode=mode, publishers=["arreyadi"])
        assert found[0].source == wanted["url"] and {c.publisher for c in found} == {"arreyadi"}


def test_an_empty_scope_is_one_sentence_naming_what_exists(news_index, tmp_path):
    qa, _ = news_index
    with pytest.raises(EmptyScope, match=r"No publisher okz in the index; it has: الشرق الأوسط \(aawsat, 50\), "):
        qa.ask(KINGDOM, publishers=["okz"])
    with pytest.raises(EmptyScope, match="No publisher okz in the index"):
        qa.ask(KINGDOM, publishers=["okaz", "okz"])  # a typo among good names is still a typo
    with pytest.raises(EmptyScope, match="dated from 2016-01-01; the index's articles run from 2015-07-21 to 2015-08"):
        qa.ask(KINGDOM, since="2016-01-01")
    seed_id = qa.search("رفح", k=1)[0].doc_id
    with pytest.raises(EmptyScope, match="at once; each filter alone finds some"):
        qa.ask(KINGDOM, publishers=["okaz"], articles=[seed_id])
    with pytest.raises(EmptyScope, match="is not a source of the index"):
        qa.ask(KINGDOM, sources=[str(tmp_path)])
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        qa.ask(KINGDOM, since="25/07/2015")


def test_a_date_filter_says_how_many_undated_articles_it_left_out(news_index):
    qa, _ = news_index
    answer = qa.ask(KINGDOM, since="2015-07-21")
    assert "1 article without a date was left out by the date filter." in answer.warnings


def test_info_lists_publishers_and_dates(news_index):
    qa, _ = news_index
    info = qa.info()
    assert info["publishers"]["aawsat"] == 50 and info["publishers"]["okaz"] == 17
    assert info["dates"] == {"first": "2015-07-21", "last": "2015-08-11"} and info["undated"] == 1


@pytest.mark.parametrize(
    ("question", "since", "until", "searched"),
    [
        ("ماذا أعلنت وزارة الصحة أمس؟", "2015-08-10", "2015-08-10", "ماذا أعلنت وزارة الصحة؟"),
        ("ماذا أعلنت وزارة الصحة اليوم؟", "2015-08-11", "2015-08-11", "ماذا أعلنت وزارة الصحة؟"),
        ("ماذا حدث في اليمن هذا الأسبوع؟", "2015-08-05", "2015-08-11", "ماذا حدث في اليمن؟"),
        ("ماذا أعلنت الوزارة في 25 يوليو؟", "2015-07-25", "2015-07-25", "ماذا أعلنت الوزارة؟"),
        ("ماذا أعلنت الوزارة في ٢٥ تموز ٢٠١٥؟", "2015-07-25", "2015-07-25", "ماذا أعلنت الوزارة؟"),
        ("what happened in Yemen yesterday?", "2015-08-10", "2015-08-10", "what happened in Yemen?"),
        ("What did the ministry announce on 25 July?", "2015-07-25", "2015-07-25", "What did the ministry announce?"),
        ("What did the ministry announce on July 25, 2015?", "2015-07-25", "2015-07-25", None),
        ("news of 2015-07-31 about Hajj", "2015-07-31", "2015-07-31", None),
        ("what happened last week in Aden?", "2015-07-29", "2015-08-04", "what happened in Aden?"),
        ("ماذا حدث في يوليو؟", "2015-07-01", "2015-07-31", None),
    ],
)
def test_time_phrases_become_date_ranges_read_against_the_newest_article(question, since, until, searched):
    reading = read_time(question, "2015-08-11")
    assert reading is not None and (reading.since, reading.until, reading.latest) == (since, until, False)
    assert searched is None or reading.question == searched


@pytest.mark.parametrize(
    "question",
    ["ما آخر التطورات في اليمن؟", "ما أحدث الأخبار عن الحج؟", "What is the latest on the Iran deal?",
     "وقعت حوادث مؤخراً في جدة"],
)  # fmt: skip
def test_latest_prefers_recent_articles_without_a_bound(question):
    reading = read_time(question, "2015-08-11")
    assert reading is not None and reading.latest and reading.since is None and reading.until is None


@pytest.mark.parametrize(
    "question",
    ["من قاد الجانب الأمريكي؟", "who led the US side?", "ماذا نشرت صحيفة اليوم عن الحج؟",
     "متى الاحتفال باليوم الوطني؟", "ماذا حدث في اليوم الثاني من المهرجان؟", "ماذا فعل في ذلك اليوم؟",
     "What may happen next?", "من هو اللاعب الآخر؟", "في أي عام تأسست الشركة؟"],
)  # fmt: skip
def test_a_question_without_a_time_phrase_stays_unfiltered(question):
    assert read_time(question, "2015-08-11") is None


def test_a_time_phrase_narrows_the_dates_and_can_be_undone(news_index):
    qa, _ = news_index
    asked = "ما الذي أعلنته وزارة الصحة في المملكة أمس؟"
    answer = qa.ask(asked)
    reading = answer.to_dict()["time_reading"]
    assert (reading["since"], reading["until"]) == ("2015-08-10", "2015-08-10")
    assert reading["read_as"] == "read “أمس” as 10 August 2015" and answer.question == asked
    assert answer.citations and all(c.date == "2015-08-10" for c in answer.citations)
    undone = qa.ask(asked, read_time=False)
    assert "time_reading" not in undone.to_dict() and len({c.date for c in undone.citations}) > 1
    latest = qa.search("ما آخر أخبار وزارة الصحة في المملكة؟", k=5)
    plain = qa.search("ما أخبار وزارة الصحة في المملكة؟", k=5)
    assert max(str(c.date) for c in latest) >= max(str(c.date) for c in plain)
    assert sum(str(c.date) >= "2015-08-06" for c in latest) > sum(str(c.date) >= "2015-08-06" for c in plain)


def test_the_cli_scopes_and_says_how_it_read_the_dates(news_index):
    qa, folder = news_index
    index = str(qa.retriever.reader.index_dir)
    runner = CliRunner()
    result = runner.invoke(cli, ["ask", KINGDOM, "--index", index, "--publisher", "okaz", "--json"])
    assert result.exit_code == 0 and {c["publisher"] for c in json.loads(result.stdout)["citations"]} == {"okaz"}
    result = runner.invoke(cli, ["ask", "ما الذي أعلنته وزارة الصحة أمس؟", "--index", index])
    assert "Dates: read “أمس” as 10 August 2015" in result.output and "--all-dates" in result.output
    result = runner.invoke(cli, ["ask", "ما الذي أعلنته وزارة الصحة أمس؟", "--index", index, "--all-dates"])
    assert result.exit_code == 0 and "Dates:" not in result.output
    result = runner.invoke(cli, ["ask", KINGDOM, "--index", index, "--publisher", "okz"])
    assert result.exit_code == 1 and result.output.startswith("Error: No publisher okz in the index")
    assert "Traceback" not in result.output
    result = runner.invoke(cli, ["info", "--index", index])
    assert "Publishers  الشرق الأوسط · aawsat (50), " in result.output and "الرياض · alriyadh (26)" in result.output
    assert "Dates       2015-07-21 to 2015-08-11" in result.output


@pytest.mark.parametrize("kind", STORES)
def test_wire_copies_are_grouped_and_stay_right_under_add_change_and_remove(tmp_path, kind):
    records = news()[10:50]
    story = records[3]
    folder, index = tmp_path / "news", location(kind, tmp_path)
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps(records, ensure_ascii=False), "utf-8")
    embedder = HashingEmbedder()
    build_index([folder], index, embedder=embedder)
    question = " ".join(story["content"].split()[:14])
    qa = RagQA.load(index, embedder=embedder)
    assert qa.search(question, k=3)[0].copies == ()
    before = qa.info()["copy_groups"]  # copies among the 40 themselves

    (folder / "b.json").write_text(json.dumps([wire_copy(story, "okaz")], ensure_ascii=False), "utf-8")
    build_index([folder], index, embedder=embedder)  # added
    qa = RagQA.load(index, embedder=embedder)
    found = qa.search(question, k=5)
    sources = [c.source for c in found]
    assert story["url"] in sources and story["url"] + "-copy" not in sources  # one copy cited, not both
    first = next(c for c in found if c.source == story["url"])
    assert [(c["publisher"], c["source"]) for c in first.copies] == [("okaz", story["url"] + "-copy")]
    assert set(first.copies[0]) == {"doc_id", "title", "publisher", "date", "source"}
    answer = qa.ask(question).to_dict()
    assert any(c["copies"] for c in answer["citations"])
    assert qa.info()["copy_groups"] == {"groups": before["groups"] + 1, "articles": before["articles"] + 2}

    changed = {**wire_copy(records[5], "okaz"), "url": story["url"] + "-copy"}  # the same article, another story
    (folder / "b.json").write_text(json.dumps([changed], ensure_ascii=False), "utf-8")
    build_index([folder], index, embedder=embedder)
    regrouped = RagQA.load(index, embedder=embedder)  # the copy now goes with the other story
    assert regrouped.search(question, k=3)[0].copies == ()
    other = regrouped.search(" ".join(records[5]["content"].split()[:14]), k=1)[0]
    assert [c["source"] for c in other.copies] == [story["url"] + "-copy"]
    (folder / "b.json").unlink()
    build_index([folder], index, embedder=embedder)  # removed
    qa = RagQA.load(index, embedder=embedder)
    assert qa.info()["copy_groups"] == before
    assert qa.search(question, k=3)[0].copies == ()


def test_undated_texts_alike_are_not_grouped_as_copies(tmp_path):
    """Copies are a news notion (printed within days). Two overlapping undated texts, such as two paragraphs of
    one encyclopedia article that a QA set keeps under two ids, stay two articles, each citable alone."""
    story = news()[13]
    pair = [story, wire_copy(story, "okaz")]
    undated = [{k: v for k, v in r.items() if k != "date_extracted"} for r in pair]
    for name, records in (("dated", pair), ("undated", undated)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "a.json").write_text(json.dumps(records + news()[20:30], ensure_ascii=False), "utf-8")
        build_index([tmp_path / name], tmp_path / f"{name}-index", model="none")
    question = " ".join(story["content"].split()[:14])
    dated, undated = RagQA.load(tmp_path / "dated-index"), RagQA.load(tmp_path / "undated-index")
    assert dated.info()["copy_groups"] == {"groups": 1, "articles": 2} and dated.search(question, k=3)[0].copies
    assert undated.info()["copy_groups"] == {"groups": 0, "articles": 0}
    assert not any(c.copies for c in undated.search(question, k=5))


def test_an_index_of_the_previous_format_is_rebuilt_from_its_sources_by_a_plain_build(tmp_path, seed_dir):
    index = tmp_path / "index"
    build_index([seed_dir], index, model="none")
    manifest = json.loads((index / "manifest.json").read_text(encoding="utf-8"))
    (index / "manifest.json").write_text(json.dumps({**manifest, "format_version": 3}), encoding="utf-8")
    runner = CliRunner()
    refused = runner.invoke(cli, ["ask", "رفح", "--index", str(index)])
    assert refused.exit_code == 1 and "format version 3" in refused.output and "`rag-qa build`" in refused.output
    rebuilt = runner.invoke(cli, ["build", "--index", str(index), "--json"])
    assert rebuilt.exit_code == 0 and json.loads(rebuilt.stdout)["added"] == 1
    assert runner.invoke(cli, ["ask", "رفح", "--index", str(index)]).exit_code == 0


def test_dense_search_keeps_to_the_scope_in_an_approximate_index_too(tmp_path):
    """An IVF segment: a scope of a few chunks is scored exactly (the probed lists could hold none of them),
    a wide one through FAISS's selector."""
    embedder = HashingEmbedder()
    build_index([NEWS], tmp_path / "index", embedder=embedder, ann_threshold=100)
    qa = RagQA.load(tmp_path / "index", embedder=embedder)
    assert qa.manifest.dense["kind"] == "ivf"
    rare = [r for r in news() if r["source"] == "arreyadi"]
    question = " ".join(rare[0]["content"].split()[5:17])
    narrow = qa.search(question, k=3, mode="dense", publishers=["arreyadi"])
    assert narrow[0].source == rare[0]["url"] and {c.publisher for c in narrow} == {"arreyadi"}
    wide = qa.search(KINGDOM, k=10, mode="dense", since="2015-07-25")
    assert len(wide) == 10 and all(str(c.date) >= "2015-07-25" for c in wide)
