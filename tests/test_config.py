"""Settings are one frozen, nested value passed in; the library reads no environment variable of the contract."""

from __future__ import annotations

import dataclasses
import json

import pytest
from conftest import US_SIDE_AR

from rag_qa import RagQA, build_index
from rag_qa.config import DEFAULTS, AnsweringSettings, ChunkingSettings, Settings


def test_settings_are_frozen_and_replaced_not_changed():
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULTS.retrieval.rrf_k = 60  # type: ignore[misc]
    wider = dataclasses.replace(DEFAULTS, retrieval=dataclasses.replace(DEFAULTS.retrieval, rrf_k=60))
    assert wider.retrieval.rrf_k == 60 and DEFAULTS.retrieval.rrf_k == 10 and Settings() == DEFAULTS


def test_a_build_chunks_with_its_settings_and_updates_keep_the_index_own(seed_dir, tmp_path):
    index = tmp_path / "index"
    small = Settings(chunking=ChunkingSettings(chars=300, overlap_chars=40))
    coarse = build_index([seed_dir], tmp_path / "coarse", model="none")
    fine = build_index([seed_dir], index, model="none", settings=small)
    assert fine.chunks > coarse.chunks
    assert json.loads((index / "manifest.json").read_text())["chunking"]["size"] == 300
    (seed_dir / "more.txt").write_text("عنوان\nنص قصير عن اجتماع آخر في القاهرة.", encoding="utf-8")
    build_index([seed_dir], index, model="none")  # default settings: the index keeps the chunking it has
    assert json.loads((index / "manifest.json").read_text())["chunking"]["size"] == 300


def test_answer_settings_are_the_instance_own(lexical_index):
    one = Settings(answering=AnsweringSettings(max_answer_sentences=1, second_sentence_ratio=0.0))
    two = Settings(answering=AnsweringSettings(max_answer_sentences=2, second_sentence_ratio=0.0))
    single = RagQA.load(lexical_index, settings=one).ask(US_SIDE_AR)
    double = RagQA.load(lexical_index, settings=two).ask(US_SIDE_AR)
    assert single.text.count("[") == 1 and double.text.count("[") == 2
    assert double.text.startswith(single.text.split(" [")[0])


def test_the_library_ignores_the_cli_environment(lexical_index, monkeypatch):
    monkeypatch.setenv("RAG_QA_MODEL", "no/such-model")
    monkeypatch.setenv("RAG_QA_RERANK", "no/such-reranker")
    monkeypatch.setenv("RAG_QA_INDEX", "/no/such/index")
    qa = RagQA.load(lexical_index)  # the CLI reads these (tests/test_cli.py); the library takes arguments
    assert qa.ask(US_SIDE_AR).found and qa.ask(US_SIDE_AR).reranker is None


def test_the_cli_takes_settings_from_rag_qa_settings(lexical_index, tmp_path):
    from click.testing import CliRunner

    from rag_qa.cli import cli

    runner = CliRunner()
    ask = ["ask", US_SIDE_AR, "--index", str(lexical_index), "--json"]
    one = json.dumps({"answering": {"max_answer_sentences": 1, "second_sentence_ratio": 0.0}})
    two = tmp_path / "two.json"  # or the path of a file holding the object
    two.write_text(json.dumps({"answering": {"max_answer_sentences": 2, "second_sentence_ratio": 0.0}}), "utf-8")
    single = json.loads(runner.invoke(cli, ask, env={"RAG_QA_SETTINGS": one}).output)["answer"]
    double = json.loads(runner.invoke(cli, ask, env={"RAG_QA_SETTINGS": str(two)}).output)["answer"]
    assert single.count("[") == 1 and double.count("[") == 2


def test_a_typo_in_rag_qa_settings_is_one_sentence_and_nothing_runs(lexical_index):
    from click.testing import CliRunner

    from rag_qa.cli import cli

    ask = ["ask", US_SIDE_AR, "--index", str(lexical_index)]
    typos = [('{"retrival": {"rrf_k": 60}}', "no setting 'retrival'"), ('{"retrieval": {"rrf_k": "x"}}', "rrf_k")]
    for bad, says in typos:
        result = CliRunner().invoke(cli, ask, env={"RAG_QA_SETTINGS": bad})
        assert result.exit_code == 1 and says in result.output and "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1
    assert Settings.from_env({}) == DEFAULTS
