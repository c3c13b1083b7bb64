"""The bundled e5 on real SaudiNewsNet articles (tests/data/saudinewsnet_facts.json, five articles of
2015-08-03): the asked detail sits in a later sentence than the lead, asked in Arabic and in English."""

from __future__ import annotations

import pytest
from conftest import DATA, SULLIVAN

from rag_qa import RagQA, build_index

pytestmark = pytest.mark.slow

QUESTIONS = [
    ("كم طابعا من عهد الملك المؤسس يعرض في معرض الطوابع بقرية المفتاحة؟", "42 طابعاً"),
    ("ما عمق بحيرة سد وادي عتود التي يبحث فيها الغواصون؟", "26 مترا"),
    ("How deep is the Wadi Atud dam lake the divers are searching?", "26 مترا"),  # "deep" → "عمق", metres
    ("من المتحدث الرسمي لوزارة العدل الذي تحدث عن إلغاء المواعيد الإلكترونية؟", "منصور القفاري"),
]
# An English question's counted noun ("stamps") has no Arabic word to be found by: the answer quotes the
# fact, but after the article's lead (docs/measurements.md, what still fails).
ENGLISH_COUNT = ("How many stamps from King Abdulaziz's reign are on show at the Muftaha stamp exhibition?", "42 طابعاً")


def test_the_quoted_sentence_and_its_span_hold_the_asked_fact_and_a_missing_one_is_said(bundled, tmp_path):
    build_index([DATA / "saudinewsnet_facts.json"], tmp_path / "index")  # the default model: the bundled e5
    qa = RagQA.load(tmp_path / "index")
    for question, fact in QUESTIONS:
        answer = qa.ask(question)
        assert answer.found and fact in answer.text.split(" [")[0], (question, answer.text)
        assert answer.span is not None, (question, answer.warnings)
        assert answer.span.text in fact or fact in answer.span.text, (question, answer.span)
    question, fact = ENGLISH_COUNT
    assert fact in qa.ask(question).text
    cost = qa.ask("كم بلغت تكلفة بناء سد وادي عتود بتهامة عسير؟")  # the article gives lengths, no cost
    assert cost.span is None and cost.confidence == "weak" and any("gives no number" in w for w in cost.warnings)
    later = qa.ask("كم عدد زوار معرض الطوابع في قرية المفتاحة عام 2019؟")  # the articles are of 2015
    assert not later.found and later.citations == () and "2019" in later.text
    assert later.mentioned and "الطوابع" in later.mentioned[0].text


def test_asked_about_one_article_among_hundreds_the_english_question_gets_sullivan(bundled, tmp_path, seed_dir):
    """The seed among 221 SaudiNewsNet articles: "who led the US side?" scoped to the seed article."""
    build_index([DATA / "saudinewsnet_hard_negatives.json", seed_dir], tmp_path / "index")
    qa = RagQA.load(tmp_path / "index")
    seed = next(e.doc_id for e in qa.retriever.reader.catalog.entries if e.publisher is None)
    answer = qa.ask("who led the US side?", articles=[seed])
    assert {c.doc_id for c in answer.citations} == {seed}
    assert answer.span is not None and answer.span.text == SULLIVAN
