"""Scope: which articles a question runs over — newspapers, a date range, given articles, remembered
sources — resolved against the index's catalog into one flag per article, which both stores apply
inside retrieval (BM25 postings masked, FAISS through a selector or exact scoring, a Milvus filter
expression). Filters combine with AND; a scope that keeps nothing is an error naming what exists."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from .errors import BadArgument
from .sources import covers
from .storage.catalog import Catalog, day_number
from .time_reading import TimeReading, read_time

SHOWN = 6  # names listed in a message before "…"


class EmptyScope(BadArgument):
    """No indexed article is inside the scope asked for."""


@cache
def _display_names() -> dict[str, str]:
    data = json.loads((Path(__file__).with_name("data") / "publishers.json").read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


def publisher_name(publisher: str | None) -> str | None:
    """How a publisher is shown: its newspaper's name where known ("okaz" → "عكاظ"), else as indexed."""
    return _display_names().get(publisher or "", publisher) if publisher else None


@dataclass(frozen=True)
class Scope:
    """The filters of one question (empty: the whole index). Dates are ISO dates, inclusive."""

    publishers: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None
    articles: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        publishers: str | Iterable[str] | None = None,
        since: str | datetime.date | None = None,
        until: str | datetime.date | None = None,
        articles: str | Iterable[str] | None = None,
        sources: str | Path | Iterable[str | Path] | None = None,
    ) -> Scope:
        """A scope from the API's arguments (a single name or a list of them); BadArgument when malformed."""
        scope = cls(
            _names(publishers, "publishers"), _iso(since, "since"), _iso(until, "until"),
            _names(articles, "articles"), _names(sources, "sources"),
        )  # fmt: skip
        if scope.since and scope.until and scope.since > scope.until:
            raise BadArgument(f"--since {scope.since} is after --until {scope.until}.")
        return scope

    def __bool__(self) -> bool:
        return bool(self.publishers or self.since or self.until or self.articles or self.sources)

    def to_dict(self) -> dict[str, Any]:
        return {"publishers": list(self.publishers), "since": self.since, "until": self.until,
                "articles": list(self.articles), "sources": list(self.sources)}  # fmt: skip

    def describe(self, catalog: Catalog | None = None) -> str:
        """One line for people: "عكاظ · 2015-07-25 – 2015-07-27 · the article «…»"."""
        parts = []
        if self.publishers:
            parts.append("، ".join(publisher_name(p) or p for p in self.publishers))
        if self.since and self.until:
            parts.append(self.since if self.since == self.until else f"{self.since} – {self.until}")
        elif self.since or self.until:
            parts.append(f"from {self.since}" if self.since else f"up to {self.until}")
        for doc_id in self.articles:
            entry = catalog.entry(doc_id) if catalog else None
            parts.append(f"«{entry.title}»" if entry else doc_id)
        parts += [f"source {s}" for s in self.sources]
        return " · ".join(parts)


@dataclass(frozen=True)
class Within:
    """A resolved scope: one flag per catalog article, and how many a date filter left out only because
    they have no date."""

    flags: np.ndarray
    undated: int


def resolve(scope: Scope, catalog: Catalog, files: Mapping[str, Sequence[str]], remembered: Sequence[str]) -> Within:
    """The catalog's articles inside ``scope``; ``files``: each source file's article ids, ``remembered``:
    the index's sources. EmptyScope (one sentence naming what exists) when a filter keeps nothing."""
    keep = np.ones(len(catalog), dtype=bool)
    if scope.publishers:
        keep &= _publisher_flags(scope.publishers, catalog)
    undated = 0
    if scope.since or scope.until:
        dated = catalog.days >= 0
        low, high = day_number(scope.since) if scope.since else -1, day_number(scope.until) if scope.until else 1 << 40
        in_range = dated & (catalog.days >= low) & (catalog.days <= high)
        if not in_range.any():
            span = f"from {catalog.first_date} to {catalog.last_date}" if catalog.last_date else "without dates"
            raise EmptyScope(f"No article is dated {scope.describe()}; the index's articles run {span}.")
        undated = int((keep & ~dated).sum())
        keep &= in_range
    if scope.articles:
        missing = [d for d in scope.articles if catalog.entry(d) is None]
        if missing:
            listed = ", ".join(missing)
            raise EmptyScope(f"No article with the id {listed} in the index; an article's id is a citation's doc_id.")
        keep &= _member_flags(scope.articles, catalog)
    if scope.sources:
        keep &= _source_flags(scope.sources, catalog, files, remembered)
    if not keep.any():
        raise EmptyScope(f"No article is in all of {scope.describe(catalog)} at once; each filter alone finds some.")
    return Within(keep, undated)


