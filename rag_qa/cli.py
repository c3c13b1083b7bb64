"""The ``rag-qa`` command line. Library errors become one line on stderr and exit status 1."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from .config import ANN, DEFAULT_MODEL, env_index

F = TypeVar("F", bound=Callable[..., Any])

index_option = click.option(
    "--index",
    "index_dir",
    envvar="RAG_QA_INDEX",
    default=env_index,
    show_default="index",
    help="Index directory (env RAG_QA_INDEX).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
rerank_option = click.option(
    "--rerank", envvar="RAG_QA_RERANK", default=None, metavar="MODEL",
    help="Cross-encoder that re-orders the passages, e.g. BAAI/bge-reranker-v2-m3 (env RAG_QA_RERANK; off by default).",
)  # fmt: skip


def _model_option(help_text: str) -> Callable[[F], F]:
    return click.option("--model", "-m", envvar="RAG_QA_MODEL", default=None, metavar="NAME_OR_PATH", help=help_text)


def friendly_errors(func: F) -> F:
    """Turn expected failures into one clear sentence; tracebacks only with RAG_QA_DEBUG=1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from .errors import RagQAError

        try:
            return func(*args, **kwargs)
        except (RagQAError, ValueError) as exc:
            if os.environ.get("RAG_QA_DEBUG"):
                raise
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            raise click.Abort() from None
        except Exception as exc:
            if os.environ.get("RAG_QA_DEBUG"):
                raise
            raise click.ClickException(
                f"unexpected {type(exc).__name__}: {exc} (run with RAG_QA_DEBUG=1 for details)"
            ) from None

    return wrapper  # type: ignore[return-value]


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
    for noisy in ("httpx", "sentence_transformers", "transformers", "faiss"):
        logging.getLogger(noisy).setLevel(logging.WARNING if verbose else logging.ERROR)


@cli.command()
@click.argument("sources", nargs=-1, type=click.Path())
@index_option
@_model_option(f"Embedding model, hub name or local folder; 'none' = lexical only (default {DEFAULT_MODEL}).")
@click.option("--full", is_flag=True, help="Rebuild from scratch instead of updating incrementally.")
@click.option(
    "--ann-threshold",
    type=click.IntRange(0),
    default=None,
    help=f"Chunks beyond which the dense index is approximate (FAISS IVF) instead of exact [{ANN.threshold:,}].",
)
@json_option
@friendly_errors
def build(
    sources: tuple[str, ...], index_dir: str, model: str | None, full: bool, ann_threshold: int | None, as_json: bool
) -> None:
    """Build or update the index from SOURCES (files or folders; default seeds/)."""
    from .pipeline import build_index

    summary = build_index(
        sources or ("seeds",),
        index_dir,
        model=model,
        full=full,
        show_progress=sys.stderr.isatty(),
        ann_threshold=ann_threshold,
    )
    if as_json:
        _emit(summary.to_dict())
    else:
        mode = "LEXICAL-ONLY: the default model is unavailable" if summary.lexical_only_reason else summary.mode
        click.echo(
            f"{summary.documents} documents, {summary.chunks} chunks in {summary.index} ({mode}, "
            f"model {summary.model or 'none'}): {summary.added} added, {summary.updated} updated, "
            f"{summary.removed} removed, {summary.skipped} unchanged, {summary.errors} errors, {summary.seconds:.1f} s"
        )
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
@json_option
@friendly_errors
def ask(
    question: str, index_dir: str, k: int, mode: str | None, model: str | None, rerank: str | None, as_json: bool
) -> None:
    """Answer QUESTION from the indexed articles, citing the passages used."""
    from .pipeline import RagQA

    answer = RagQA.load(index_dir, model=model, rerank=rerank).ask(question, k=k, mode=mode)
    if as_json:
        _emit(answer.to_dict())
        return
    click.echo(answer.text)
    for c in answer.citations:
        click.echo(f"\n[{c.n}] {c.title} — {c.source} (chars {c.start}-{c.end}, score {c.score:.3f})")
        click.echo(f"    {c.text}")
    click.echo(f"\n(mode: {answer.mode})", err=True)
    for warning in answer.warnings:
        click.secho(f"WARNING: {warning}", fg="yellow", err=True)


@cli.command(name="eval")
@click.option("--corpus", required=True, type=click.Path(exists=True, dir_okay=False), help="SQuAD-format JSON.")
@click.option(
    "--questions", type=click.Path(exists=True, dir_okay=False), help="SQuAD-format questions (default: corpus)."
)
@click.option("--extra-source", multiple=True, type=click.Path(exists=True), help="Distractor articles (repeatable).")
@click.option("-k", "k", default=5, show_default=True, type=click.IntRange(1, 100), help="Passages per question.")
@click.option("--mode", type=click.Choice(["hybrid", "dense", "lexical"]), default=None)
@click.option("--limit", type=click.IntRange(1), default=None, help="Ask only the first N questions.")
@click.option(
    "--unanswerable", type=click.Path(exists=True, dir_okay=False), help="JSON list of questions to abstain on."
)
@click.option("--out", type=click.Path(file_okay=False), help="Write eval.md and recall_at_k.png here.")
@_model_option("Embedding model ('none' = lexical only).")
@rerank_option
@json_option
@friendly_errors
def evaluate(
    corpus: str,
    questions: str | None,
    extra_source: tuple[str, ...],
    k: int,
    mode: str | None,
    limit: int | None,
    unanswerable: str | None,
    out: str | None,
    model: str | None,
    rerank: str | None,
    as_json: bool,
) -> None:
    """Measure retrieval and answers on a SQuAD-format file (XQuAD, ARCD, MLQA)."""
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
    )
    if as_json:
        _emit(report)
    else:
        for key, value in report.items():
            click.echo(f"{key:>24}  {value}")


@cli.command()
@index_option
@json_option
@friendly_errors
def info(index_dir: str, as_json: bool) -> None:
    """Show what the index holds: documents, chunks, model, mode, build time, size."""
    from .pipeline import RagQA

    details = RagQA.load(index_dir).info()
    if as_json:
        _emit(details)
        return
    for key, value in details.items():
        click.echo(f"{key:>20}  {value}")


@cli.command()
@index_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (0.0.0.0 exposes it).")
@click.option("--port", default=7860, show_default=True, type=int)
@click.option("--auth", envvar="RAG_QA_AUTH", default=None, metavar="USER:PASSWORD", help="Require a login.")
@rerank_option
@friendly_errors
def serve(index_dir: str, host: str, port: int, auth: str | None, rerank: str | None) -> None:
    """Serve the chat app (the same as `python app.py`)."""
    from .ui import serve as serve_app

    serve_app(index_dir, host=host, port=port, auth=auth, rerank=rerank)


def main() -> None:
    cli(prog_name="rag-qa")


if __name__ == "__main__":
    main()
