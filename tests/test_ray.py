"""Encoding on Ray Data (a local Ray, 2 CPUs): the same chunks and vectors as a local build, into either
store, and a Ray build and a local build update each other's index without re-encoding."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA, SULLIVAN, US_SIDE_AR
from fakes import HashingEmbedder

from rag_qa import RagQA, build_index
from rag_qa.config import RaySettings

ray = pytest.importorskip("ray")
NEWS = DATA / "saudinewsnet_hard_negatives.json"  # 221 SaudiNewsNet articles


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    """One local Ray for the module; its workers import the tests' fakes as the driver does."""
    tests = str(Path(__file__).resolve().parent)
    previous = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (tests, previous) if p)
    from rag_qa.ray_encoding import start_ray

    start_ray("local", RaySettings(cpus=2))
    yield
    ray.shutdown()
    if previous is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = previous


def passages_and_vectors(index: str, embedder) -> dict[tuple[str, int], tuple[str, np.ndarray]]:
    """Each chunk (article, offset) → its text and its sentence vectors, as the store returns them."""
    reader = RagQA.load(index, embedder=embedder).retriever.reader
    ids = list(range(1, reader.manifest.next_chunk_id))
    passages, sentences = reader.passages(ids), reader.sentences(ids)
    return {(p.doc_id, p.start): (p.text, sentences[i].vectors.astype(np.float32)) for i, p in passages.items()}


@pytest.mark.slow
@pytest.mark.parametrize("store", ["directory", "milvus"])
def test_a_ray_build_stores_what_a_local_build_stores(tmp_path, seed_dir, store):
    """The seed and 221 news articles into the directory; the seed alone into Milvus Lite (its writes are
    what costs time here, and tests/test_stores.py covers them)."""
    local, on_ray = str(tmp_path / "local"), str(tmp_path / ("ray.milvus.db" if store == "milvus" else "ray"))
    sources = [seed_dir] if store == "milvus" else [seed_dir, NEWS]
    build_index(sources, local, embedder=HashingEmbedder())
    summary = build_index(sources, on_ray, embedder=HashingEmbedder(), ray="local")
    assert summary.documents == (1 if store == "milvus" else 222)
    mine, theirs = passages_and_vectors(on_ray, HashingEmbedder()), passages_and_vectors(local, HashingEmbedder())
    assert mine.keys() == theirs.keys()
    for key, (text, vectors) in mine.items():
        assert text == theirs[key][0]
        np.testing.assert_allclose(vectors, theirs[key][1], atol=2e-3)  # stored as float16
    question = "من قاد الجانب الأمريكي في الاجتماع؟"
    assert RagQA.load(on_ray, embedder=HashingEmbedder()).ask(question).text == (
        RagQA.load(local, embedder=HashingEmbedder()).ask(question).text
    )


@pytest.mark.slow
def test_the_real_model_runs_in_ray_actors_and_finds_the_answer(tmp_path, seed_dir, bundled):
    """The actors load the bundled e5 by name; its vectors equal the local model's."""
    local, on_ray = str(tmp_path / "local"), str(tmp_path / "ray")
    build_index([seed_dir], local)
    summary = build_index([seed_dir], on_ray, ray="local")
    assert summary.mode == "hybrid" and summary.model == RagQA.load(local).manifest.model_name
    mine, theirs = passages_and_vectors(on_ray, None), passages_and_vectors(local, None)
    for key, (_, vectors) in mine.items():
        np.testing.assert_allclose(vectors, theirs[key][1], atol=2e-3)
    assert SULLIVAN in RagQA.load(on_ray).ask(US_SIDE_AR).text


@pytest.mark.slow
def test_ray_and_local_builds_update_each_others_index(tmp_path, seed_dir):
    """The same content hashes: what one encoded, the other reuses."""
    index, more = str(tmp_path / "index"), tmp_path / "more"
    more.mkdir()
    shutil.copy(NEWS, more / "news.json")
    build_index([seed_dir], index, embedder=HashingEmbedder())
    local = HashingEmbedder()
    build_index([seed_dir, more], index, embedder=local, ray="local")  # encoded on Ray: the news only
    assert local.documents == []  # the driver's copy encoded nothing
    (seed_dir / "extra.txt").write_text("خبر قصير\nأعلنت الوزارة اليوم عن خطة جديدة للنقل العام.", encoding="utf-8")
    again = HashingEmbedder()
    summary = build_index([seed_dir, more], index, embedder=again)  # local: only the new article
    assert summary.added == 1 and summary.skipped == 222
    assert again.documents and all("الوزارة" in t or "النقل" in t or "خبر قصير" in t for t in again.documents)
