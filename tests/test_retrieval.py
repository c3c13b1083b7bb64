"""Retrieval: BM25 and dense candidates fused by RRF, each passage read once per question. With an
injected deterministic embedder (tests/fakes.py): no model on disk."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest
from conftest import SULLIVAN, US_SIDE_AR
from fakes import HashingEmbedder

from rag_qa import RagQA, build_index
from rag_qa.config import DEFAULTS, Settings
from rag_qa.errors import ModelMismatch
from rag_qa.retrieval import reciprocal_rank_fusion


@pytest.fixture
def fake_index(seed_dir, tmp_path):
    embedder = HashingEmbedder()
    index = tmp_path / "index"
    summary = build_index([seed_dir], index, embedder=embedder)
    assert summary.mode == "hybrid" and summary.model == embedder.name
    return index, embedder


def test_reciprocal_rank_fusion_weighs_each_ranking():
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1]], k=10, weights=(1.0, 2.0))
    assert fused[1] == pytest.approx(1 / 11 + 2 / 12) and fused[3] == pytest.approx(1 / 13 + 2 / 11)
    assert fused[2] == pytest.approx(1 / 12)
    assert sorted(fused, key=lambda i: -fused[i]) == [3, 1, 2]


def test_an_injected_embedder_builds_and_answers_hybrid(fake_index):
    index, embedder = fake_index
    qa = RagQA.load(index, embedder=embedder)
    answer = qa.ask(US_SIDE_AR)
    assert answer.mode == "hybrid" and answer.found
    assert SULLIVAN in answer.citations[0].text and SULLIVAN in answer.text
    assert embedder.queries[-1] == US_SIDE_AR  # the question, encoded by the injected model


def test_an_injected_embedder_must_be_the_index_model(fake_index):
    index, _ = fake_index
    with pytest.raises(ModelMismatch, match="test/hashing-embedder"):
        RagQA.load(index, embedder=HashingEmbedder(name="test/another-model"))


def test_without_its_model_the_index_answers_lexically_and_says_so(fake_index):
    index, _ = fake_index
    qa = RagQA.load(index)  # the fake cannot be loaded by name
    assert qa.modes == ("lexical",) and any("lexical-only" in w for w in qa.warnings)
    assert SULLIVAN in qa.ask(US_SIDE_AR).citations[0].text


def test_each_passage_and_its_sentence_vectors_are_read_once_per_question(fake_index):
    index, embedder = fake_index
    qa = RagQA.load(index, embedder=embedder)
    reader = qa.retriever.reader
    read: Counter[int] = Counter()
    stored: Counter[int] = Counter()
    passages, sentences = reader.passages, reader.sentences
    reader.passages = lambda ids: (read.update(ids), passages(ids))[1]  # type: ignore[method-assign]
    reader.sentences = lambda ids: (stored.update(ids), sentences(ids))[1]  # type: ignore[method-assign]
    for mode in ("hybrid", "lexical", "dense"):
        read.clear()
        stored.clear()
        assert qa.ask(US_SIDE_AR, mode=mode).found
        assert read and max(read.values()) == 1, mode
        assert (max(stored.values()) == 1) if mode != "lexical" else not stored, mode


def test_fusion_settings_are_passed_in_not_global(fake_index):
    index, embedder = fake_index
    default = RagQA.load(index, embedder=embedder)
    before = [c.chunk_id for c in default.search(US_SIDE_AR)]
    dense_only = Settings(retrieval=replace(DEFAULTS.retrieval, dense_weight=1000.0, sentence_weight=0.0))
    by_dense = [c.chunk_id for c in RagQA.load(index, embedder=embedder, settings=dense_only).search(US_SIDE_AR)]
    assert by_dense == [c.chunk_id for c in default.search(US_SIDE_AR, mode="dense")]  # BM25 no longer counts
    assert by_dense != before  # (so the two settings rank differently here)
    assert [c.chunk_id for c in default.search(US_SIDE_AR)] == before  # the other instance kept its own


def test_a_reader_keeps_its_mode_across_a_rebuild(fake_index, seed_dir):
    index, embedder = fake_index
    lexical, hybrid = RagQA.load(index, model="none"), RagQA.load(index, embedder=embedder)
    (seed_dir / "more.txt").write_text("اجتماع في القاهرة\nعقد وزير الخارجية اجتماعا في القاهرة.", "utf-8")
    build_index([seed_dir], index, embedder=embedder)
    assert lexical.refresh() and hybrid.refresh()
    assert lexical.modes == ("lexical",) and lexical.ask(US_SIDE_AR).mode == "lexical"  # --model none holds
    assert hybrid.ask(US_SIDE_AR).mode == "hybrid" and lexical.manifest.documents == 2
