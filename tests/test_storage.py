"""The index directory: a staged version is invisible until published, and a damaged manifest is refused."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
from conftest import US_SIDE_AR

from rag_qa import RagQA, build_index
from rag_qa.errors import IndexCorrupt
from rag_qa.storage import IndexWriter, read_current_manifest

WRITER_FIELDS = {"format_version", "version_dir", "documents", "chunks", "dense", "segments", "next_chunk_id"}


def test_a_staged_version_answers_only_its_reader_until_published(seed_dir, tmp_path):
    index = tmp_path / "index"
    build_index([seed_dir], index, model="none")
    before = read_current_manifest(index)
    doc_id = RagQA.load(index).search(US_SIDE_AR, k=1)[0].doc_id  # the seed's one article
    writer = IndexWriter(index, before, None)
    writer.remove_documents([doc_id])
    staged = writer.finish({k: v for k, v in asdict(before).items() if k not in WRITER_FIELDS})
    try:
        assert staged.chunk_count == 0 and staged.manifest.documents == 0
        assert RagQA.load(index).ask(US_SIDE_AR).found  # readers still see the published version
    finally:
        staged.close()
    published = writer.publish({"abstention": None, "confidence": None}, keep_versions=2)
    assert read_current_manifest(index).version_dir == published.version_dir != before.version_dir
    assert not RagQA.load(index).ask(US_SIDE_AR).found
    versions = sorted(p.name for p in index.glob("v-*"))
    assert versions == sorted([before.version_dir, published.version_dir])  # the one before is kept


@pytest.mark.parametrize("damage", ["bm25", "confidence", "abstention"])
def test_a_manifest_with_damaged_parameters_says_rebuild_when_opened(seed_dir, tmp_path, damage):
    index = tmp_path / "index"
    build_index([seed_dir], index, model="none")
    path = index / "manifest.json"
    data = json.loads(path.read_text())
    if damage == "bm25":
        data["bm25"].pop("k1")
    elif damage == "confidence":
        data["confidence"] = {"lexical_evidence": "high"}
    else:
        data["abstention"] = {"min_evidence": None}
    path.write_text(json.dumps(data))
    with pytest.raises(IndexCorrupt, match="--full"):
        RagQA.load(index)
