"""The dense index goes approximate (FAISS IVF) past a number of chunks, keeps its recall, and stays updatable."""

from __future__ import annotations

import json
import shutil

import numpy as np
from conftest import DATA, SULLIVAN, US_SIDE_AR
from fakes import record_encoding

from rag_qa import RagQA, build_index
from rag_qa.storage import IndexReader
from rag_qa.storage import vectors as dense_index


def clustered_unit_vectors(count: int, dimension: int, clusters: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dimension)).astype(np.float32)
    points = centres[rng.integers(0, clusters, count)] + 0.35 * rng.standard_normal((count, dimension))
    points = points.astype(np.float32)
    return points / np.linalg.norm(points, axis=1, keepdims=True)


def test_ivf_keeps_recall_at_10_against_exact_search():
    import faiss

    points = clustered_unit_vectors(20_300, 32, 64, seed=1)
    data, queries = points[:20_000], points[20_000:]  # the queries are not in the index, unlike calibration's
    flat = dense_index.new_flat(32)
    flat.add_with_ids(data, np.arange(100, 100 + len(data), dtype=np.int64))
    ivf, description = dense_index.to_ivf(flat)
    assert isinstance(ivf, faiss.IndexIVFFlat) and ivf.ntotal == len(data)
    assert description["kind"] == "ivf" and description["nlist"] == ivf.nlist > 1
    assert description["nprobe"] < description["nlist"]  # really approximate: not every list is scanned
    _, truth = flat.search(queries, 10)
    _, found = ivf.search(queries, 10)
    assert dense_index.recall_at(found, truth) >= 0.95
    # ids survive, and a stored vector can be read back (incremental builds reuse vectors)
    assert np.allclose(ivf.reconstruct(100 + 7), data[7])
    ivf.remove_ids(np.asarray([100 + 7], dtype=np.int64))
    assert ivf.ntotal == len(data) - 1


def test_index_past_the_threshold_is_ivf_answers_and_updates_incrementally(tiny_model, seed_dir, tmp_path, monkeypatch):
    encoded = record_encoding(monkeypatch)
    shutil.copy(DATA / "xquad_ar_small.json", seed_dir / "xquad.json")
    index = tmp_path / "index"
    summary = build_index([seed_dir], index, model=tiny_model, ann_threshold=20)
    manifest = json.loads((index / "manifest.json").read_text())
    assert summary.chunks > 20 and manifest["dense"]["kind"] == "ivf"
    assert manifest["dense"]["nprobe"] >= 1 and manifest["dense"]["recall_at_10_estimate"] >= 0.95
    exact = tmp_path / "exact"
    build_index([seed_dir], exact, model=tiny_model)
    assert json.loads((exact / "manifest.json").read_text())["dense"]["kind"] == "flat"
    questions = [US_SIDE_AR, "متى بدأ التحقيق؟", "ما هي عاصمة الولاية؟"]
    approximate, flat = RagQA.load(index), RagQA.load(exact)
    for question in questions:  # the same passages as exact search would give
        assert {c.text for c in approximate.search(question, k=5, mode="dense")} == {
            c.text for c in flat.search(question, k=5, mode="dense")
        }
    assert SULLIVAN in approximate.ask(US_SIDE_AR, mode="lexical").citations[0].text

    extra = seed_dir / "extra.txt"
    extra.write_text("Gaza talks\nNegotiators met in Doha on Thursday to discuss a ceasefire.", "utf-8")
    before = len(encoded)
    added = build_index([seed_dir], index, model=tiny_model, ann_threshold=20)
    after_add = json.loads((index / "manifest.json").read_text())
    assert added.added == 1 and after_add["dense"] == manifest["dense"]  # same lists, not retrained
    # only the new chunk and its sentence were encoded (the chunk with its title, the sentence alone)
    assert sorted(encoded[before:]) == ["Gaza talks\nNegotiators met in Doha on Thursday to discuss a ceasefire.",
                                        "Negotiators met in Doha on Thursday to discuss a ceasefire."]  # fmt: skip
    assert RagQA.load(index).search("Negotiators met in Doha", k=3, mode="lexical")[0].title == "Gaza talks"

    extra.unlink()
    removed = build_index([seed_dir], index, model=tiny_model, ann_threshold=20)
    assert removed.removed == 1 and removed.chunks == summary.chunks
    qa = RagQA.load(index)
    assert all(c.title != "Gaza talks" for c in qa.search("Negotiators met in Doha", k=10, mode="dense"))
    assert SULLIVAN in qa.ask(US_SIDE_AR, mode="lexical").citations[0].text

    # an edited article: its old chunks stay in the IVF segment, deleted, and must never come back
    seed = next(seed_dir.glob("*.txt"))
    seed.write_text(seed.read_text("utf-8") + "\nوفي ختام الاجتماع اتفق الطرفان على لقاء جديد.", "utf-8")
    build_index([seed_dir], index, model=tiny_model, ann_threshold=20)
    build_index([seed_dir], exact, model=tiny_model)
    segments = json.loads((index / "manifest.json").read_text())["segments"]
    assert [s["dense"]["kind"] for s in segments] == ["ivf", "flat"]
    approximate, flat = RagQA.load(index), RagQA.load(exact)
    for question in questions:
        found = [c.text for c in approximate.search(question, k=10, mode="dense")]
        assert set(found) == {c.text for c in flat.search(question, k=10, mode="dense")}
    reader = IndexReader(index)
    deleted = set(json.loads((reader.dir / "deletions.json").read_text())[segments[0]["name"]]["chunks"])
    assert deleted  # the seed article's old chunks
    for chunk_id in deleted:  # a deleted chunk's own vector, as the query, does not find it
        vector = dense_index.take(reader.segments[0].dense, np.asarray([chunk_id]))[0]
        assert not set(reader.dense_search(vector, 10)) & deleted
