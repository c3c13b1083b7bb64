"""The options the ``rag-qa`` commands share, and the wrapper that turns library errors into one sentence."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from .config import DEFAULT_INDEX

F = TypeVar("F", bound=Callable[..., Any])

STORE_HELP = (
    "Where the index lives instead of --index: a directory, milvus://host:19530[/name], or a Milvus Lite "
    "file such as ./archive.milvus.db (env RAG_QA_STORE)."
)
store_option = click.option("--store", envvar="RAG_QA_STORE", default=None, metavar="URI", help=STORE_HELP)


def _ray_address(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``--ray`` takes an optional value, so ``--ray my-articles`` would read the folder as the address."""
    if value and value != "local" and os.path.exists(value):
        raise click.BadParameter(
            f"{value!r} is a file or folder, not a Ray address: write --ray=ADDRESS, or put --ray after the sources."
        )
    return value


ray_option = click.option(
    "--ray", envvar="RAY_ADDRESS", default=None, is_flag=False, flag_value="local", metavar="[ADDRESS]",
    callback=_ray_address,
    help="Encode on Ray Data actors: a cluster's address (env RAY_ADDRESS), or none for a Ray on this machine.",
)  # fmt: skip


def index_option(func: F) -> F:
    """``--index DIR`` and ``--store URI`` (which wins), passed to the command as ``index_dir``."""

    @click.option(
        "--index", "index_dir", envvar="RAG_QA_INDEX", default=DEFAULT_INDEX, show_default="index",
        help="Index directory (env RAG_QA_INDEX).",
    )  # fmt: skip
    @store_option
    @wraps(func)
    def wrapper(*args: Any, index_dir: str, store: str | None, **kwargs: Any) -> Any:
        context = click.get_current_context()
        typed = context.get_parameter_source("index_dir") == click.core.ParameterSource.COMMANDLINE
        from_env = context.get_parameter_source("store") == click.core.ParameterSource.ENVIRONMENT
        if store and from_env and typed:  # an --index typed on the command line wins over RAG_QA_STORE
            store = None
        return func(*args, index_dir=store or index_dir, **kwargs)

    return wrapper  # type: ignore[return-value]


def scope_options(func: F) -> F:
    """``--publisher``, ``--since``, ``--until``, ``--article``, ``--source`` and ``--all-dates``, passed to
    the command as ``scope``: the keyword arguments of ``RagQA.ask`` (scope.py, time_reading.py)."""

    @click.option(
        "--publisher",
        "publishers",
        multiple=True,
        metavar="NAME",
        help="Only articles of this newspaper or site (repeatable; see `rag-qa info`).",
    )
    @click.option("--since", metavar="YYYY-MM-DD", default=None, help="Only articles dated on or after this day.")
    @click.option("--until", metavar="YYYY-MM-DD", default=None, help="Only articles dated on or before this day.")
    @click.option(
        "--article",
        "articles",
        multiple=True,
        metavar="DOC_ID",
        help="Only this article (a citation's doc_id; repeatable).",
    )
    @click.option(
        "--source",
        "sources",
        multiple=True,
        metavar="PATH",
        help="Only articles from this remembered source (repeatable).",
    )
    @click.option(
        "--all-dates",
        is_flag=True,
        help='Do not read a time phrase of the question ("yesterday", "في 25 يوليو") as dates.',
    )
    @wraps(func)
    def wrapper(
        *args: Any,
        publishers: tuple[str, ...],
        since: str | None,
        until: str | None,
        articles: tuple[str, ...],
        sources: tuple[str, ...],
        all_dates: bool,
        **kwargs: Any,
    ) -> Any:
        scope = {
            "publishers": publishers or None,
            "since": since,
            "until": until,
            "articles": articles or None,
            "sources": sources or None,
            "read_time": not all_dates,
        }
        return func(*args, scope=scope, **kwargs)

    return wrapper  # type: ignore[return-value]  # fmt: skip


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
        except RagQAError as exc:  # bad input or a state the user can fix: the sentence says how
            if os.environ.get("RAG_QA_DEBUG"):
                raise
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            raise click.Abort() from None
        except BrokenPipeError:  # the reader of a pipe closed it (`rag-qa ask … | head`): nothing to say
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's recipe: no flush error at exit
            sys.exit(0)
        except Exception as exc:
            if os.environ.get("RAG_QA_DEBUG"):
                raise
            raise click.ClickException(
                f"unexpected {type(exc).__name__}: {exc} (run with RAG_QA_DEBUG=1 for details)"
            ) from None

    return wrapper  # type: ignore[return-value]
