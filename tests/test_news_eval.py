"""`rag-qa eval` on a news QA file: it builds the index from the articles the file names, finds the gold
article by URL and scores each language apart (answerable and unanswerable questions)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from click.testing import CliRunner

from rag_qa.cli import cli

SHAPES = Path(__file__).resolve().parent / "data" / "news_shapes"


def _news_qa(folder: Path) -> Path:
    """The shapes articles as a SaudiNewsNet-like day (plus one empty article, which is not counted), and
    questions in the form of news_qa_dev.json."""
    records = [{"source": "okaz", "url": "http://example.com/empty", "title": "فارغ", "content": "  "}]
    for path in sorted(SHAPES.glob("*.txt")):
        title, body = path.read_text(encoding="utf-8").split("\n", 1)
        records.append(
            {"source": "okaz", "url": f"http://example.com/{path.stem}/", "date_extracted": "2015-08-03 10:00:00",
             "title": title, "content": body}
        )  # fmt: skip
    (folder / "days").mkdir()
    with zipfile.ZipFile(folder / "days" / "2015-08-03.zip", "w") as z:
        z.writestr("2015-08-03.json", json.dumps(records, ensure_ascii=False))
    qa = {
        "corpus": "saudinewsnet 2015-08-03.zip, first 5 articles with non-empty content",
        "answerable": [
            {"id": "a1", "url": "http://example.com/hospital/", "answers": ["450 مليون ريال"],
             "answer_in_lead": False, "ar": "كم بلغت تكلفة مستشفى الولادة الجديد في تبوك؟",
             "en": "What did the new maternity hospital in Tabuk cost?"},
            {"id": "a2", "url": "http://example.com/bus/", "answers": ["27 شخصا"], "answer_in_lead": False,
             "ar": "كم عدد المصابين في حادث انقلاب حافلة المعتمرين على طريق الطائف؟"},
            {"id": "a3", "url": "http://example.com/railway", "answers": ["القريات"], "answer_in_lead": True,
             "ar": "إلى أي مدينة يصل خط السكة الحديد الجديد من الرياض؟"},
        ],
        "unanswerable": [
            {"id": "u1", "ar": "من فاز بكأس العالم لكرة القدم 2018؟", "en": "Who won the 2018 World Cup?"}
        ],
    }  # fmt: skip
    path = folder / "qa" / "news_qa.json"
    path.parent.mkdir()
    path.write_text(json.dumps(qa, ensure_ascii=False), encoding="utf-8")
    return path


def test_eval_scores_a_news_qa_file_per_language(tmp_path):
    qa = _news_qa(tmp_path)
    out = tmp_path / "report"
    result = CliRunner().invoke(cli, ["eval", "--corpus", str(qa), "--model", "none", "--json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["format"] == "news_qa" and report["documents"] == 5  # the empty article and the 6th are left out
    assert report["n"] == 4 and report["unanswerable_n"] == 2
    arabic = report["ar"]
    assert arabic["n"] == 3 and arabic["recall@3"] == 1.0  # the gold article is known by its URL
    assert arabic["answer_hit"] == 1.0 and arabic["answer_hit_in_lead_n"] == 1
    assert arabic["confident_right"] + arabic["weak"] + arabic["not_found"] == 1.0
    assert arabic["unanswerable"] == {"n": 1, "not_found": 1.0, "weak": 0.0, "confident": 0.0}
    assert report["unanswerable"]["ar"] == arabic["unanswerable"]
    assert report["en"]["n"] == 1 and report["en"]["unanswerable"]["n"] == 1  # lexical: English finds nothing
    assert {"latency_ms_p50", "span_hit", "confident_wrong"} <= set(arabic)
    assert "# rag_qa eval: news questions" in (out / "eval.md").read_text(encoding="utf-8")


def test_a_news_qa_file_whose_articles_cannot_be_found_is_one_sentence(tmp_path):
    qa = _news_qa(tmp_path)
    (tmp_path / "days" / "2015-08-03.zip").unlink()
    result = CliRunner().invoke(cli, ["eval", "--corpus", str(qa), "--model", "none"])
    assert result.exit_code == 1
    assert "cannot find 2015-08-03.zip" in result.output and "Traceback" not in result.output
