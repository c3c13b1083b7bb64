"""The OpenVINO engine: the same vectors and token counts as sentence-transformers, converted once and
cached, chosen by RAG_QA_ENGINE, recorded in the manifest, and a model it cannot run stays on torch."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import SEED
from sentence_transformers import SentenceTransformer
from test_fast_builds import TEXTS

from rag_qa import bundled, openvino_engine
from rag_qa.cli import cli
from rag_qa.embedding import SentenceTransformerEmbedder, load_embedder
from rag_qa.openvino_engine import OpenVinoEmbedder

LONG = " ".join(TEXTS * 30)  # beyond the tiny model's 128 tokens and e5's 512: truncated alike


@pytest.mark.parametrize("which", ["tiny_model", "bundled_folder"])
def test_openvino_gives_sentence_transformers_vectors_and_token_counts(which, request, monkeypatch):
    monkeypatch.setenv("RAG_QA_ENGINE", "openvino")
    location = str(request.getfixturevalue(which))
    engine = load_embedder(location, precision="fp32")
    assert isinstance(engine, OpenVinoEmbedder) and engine.describe()["engine"] == "openvino"
    reference = SentenceTransformer(location, device="cpu")
    texts = [*TEXTS, LONG, ""]
    sides = ((engine.style.document, engine.encode_documents), (engine.style.query, engine.encode_queries))
    for prompt, encode in sides:
        expected = reference.encode(texts, prompt=prompt or None, normalize_embeddings=True)
        assert np.sum(encode(texts) * expected, axis=1).min() >= 0.9999
    for text in [*TEXTS, LONG]:
        assert engine.count_tokens(text) == len(reference.tokenizer(text, add_special_tokens=False)["input_ids"])
    assert engine.max_seq_length == reference.max_seq_length and engine.dimension == reference.get_embedding_dimension()


def test_a_model_is_converted_once_and_the_engine_can_be_chosen(tiny_model, tmp_path, monkeypatch):
    monkeypatch.setenv("RAG_QA_ENGINE", "openvino")
    first = load_embedder(tiny_model)  # converted now, or earlier in this session
    assert isinstance(first, OpenVinoEmbedder)
    (first.folder / "model.bin").unlink()  # a damaged conversion is made again
    assert isinstance(load_embedder(tiny_model), OpenVinoEmbedder) and (first.folder / "model.bin").is_file()
    blocked = tmp_path / "home-is-a-file"
    blocked.write_text("", encoding="utf-8")
    with monkeypatch.context() as unwritable:  # nowhere to keep a conversion: the model runs on torch
        unwritable.setenv("RAG_QA_HOME", str(blocked))
        assert isinstance(load_embedder(tiny_model), SentenceTransformerEmbedder)
    monkeypatch.setattr(openvino_engine, "_convert", lambda *a: pytest.fail("converted again"))
    assert isinstance(load_embedder(tiny_model), OpenVinoEmbedder)
    monkeypatch.setenv("RAG_QA_ENGINE", "torch")
    assert isinstance(load_embedder(tiny_model), SentenceTransformerEmbedder)


def test_a_changed_model_folder_is_converted_again(tiny_model, tmp_path, monkeypatch):
    monkeypatch.setenv("RAG_QA_ENGINE", "openvino")
    copy = shutil.copytree(tiny_model, tmp_path / "tiny-copy")
    first = load_embedder(str(copy))
    config = copy / "config_sentence_transformers.json"
    settings = json.loads(config.read_text(encoding="utf-8"))
    config.write_text(json.dumps({**settings, "prompts": {"query": "question: ", "document": ""}}), encoding="utf-8")
    second = load_embedder(str(copy))
    assert isinstance(second, OpenVinoEmbedder) and second.folder != first.folder
    assert second.style.query == "question: "


def test_a_model_openvino_cannot_run_stays_on_torch(tiny_model, tmp_path, monkeypatch):
    """A Dense layer after pooling is not what the engine reproduces: the model runs on torch, once decided."""
    from sentence_transformers import models

    monkeypatch.setenv("RAG_QA_ENGINE", "openvino")
    base = SentenceTransformer(tiny_model, device="cpu")
    dense = models.Dense(base.get_embedding_dimension(), 8)
    folder = tmp_path / "with-dense"
    SentenceTransformer(modules=[base[0], base[1], dense], device="cpu").save(str(folder))
    embedder = load_embedder(str(folder))
    assert isinstance(embedder, SentenceTransformerEmbedder) and embedder.dimension == 8
    record = json.loads(next((bundled.home() / "openvino").glob("with-dense-*/rag_qa_openvino.json")).read_text())
    assert record["usable"] is False and "Dense" in record["why"]
    monkeypatch.setattr(openvino_engine, "_convert", lambda *a: pytest.fail("tried again"))
    assert isinstance(load_embedder(str(folder)), SentenceTransformerEmbedder)


def test_a_build_records_its_engine_and_an_engine_typo_is_one_sentence(tmp_path, seed_dir, tiny_model):
    runner = CliRunner()
    index = tmp_path / "index"
    fresh = {"RAG_QA_ENGINE": "openvino", "RAG_QA_HOME": str(tmp_path / "new-home")}  # nothing converted yet
    built = runner.invoke(cli, ["build", str(seed_dir), "--index", str(index), "--model", tiny_model], env=fresh)
    assert built.exit_code == 0, built.output
    assert "Converting the model for OpenVINO on this machine, once" in built.output  # the wait is explained
    again = runner.invoke(cli, ["build", str(seed_dir), "--index", str(index), "--model", tiny_model], env=fresh)
    assert again.exit_code == 0 and "Converting" not in again.output
    manifest = (index / "manifest.json").read_bytes()
    assert json.loads(manifest)["model"]["engine"] == "openvino"
    asked = runner.invoke(cli, ["ask", "من قاد الجانب الأمريكي في الاجتماع؟", "--index", str(index), "--json"],
                          env={"RAG_QA_ENGINE": "torch"})  # fmt: skip
    assert asked.exit_code == 0 and SEED.name in asked.output  # either engine reads the other's index
    typo = runner.invoke(cli, ["build", str(seed_dir), "--index", str(index), "--model", tiny_model, "--full"],
                         env={"RAG_QA_ENGINE": "openvno"})  # fmt: skip
    assert typo.exit_code == 1 and "Unknown engine 'openvno'" in typo.output and "Traceback" not in typo.output
    assert (index / "manifest.json").read_bytes() == manifest
