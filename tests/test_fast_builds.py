"""Fast builds: the precision passages are encoded in (chosen by the processor, forced to fp32 on request,
recorded in the manifest, and giving the fp32 vectors back), each text encoded once, and progress a user
can plan with."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import DATA, SEED
from fakes import HashingEmbedder

from rag_qa import build_index
from rag_qa import precision as precision_module
from rag_qa.cli import cli
from rag_qa.config import DEFAULTS, Settings
from rag_qa.embedding import load_embedder
from rag_qa.errors import BadArgument
from rag_qa.precision import choose_precision
from rag_qa.progress import BuildProgress, ProgressMeter

# A fixed set in both languages: news sentences, a headline, a question-like line, digits and a name.
TEXTS = [
    "التقى مستشار الأمن القومي الأمريكي جيك سوليفان بنظيره السعودي في الرياض يوم الأحد.",
    "أعلنت وزارة الصحة تسجيل 12 إصابة جديدة بفيروس كورونا في جدة والمدينة المنورة.",
    "ارتفاع أسعار النفط بعد قرار أوبك خفض الإنتاج",
    "الهلال يفوز على النصر بهدفين نظيفين في ديربي العاصمة.",
    "Jake Sullivan led the US side at the talks in Riyadh on Sunday.",
    "Oil prices rose 3 percent after OPEC agreed to cut output by 1.2 million barrels a day.",
    "The ministry said the new port at Yanbu can handle one million containers a year.",
    "Who won the match between Al Hilal and Al Nassr?",
]


def test_auto_precision_follows_the_processor_and_fp32_or_bf16_can_be_forced(monkeypatch):
    monkeypatch.setattr(precision_module, "native_bf16_flags", lambda: ("avx512_bf16",))
    assert choose_precision("auto", "cpu").name == "bf16"
    assert "AVX512_BF16" in choose_precision("auto", "cpu").reason
    assert choose_precision("auto", "cuda").name == "fp16"
    assert choose_precision("fp32", "cpu").name == "fp32"
    monkeypatch.setattr(precision_module, "native_bf16_flags", lambda: ())
    assert choose_precision("auto", "cpu").name == "fp32"  # emulated bf16 would be slower than fp32
    assert choose_precision("bf16", "cpu").name == "bf16"  # asked for: done
    with pytest.raises(BadArgument, match="needs a CUDA GPU"):
        choose_precision("fp16", "cpu")
    with pytest.raises(BadArgument, match="choose one of auto, fp32, bf16, fp16"):
        choose_precision("fp8", "cpu")


@pytest.mark.parametrize("engine", ["openvino", "torch"])
@pytest.mark.parametrize("which", ["bundled", "minilm"])
def test_bf16_passage_vectors_match_fp32_ones(which, engine, request, monkeypatch):
    """Cosine ≥ 0.999 between the bf16 and fp32 vectors of every text (the bundled multilingual e5 and the
    English MiniLM, on either engine); questions are encoded in fp32 either way."""
    monkeypatch.setenv("RAG_QA_ENGINE", engine)
    location = str(request.getfixturevalue("bundled_folder" if which == "bundled" else "minilm_path"))
    fast, exact = load_embedder(location, precision="bf16"), load_embedder(location, precision="fp32")
    assert (fast.describe()["precision"], exact.describe()["precision"]) == ("bf16", "fp32")
    cosines = np.sum(fast.encode_documents(TEXTS) * exact.encode_documents(TEXTS), axis=1)
    assert cosines.min() >= 0.999, cosines
    assert np.array_equal(fast.encode_queries(TEXTS[:2]), exact.encode_queries(TEXTS[:2]))


def test_a_build_records_its_precision_and_precision_fp32_overrides_auto(tmp_path, seed_dir, minilm_path, monkeypatch):
    monkeypatch.setattr(precision_module, "native_bf16_flags", lambda: ("amx_bf16", "avx512_bf16"))
    runner = CliRunner()
    auto = runner.invoke(cli, ["build", str(seed_dir), "--index", str(tmp_path / "a"), "--model", minilm_path])
    assert auto.exit_code == 0, auto.output
    assert " in bf16): 1 added" in auto.output and "passages/s)" in auto.output
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["model"]["precision"] == "bf16" and "AMX_BF16" in manifest["model"]["precision_reason"]

    forced = ["build", str(seed_dir), "--index", str(tmp_path / "b"), "--model", minilm_path, "--json"]
    result = runner.invoke(cli, [*forced, "--precision", "fp32"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["precision"] == "fp32"
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["model"]["precision"] == "fp32" and manifest["model"]["precision_reason"] == "asked for"
    again = [*forced[:3], str(tmp_path / "c"), *forced[4:]]
    by_settings = runner.invoke(cli, again, env={"RAG_QA_SETTINGS": '{"build": {"precision": "fp32"}}'})
    assert json.loads(by_settings.output)["precision"] == "fp32"


def test_a_precision_typo_is_one_sentence_and_changes_nothing(tmp_path, seed_dir, minilm_path):
    index = tmp_path / "index"
    build_index([seed_dir], index, model="none")
    before = (index / "manifest.json").read_bytes()
    runner = CliRunner()
    typo = runner.invoke(cli, ["build", "--index", str(index), "--precision", "fp8"])
    assert typo.exit_code == 2 and "'fp8' is not one of 'auto', 'fp32', 'bf16', 'fp16'" in typo.output
    gpu_only = runner.invoke(cli, ["build", str(seed_dir), "--index", str(index), "--model", minilm_path,
                                   "--full", "--precision", "fp16"])  # fmt: skip
    assert gpu_only.exit_code == 1 and "fp16 encoding needs a CUDA GPU" in gpu_only.output
    assert "Traceback" not in gpu_only.output
    settings = {"RAG_QA_SETTINGS": '{"build": {"precision": "fp8"}}'}
    by_settings = runner.invoke(cli, ["build", "--index", str(index)], env=settings)
    assert by_settings.exit_code == 1 and "Unknown precision 'fp8'" in by_settings.output
    assert (index / "manifest.json").read_bytes() == before


def test_each_text_is_encoded_once_across_batches(tmp_path):
    """A wire copy in a later batch (another title, the same text) reuses its sentences' vectors; the
    passages differ (the title is part of what the model sees for a passage) and are encoded."""
    story = json.loads((DATA / "saudinewsnet_hard_negatives.json").read_text(encoding="utf-8"))[13]
    copy = {**story, "url": story["url"] + "-copy", "title": "نقلا عن واس: " + story["title"]}
    (tmp_path / "news.json").write_text(json.dumps([story, copy], ensure_ascii=False), encoding="utf-8")
    embedder = HashingEmbedder()
    one_per_batch = replace(DEFAULTS, build=replace(DEFAULTS.build, documents_per_batch=1))
    summary = build_index([tmp_path / "news.json"], tmp_path / "index", embedder=embedder, settings=one_per_batch)
    assert summary.added == 2
    assert len(embedder.documents) == len(set(embedder.documents))  # nothing encoded twice
    passages = [t for t in embedder.documents if t.startswith(copy["title"])]
    assert len(passages) == summary.chunks // 2 > 0  # the copy's passages, and none of its sentences


def test_progress_gives_passages_per_second_and_a_time_left_that_settles():
    now = [0.0]
    reports: list[BuildProgress] = []
    meter = ProgressMeter(1000, reports.append, clock=lambda: now[0])
    meter.skip(50, 200)  # an unchanged file: done at once, and no time spent on it
    for _ in range(4):  # four equal batches of 200 bytes and 100 passages, 10 s each
        now[0] += 10
        meter.handled(25, 100, 200)
        assert reports[-1].passages_per_s == pytest.approx(10.0)
    assert [round(r.eta_s or 0) for r in reports[1:]] == [30, 20, 10, 0]
    assert reports[1].describe() == "100 passages · 10.0 passages/s · 40 % · about 30 s left"
    assert (reports[-1].articles, reports[-1].share) == (150, 1.0)
    assert BuildProgress(3, 900, 60, 0.1, 15.0, 5400).describe().endswith("about 1 h 30 min left")


def test_a_build_reports_its_progress_to_the_caller_and_on_stderr(tmp_path, capsys):
    news = tmp_path / "news.json"
    news.write_text((DATA / "saudinewsnet_hard_negatives.json").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "seed.txt").write_bytes(SEED.read_bytes())
    reports: list[BuildProgress] = []
    small_batches = Settings(build=replace(DEFAULTS.build, documents_per_batch=40))
    summary = build_index([tmp_path], tmp_path / "index", embedder=HashingEmbedder(), settings=small_batches,
                          on_progress=reports.append, show_progress=True)  # fmt: skip
    assert len(reports) >= 2 and reports[-1].share == 1.0
    assert reports[-1].passages == summary.chunks and reports[-1].articles == summary.documents
    assert [r.passages for r in reports] == sorted(r.passages for r in reports)
    assert summary.passages_per_s and summary.passages_per_s > 0
    line = capsys.readouterr().err.split("\r")[-1]
    assert line.startswith(f"indexing: {summary.chunks:,} passages · ") and "passages/s · 100 %" in line
    again = build_index([tmp_path], tmp_path / "index", embedder=HashingEmbedder(), show_progress=True)
    assert again.added == 0 and "indexing" not in capsys.readouterr().err  # nothing to encode: no line
