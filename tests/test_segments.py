"""Incremental builds add a segment and mark deletions; they must answer exactly as a full rebuild of
the same articles would, keep the archive's files untouched, and keep the number of segments bounded."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA
from fakes import record_encoding

from rag_qa import RagQA, build_index
from rag_qa.config import DEFAULTS, BuildSettings, Settings
from rag_qa.errors import IndexCorrupt
from rag_qa.storage import IndexReader

SEGMENTS_PER_TIER = DEFAULTS.build.segments_per_tier
PAIRS = Settings(build=BuildSettings(segments_per_tier=2))  # merge every two segments of a size class


def paragraphs() -> list[str]:
    data = json.loads((DATA / "xquad_ar_small.json").read_text(encoding="utf-8"))
    return [p["context"] for article in data["data"] for p in article["paragraphs"]]


def questions() -> list[str]:
    data = json.loads((DATA / "xquad_ar_small.json").read_text(encoding="utf-8"))
    return [q["question"] for a in data["data"] for p in a["paragraphs"] for q in p["qas"]][::7]


def write(folder: Path, texts: dict[int, str]) -> None:
    folder.mkdir(exist_ok=True)
    for path in folder.glob("*.txt"):
        path.unlink()
    for number, text in texts.items():
        (folder / f"p{number:02d}.txt").write_text(f"فقرة {number}\n{text}", encoding="utf-8")


def results(index: Path, mode: str) -> list[list[tuple[str, str, float]]]:
    qa = RagQA.load(index)
    return [[(c.doc_id, c.text, round(c.score, 4)) for c in qa.search(q, k=5, mode=mode)] for q in questions()]


def segment_folders(index: Path) -> list[Path]:
    version = json.loads((index / "manifest.json").read_text())["version_dir"]
    return sorted(p for p in (index / version).iterdir() if p.is_dir())


@pytest.mark.parametrize("mode", ["lexical", "hybrid"])
def test_incremental_builds_answer_exactly_as_a_full_rebuild(tmp_path, tiny_model, mode):
    texts = dict(enumerate(paragraphs()))
    model = tiny_model if mode == "hybrid" else "none"
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    write(corpus, {n: t for n, t in texts.items() if n < 12})
    build_index([corpus], index, model=model)
    current = {n: t for n, t in texts.items() if n not in (2, 3, 4)}  # 3 removed, 6 added
    current[5] = texts[5] + " وأضيفت جملة جديدة إلى هذه الفقرة."  # 1 changed
    write(corpus, current)
    summary = build_index([corpus], index, model=model)
    assert (summary.added, summary.updated, summary.removed) == (6, 1, 3)
    assert len(segment_folders(index)) == 2  # the first build's segment, untouched, and one new
    details = RagQA.load(index).info()
    assert details["segments"] == 2 and details["deleted_chunks"] >= 4 and details["documents"] == 15

    rebuilt = tmp_path / "rebuilt"
    build_index([corpus], rebuilt, model=model, full=True)
    assert len(segment_folders(rebuilt)) == 1
    assert results(index, mode) == results(rebuilt, mode)
    incremental, full = IndexReader(index), IndexReader(rebuilt)
    assert (incremental.manifest.documents, incremental.manifest.chunks) == (
        full.manifest.documents,
        full.manifest.chunks,
    )
    for word in ("عاصم", "جديد", "فقر"):  # stemmed word terms: their IDF weighs the question
        assert incremental.document_frequency(word) == full.document_frequency(word)
    changed = RagQA.load(rebuilt).search(texts[5][:60], k=1, mode="lexical")[0].doc_id  # its own words
    assert incremental.document_text(changed) == full.document_text(changed)
    assert "وأضيفت جملة جديدة" in str(full.document_text(changed))
    assert all(c.title != "فقرة 3" for c in RagQA.load(index).search(texts[3][:60], k=5))  # removed


def test_an_update_leaves_the_archive_files_as_they_are(tmp_path):
    """Adding an article writes a small segment; the big one is the same file (a hard link), not a copy."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    texts = dict(enumerate(paragraphs()))
    write(corpus, {n: t for n, t in texts.items() if n < 17})
    build_index([corpus], index, model="none")
    (archive,) = segment_folders(index)
    inodes = {p.name: p.stat().st_ino for p in archive.iterdir()}
    write(corpus, texts)
    build_index([corpus], index, model="none")
    kept, added = segment_folders(index)
    assert kept.name == archive.name and {p.name: p.stat().st_ino for p in kept.iterdir()} == inodes
    assert len(json.loads((added / "../manifest.json").read_text())["segments"]) == 2
    assert json.loads((index / "manifest.json").read_text())["documents"] == 18


def test_many_small_updates_are_merged_and_deleted_chunks_dropped(tmp_path):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    texts = dict(enumerate(paragraphs()))
    for last in range(1, len(texts) + 1):  # one article more each time
        write(corpus, {n: t for n, t in texts.items() if n < last})
        build_index([corpus], index, model="none")
        assert 1 <= len(segment_folders(index)) < SEGMENTS_PER_TIER + 1
    rebuilt = tmp_path / "rebuilt"
    build_index([corpus], rebuilt, model="none", full=True)
    assert results(index, "lexical") == results(rebuilt, "lexical")

    write(corpus, {n: t for n, t in texts.items() if n < 3})  # most articles go: their segments are rewritten
    build_index([corpus], index, model="none")
    manifest = json.loads((index / "manifest.json").read_text())
    deletions = json.loads((index / manifest["version_dir"] / "deletions.json").read_text())
    stored = sum(s["chunks"] for s in manifest["segments"])
    dead = sum(len(d["chunks"]) for d in deletions.values())
    assert manifest["documents"] == 3 and dead <= 0.3 * stored
    assert {c.title for c in RagQA.load(index).search(texts[10][:40], k=5)} <= {"فقرة 0", "فقرة 1", "فقرة 2"}


