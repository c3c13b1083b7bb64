"""Hostile and broken input: each gives one clear sentence, loses no other data; no unsafe deserialisation."""

import json
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, SULLIVAN, US_SIDE_AR

from rag_qa import RagQA, build_index
from rag_qa.errors import BadQuestion, IndexCorrupt, IndexMissing, RagQAError


def test_a_folder_of_bad_files_loses_nothing_good(tmp_path, seed_dir):
    (seed_dir / "empty.txt").write_bytes(b"")
    (seed_dir / "binary.txt").write_bytes(bytes(range(256)) * 8)
    (seed_dir / "random.txt").write_bytes(bytes((i * 73 + 41) % 256 for i in range(4000)).replace(b"\x00", b"\x01"))
    (seed_dir / "legacy.txt").write_bytes("خبر قديم\nنص مكتوب بترميز ويندوز العربي عن ميناء جدة.".encode("cp1256"))
    with zipfile.ZipFile(tmp_path / "ok.zip", "w") as archive:
        archive.writestr("a.txt", "Zip\n" + "text " * 500)
    (seed_dir / "truncated.zip").write_bytes((tmp_path / "ok.zip").read_bytes()[:100])
    (seed_dir / "wrong.json").write_text(json.dumps([{"headline": "no body"}, {"title": 5, "content": ["x"]}]))
    (seed_dir / "dupe.txt").write_bytes((seed_dir / "000_8b0fa35e76ab8a52.txt").read_bytes())
    (seed_dir / "page.html").write_text(
        "<html><head><script>steal()</script></head><body><p>خبر عن ميناء ينبع.</p></body></html>", "utf-8"
    )
    summary = build_index([seed_dir], tmp_path / "index", model="none")
    assert summary.documents == 4  # seed, its duplicate under another name, legacy cp1256, HTML
    reasons = " | ".join(summary.problems)
    for expected in ("empty file", "binary file", "truncated or corrupt", "no 'content' or 'text' field"):
        assert expected in reasons
    qa = RagQA.load(tmp_path / "index")
    answer = qa.ask(US_SIDE_AR)
    assert SULLIVAN in answer.citations[0].text
    assert len({c.text for c in answer.citations}) == len(answer.citations)  # the duplicate is collapsed
    assert qa.ask("ميناء جدة").found and "steal" not in " ".join(c.text for c in qa.search("ميناء ينبع"))


def test_a_50_mb_single_line_file_is_bounded(tmp_path, seed_dir):
    import resource

    with open(seed_dir / "huge.txt", "w", encoding="utf-8") as handle:
        handle.write("عنوان\n")
        handle.write("كلمة عربية طويلة بلا نهاية سطر " * 1_650_000)  # about 50 MB, one line
    assert (seed_dir / "huge.txt").stat().st_size > 50_000_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    summary = build_index([seed_dir], tmp_path / "index", model="none")
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert summary.documents == 2 and any("only the first" in p for p in summary.problems)
    assert grown_mb < 1500, f"peak memory grew by {grown_mb:.0f} MB"
    assert SULLIVAN in RagQA.load(tmp_path / "index").ask(US_SIDE_AR).citations[0].text


@pytest.mark.parametrize(
    "question",
    ["😀🔥 رفح؟ 🇵🇸", "Who is جيك سوليفان in the اجتماع?", "\u202eمن قاد\u202c الجانب الأمريكي", "رفح\x00\x1b[31m"],
)
def test_odd_but_valid_questions_are_answered(lexical_index, question):
    answer = RagQA.load(lexical_index).ask(question)
    assert answer.text and answer.mode == "lexical"


@pytest.mark.parametrize(
    ("question", "message"), [("", "Please type"), (" \t\n ", "Please type"), ("x" * 100_000, "too long")]
)
def test_unusable_questions_get_one_sentence(lexical_index, question, message):
    with pytest.raises(BadQuestion, match=message):
        RagQA.load(lexical_index).ask(question)


def _copy(index: Path, tmp_path: Path) -> tuple[Path, Path]:
    target = tmp_path / "copy"
    shutil.copytree(index, target)
    version = json.loads((target / "manifest.json").read_text())["version_dir"]
    return target, target / version


