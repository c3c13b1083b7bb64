"""BM25 over character grams: weights derived from kept term counts equal bm25s's own, through additions
and removals; and a question finds a passage that holds its words only in other inflected forms."""

from __future__ import annotations

import json

import numpy as np
from conftest import DATA

from rag_qa import RagQA, build_index
from rag_qa.config import RETRIEVAL
from rag_qa.lexical import GRAMS, TermCounts
from rag_qa.retrieval import proximity
from rag_qa.textnorm import char_grams
from rag_qa.textnorm import terms as analyze


def paragraphs() -> list[list[str]]:
    data = json.loads((DATA / "xquad_ar_small.json").read_text(encoding="utf-8"))
    texts = [p["context"] for article in data["data"] for p in article["paragraphs"]]
    return [char_grams(sentence) for text in texts for sentence in text.split(".") if sentence.strip()]


def bm25s_weights(corpus: list[list[str]]) -> dict[tuple[int, str], float]:
    import bm25s

    reference = bm25s.BM25(k1=RETRIEVAL.bm25_k1, b=RETRIEVAL.bm25_b, method="lucene")
    reference.index(corpus, show_progress=False)
    return dense_weights(reference)


def dense_weights(retriever) -> dict[tuple[int, str], float]:
    scores, terms = retriever.scores, {i: t for t, i in retriever.vocab_dict.items()}
    weights = {}
    for column in range(len(scores["indptr"]) - 1):
        for k in range(scores["indptr"][column], scores["indptr"][column + 1]):
            weights[(int(scores["indices"][k]), terms[column])] = float(scores["data"][k])
    return weights


def assert_same(ours: dict, reference: dict) -> None:
    assert ours.keys() == reference.keys()
    keys = list(reference)
    assert np.allclose([ours[k] for k in keys], [reference[k] for k in keys], rtol=1e-5, atol=1e-6)


def test_weights_equal_bm25s_after_adding_and_removing_chunks(tmp_path):
    corpus = paragraphs()
    assert len(corpus) > 90
    counts = TermCounts.empty()
    for chunk_id, chunk_terms in enumerate(corpus[:60], start=1):
        counts.add(chunk_id, chunk_terms)
    assert_same(dense_weights(counts.bm25(RETRIEVAL.bm25_k1, RETRIEVAL.bm25_b)), bm25s_weights(corpus[:60]))

    counts.save(tmp_path, GRAMS)  # an incremental build starts from the saved counts
    again = TermCounts.load(tmp_path, GRAMS, counts.chunk_ids)
    again.remove(range(10, 30))  # chunk ids 10..29 leave, later chunks arrive
    for chunk_id, chunk_terms in enumerate(corpus[60:], start=61):
        again.add(chunk_id, chunk_terms)
    kept = [t for i, t in enumerate(corpus, start=1) if not 10 <= i < 30]
    assert list(again.chunk_ids) == [i for i in range(1, len(corpus) + 1) if not 10 <= i < 30]
    assert_same(dense_weights(again.bm25(RETRIEVAL.bm25_k1, RETRIEVAL.bm25_b)), bm25s_weights(kept))
    frequencies = again.document_frequencies()
    gram = next(iter(kept[0]))
    assert frequencies[again.vocabulary[gram]] == sum(gram in chunk for chunk in kept)


ARTICLES = [
    ("festival", "افتتح مهرجان الأفلام دورته الجديدة بعرض وثائقي عن الصحراء."),
    ("company", "أعلنت شركة الاتصالات عن أرباح قياسية في الربع الثالث من العام."),
    ("weather", "توقعت الأرصاد الجوية أمطارا غزيرة في المنطقة الشرقية خلال الأسبوع المقبل."),
    ("football", "فاز الفريق بالمباراة النهائية بعد ركلات الترجيح في الملعب الرئيسي للمدينة."),
]


def test_a_question_finds_a_passage_holding_its_words_in_other_forms(tmp_path):
    """ "لمهرجان" and "لشركة" carry a clitic lām that the Snowball stemmer keeps ("لمهرج" vs "مهرج",
    "لشر" vs "شرك"), so stemmed words share nothing with the passages; character grams match them."""
    for name, text in ARTICLES:
        (tmp_path / f"{name}.txt").write_text(text, encoding="utf-8")
    build_index([tmp_path], tmp_path / "index", model="none")
    qa = RagQA.load(tmp_path / "index")
    assert not set(analyze("ماذا حدث لمهرجان")) & set(analyze(ARTICLES[0][1]))
    assert "مهرجان الأفلام" in qa.search("ماذا حدث لمهرجان؟", k=1)[0].text
    assert "شركة الاتصالات" in qa.search("كم بلغت الأرباح لشركة؟", k=1)[0].text


def test_proximity_rewards_question_terms_that_stand_together():
    class Question:
        terms = ("جانب", "امريك")
        term_weights = {"جانب": 2.0, "امريك": 3.0}

    together = proximity(Question, ["قاد", "جانب", "امريك", "اجتماع"])
    apart = proximity(Question, ["جانب", "قاد", "وفد", "كبير", "اجتماع", "امريك"])
    assert together == 2.0 and apart == 0.0
