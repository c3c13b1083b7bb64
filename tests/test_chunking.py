from hypothesis import given, settings
from hypothesis import strategies as st

from rag_qa.chunking import Chunker, ChunkingPlan
from rag_qa.formats import make_article


def article(text):
    return make_article("k", "Title", text, "src")


def test_offsets_map_back_to_the_article_text(seed_dir):
    from rag_qa.ingest import iter_articles

    (seed,) = list(iter_articles([seed_dir]))
    chunks = Chunker(ChunkingPlan("chars", 300, 50)).split(seed)
    assert len(chunks) > 3
    for c in chunks:
        assert seed.text[c.start : c.end] == c.text and len(c.text) <= 300
        assert c.doc_id == seed.doc_id and c.title == seed.title
    # together the chunks cover the article from its first to its last character
    assert chunks[0].start == 0 and chunks[-1].end == len(seed.text)


def test_arabic_sentence_and_clause_marks_are_split_points():
    text = "هل انتهى الاجتماع؟ نعم، انتهى مساء الإثنين؛ وسيعقد اجتماع ثان الأسبوع المقبل. " * 6
    chunks = Chunker(ChunkingPlan("chars", 120, 0)).split(article(text))
    assert all(c.text.endswith(("؟", "،", "؛", ".")) for c in chunks[:-1])


def test_token_sizes_never_exceed_the_model_limit(tiny_model, seed_dir):
    from rag_qa.embedding import load_embedder
    from rag_qa.ingest import iter_articles

    embedder = load_embedder(tiny_model)
    (seed,) = list(iter_articles([seed_dir]))
    chunks = Chunker(ChunkingPlan("tokens", 40, 8), embedder.count_tokens).split(seed)
    assert len(chunks) > 5
    assert max(embedder.count_tokens(c.text) for c in chunks) <= 40


words = st.text(alphabet=st.sampled_from(list("ابتثجحخدرسعفقلمنهوي abc")), min_size=1, max_size=12)
paragraphs = st.lists(st.lists(words, min_size=1, max_size=30).map(" ".join), min_size=1, max_size=8)


@settings(max_examples=60, deadline=None)
@given(paragraphs, st.integers(20, 200))
def test_chunks_are_exact_slices_and_lose_no_word(paras, size):
    a = article("\n".join(paras))
    if a is None:
        return
    chunks = Chunker(ChunkingPlan("chars", size, size // 5)).split(a)
    covered = [False] * len(a.text)
    for c in chunks:
        assert a.text[c.start : c.end] == c.text
        covered[c.start : c.end] = [True] * (c.end - c.start)
    assert all(covered[i] for i, ch in enumerate(a.text) if not ch.isspace())