def test_damaged_index_files_say_rebuild_with_full(tiny_model, seed_dir, tmp_path):
    index = tmp_path / "index"
    build_index([seed_dir], index, model=tiny_model)
    damages = {
        "dense.faiss": lambda p: p.write_bytes(p.read_bytes()[:40]),
        "chunk_ids.npy": lambda p: p.write_bytes(b"\x93NUMPY garbage"),
        "grams_postings_rows.npy": lambda p: p.write_bytes(p.read_bytes()[:90]),
        "chunks.sqlite": lambda p: p.write_bytes(p.read_bytes()[:100]),
        "grams_vocabulary.json": lambda p: p.write_text("{not json"),
        "words_df.npy": lambda p: p.unlink(),
        "deletions.json": lambda p: p.write_text("[1, 2"),
    }
    for name, damage in damages.items():
        copy, version = _copy(index, tmp_path / name)
        (path,) = version.rglob(name)  # in the version folder or in its one segment
        damage(path)
        with pytest.raises(IndexCorrupt, match=r"rag-qa build --full"):
            RagQA.load(copy)
    copy, version = _copy(index, tmp_path / "rows")  # the right size, wrong row numbers: found when asked
    (rows,) = version.rglob("grams_postings_rows.npy")
    values = np.load(rows)
    np.save(rows, values + 10**6)
    with pytest.raises(IndexCorrupt, match=r"rag-qa build --full"):
        RagQA.load(copy).ask(US_SIDE_AR)
    copy, version = _copy(index, tmp_path / "manifest")
    manifest = json.loads((copy / "manifest.json").read_text())
    for field, value in (("mode", "quantum"), ("abstention", {"min_evidence": "high"})):
        damaged = {**manifest, field: value}
        (copy / "manifest.json").write_text(json.dumps(damaged))
        with pytest.raises(IndexCorrupt, match="--full"):
            RagQA.load(copy)
    with pytest.raises(IndexMissing, match="rag-qa build"):
        RagQA.load(tmp_path / "missing")


def test_a_damaged_index_is_replaced_only_by_a_full_build(lexical_index, seed_dir, tmp_path):
    """Its remembered sources cannot be read: an update would keep only the source named, so it stops."""
    copy, _ = _copy(lexical_index, tmp_path)
    (copy / "manifest.json").write_text("{ truncated")
    before = sorted(p.name for p in copy.iterdir())
    with pytest.raises(IndexCorrupt, match=r"Nothing was changed: `rag-qa build --full"):
        build_index([seed_dir], copy, model="none")
    assert sorted(p.name for p in copy.iterdir()) == before
    summary = build_index([seed_dir], copy, model="none", full=True)
    assert summary.documents == 1
    assert RagQA.load(copy).ask(US_SIDE_AR).found


def test_answers_only_quote_the_cited_passages(lexical_index):
    qa = RagQA.load(lexical_index)
    for question in (US_SIDE_AR, "ماذا قال نتنياهو عن رفح؟", "متى سيعقد الاجتماع الثاني؟"):
        answer = qa.ask(question)
        quoted = re.split(r"\s*\[\d+\]\s*", answer.text)
        cited = " ".join(c.text for c in answer.citations)
        assert all(piece in cited for piece in quoted if piece)


UNSAFE = re.compile(
    r"^\s*(import (pickle|dill|joblib|marshal|shelve|cloudpickle)|from (pickle|dill|joblib|marshal|shelve) import)"
    r"|pickle\.loads?\(|torch\.load\(|yaml\.load\(|allow_pickle\s*=\s*True|\beval\(|\bexec\(|trust_remote_code\s*=\s*True",
    re.MULTILINE,
)


def test_no_code_executing_deserialisation_in_the_package():
    sources = [*(ROOT / "rag_qa").rglob("*.py"), ROOT / "app.py"]
    offenders = [
        f"{path.name}: {match.group(0).strip()}" for path in sources for match in UNSAFE.finditer(path.read_text())
    ]
    assert offenders == []
    assert len(sources) > 10


def test_the_app_binds_loopback_by_default():
    import inspect

    from rag_qa import ui
    from rag_qa.cli import serve

    assert inspect.signature(ui.serve).parameters["host"].default == "127.0.0.1"
    assert next(p for p in serve.params if p.name == "host").default == "127.0.0.1"  # app.py runs `serve`


def test_library_errors_share_one_base_class():
    for error in (BadQuestion, IndexCorrupt, IndexMissing):
        assert issubclass(error, RagQAError)
