"""Plain data that travels between the pipeline stages."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Article:
    """A cleaned document. Chunk offsets refer to ``text``."""

    doc_id: str
    title: str
    text: str
    source: str  # file path (``archive.zip:member`` inside archives) or the article's URL
    content_hash: str
    date: str | None = None  # ISO date (YYYY-MM-DD), when its source gives one
    publisher: str | None = None  # the newspaper or site (SaudiNewsNet's ``source``, ``og:site_name``, the domain)


@dataclass(frozen=True)
class Problem:
    """A file or record that was skipped, and why."""

    source: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"


@dataclass(frozen=True)
class SourceFile:
    """Follows the articles of each input file during a build: what an unchanged file is recognised by."""

    name: str
    size: int
    mtime_ns: int
    unchanged: bool = False  # the same size and modification time as at the last build: not read again


@dataclass(frozen=True)
class FileResult:
    """One input file as ingestion read it: its record (None when it cannot even be looked at), its
    articles and its problems. A build passes the records of the last build, and a file whose record
    has not changed comes back ``unchanged`` without being read."""

    file: SourceFile | None
    articles: tuple[Article, ...] = ()
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class Chunk:
    """A passage of an article: ``article.text[start:end] == text``."""

    doc_id: str
    ordinal: int
    title: str
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class IndexedChunk:
    """A chunk as the store writes it: with its word terms (in text order: coverage and proximity), its
    character grams (BM25) and the hash of its embedding input (the same input, the same vector)."""

    chunk: Chunk
    terms: tuple[str, ...]
    grams: tuple[str, ...]
    embed_hash: str


@dataclass(frozen=True)
class Citation:
    """A retrieved passage as shown to users; ``n`` is the number used in ``[n]`` markers."""

    n: int
    doc_id: str
    title: str
    source: str
    text: str
    start: int
    end: int
    score: float
    chunk_id: int = field(default=-1, repr=False, compare=False)
    highlights: tuple[tuple[int, int], ...] = field(default=(), compare=False)  # quoted sentences, in ``text``
    date: str | None = field(default=None, compare=False)  # the article's ISO date, when its source gives one
    publisher: str | None = field(default=None, compare=False)  # the newspaper or site
    # the other articles carrying the same story (copies.py): {doc_id, title, publisher, date, source} each
    copies: tuple[dict[str, str | None], ...] = field(default=(), compare=False)

    def to_dict(self) -> dict[str, Any]:
        hidden = ("chunk_id", "highlights", "date", "publisher", "copies")
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in hidden}
        out["score"] = round(float(self.score), 6)
        out["publisher"], out["date"], out["copies"] = self.publisher, self.date, [dict(c) for c in self.copies]
        if self.highlights:
            out["highlights"] = [list(span) for span in self.highlights]
        return out


@dataclass(frozen=True)
class AnswerSpan:
    """The short answer inside the quoted sentence: ``text`` at ``start``:``end`` of citation ``n``'s text."""

    text: str
    n: int
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "n": self.n, "start": self.start, "end": self.end}


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    mode: str
    citations: tuple[Citation, ...]
    found: bool = True
    warnings: tuple[str, ...] = ()
    reranker: str | None = None  # the cross-encoder that ordered the passages, if any
    confidence: str | None = None  # "confident", "weak" (evidence below the index's confident level), None
    span: AnswerSpan | None = None  # the asked number, name, date or place inside the quoted sentence
    # "not found" although the topic matched: the passages that mention it without the asked fact
    mentioned: tuple[Citation, ...] = ()
    span_at: tuple[int, int] | None = field(default=None, compare=False)  # the span's offsets in ``text``
    scope: Mapping[str, Any] | None = None  # the filters it was asked within (scope.Scope.to_dict), if any
    time_reading: Mapping[str, Any] | None = None  # how a time phrase was read (time_reading.TimeReading)

    def marked(self, before: str = "**", after: str = "**", escape: Callable[[str], str] = str) -> str:
        """The answer text with its short answer between ``before`` and ``after`` (each part ``escape``d)."""
        if self.span_at is None:
            return escape(self.text)
        start, end = self.span_at
        return f"{escape(self.text[:start])}{before}{escape(self.text[start:end])}{after}{escape(self.text[end:])}"

    def to_dict(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"mentioned": [c.to_dict() for c in self.mentioned]} if self.mentioned else {}
        if self.scope:
            extra["scope"] = dict(self.scope)
        if self.time_reading:
            extra["time_reading"] = dict(self.time_reading)
        return {
            "question": self.question,
            "answer": self.text,
            "mode": self.mode,
            "found": self.found,
            "confidence": self.confidence,
            "citations": [c.to_dict() for c in self.citations],
            "answer_span": self.span.to_dict() if self.span else None,
            "reranker": self.reranker,
            "warnings": list(self.warnings),
            **extra,
        }


