"""Both stores, the index directory and Milvus (Milvus Lite as the real engine), pass the same tests:
the same answers, incremental add/change/remove as a full rebuild, a model mismatch refused, and a
build that crashes leaving the previous version answering."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import DATA, SEED, SULLIVAN, US_SIDE_AR
from fakes import HashingEmbedder
from test_segments import paragraphs, write  # the same XQuAD paragraphs, one file each

from rag_qa import RagQA, build_index
from rag_qa.errors import IndexMissing, ModelMismatch
from rag_qa.pipeline import remove_sources
from rag_qa.storage.milvus import REWEIGHT_DRIFT
from rag_qa.storage.writer import IndexWriter

MilvusWriter = pytest.importorskip("rag_qa.storage.milvus_writer").MilvusWriter

STORES = ["directory", "milvus"]


def location(kind: str, folder: Path, name: str = "index") -> str:
    return str(folder / (f"{name}.milvus.db" if kind == "milvus" else name))


def questions() -> list[str]:
    data = json.loads((DATA / "xquad_ar_small.json").read_text(encoding="utf-8"))
    return [q["question"] for a in data["data"] for p in a["paragraphs"] for q in p["qas"]][::3]


Ranking = list[list[tuple[str, int, int, float]]]


def results(qa: RagQA, mode: str) -> Ranking:
    return [[(c.doc_id, c.start, c.end, round(c.score, 3)) for c in qa.search(q, k=5, mode=mode)] for q in questions()]


def same_ranking(mine: Ranking, theirs: Ranking) -> None:
    """The same passages in the same order, scores within REWEIGHT_DRIFT: after an update a Milvus index's
    older chunks keep the BM25 length normalisation of an average within that share of today's."""
    assert [[row[:3] for row in ranking] for ranking in mine] == [[row[:3] for row in ranking] for ranking in theirs]
    for ranking, other in zip(mine, theirs, strict=True):
        assert [row[3] for row in ranking] == pytest.approx([row[3] for row in other], rel=REWEIGHT_DRIFT, abs=1e-3)


@pytest.mark.parametrize("mode", ["lexical", "hybrid"])
def test_milvus_answers_as_the_directory_index(tmp_path, seed_dir, mode):
    """Same passages, same order, same BM25 and cosine scores, same cited answers."""
    embedder = HashingEmbedder() if mode == "hybrid" else None
    model = None if embedder else "none"
    readers = {}
    for kind in STORES:
        summary = build_index([seed_dir, DATA / "xquad_ar_small.json"], location(kind, tmp_path), model=model,
                              embedder=embedder)  # fmt: skip
        assert summary.mode == mode and summary.documents == 19
        readers[kind] = RagQA.load(location(kind, tmp_path), embedder=embedder)
    directory, milvus = readers["directory"], readers["milvus"]
    for search_mode in ["lexical"] if mode == "lexical" else ["lexical", "dense", "hybrid"]:
        assert results(milvus, search_mode) == results(directory, search_mode)
    for question in [US_SIDE_AR, *questions()[:6]]:
        mine, theirs = milvus.ask(question), directory.ask(question)
        assert (mine.text, mine.confidence) == (theirs.text, theirs.confidence)
        assert [(c.doc_id, c.start, c.end, c.highlights) for c in mine.citations] == [
            (c.doc_id, c.start, c.end, c.highlights) for c in theirs.citations
        ]
    assert SULLIVAN in milvus.ask(US_SIDE_AR).text
    assert milvus.info()["store"] == "milvus" and milvus.manifest.store["kind"] == "milvus"


@pytest.mark.parametrize("kind", STORES)
def test_incremental_updates_answer_as_a_full_rebuild(tmp_path, kind):
    texts = dict(enumerate(paragraphs()))
    embedder = HashingEmbedder()
    corpus, index = tmp_path / "corpus", location(kind, tmp_path)
    write(corpus, {n: t for n, t in texts.items() if n < 12})
    build_index([corpus], index, embedder=embedder)
    current = {n: t for n, t in texts.items() if n not in (2, 3, 4)}  # 3 removed, 6 added
    current[5] = texts[5] + " وأضيفت جملة جديدة إلى هذه الفقرة."  # 1 changed
    write(corpus, current)
    encoded_before = len(embedder.documents)
    summary = build_index([corpus], index, embedder=embedder)
    assert (summary.added, summary.updated, summary.removed) == (6, 1, 3)
    again = [t for t in embedder.documents[encoded_before:] if t.startswith("فقرة 0\n")]
    assert not again  # unchanged articles are not encoded again

    rebuilt = location(kind, tmp_path, "rebuilt")
    build_index([corpus], rebuilt, embedder=HashingEmbedder(), full=True)
    incremental, full = RagQA.load(index, embedder=embedder), RagQA.load(rebuilt, embedder=embedder)
    for mode in ("lexical", "hybrid"):
        same_ranking(results(incremental, mode), results(full, mode))
    counts = incremental.manifest.documents, incremental.manifest.chunks
    assert counts == (full.manifest.documents, full.manifest.chunks)
    words = ("عاصم", "جديد", "فقر")
    incremental_reader, full_reader = incremental.retriever.reader, full.retriever.reader
    assert incremental_reader.document_frequencies(words) == full_reader.document_frequencies(words)
    changed = full.search(texts[5][:60], k=1, mode="lexical")[0].doc_id
    assert "وأضيفت جملة جديدة" in str(incremental_reader.document_text(changed))
    assert all(c.title != "فقرة 3" for c in incremental.search(texts[3][:60], k=5))  # removed

    other = tmp_path / "other"
    write(other, {99: texts[13]})
    build_index([other], index, embedder=embedder)
    summary = remove_sources([other], index, embedder=embedder)
    assert summary.removed == 1 and summary.documents == full.manifest.documents
    same_ranking(results(RagQA.load(index, embedder=embedder), "lexical"), results(full, "lexical"))


