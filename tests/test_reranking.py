"""The optional cross-encoder stage, offline, with a tiny cross-encoder built from scratch."""

import json

import pytest
from click.testing import CliRunner
from conftest import US_SIDE_AR

from rag_qa import RagQA
from rag_qa.cli import cli
from rag_qa.errors import ModelUnavailable


def test_reranker_orders_passages_by_its_own_scores(lexical_index, tiny_reranker):
    from sentence_transformers import CrossEncoder

    plain = RagQA.load(lexical_index)
    reranked = RagQA.load(lexical_index, rerank=tiny_reranker)
    hits = reranked.search("رفح", k=10)
    assert {h.chunk_id for h in hits} == {h.chunk_id for h in plain.search("رفح", k=10)}  # same passages
    expected = CrossEncoder(tiny_reranker, device="cpu").predict([("رفح", f"{h.title}\n{h.text}") for h in hits])
    assert [round(h.score, 4) for h in hits] == sorted((round(float(s), 4) for s in expected), reverse=True)
    answer = reranked.ask(US_SIDE_AR)
    assert answer.reranker == tiny_reranker and answer.to_dict()["reranker"] == tiny_reranker
    assert plain.ask(US_SIDE_AR).reranker is None  # off by default


def test_reranker_from_cli_and_env(lexical_index, tiny_reranker):
    result = CliRunner().invoke(cli, ["ask", US_SIDE_AR, "--index", str(lexical_index), "--json"],
                                env={"RAG_QA_RERANK": tiny_reranker})  # fmt: skip
    assert result.exit_code == 0 and json.loads(result.stdout)["reranker"] == tiny_reranker


def test_unavailable_reranker_is_a_clear_error(lexical_index):
    with pytest.raises(ModelUnavailable, match="not in the local Hugging Face cache"):
        RagQA.load(lexical_index, rerank="BAAI/bge-reranker-v2-m3")
    result = CliRunner().invoke(cli, ["ask", US_SIDE_AR, "--index", str(lexical_index), "--rerank", "./no-such-dir"])
    assert result.exit_code == 1 and "does not exist" in result.output and "Traceback" not in result.output
