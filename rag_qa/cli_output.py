"""How the command line prints an answer: the weak-evidence note, the text with its short answer in bold, the
quoted passages with their newspaper, date and copies, the scope and the dates a time phrase was read as."""

from __future__ import annotations

import sys

import click

from .display import WEAK_EVIDENCE, citation_details, copies_line, plural, scope_lines, snippet
from .records import Answer, Citation
from .storage.catalog import Catalog


def echo_answer(answer: Answer, catalog: Catalog, show_all: bool) -> None:
    """``rag-qa ask`` without --json (``show_all``: also the passages the answer does not quote)."""
    for line in scope_lines(answer, catalog):
        click.echo(line, err=True)
    if answer.confidence == "weak":
        click.secho(WEAK_EVIDENCE, fg="yellow")
    bold = ("\033[1m", "\033[22m") if sys.stdout.isatty() else ("**", "**")
    click.echo(answer.marked(*bold))
    for c in answer.mentioned:  # "not found": what the articles do say about the topic
        _echo_citation(c, "")
    quoted = [c for c in answer.citations if c.highlights]
    unquoted = [c for c in answer.citations if not c.highlights]
    for c in quoted:
        _echo_citation(c, answer.text)
    if unquoted and show_all:
        click.echo("\nRetrieved, not quoted in the answer:")
        for c in unquoted:
            _echo_citation(c, answer.text)
    elif unquoted:
        click.echo(f"\n({plural(len(unquoted), 'more passage')} retrieved but not quoted: --all shows them)", err=True)
    click.echo(f"\n(mode: {answer.mode})", err=True)
    for warning in answer.warnings:
        click.secho(f"WARNING: {warning}", fg="yellow", err=True)


def _echo_citation(c: Citation, answer: str) -> None:
    click.echo(f"\n[{c.n}] {c.title}")
    click.echo(f"    {citation_details(c)}")
    if c.copies:
        click.echo(f"    {copies_line(c)}")
    click.echo(f"    {snippet(c, answer=answer)}")