@pytest.mark.parametrize("kind", STORES)
def test_a_build_with_another_model_is_refused_and_changes_nothing(tmp_path, seed_dir, kind):
    index = location(kind, tmp_path)
    build_index([seed_dir], index, embedder=HashingEmbedder("test/one"))
    with pytest.raises(ModelMismatch):
        build_index([seed_dir], index, embedder=HashingEmbedder("test/two"))
    with pytest.raises(ModelMismatch):
        RagQA.load(index, embedder=HashingEmbedder("test/two"))
    qa = RagQA.load(index, embedder=HashingEmbedder("test/one"))
    assert qa.manifest.model_name == "test/one" and SULLIVAN in qa.ask(US_SIDE_AR).text


@pytest.mark.parametrize("killed", [False, True], ids=["failed", "killed"])
@pytest.mark.parametrize("kind", STORES)
def test_a_build_that_crashes_leaves_the_previous_version_answering(tmp_path, seed_dir, kind, killed, monkeypatch):
    """A build that fails cleans up after itself; one killed before its switch (no cleanup ran) is undone
    by the next build: rows, term frequencies and all."""
    embedder = HashingEmbedder()
    index = location(kind, tmp_path)
    build_index([seed_dir], index, embedder=embedder)
    before = results(RagQA.load(index, embedder=embedder), "hybrid")
    extra = tmp_path / "extra"
    write(extra, dict(enumerate(paragraphs()[:8])))
    (seed_dir / SEED.name).write_text(SEED.read_text(encoding="utf-8") + "\nفقرة أضيفت إلى الخبر.", encoding="utf-8")
    writer_class = MilvusWriter if kind == "milvus" else IndexWriter

    def crash(self, fields, keep):
        raise OSError("disk full")

    monkeypatch.setattr(writer_class, "publish", crash)
    if killed:
        monkeypatch.setattr(writer_class, "abort", lambda self: None)
    with pytest.raises(OSError):
        build_index([seed_dir, extra], index, embedder=embedder)
    qa = RagQA.load(index, embedder=embedder)
    assert qa.manifest.documents == 1 and results(qa, "hybrid") == before
    monkeypatch.undo()
    summary = build_index([seed_dir, extra], index, embedder=embedder)
    assert (summary.added, summary.updated, summary.documents) == (8, 1, 9)
    rebuilt = location(kind, tmp_path, "rebuilt")
    build_index([seed_dir, extra], rebuilt, embedder=HashingEmbedder(), full=True)
    after, full = RagQA.load(index, embedder=embedder), RagQA.load(rebuilt, embedder=embedder)
    same_ranking(results(after, "lexical"), results(full, "lexical"))  # term frequencies as if it never crashed
    same_ranking(results(after, "hybrid"), results(full, "hybrid"))


def test_asking_a_milvus_file_that_does_not_exist_creates_nothing(tmp_path):
    missing = tmp_path / "typo.milvus.db"
    with pytest.raises(IndexMissing, match="No index in"):
        RagQA.load(str(missing))
    assert not missing.exists()


def test_the_chat_app_serves_a_milvus_index_and_adds_uploads_to_it(tmp_path, seed_dir):
    from rag_qa.chat_service import ChatService

    store = location("milvus", tmp_path)
    build_index([seed_dir], store, model="none")
    service = ChatService(store, uploads_dir=tmp_path / "uploads")
    assert SULLIVAN in service.ask(US_SIDE_AR).text
    upload = tmp_path / "incoming.txt"
    upload.write_text("افتتاح ميناء جديد\nافتتح وزير النقل ميناء ينبع الجديد يوم الأحد بطاقة مليون حاوية.", "utf-8")
    report = service.add_files([upload], lambda progress: None)
    assert "Added 1 article" in report and "holds 2 articles" in report
    answer = service.ask("من افتتح ميناء ينبع؟")
    assert answer.found and "وزير النقل" in answer.text
    assert RagQA.load(store).manifest.store["kind"] == "milvus"


