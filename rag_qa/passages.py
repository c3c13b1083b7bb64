"""The passages an answer draws on: the retrieved candidates without repeats, the answer pool among
them, and (the question encoded) their sentences' cosines from the vectors the build stored."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from .config import DEFAULTS
from .embedding import Embedder
from .records import Candidate, Passage, Query, Retrieved, SentenceVectors
from .sentences import sentence_spans
from .textnorm import jaccard, words


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
    vectors: np.ndarray | None = field(default=None, repr=False)  # its sentences' vectors (float32), likewise
    retrieved: bool = True  # False: another passage of a retrieved article (article_passages), never ranked

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
    return with_sentences(query, passages, pool, embedder, stored)


def article_passages(
    query: Query, retrieved: Retrieved, embedder: Embedder | None, skip: Sequence[RankedPassage] = ()
) -> list[RankedPassage]:
    """The other passages of the best articles (``Retrieved.article_chunks``), with their sentences and
    cosines, as passages retrieval did not rank (no scores), less those in ``skip`` or repeating one."""
    seen = {p.passage.chunk_id for p in skip}
    texts = {p.passage.text for p in skip}
    extra = []
    for chunk_id in retrieved.article_chunks:
        passage = retrieved.passages.get(chunk_id)
        if passage is None or chunk_id in seen or passage.text in texts:
            continue
        texts.add(passage.text)
        unranked = Candidate(chunk_id, 0.0, 0.0, None)
        extra.append(RankedPassage(unranked, passage, frozenset(passage.terms), retrieved=False))
    return with_sentences(query, extra, range(len(extra)), embedder, retrieved.sentences)


def with_sentences(
    query: Query,
    passages: list[RankedPassage],
    pool: Iterable[int],
    embedder: Embedder | None,
    stored: dict[int, SentenceVectors] | None = None,
) -> list[RankedPassage]:
    """``passages`` with the sentences of those in ``pool`` and (the question encoded) their cosines, from
    the vectors the build ``stored``, encoding only what it did not store."""
    spans = {p: tuple(sentence_spans(passages[p].passage.text)) for p in pool}
    vectors: dict[int, np.ndarray] = {}
    if embedder is not None and query.vector is not None:
        missing = []
        for p in spans:
            saved = (stored or {}).get(passages[p].candidate.chunk_id)
            if saved is not None and np.array_equal(saved.spans, np.asarray(spans[p], dtype=np.int32).reshape(-1, 2)):
                vectors[p] = saved.vectors.astype(np.float32)
            else:
                missing.append(p)
        texts = [passages[p].passage.text[a:b] for p in missing for a, b in spans[p]]
        encoded = embedder.encode_documents(texts) if texts else np.zeros((0, len(query.vector)), np.float32)
        at = 0
        for p in missing:
            vectors[p], at = encoded[at : at + len(spans[p])].astype(np.float32), at + len(spans[p])
    return [
        replace(passage, spans=spans[p], vectors=vectors.get(p), cosines=_cosines(vectors.get(p), query.vector))
        if p in spans
        else passage
        for p, passage in enumerate(passages)
    ]


def _cosines(vectors: np.ndarray | None, question: np.ndarray | None) -> np.ndarray | None:
    return None if vectors is None or question is None else vectors @ question


def distinct_passages(candidates: Sequence[Candidate], found: dict[int, Passage], k: int) -> list[RankedPassage]:
    """The first ``k`` candidates, dropping passages that repeat an earlier one (news wires repeat)."""
    kept: list[RankedPassage] = []
    seen: list[set[str]] = []
    for candidate in candidates:
        passage = found.get(candidate.chunk_id)
        if passage is None:
            continue
        tokens = set(words(passage.text))
        if any(jaccard(tokens, other) >= 0.9 for other in seen):
            continue
        seen.append(tokens)
        kept.append(RankedPassage(candidate, passage, frozenset(passage.terms)))
        if len(kept) == k:
            break
    return kept


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
