"""The catalog of an index version: every live article's metadata (publisher, date, source file), where
its chunks are, and the groups of wire copies. Both stores build it when a reader opens; scopes are
resolved against it (scope.py) and citations list an article's copies from it."""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np


@dataclass(frozen=True)
class ArticleEntry:
    """One live article as the catalog holds it; its chunks have the ids ``first_chunk`` … ``+ chunks - 1``."""

    doc_id: str
    title: str
    publisher: str | None
    date: str | None  # ISO date
    source: str  # the file path (``archive.zip:member``) or the article's URL
    first_chunk: int
    chunks: int
    length: int  # characters of its text: the fullest copy is the longest

    def copy_ref(self) -> dict[str, str | None]:
        """How a citation lists it among an article's copies (the contract's fields)."""
        return {"doc_id": self.doc_id, "title": self.title, "publisher": self.publisher, "date": self.date,
                "source": self.source}  # fmt: skip


def day_number(date: str | None) -> int:
    """Days since 1970-01-01 of an ISO date; -1 for none."""
    if not date:
        return -1
    try:
        return (datetime.date.fromisoformat(date[:10]) - datetime.date(1970, 1, 1)).days
    except ValueError:
        return -1


class Catalog:
    """The live articles of a version, as columns (a scope over 31,000 articles is a few array operations)."""

    def __init__(self, entries: Iterable[ArticleEntry], groups: Sequence[Sequence[str]] = ()) -> None:
        self.entries = sorted(entries, key=lambda e: e.first_chunk)
        self.position = {e.doc_id: i for i, e in enumerate(self.entries)}
        self.days = np.asarray([day_number(e.date) for e in self.entries], dtype=np.int64)
        names = sorted({e.publisher for e in self.entries if e.publisher})
        self.publisher_names = names
        code = {name: i for i, name in enumerate(names)}
        self.publisher_codes = np.asarray([code.get(e.publisher or "", -1) for e in self.entries], dtype=np.int64)
        self.first_chunks = np.asarray([e.first_chunk for e in self.entries], dtype=np.int64)
        self.chunk_counts = np.asarray([e.chunks for e in self.entries], dtype=np.int64)
        self.group_of: dict[str, int] = {}
        self.groups: list[list[str]] = []
        for members in groups:
            # dated members only: an index of format 4 built before copies needed dates may group undated ones
            live = [d for d in members if d in self.position and self.days[self.position[d]] >= 0]
            if len(live) > 1:
                for doc_id in live:
                    self.group_of[doc_id] = len(self.groups)
                self.groups.append(live)

    def __len__(self) -> int:
        return len(self.entries)

    def entry(self, doc_id: str) -> ArticleEntry | None:
        at = self.position.get(doc_id)
        return self.entries[at] if at is not None else None

    def copies_of(self, doc_id: str) -> list[ArticleEntry]:
        """The other articles carrying the same story, earliest first."""
        group = self.group_of.get(doc_id)
        if group is None:
            return []
        others = [self.entries[self.position[d]] for d in self.groups[group] if d != doc_id]
        return sorted(others, key=lambda e: (e.date or "9999", -e.length, e.doc_id))

    def copy_refs(self, doc_id: str) -> tuple[dict[str, str | None], ...]:
        """The copies of an article as a citation lists them (the contract's fields)."""
        return tuple(e.copy_ref() for e in self.copies_of(doc_id))

    def publishers(self) -> dict[str, int]:
        """Each publisher with its number of articles, the largest first."""
        counts = Counter(e.publisher for e in self.entries if e.publisher)
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    @cached_property
    def first_date(self) -> str | None:
        dated = [e.date for e in self.entries if e.date]
        return min(dated) if dated else None

    @cached_property
    def last_date(self) -> str | None:
        """The newest article's date: what "today" and "this week" are read against (time_reading.py)."""
        dated = [e.date for e in self.entries if e.date]
        return max(dated) if dated else None

    @cached_property
    def chunk_owner(self) -> np.ndarray:
        """For each chunk id up to the largest, the position of its article (-1: none, or deleted)."""
        size = int((self.first_chunks + self.chunk_counts).max()) if len(self.entries) else 0
        owner = np.full(size, -1, dtype=np.int64)
        for i, (first, count) in enumerate(zip(self.first_chunks, self.chunk_counts, strict=True)):
            owner[first : first + count] = i
        return owner

    def positions(self, chunk_ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """The catalog position of each chunk's article; -1 for a chunk of none (deleted, unknown)."""
        owner = self.chunk_owner
        ids = np.asarray(chunk_ids, dtype=np.int64)
        inside = (ids >= 0) & (ids < len(owner))
        return np.where(inside, owner[np.where(inside, ids, 0)], -1) if len(owner) else np.full(len(ids), -1)

    def chunk_mask(self, articles: np.ndarray, chunk_ids: np.ndarray) -> np.ndarray:
        """Which of ``chunk_ids`` belong to an article where ``articles`` (one flag per entry) is set."""
        positions = self.positions(chunk_ids)
        return (positions >= 0) & articles[np.maximum(positions, 0)] if len(self.entries) else positions >= 0

    def chunk_days(self, chunk_ids: Sequence[int]) -> np.ndarray:
        """The day number (``day_number``) of each chunk's article; -1 for none."""
        positions = self.positions(chunk_ids)
        return np.where(positions >= 0, self.days[np.maximum(positions, 0)], -1) if len(self.entries) else positions
    def doc_ids(self, articles: np.ndarray) -> list[str]:
        return [self.entries[i].doc_id for i in np.flatnonzero(articles)]
