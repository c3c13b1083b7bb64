"""The real `rag-qa` command, through click's CliRunner and (for exit codes and stderr) a subprocess."""

import json
import os
import subprocess
import sys

from click.testing import CliRunner
from conftest import DATA, ROOT, SULLIVAN, US_SIDE_AR

from rag_qa.cli import cli

CONTRACT_BUILD_KEYS = {
    "documents",
    "chunks",
    "added",
    "updated",
    "removed",
    "skipped",
    "errors",
    "mode",
    "model",
    "seconds",
}
CONTRACT_CITATION_KEYS = {"n", "doc_id", "title", "source", "text", "start", "end", "score"}
# lexical, 103 XQuAD-ar paragraphs: 0.83 of the 100 unanswerable questions abstain (0.68 of the 53 Arabic ones)
UNANSWERABLE_LEXICAL_FLOOR = 0.8
CONTRACT_EVAL_KEYS = {
    "n",
    "mode",
    "recall@1",
    "recall@5",
    "recall@10",
    "mrr@10",
    "answer_in_citations@5",
    "answer_hit",
    "abstained",
    "latency_ms_p50",
    "latency_ms_p95",
}


def run(*args, env=None):
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result


def test_build_then_ask_json_cites_sullivan_first(seed_dir, tmp_path):
    index = str(tmp_path / "index")
    built = run("build", str(seed_dir), "--index", index, "--json")
    assert built.exit_code == 0
    summary = json.loads(built.stdout)
    assert CONTRACT_BUILD_KEYS <= summary.keys() and summary["documents"] == 1 and summary["mode"] == "lexical"
    assert "LEXICAL-ONLY" in built.stderr  # the default model is not available here: said loudly

    asked = run("ask", US_SIDE_AR, "--index", index, "--json")
    assert asked.exit_code == 0
    answer = json.loads(asked.stdout)
    assert {"question", "answer", "mode", "citations"} <= answer.keys() and answer["mode"] == "lexical"
    first = answer["citations"][0]
    assert CONTRACT_CITATION_KEYS <= first.keys() and first["n"] == 1 and SULLIVAN in first["text"]
    assert "[1]" in answer["answer"]


def test_ask_with_the_minilm_folder_runs_hybrid(seed_dir, tmp_path, minilm_path):
    index = str(tmp_path / "index")
    assert run("build", str(seed_dir), "--index", index, "--model", minilm_path, "--json").exit_code == 0
    answer = json.loads(run("ask", US_SIDE_AR, "--index", index, "--model", minilm_path, "--json").stdout)
    assert answer["mode"] == "hybrid" and SULLIVAN in answer["citations"][0]["text"]
    info = json.loads(run("info", "--index", index, "--json").stdout)
    assert info["mode"] == "hybrid" and info["documents"] == 1 and info["size_bytes"] > 0


def test_env_vars_configure_index_and_model(seed_dir, tmp_path):
    env = {"RAG_QA_INDEX": str(tmp_path / "env-index"), "RAG_QA_MODEL": "none"}
    assert run("build", str(seed_dir), "--json", env=env).exit_code == 0
    assert (tmp_path / "env-index" / "manifest.json").exists()
    answer = json.loads(run("ask", US_SIDE_AR, "--json", env=env).stdout)
    assert SULLIVAN in answer["citations"][0]["text"]


def test_not_found_in_plain_text(lexical_index):
    result = run("ask", "What is the capital of Australia?", "--index", str(lexical_index))
    assert result.exit_code == 0 and "Not found in the indexed articles." in result.stdout