@dataclass(frozen=True)
class BuildSummary(Mapping[str, Any]):
    """What a build did. Reads like the ``build --json`` object: ``summary["chunks"]`` or ``summary.chunks``."""

    documents: int
    chunks: int
    added: int
    updated: int
    removed: int
    skipped: int
    errors: int
    mode: str
    model: str | None
    seconds: float
    duplicates: int = 0
    kept: int = 0  # articles of remembered sources this build did not read, kept as they were
    lexical_only_reason: str | None = None  # set when the default model could not be loaded
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    index: str = ""
    sources: tuple[str, ...] = ()  # the sources the index now remembers
    precision: str | None = None  # what this build encoded passages in (fp32, bf16, fp16; None: nothing encoded)
    passages_per_s: float | None = None  # passages encoded and stored per second of reading and encoding

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["problems"] = list(self.problems)
        out["warnings"] = list(self.warnings)
        out["sources"] = list(self.sources)
        return out

    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())

    def __len__(self) -> int:
        return len(fields(self))


@dataclass(frozen=True)
class Passage:
    """An indexed chunk as the store returns it: its text and offsets in its article, the article's
    metadata, and its analysed word terms in text order."""

    chunk_id: int
    doc_id: str
    ordinal: int
    start: int
    end: int
    text: str
    terms: tuple[str, ...]
    title: str
    source: str
    date: str | None = None
    publisher: str | None = None


@dataclass(frozen=True)
class SentenceVectors:
    """The stored sentences of one chunk: their (start, end) offsets in the chunk's text and their vectors."""

    spans: np.ndarray  # int32, (n, 2)
    vectors: np.ndarray  # float16, (n, dimension)


@dataclass(frozen=True)
class Candidate:
    """A retrieved chunk with its fused score and the evidence of each retriever."""

    chunk_id: int
    score: float
    bm25: float = 0.0
    dense: float | None = None  # cosine similarity, when the dense retriever ran


@dataclass(frozen=True)
class Query:
    text: str
    terms: tuple[str, ...]
    term_weights: dict[str, float]  # IDF of each distinct query term (unknown terms get the highest)
    vector: np.ndarray | None = field(default=None, repr=False)
    context_terms: tuple[str, ...] = ()  # from the previous question of a follow-up
    context: str | None = None  # the previous question itself
    focus_vector: np.ndarray | None = field(default=None, repr=False)  # the asked focus encoded (other scripts)
    within: np.ndarray | None = field(default=None, repr=False)  # the scope: one flag per catalog article (scope.py)
    recent_from: str | None = None  # "latest": prefer articles near this date, the index's newest (time_reading.py)


@dataclass(frozen=True)
class Thresholds:
    """One question script's evidence levels: "not found" below both ``dense`` and ``lexical``, weak
    evidence below ``confident`` (dense) or the lexical level."""

    dense: float
    lexical: float
    confident: float


@dataclass(frozen=True)
class Calibration:
    """The evidence thresholds a build calibrated (abstention.calibrate), per question script ("arabic",
    "other"), and the model they hold for. Read from the manifest's ``abstention`` object."""

    model: str | None
    by_script: Mapping[str, Thresholds]

    @classmethod
    def from_manifest(cls, data: Mapping[str, Any]) -> Calibration:
        """Raises ValueError when ``data`` lacks a number it needs."""
        if not isinstance(data, Mapping):
            raise ValueError("the abstention thresholds are not an object")
        groups = data.get("by_script") or {}
        if not isinstance(groups, Mapping):
            raise ValueError("by_script is not an object")
        scripts = {script: _thresholds(group) for script, group in groups.items()}
        scripts.setdefault("default", _thresholds(data))  # a script the build did not see
        return cls(data.get("model"), scripts)

    def for_script(self, script: str) -> Thresholds:
        return self.by_script.get(script) or self.by_script["default"]


def _thresholds(group: Any) -> Thresholds:
    if not isinstance(group, Mapping):
        raise ValueError("a group of thresholds is not an object")
    dense, lexical = group.get("min_evidence"), group.get("min_lexical_evidence")
    confident = group.get("confident_evidence", dense)
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (dense, lexical, confident)):
        raise ValueError("a threshold is not a number")
    return Thresholds(float(dense), float(lexical), float(confident))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Retrieved:
    """What retrieval hands to answering: the analysed question, the ranked candidates, their passages
    (each read from the store once per question) and, the question encoded, their stored sentence vectors."""

    query: Query
    mode: str
    candidates: tuple[Candidate, ...]
    passages: dict[int, Passage]
    sentences: dict[int, SentenceVectors]
    # the other passages of the best articles (their passages and sentence vectors are in the two maps):
    # the asked detail often sits in another paragraph of the article that matches the question's topic
    article_chunks: tuple[int, ...] = ()
