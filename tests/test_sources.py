"""The index remembers its sources: no build, typo or `make run` silently removes articles (sources.py)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT, SEED

from rag_qa.cli import cli

PORT = "افتتاح ميناء جديد\nافتتح وزير النقل ميناء ينبع الجديد يوم الأحد بطاقة مليون حاوية.\n"
DAM = "سد جديد\nدشن أمير المنطقة سد وادي بيشة لتخزين مياه الأمطار.\n"


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def build(*args):
    result = run("build", *args, "--index", "index", "--model", "none", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def make_build() -> subprocess.CompletedProcess:
    """The Makefile's build step (what `make run` does first), run as make runs it."""
    done = subprocess.run(
        ["make", "-s", "-f", str(ROOT / "Makefile"), "-o", "install", "build", "INDEX=index", f"PY={sys.executable}"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done


def manifest() -> dict:
    return json.loads(Path("index/manifest.json").read_text("utf-8"))


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """A working folder with seeds/ (the seed article) and mine/ (a journalist's own article)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / SEED.name).write_bytes(SEED.read_bytes())
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "port.txt").write_text(PORT, "utf-8")
    return tmp_path


def test_a_new_index_starts_from_seeds_and_remembers_it(workspace):
    summary = build()
    assert summary["documents"] == 1 and summary["sources"] == ["seeds"]


def test_adding_a_source_keeps_the_articles_of_the_others(workspace):
    build()
    summary = build("mine")
    assert summary["documents"] == 2 and summary["removed"] == 0 and summary["kept"] == 1
    assert summary["sources"] == ["seeds", "mine"]
    again = build()  # no SOURCE: every remembered source, nothing lost
    assert again["documents"] == 2 and again["removed"] == 0 and again["skipped"] == 2


@pytest.mark.parametrize("typo", ["artcles", "/does/not/exist"])
def test_a_source_that_does_not_exist_is_an_error_and_changes_nothing(workspace, typo):
    build()
    build("mine")
    before = manifest()
    result = run("build", typo, "--index", "index", "--model", "none")
    assert result.exit_code == 1
    assert f"No such file or folder: {typo}. Nothing was changed" in result.output
    assert manifest() == before


def test_building_elsewhere_without_seeds_never_empties_the_index(workspace, tmp_path_factory, monkeypatch):
    build()
    build("mine")
    before = manifest()
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    result = run("build", "--index", str(workspace / "index"), "--model", "none", "--json")
    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    # seeds and mine are not here: warned about, kept
    assert summary["documents"] == 2 and summary["removed"] == 0
    assert "from here seeds names" in result.stderr and "its articles stay" in result.stderr
    assert json.loads((workspace / "index" / "manifest.json").read_text())["documents"] == before["documents"]
    fresh = run("build", "--index", "new-index", "--model", "none")
    assert fresh.exit_code == 1 and "Nothing to index" in fresh.output and "rag-qa build PATH" in fresh.output


def test_a_file_that_vanished_from_a_source_read_is_removed_and_only_then(workspace):
    build()
    build("mine")
    (workspace / "mine" / "dam.txt").write_text(DAM, "utf-8")
    assert build("mine")["added"] == 1
    (workspace / "mine" / "port.txt").unlink()
    summary = build("mine")
    assert summary["removed"] == 1 and summary["documents"] == 2  # the seed and dam.txt
    (workspace / "seeds" / SEED.name).unlink()
    assert build("mine")["removed"] == 0  # seeds/ was not read by this build: its article stays


def test_remove_drops_a_source_and_an_unknown_one_is_an_error(workspace):
    build()
    build("mine")
    before = manifest()
    wrong = run("remove", "mien", "--index", "index")
    assert wrong.exit_code == 1 and "mien is not a source of the index" in wrong.output
    assert "(its sources: seeds, mine)" in wrong.output
    assert manifest() == before
    removed = json.loads(run("remove", "mine", "--index", "index", "--json").stdout)
    assert removed["removed"] == 1 and removed["documents"] == 1 and removed["sources"] == ["seeds"]
    assert build()["documents"] == 1  # forgotten: the next build does not bring it back


def test_prune_keeps_only_the_sources_named(workspace):
    build()
    build("mine")
    summary = build("mine", "--prune")
    assert summary["sources"] == ["mine"] and summary["documents"] == 1 and summary["removed"] == 1


def test_a_full_rebuild_reads_every_source_and_refuses_when_one_is_gone(workspace):
    build()
    build("mine")
    full = build("--full")
    assert full["documents"] == 2 and full["added"] == 2
    (workspace / "mine" / "port.txt").rename(workspace / "port.txt")
    (workspace / "mine").rmdir()
    before = manifest()
    refused = run("build", "--full", "--index", "index", "--model", "none")
    assert refused.exit_code == 1 and "rag-qa remove mine" in refused.output
    assert manifest() == before
    assert build("--prune")["sources"] == ["seeds"]  # with no SOURCE, --prune drops the sources that are gone


def test_info_lists_the_sources_in_plain_words(workspace):
    build()
    build("mine")
    result = run("info", "--index", "index")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert any(line.startswith("Sources") and "seeds: 1 article" in line for line in lines)
    assert any("mine: 1 article" in line for line in lines)
    assert "lexical-only, as asked" in result.stdout and " MB" in result.stdout
    for python_repr in ("None", "[", "{", "'"):
        assert python_repr not in result.stdout, python_repr
    data = json.loads(run("info", "--index", "index", "--json").stdout)
    assert [s["path"] for s in data["sources"]] == ["seeds", "mine"]


def test_build_help_says_what_is_kept_and_removed():
    text = " ".join(run("build", "--help").output.split())
    assert "The index remembers its sources" in text and "--prune" in text and "rag-qa remove SOURCE" in text


def test_make_run_builds_without_removing_articles_indexed_from_elsewhere(workspace):
    """`make run` updates the remembered sources (the Makefile's build step, run as make runs it)."""
    build()
    build("mine")
    done = make_build()
    assert "2 articles" in done.stdout and "0 removed" in done.stdout
    assert manifest()["documents"] == 2


def test_make_run_keeps_the_index_model_when_the_default_model_is_there(workspace, bundled):
    """An index built lexical-only on purpose stays so: `rag-qa build` with no --model updates an index
    with its own model, even where the default could be loaded."""
    build()
    build("mine")
    done = make_build()
    assert "lexical-only, as asked" in done.stdout and "0 removed" in done.stdout
    assert manifest()["documents"] == 2 and manifest()["mode"] == "lexical" and not manifest()["fallback_reason"]


def test_a_relative_source_seen_from_another_folder_is_kept_as_it_was(workspace, tmp_path_factory, monkeypatch):
    """`mine` remembered from one folder is not the `mine` of another: building there keeps its articles."""
    build("mine")
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "mine").mkdir()
    (elsewhere / "mine" / "dam.txt").write_text(DAM, "utf-8")
    monkeypatch.chdir(elsewhere)
    result = run("build", "--index", str(workspace / "index"), "--model", "none", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["removed"] == 0 and summary["added"] == 0 and summary["documents"] == 1  # mine's port.txt
    assert any("from here mine names" in w for w in summary["warnings"])


def test_the_index_folder_is_never_read_as_articles(workspace):
    build()
    result = run("build", "index", "--index", "index", "--model", "none")
    assert result.exit_code == 1 and "is the index itself" in result.output
    summary = build(".")  # the working folder holds the index: its files are not articles
    assert summary["errors"] == 0 and summary["documents"] == 2 and summary["removed"] == 0


def test_a_folder_built_from_elsewhere_keeps_the_moved_sources_files(workspace, tmp_path_factory, monkeypatch):
    """`rag-qa build .` from another folder: the remembered `mine` (elsewhere now) keeps its articles."""
    build("mine")
    other = tmp_path_factory.mktemp("other")
    (other / "dam.txt").write_text(DAM, "utf-8")
    monkeypatch.chdir(other)
    result = run("build", ".", "--index", str(workspace / "index"), "--model", "none", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["added"] == 1 and summary["removed"] == 0 and summary["documents"] == 2
    assert "mine" in summary["sources"]


def test_an_index_cleaned_by_older_rules_is_read_again_once(workspace, monkeypatch):
    from rag_qa import formats, indexing

    # a 3alyoum article as scraped: the gallery's "Next Previous", a dateline alone, a tag list at the end
    scraped = (
        "عاصفة رملية تجتاح الرياض\n Next Previous \nعين اليوم – الرياض\n"
        "اجتاحت عاصفة رملية العاصمة الرياض مساء اليوم السبت وعلقت الرحلات الجوية. سمات الرياض عاصفة رملية طقس\n"
    )
    (workspace / "mine" / "storm.txt").write_text(scraped, "utf-8")
    (workspace / "more").mkdir()
    (workspace / "more" / "dam.txt").write_text(DAM, "utf-8")
    with monkeypatch.context() as older:  # built by a rag_qa before the boilerplate rules
        older.setattr(formats, "article_line", lambda line, opening=False: line)
        older.setattr(indexing, "CLEANING", 1)
        build("mine")
        build("more")
    assert manifest()["cleaning"] == 1
    answer = json.loads(run("ask", "متى اجتاحت العاصفة الرملية الرياض؟", "--index", "index", "--json").stdout)
    assert any("سمات" in c["text"] for c in answer["citations"])  # the tag list was indexed

    build("more")  # reads more/ alone: mine/'s articles are still those of the older rules
    assert manifest()["cleaning"] == 1
    again = build()  # no file changed, yet the index's articles were cleaned by older rules
    assert (again["updated"], again["skipped"], again["added"], again["removed"]) == (1, 2, 0, 0)
    assert manifest()["cleaning"] == formats.CLEANING
    answer = json.loads(run("ask", "متى اجتاحت العاصفة الرملية الرياض؟", "--index", "index", "--json").stdout)
    assert answer["answer"].startswith("اجتاحت عاصفة رملية") and "سمات" not in answer["answer"]
    assert not any("سمات" in c["text"] for c in answer["citations"])
    version = manifest()["version_dir"]
    assert build()["skipped"] == 3 and manifest()["version_dir"] == version  # once, not at every build


def test_an_empty_folder_is_remembered_with_a_warning_and_read_when_it_has_articles(workspace):
    build()
    (workspace / "later").mkdir()
    summary = build("later")
    (warning,) = summary["warnings"]
    assert warning == "later holds no files yet: it is remembered as a source, and the next build reads it again."
    assert summary["sources"] == ["seeds", "later"] and summary["documents"] == 1
    (workspace / "later" / "dam.txt").write_text(DAM, "utf-8")
    summary = build()
    assert (summary["added"], summary["documents"], summary["warnings"]) == (1, 2, [])