def test_eval_on_a_small_squad_file_with_report(tmp_path):
    """Regression guard at reduced size (full figures in the README): 103 XQuAD-ar questions, 40 unanswerable."""
    out = tmp_path / "report"
    result = run(
        "eval", "--corpus", str(DATA / "xquad_ar_small.json"), "--model", "none", "--json",
        "--unanswerable", str(DATA / "unanswerable.json"), "--out", str(out),
        "--unanswerable", str(DATA / "unanswerable_heldout.json"),
    )  # fmt: skip
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert CONTRACT_EVAL_KEYS <= report.keys() and report["n"] == 103 and report["mode"] == "lexical"
    assert report["recall@1"] <= report["recall@5"] <= report["recall@10"]
    # measured with 4-gram BM25 + proximity: 0.990, 0.990, 0.825, 0.010 abstained (word BM25 gave
    # 0.961, 0.961, 0.728, 0.039)
    assert report["recall@5"] >= 0.97 and report["answer_in_citations@5"] >= 0.97
    assert report["answer_hit"] >= 0.78 and report["abstained"] <= 0.03
    assert report["unanswerable_n"] == 100  # both files, 53 Arabic questions and 47 others
    assert (report["unanswerable_arabic_n"], report["unanswerable_other_n"]) == (53, 47)
    assert report["unanswerable_other_abstained"] == 1.0  # BM25 finds no Arabic passage for an English question
    assert report["unanswerable_abstained"] >= UNANSWERABLE_LEXICAL_FLOOR
    table = (out / "eval.md").read_text()
    assert "| recall@5 | " in table and "| lexical | " in table
    assert (out / "recall_at_k.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_eval_among_news_articles_that_look_like_the_answers():
    """The distractor target at reduced size: the 221 SaudiNewsNet articles (first 2,000 characters each)
    that BM25 ranked in the top 3 for these 103 questions over the whole 31k archive; hard negatives,
    not random news. Measured: recall@5 0.961 (0.990 without them), answer_hit 0.757."""
    result = run(
        "eval", "--corpus", str(DATA / "xquad_ar_small.json"), "--model", "none", "--json",
        "--extra-source", str(DATA / "saudinewsnet_hard_negatives.json"),
    )  # fmt: skip
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["documents"] == 18 + 221
    assert report["recall@5"] >= 0.93 and report["answer_hit"] >= 0.72


def test_eval_cross_lingual_questions_match_by_id():
    result = run(
        "eval",
        "--corpus",
        str(DATA / "xquad_ar_small.json"),
        "--questions",
        str(DATA / "xquad_en_small.json"),
        "--model",
        "none",
        "--json",
    )
    report = json.loads(result.stdout)
    # English questions over Arabic paragraphs: BM25 cannot bridge languages, so recall is low without a model
    assert report["n"] == 103 and report["recall@5"] < 0.5


def _subprocess(*args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "rag_qa", *args], capture_output=True, text=True, env=env, timeout=120)


def test_errors_are_one_sentence_without_traceback(tmp_path, seed_dir):
    missing = _subprocess("ask", "رفح", "--index", str(tmp_path / "none"))
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert "No index directory" in missing.stderr and "rag-qa build" in missing.stderr

    named = _subprocess(
        "build", str(seed_dir), "--index", str(tmp_path / "i"), "--model", "intfloat/multilingual-e5-small"
    )
    assert named.returncode == 1 and "Traceback" not in named.stderr
    assert "Cannot" in named.stderr or "not in the local Hugging Face cache" in named.stderr

    empty = _subprocess("ask", "   ", "--index", str(tmp_path / "none"))
    assert empty.returncode == 1 and "Traceback" not in empty.stderr


def test_help_is_instant_and_lists_commands():
    result = _subprocess("--help")
    assert result.returncode == 0
    for command in ("build", "ask", "eval", "info", "serve"):
        assert command in result.stdout


def test_eval_with_a_real_model_abstains_on_unanswerable_questions(minilm_path):
    """Regression guard for the evidence thresholds each build calibrates (all-MiniLM-L6-v2; English XQuAD subset)."""
    result = run(
        "eval", "--corpus", str(DATA / "xquad_en_small.json"), "--model", minilm_path, "--json",
        "--unanswerable", str(DATA / "unanswerable.json"), "--limit", "50",
    )  # fmt: skip
    report = json.loads(result.stdout)
    assert report["mode"] == "hybrid" and report["n"] == 50
    # measured on the full English dev set (thresholds calibrated by the build): 4.7 % answerable and 97.5 %
    # unanswerable abstain
    assert report["unanswerable_abstained"] >= 0.9 and report["abstained"] <= 0.1
    assert report["recall@5"] >= 0.95


def test_ask_prints_the_answer_and_a_short_snippet_of_each_quoted_passage(lexical_index):
    plain = run("ask", US_SIDE_AR, "--index", str(lexical_index))
    assert plain.exit_code == 0
    answer, *passages = plain.stdout.split("\n\n")
    assert SULLIVAN in answer and "[1]" in answer
    assert len(passages) == 1  # only the quoted passage; the others with --all
    title, details, quote = passages[0].strip().splitlines()
    assert title.startswith("[1] البيت الأبيض يكشف")
    assert "seeds/000_8b0fa35e76ab8a52.txt" in details and "chars 949-2020" in details
    assert SULLIVAN in quote and len(quote) < 240  # a snippet, not the whole passage
    assert "--all shows them" in plain.stderr
    every = run("ask", US_SIDE_AR, "--index", str(lexical_index), "--all", "-k", "3")
    quoted, rest = every.stdout.split("\nRetrieved, not quoted in the answer:\n")  # said apart, not alike
    assert quoted.count("\n[") == 1 and rest.count("\n[") == 2


