"""BM25 over character grams: scores computed at query time from segments' postings equal bm25s's own,
through deletions and merges; and a question finds a passage that holds its words only in other forms."""

from __future__ import annotations

import json

import numpy as np
from conftest import DATA

from rag_qa import RagQA, build_index
from rag_qa.config import DEFAULTS
from rag_qa.retrieval import proximity
from rag_qa.storage.lexical import BM25, GramCounts, Postings
from rag_qa.textnorm import char_grams
from rag_qa.textnorm import terms as analyze

RETRIEVAL = DEFAULTS.retrieval


def paragraphs() -> list[list[str]]:
    data = json.loads((DATA / "xquad_ar_small.json").read_text(encoding="utf-8"))
    texts = [p["context"] for article in data["data"] for p in article["paragraphs"]]
    return [char_grams(sentence) for text in texts for sentence in text.split(".") if sentence.strip()]


def bm25s_scores(corpus: list[list[str]], query: list[str]) -> np.ndarray:
    import bm25s

    reference = bm25s.BM25(k1=RETRIEVAL.bm25_k1, b=RETRIEVAL.bm25_b, method="lucene")
    reference.index(corpus, show_progress=False)
    known = [g for g in query if g in reference.vocab_dict]
    return reference.get_scores(known)


def segment(corpus: list[list[str]]) -> Postings:
    counts = GramCounts()
    for grams in corpus:
        counts.add(grams)
    return counts.postings()


def test_scores_over_segments_with_deletions_equal_bm25s_over_the_live_chunks(tmp_path):
    """Two segments, the first with rows 10..29 deleted, score every chunk as bm25s does when it indexes
    only the live chunks; so do the saved, reloaded postings and the merge of both segments."""
    corpus = paragraphs()
    assert len(corpus) > 90
    first, second = segment(corpus[:60]), segment(corpus[60:])
    first.save(tmp_path)
    first = Postings.load(tmp_path)
    live_first = np.ones(60, dtype=bool)
    live_first[10:30] = False
    live_second = np.ones(len(corpus) - 60, dtype=bool)
    kept = [g for g, alive in zip(corpus, [*live_first, *live_second], strict=True) if alive]
    segments = [(first, live_first), (second, live_second)]
    merged = Postings.merge(segments)
    assert len(merged.lengths) == len(kept)
    data = json.loads((DATA / "xquad_ar_small.json").read_text(encoding="utf-8"))
    questions = [q["question"] for a in data["data"] for p in a["paragraphs"] for q in p["qas"]][:5]
    for query in [*map(char_grams, questions), [corpus[70][3], corpus[5][7], corpus[5][7]]]:
        reference = bm25s_scores(kept, query)
        split = BM25(segments, RETRIEVAL.bm25_k1, RETRIEVAL.bm25_b).scores(query)
        ours = np.concatenate([split[0][live_first], split[1]])
        assert np.allclose(ours, reference, rtol=1e-5, atol=1e-6) and reference.max() > 0
        (whole,) = BM25([(merged, np.ones(len(kept), dtype=bool))], RETRIEVAL.bm25_k1, RETRIEVAL.bm25_b).scores(query)
        assert np.allclose(whole, reference, rtol=1e-5, atol=1e-6)
    assert not split[0][~live_first].any()  # deleted chunks never score


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

    together = proximity(Question, ["قاد", "جانب", "امريك", "اجتماع"], RETRIEVAL.proximity_window)
    apart = proximity(Question, ["جانب", "قاد", "وفد", "كبير", "اجتماع", "امريك"], RETRIEVAL.proximity_window)
    assert together == 2.0 and apart == 0.0