def _publisher_flags(asked: Sequence[str], catalog: Catalog) -> np.ndarray:
    """Publishers are matched without case, by the indexed name or the newspaper's ("okaz", "عكاظ")."""
    wanted = {a.casefold().strip(): a for a in asked}
    found = {
        i: key for i, name in enumerate(catalog.publisher_names)
        for key in (name.casefold(), (publisher_name(name) or "").casefold()) if key in wanted
    }  # fmt: skip
    unknown = [a for key, a in wanted.items() if key not in found.values()]
    if unknown:
        known = [f"{publisher_name(p)} ({p}, {n})" if publisher_name(p) != p else f"{p} ({n})"
                 for p, n in catalog.publishers().items()]  # fmt: skip
        more = f" and {len(known) - SHOWN} more (`rag-qa info` lists them)" if len(known) > SHOWN else ""
        listed = ", ".join(known[:SHOWN]) + more if known else "none recorded"
        raise EmptyScope(f"No publisher {', '.join(unknown)} in the index; it has: {listed}.")
    return np.isin(catalog.publisher_codes, list(found))


def _member_flags(doc_ids: Iterable[str], catalog: Catalog) -> np.ndarray:
    flags = np.zeros(len(catalog), dtype=bool)
    flags[[catalog.position[d] for d in doc_ids if d in catalog.position]] = True
    return flags


def _source_flags(
    asked: Sequence[str], catalog: Catalog, files: Mapping[str, Sequence[str]], remembered: Sequence[str]
) -> np.ndarray:
    unknown = [s for s in asked if not any(covers(r, s) or covers(s, r) for r in remembered)]
    if unknown:
        listed = ", ".join(remembered[:SHOWN]) or "none"
        raise EmptyScope(f"{', '.join(unknown)} is not a source of the index; its sources are: {listed}.")
    inside = [d for name, ids in files.items() if any(covers(s, name) for s in asked) for d in ids]
    if not inside:
        raise EmptyScope(f"The index holds no article from {', '.join(asked)}.")
    return _member_flags(inside, catalog)


def _names(value: str | Path | Iterable[str | Path] | None, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, (str, Path)) else list(value)
    if not all(isinstance(v, (str, Path)) and str(v).strip() for v in items):
        raise BadArgument(f"{what} must be text or a list of texts; got {value!r}.")
    return tuple(dict.fromkeys(str(v).strip() for v in items))


def _iso(value: str | datetime.date | None, what: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime.date):
        return value.isoformat()[:10]
    try:
        return datetime.date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise BadArgument(f"--{what} must be a date written YYYY-MM-DD; got {value!r}.") from None


@dataclass(frozen=True)
class Asked:
    """A question as retrieval takes it: the text asked, the text searched (its time phrase taken out),
    how the phrase was read, the scope's flags over the catalog (None: everything) and what to tell."""

    question: str
    searched: str
    reading: TimeReading | None
    within: np.ndarray | None
    warnings: tuple[str, ...] = ()


def ask_within(
    text: str, scope: Scope, use_time: bool, catalog: Catalog, files: Mapping[str, Sequence[str]],
    remembered: Sequence[str],
) -> Asked:  # fmt: skip
    """The question ``text`` with its scope resolved against the catalog (``files`` and ``remembered`` as
    for ``resolve``), and the dates its time phrase names unless the caller gave dates (or ``use_time`` is
    False). A time phrase that no article falls in is not applied, and the answer says so."""
    warnings = []
    reading = read_time(text, catalog.last_date) if use_time and not (scope.since or scope.until) else None
    within = resolve(scope, catalog, files, remembered) if scope else None  # the caller's filters: errors raise
    if reading is not None and not reading.latest:
        try:
            within = resolve(replace(scope, since=reading.since, until=reading.until), catalog, files, remembered)
        except EmptyScope:
            warnings.append(f"No article is dated {reading.label().split(' as ', 1)[1]}: searched every date.")
            reading = None
    if within is not None and within.undated:
        many = within.undated != 1
        warnings.append(f"{within.undated:,} article{'s' if many else ''} without a date {'were' if many else 'was'} "
                        "left out by the date filter.")  # fmt: skip
    flags = within.flags if within is not None else None
    return Asked(text, reading.question if reading else text, reading, flags, tuple(warnings))
