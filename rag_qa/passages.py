"""The passages an answer draws on: the retrieved candidates without repeats, the answer pool among
them, and (the question encoded) their sentences' cosines from the vectors the build stored."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from .config import DEFAULTS
from .embedding import Embedder
from .records import Candidate, Passage, Query, SentenceVectors
from .sentences import sentence_spans
from .textnorm import words


def coverage(query: Query, passage_terms: set[str] | frozenset[str], among: Iterable[str] | None = None) -> float:
    """IDF-weighted share of the question's distinct terms (or of ``among``) present in a passage (0..1)."""
    weights = query.term_weights if among is None else {t: query.term_weights[t] for t in among}
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    return sum(w for t, w in weights.items() if t in passage_terms) / total


@dataclass(frozen=True)
class RankedPassage:
    """A retrieved passage as answering weighs it: its retrieval scores, its distinct terms and, in the
    answer pool, its sentences and their cosines to the question."""

    candidate: Candidate
    passage: Passage
    terms: frozenset[str]
    spans: tuple[tuple[int, int], ...] = ()  # its sentences (answer pool passages only)
    cosines: np.ndarray | None = field(default=None, repr=False)  # each sentence's, when the question is encoded

    @property
    def best_sentence(self) -> float:
        """The cosine of its sentence nearest the question (its own cosine when it has none)."""
        if self.cosines is None or not len(self.cosines):
            return self.candidate.dense or 0.0
        return float(self.cosines.max())


def answer_passages(
    query: Query,
    candidates: Sequence[Candidate],
    found: dict[int, Passage],
    k: int,
    embedder: Embedder | None,
    stored: dict[int, SentenceVectors] | None = None,
    pool_size: int = DEFAULTS.answering.sentence_passages,
) -> list[RankedPassage]:
    """distinct_passages, those of the answer pool with their sentences and (the question encoded) the
    sentences' cosines: from the vectors the build ``stored``, encoding only what it did not store."""
    passages = distinct_passages(candidates, found, k)
    pool = answer_pool(passages, pool_size)
    spans = {p: tuple(sentence_spans(passages[p].passage.text)) for p in pool}
    cosines: dict[int, np.ndarray] = {}
    if embedder is not None and query.vector is not None:
        missing = []
        for p in pool:
            saved = (stored or {}).get(passages[p].candidate.chunk_id)
            if saved is not None and np.array_equal(saved.spans, np.asarray(spans[p], dtype=np.int32).reshape(-1, 2)):
                cosines[p] = saved.vectors.astype(np.float32) @ query.vector
            else:
                missing.append(p)
        texts = [passages[p].passage.text[a:b] for p in missing for a, b in spans[p]]
        encoded = embedder.encode_documents(texts) @ query.vector if texts else np.zeros(0, np.float32)
        at = 0
        for p in missing:
            cosines[p], at = encoded[at : at + len(spans[p])], at + len(spans[p])
    return [
        replace(passage, spans=spans[p], cosines=cosines.get(p)) if p in spans else passage
        for p, passage in enumerate(passages)
    ]


def distinct_passages(candidates: Sequence[Candidate], found: dict[int, Passage], k: int) -> list[RankedPassage]:
    """The first ``k`` candidates, dropping passages that repeat an earlier one (news wires repeat)."""
    kept: list[RankedPassage] = []
    seen: list[set[str]] = []
    for candidate in candidates:
        passage = found.get(candidate.chunk_id)
        if passage is None:
            continue
        tokens = set(words(passage.text))
        if any(_jaccard(tokens, other) >= 0.9 for other in seen):
            continue
        seen.append(tokens)
        kept.append(RankedPassage(candidate, passage, frozenset(passage.terms)))
        if len(kept) == k:
            break
    return kept


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def answer_pool(passages: Sequence[RankedPassage], size: int = DEFAULTS.answering.sentence_passages) -> list[int]:
    """Passages whose sentences may answer: the best ``size`` fused ones, plus the best of each retriever.

    Fusion can push a passage that only one retriever found down the list (a weak dense model
    disagreeing with BM25, or BM25 blind to a cross-lingual match): the best three of BM25 and two of dense stay.
    """
    pool = list(range(min(size, len(passages))))
    by_bm25 = sorted(range(len(passages)), key=lambda i: -passages[i].candidate.bm25)
    by_dense = sorted(range(len(passages)), key=lambda i: -(passages[i].candidate.dense or 0.0))
    for i in [*by_bm25[:3], *by_dense[:2]]:
        if i not in pool:
            pool.append(i)
    return pool