def test_a_milvus_server_that_does_not_answer_is_one_sentence(tmp_path):
    from click.testing import CliRunner

    from rag_qa.chat_service import ChatService
    from rag_qa.cli import cli

    result = CliRunner().invoke(cli, ["ask", "--store", "milvus://127.0.0.1:9/news", "رفح"])
    assert result.exit_code == 1 and "No Milvus server answers at milvus://127.0.0.1:9/news" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    service = ChatService("milvus://127.0.0.1:9/news", uploads_dir=tmp_path / "uploads")  # the app says the same
    assert "No Milvus server answers at milvus://127.0.0.1:9/news" in str(service.load_error)


def test_the_cli_builds_asks_and_describes_a_milvus_index(tmp_path, seed_dir, monkeypatch):
    from click.testing import CliRunner

    from rag_qa.cli import cli

    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    store, folder = "archive.milvus.db", "index"
    for where in (["--store", store], ["--index", folder]):
        done = runner.invoke(cli, ["build", str(seed_dir), "--model", "none", *where])
        assert done.exit_code == 0, done.output
    answers = [
        json.loads(runner.invoke(cli, ["ask", US_SIDE_AR, "--json", *where]).stdout)
        for where in (["--store", store], ["--index", folder])
    ]
    assert SULLIVAN in answers[0]["answer"]
    assert answers[0]["citations"] == answers[1]["citations"] and answers[0]["answer"] == answers[1]["answer"]
    shown = runner.invoke(cli, ["info", "--store", store]).output
    assert f"Milvus at {store}" in shown and "MB (Milvus Lite file)" in shown and "1 article" in shown
    monkeypatch.setenv("RAG_QA_STORE", store)  # the variable names the store for every command
    assert SULLIVAN in json.loads(runner.invoke(cli, ["ask", US_SIDE_AR, "--json"]).stdout)["answer"]
    typo = runner.invoke(cli, ["build", "--ray", str(seed_dir)])  # --ray takes an optional address
    assert typo.exit_code == 2 and "not a Ray address" in typo.output


def test_an_update_that_moves_the_average_length_reweights_to_a_full_rebuilds_scores(tmp_path):
    """Beyond REWEIGHT_DRIFT the older passages are re-weighted after the switch: scores as a full rebuild."""
    texts = dict(enumerate(paragraphs()))
    corpus, index = tmp_path / "corpus", location("milvus", tmp_path)
    write(corpus, {n: t[:200] for n, t in texts.items() if n < 6})  # short passages first
    build_index([corpus], index, model="none")
    write(corpus, {**{n: t[:200] for n, t in texts.items() if n < 6}, **{n: t for n, t in texts.items() if n >= 6}})
    build_index([corpus], index, model="none")
    manifest = RagQA.load(index).manifest.store
    assert manifest["weights_average"] == manifest["total_length"] / RagQA.load(index).manifest.chunks
    rebuilt = location("milvus", tmp_path, "rebuilt")
    build_index([corpus], rebuilt, model="none", full=True)
    assert results(RagQA.load(index), "lexical") == results(RagQA.load(rebuilt), "lexical")


def test_a_build_that_fails_after_its_switch_keeps_the_new_version(tmp_path, seed_dir, monkeypatch):
    """Past the switch the version stands: a failure in the work after it must not drop its collections."""
    import rag_qa.storage.milvus_writer as milvus_writer

    real, calls = milvus_writer.recover, []

    def fail_once(store):
        calls.append(store)
        if len(calls) == 1:
            raise OSError("connection reset")
        real(store)

    monkeypatch.setattr(milvus_writer, "recover", fail_once)
    index = location("milvus", tmp_path)
    with pytest.raises(OSError):
        build_index([seed_dir], index, model="none")
    monkeypatch.undo()
    assert SULLIVAN in RagQA.load(index).ask(US_SIDE_AR).text


def test_generations_are_told_apart_from_another_index_with_a_longer_name():
    from rag_qa.storage.milvus import MilvusStore
    from rag_qa.storage.milvus_collections import generations

    class Listing:
        def list_collections(self):
            return ["news_g3_chunks", "news_g3_terms", "news_gulf_g1_chunks", "news_meta", "news_g12_documents"]

    store = MilvusStore("milvus://127.0.0.1:9/news")
    store.__dict__["client"] = Listing()  # (the cached client)
    assert generations(store) == {3, 12}


def test_files_beside_the_index_are_not_read_and_an_explicit_index_wins_over_the_variable(tmp_path, seed_dir,
                                                                                          monkeypatch):  # fmt: skip
    from click.testing import CliRunner

    from rag_qa.cli import cli

    monkeypatch.chdir(seed_dir.parent)
    runner = CliRunner()
    done = runner.invoke(cli, ["build", ".", "--store", "archive.milvus.db", "--model", "none", "--json"])
    assert done.exit_code == 0, done.output
    again = json.loads(runner.invoke(cli, ["build", ".", "--store", "archive.milvus.db", "--model", "none",
                                           "--json"]).stdout)  # fmt: skip
    assert again["errors"] == 0 and again["documents"] == 1  # the .db folder and its .lock are not articles
    monkeypatch.setenv("RAG_QA_STORE", "archive.milvus.db")
    local = runner.invoke(cli, ["build", str(seed_dir), "--index", "local", "--model", "none"])
    assert local.exit_code == 0 and (seed_dir.parent / "local" / "manifest.json").is_file()