def test_lexical_as_asked_is_not_called_a_fallback(seed_dir, tmp_path):
    result = run("build", str(seed_dir), "--index", str(tmp_path / "index"), "--model", "none")
    assert "lexical-only, as asked" in result.stdout and "unavailable" not in result.output
    assert result.stdout.startswith("1 article, 3 passages")  # "1 article", not "1 articles"
    fallback = run("build", str(seed_dir), "--index", str(tmp_path / "default"))
    assert "LEXICAL-ONLY: the default model is unavailable" in fallback.stdout


def test_a_busy_port_is_one_sentence_naming_the_way_out(lexical_index):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [sys.executable, str(ROOT / "app.py"), "--index", str(lexical_index), "--port", str(port)],
            capture_output=True, text=True, env=env, timeout=120,
        )  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"Cannot serve on 127.0.0.1:{port}" in done.stderr
    assert f"--port {port + 1}" in done.stderr and f"make run PORT={port + 1}" in done.stderr


def test_titles_are_unescaped_and_dates_and_web_addresses_kept(tmp_path):
    record = {
        "source": "alriyadh", "url": "https://www.alriyadh.com/1069281", "date_extracted": "2015-07-22 00:05:53",
        "title": "&#8220;نايف البكري&#8221; يعود إلى الملاعب", "author": "",
        "content": "أعلن نادي الشباب عودة اللاعب نايف البكري إلى التدريبات بعد غياب طويل بسبب الإصابة.",
    }  # fmt: skip
    (tmp_path / "news.json").write_text(json.dumps([record], ensure_ascii=False), "utf-8")
    index = str(tmp_path / "index")
    assert run("build", str(tmp_path / "news.json"), "--index", index, "--model", "none").exit_code == 0
    result = json.loads(run("ask", "متى يعود نايف البكري إلى التدريبات؟", "--index", index, "--json").stdout)
    cited = result["citations"][0]
    assert cited["title"] == "“نايف البكري” يعود إلى الملاعب"
    assert cited["source"] == "https://www.alriyadh.com/1069281" and cited["date"] == "2015-07-22"  # an ISO date
    assert cited["publisher"] == "alriyadh" and cited["copies"] == []
    plain = run("ask", "متى يعود نايف البكري إلى التدريبات؟", "--index", index).stdout
    assert "الرياض · 2015-07-22 · https://www.alriyadh.com/1069281 · chars" in plain
    assert f"· article {cited['doc_id']}" in plain  # what --article takes


def test_cross_lingual_questions_are_scored_against_the_corpus_answers():
    """English XQuAD questions over Arabic paragraphs: the gold answers are the Arabic ones of the same id."""
    from rag_qa.evaluation import gold_paragraphs, questions_of

    corpus, english = DATA / "xquad_ar_small.json", DATA / "xquad_en_small.json"
    gold = gold_paragraphs(corpus)
    asked = list(questions_of(english, gold, corpus))
    arabic = {q.qid: q.answers for q in questions_of(corpus, gold)}
    assert asked and all(q.answers == arabic[q.qid] for q in asked)
    assert all(q.question[0].isascii() for q in asked)  # the questions stay English


def test_a_snippet_leads_with_the_sentence_the_answer_leads_with():
    from rag_qa.display import snippet
    from rag_qa.records import Citation

    text = "First sentence here. The answer sentence."
    cited = Citation(1, "d", "t", "s", text, 0, len(text), 1.0, highlights=((0, 20), (21, len(text))))
    assert snippet(cited, answer="The answer sentence. [1] First sentence here. [1]").startswith("The answer")


def test_a_reader_that_closes_the_pipe_early_gets_no_error(tmp_path, seed_dir):
    """`rag-qa ask … | head -1`: the CLI stops quietly when its reader has read enough."""
    import subprocess
    import sys

    from rag_qa import build_index

    build_index([seed_dir], tmp_path / "index", model="none")
    question = "من قاد الجانب الأمريكي في الاجتماع؟"
    # `true` closes the pipe at once: every write of the answer meets a closed pipe
    command = f"'{sys.executable}' -m rag_qa ask '{question}' --index '{tmp_path / 'index'}' | true"
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120)
    assert "BrokenPipe" not in done.stderr and "Error" not in done.stderr, done.stderr