def test_a_version_whose_segment_is_missing_is_reported(tmp_path):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    write(corpus, dict(enumerate(paragraphs()[:3])))
    build_index([corpus], index, model="none")
    (segment,) = segment_folders(index)
    for path in segment.iterdir():
        os.unlink(path)
    segment.rmdir()
    with pytest.raises(IndexCorrupt, match="rag-qa build --full"):
        RagQA.load(index)


def test_merging_segments_whose_chunk_ids_interleave(tmp_path):
    """Merge a segment made of the first and third builds' chunks with the second build's segment, whose
    ids lie between them: the merged rows must still be in id order and answer as a full rebuild."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    texts = dict(enumerate(paragraphs()))
    for last in (1, 9, 14):  # 1 article (2 chunks); 8 (a larger size class); 5, merged with the first
        write(corpus, {n: t for n, t in texts.items() if n < last})
        build_index([corpus], index, model="none", settings=PAIRS)
    first, second = segment_folders(index)
    assert list(np.load(first / "chunk_ids.npy")) == [1, 2, *range(11, 18)]  # around the second's 3..10
    write(corpus, {n: t for n, t in texts.items() if n < 15})
    build_index([corpus], index, model="none", settings=PAIRS)  # both now in one size class: merged
    merged = segment_folders(index)[0]
    assert list(np.load(merged / "chunk_ids.npy")) == list(range(1, 18))
    rebuilt = tmp_path / "rebuilt"
    build_index([corpus], rebuilt, model="none", full=True)
    assert results(index, "lexical") == results(rebuilt, "lexical")


def test_merged_hybrid_segments_search_as_a_full_rebuild(tmp_path, tiny_model):
    """Merges carry the stored vectors over (no encoding) and drop the deleted ones."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    texts = dict(enumerate(paragraphs()))
    for kept in ({0}, {0, 1}, {0, 1, 2}, {0, 2, 3}, {0, 2, 3, 4, 5}):  # article 1 leaves in the fourth build
        write(corpus, {n: texts[n] for n in kept})
        build_index([corpus], index, model=tiny_model, settings=PAIRS)
    rebuilt = tmp_path / "rebuilt"
    build_index([corpus], rebuilt, model=tiny_model, full=True)
    assert results(index, "dense") == results(rebuilt, "dense")
    assert results(index, "hybrid") == results(rebuilt, "hybrid")
    assert RagQA.load(index).info()["deleted_chunks"] == 0  # the segment that held article 1 was rewritten


def stored_sentences(index: Path) -> dict[tuple[str, str], tuple[list[list[int]], np.ndarray]]:
    """Every live chunk's stored sentences, by (title, chunk text): chunk ids differ between builds."""
    reader = IndexReader(index)
    ids = [int(i) for s in reader.segments for i in s.chunk_ids[s.live]]
    passages, found = reader.passages(ids), reader.sentences(ids)
    assert set(found) == set(ids)  # every live chunk has them, and no deleted one is asked for
    return {(passages[i].title, passages[i].text): (found[i].spans.tolist(), found[i].vectors) for i in ids}


def test_sentence_vectors_survive_updates_and_merges_and_asking_encodes_no_passage(tmp_path, tiny_model, monkeypatch):
    from rag_qa.sentences import sentence_spans

    texts = dict(enumerate(paragraphs()))
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    for last in range(2, SEGMENTS_PER_TIER + 4):  # small updates, merged on the way; one article edited
        current = {n: t for n, t in texts.items() if n < last}
        current[0] = texts[0] + f" وهذه الجملة رقم {last}."
        write(corpus, current)
        build_index([corpus], index, model=tiny_model)
    rebuilt = tmp_path / "rebuilt"
    build_index([corpus], rebuilt, model=tiny_model, full=True)
    incremental, full = stored_sentences(index), stored_sentences(rebuilt)
    assert incremental.keys() == full.keys()
    for (title, text), (spans, matrix) in incremental.items():
        assert spans == [list(s) for s in sentence_spans(text)] == full[(title, text)][0]
        assert np.allclose(matrix.astype(np.float32), full[(title, text)][1].astype(np.float32), atol=2e-3)

    from rag_qa import answering

    scored: list[list[tuple[str, list[float]]]] = []  # per question: each pooled passage's sentence cosines
    rank = answering.answer_passages

    def recording(*args):
        ranked = rank(*args)
        scored.append([(p.passage.text, p.cosines.tolist()) for p in ranked if p.cosines is not None])
        return ranked

    monkeypatch.setattr(answering, "answer_passages", recording)
    qa = RagQA.load(index)
    with monkeypatch.context() as no_encoding:
        record_encoding(no_encoding, fail="encoded at question time")
        live = [qa.ask(q) for q in questions()]  # sentences scored from the stored vectors
    assert any(a.found for a in live)
    from_stored, scored[:] = list(scored), []
    # Answering as if none were stored: every sentence encoded now.
    nothing_stored = lambda q, c, f, k, e, stored, *rest: recording(q, c, f, k, e, {}, *rest)  # noqa: E731
    monkeypatch.setattr(answering, "answer_passages", nothing_stored)
    for question in questions():
        qa.ask(question)
    for now, kept in zip(scored, from_stored, strict=True):  # float16 storage: equal to rounding, not bit for bit
        assert [text for text, _ in now] == [text for text, _ in kept]
        for (_, a), (_, b) in zip(now, kept, strict=True):
            assert np.allclose(a, b, atol=3e-3)
