"""Each index with a model calibrates when to say "not found" on questions it cannot answer (abstention.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag_qa import RagQA, build_index, indexing
from rag_qa.abstention import BACKGROUND_QUESTIONS
from rag_qa.config import DEFAULTS
from rag_qa.evaluation import gold_paragraphs, questions_of, read_unanswerable

BACKGROUND_QUANTILE = DEFAULTS.abstention.background_quantile

DATA = Path(__file__).parent / "data"
US_SIDE_AR = "من قاد الجانب الأمريكي في الاجتماع؟"


@pytest.fixture(scope="module")
def minilm_index(minilm_path: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    index = tmp_path_factory.mktemp("calibrated") / "index"
    build_index([DATA / "xquad_en_small.json"], index, model=minilm_path)
    return index


def test_the_calibrated_thresholds_turn_away_the_background_questions_as_ask_does(minilm_index):
    qa = RagQA.load(minilm_index)
    calibration = qa.manifest.abstention
    assert calibration["model"] == qa.manifest.model_name and calibration["chunks"] == qa.manifest.chunks
    assert 0.0 < calibration["min_evidence"] and 0.0 < calibration["min_lexical_evidence"] <= 1.0
    # what the build measured is what a user asking those questions gets at most (answering also turns away
    # a question about a year later than every passage it draws on)
    answered = [q for q in BACKGROUND_QUESTIONS if qa.ask(q).found]
    assert len(answered) / len(BACKGROUND_QUESTIONS) <= calibration["background_answered"] + 1e-3
    assert len(answered) <= (1 - BACKGROUND_QUANTILE) * len(BACKGROUND_QUESTIONS)


def test_held_out_questions_abstain_and_answerable_ones_do_not(minilm_index):
    """tests/data/unanswerable.json shares no question with the background set the build calibrated on."""
    qa = RagQA.load(minilm_index)
    unanswerable = read_unanswerable(DATA / "unanswerable.json")
    held_out = read_unanswerable(DATA / "unanswerable_heldout.json")
    assert not set(unanswerable) & set(BACKGROUND_QUESTIONS) and len(set(held_out)) == len(held_out) == 60
    assert not set(held_out) & (set(BACKGROUND_QUESTIONS) | set(unanswerable))
    abstained = sum(not qa.ask(q).found for q in unanswerable) / len(unanswerable)
    corpus = DATA / "xquad_en_small.json"
    asked = list(questions_of(corpus, gold_paragraphs(corpus)))[:60]
    answered = sum(qa.ask(item.question).found for item in asked) / len(asked)
    assert abstained >= 0.9 and answered >= 0.95


def test_small_updates_keep_the_calibration_and_large_ones_redo_it(tiny_model, tmp_path, monkeypatch):
    articles = json.loads((DATA / "saudinewsnet_hard_negatives.json").read_text(encoding="utf-8"))
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "archive.json").write_text(json.dumps(articles[:60], ensure_ascii=False), encoding="utf-8")
    index = tmp_path / "index"
    build_index([sources], index, model=tiny_model)
    first = RagQA.load(index).manifest.abstention
    assert first is not None and first["chunks"] > 0

    calls = []
    redone = {"min_evidence": 0.5, "min_lexical_evidence": 0.5, "redone": True}
    monkeypatch.setattr(indexing, "calibrate", lambda *a: calls.append(a) or redone)
    (sources / "today.json").write_text(json.dumps(articles[60:61], ensure_ascii=False), encoding="utf-8")
    build_index([sources], index, model=tiny_model)
    assert RagQA.load(index).manifest.abstention == first and not calls  # one article in 60: kept

    (sources / "week.json").write_text(json.dumps(articles[61:100], ensure_ascii=False), encoding="utf-8")
    build_index([sources], index, model=tiny_model)
    assert RagQA.load(index).manifest.abstention == redone and len(calls) == 1


def test_lexical_indexes_and_indexes_built_before_calibration_keep_their_rules(
    lexical_index, tiny_model, seed_dir, tmp_path
):
    assert RagQA.load(lexical_index).manifest.abstention is None
    index = tmp_path / "index"
    build_index([seed_dir], index, model=tiny_model)
    manifest = json.loads((index / "manifest.json").read_text(encoding="utf-8"))
    manifest.pop("abstention")  # as an index written by an earlier rag_qa
    (index / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    qa = RagQA.load(index)
    assert qa.manifest.abstention is None
    assert qa.ask(US_SIDE_AR).found  # by the model family's fixed rule


@pytest.fixture(scope="module")
def news_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Lexical-only: the seed among 221 SaudiNewsNet articles (news shares words with almost any question)."""
    index = tmp_path_factory.mktemp("news") / "index"
    seeds = Path(__file__).parent.parent / "seeds"
    build_index([DATA / "saudinewsnet_hard_negatives.json", seeds], index, model="none")
    return index


def test_a_lexical_index_sets_its_confident_level_on_the_background_questions(news_index):
    level = RagQA.load(news_index).manifest.confidence
    assert level["background_questions"] == len(BACKGROUND_QUESTIONS)
    assert level["background_confident"] <= 1 - BACKGROUND_QUANTILE + 0.01 and level["lexical_evidence"] >= 0.25


def test_off_topic_answers_from_the_news_are_labelled_weak_and_real_ones_confident(news_index):
    from click.testing import CliRunner

    from rag_qa.cli import cli

    qa = RagQA.load(news_index)
    for off_topic in ("ما عاصمة أستراليا؟", "من فاز بكأس العالم 2022؟"):
        answer = qa.ask(off_topic)
        assert not answer.found or answer.confidence == "weak", (off_topic, answer.text)
    answer = qa.ask(US_SIDE_AR)
    assert answer.found and answer.confidence == "confident" and "سوليفان" in answer.text
    runner = CliRunner()
    weak = runner.invoke(cli, ["ask", "ما عاصمة أستراليا؟", "--index", str(news_index)])
    assert weak.stdout.startswith("Weak evidence:")
    asked = json.loads(runner.invoke(cli, ["ask", "ما عاصمة أستراليا؟", "--index", str(news_index), "--json"]).stdout)
    assert asked["confidence"] == "weak" and asked["citations"]
    sure = runner.invoke(cli, ["ask", US_SIDE_AR, "--index", str(news_index)])
    assert "Weak evidence" not in sure.stdout


def test_the_chat_shows_the_weak_label(news_index):
    from rag_qa.chat_service import ChatService
    from rag_qa.ui import respond

    *_, (_, history, _, _, _, _) = respond(ChatService(news_index), "ما عاصمة أستراليا؟", [])
    assert history[-1]["content"].startswith("**Weak evidence") and "[\\[1\\]]" in history[-1]["content"]


def test_a_number_the_passages_lack_makes_the_answer_weak_and_is_named(news_index):
    qa = RagQA.load(news_index)
    plain = qa.ask("من قاد الجانب الأمريكي في الاجتماع بشأن رفح؟")
    dated = qa.ask("من قاد الجانب الأمريكي في الاجتماع بشأن رفح عام 1987؟")  # the seed says nothing of 1987
    assert plain.found and not any("1987" in w for w in plain.warnings)
    assert dated.found and dated.confidence == "weak"
    assert "No passage it draws on mentions 1987." in dated.warnings
