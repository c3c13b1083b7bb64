"""Evaluation: gold paragraphs and answers by question id, and the metrics read from real answers."""

from __future__ import annotations

from conftest import DATA

from rag_qa import RagQA, build_index
from rag_qa.evaluation import gold_paragraphs, questions_of, score_answers

AR, EN = DATA / "xquad_ar_small.json", DATA / "xquad_en_small.json"


def test_cross_lingual_questions_take_the_corpus_answers_by_id():
    gold = gold_paragraphs(AR)
    arabic = {q.qid: q for q in questions_of(AR, gold, AR)}
    english = list(questions_of(EN, gold, AR))
    assert english and all(q.qid in arabic for q in english)
    for question in english:
        assert question.answers == arabic[question.qid].answers  # the Arabic strings an Arabic passage holds
        assert question.doc_id == arabic[question.qid].doc_id and question.question != arabic[question.qid].question


def test_scores_count_what_the_answers_show(tmp_path):
    index = tmp_path / "index"
    build_index([AR], index, model="none")
    qa = RagQA.load(index)
    asked = list(questions_of(AR, gold_paragraphs(AR), AR))[:30]
    report = score_answers(qa, asked, 5, None)
    answers = [qa.ask(q.question, k=5) for q in asked]
    pairs = zip(answers, asked, strict=True)
    cited_first = sum(bool(a.citations) and a.citations[0].doc_id == q.doc_id for a, q in pairs)
    assert report["n"] == 30 and report["recall@1"] == round(cited_first / 30, 4)
    assert report["abstained"] == round(sum(not a.found for a in answers) / 30, 4)
    assert 0.5 < report["recall@5"] <= 1.0 and report["recall@1"] <= report["recall@5"] <= report["recall@10"]
