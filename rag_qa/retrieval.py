"""Retrieval: BM25 (bm25s) and dense (FAISS) candidates, fused by reciprocal rank."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .config import RETRIEVAL
from .embedding import Embedder
from .store import IndexReader
from .textnorm import terms as analyze

CONTEXT_WEIGHT = 0.5  # weight of the previous question's terms in a follow-up


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


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[int]], k: int | None = None, weights: Sequence[float] | None = None
) -> dict[int, float]:
    """Cormack, Clarke & Büttcher (2009): score(d) = Σ_rankings w · 1 / (k + rank(d)), ranks from 1."""
    k = RETRIEVAL.rrf_k if k is None else k
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights or [1.0] * len(rankings), strict=True):
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank)
    return fused


class Retriever:
    def __init__(self, reader: IndexReader, embedder: Embedder | None) -> None:
        self.reader = reader
        self.embedder = embedder if reader.dense is not None else None
        bm25 = reader.bm25
        self._vocab: dict[str, int] = bm25.vocab_dict if bm25 is not None else {}
        indptr = bm25.scores["indptr"] if bm25 is not None else np.zeros(1, dtype=np.int64)
        self._doc_freq = np.diff(indptr)
        self._n = max(len(reader.bm25_ids), 1)

    @property
    def modes(self) -> tuple[str, ...]:
        return ("hybrid", "dense", "lexical") if self.embedder is not None else ("lexical",)

    def choose_mode(self, requested: str | None) -> str:
        if requested is None:
            return self.modes[0]
        if requested not in ("hybrid", "dense", "lexical"):
            raise ValueError(f"mode must be one of hybrid, dense, lexical; got {requested!r}")
        return requested if requested in self.modes else "lexical"

    def query(self, text: str, mode: str, context: str | None = None) -> Query:
        """Analyse a question. ``context`` (the previous question of a conversation) widens a follow-up
        such as "and the Israeli side?" with weaker weight than the question's own words."""
        own = analyze(text)
        extra = [t for t in analyze(context) if t not in own] if context else []
        weights = {t: self.idf(t) for t in dict.fromkeys(own)}
        weights |= {t: CONTEXT_WEIGHT * self.idf(t) for t in dict.fromkeys(extra)}
        vector = None
        if mode != "lexical" and self.embedder is not None:
            vector = self.embedder.encode_queries([f"{context}\n{text}" if context else text])[0]
        return Query(text, tuple(own), weights, vector, tuple(extra))

    def idf(self, term: str) -> float:
        token_id = self._vocab.get(term)
        df = int(self._doc_freq[token_id]) if token_id is not None and token_id < len(self._doc_freq) else 0
        return math.log(1.0 + (self._n - df + 0.5) / (df + 0.5))

    def retrieve(self, query: Query, mode: str, n: int) -> list[Candidate]:
        """The best ``n`` chunks for ``query`` in ``mode``, best first."""
        pool = max(n, RETRIEVAL.candidates)
        lexical = self._bm25(query, pool) if mode != "dense" else {}
        dense = self._dense(query, pool) if mode != "lexical" else {}
        if mode == "lexical":
            ranked = sorted(lexical.items(), key=lambda kv: -kv[1])
        elif mode == "dense":
            ranked = sorted(dense.items(), key=lambda kv: -kv[1])
        else:
            rankings = [sorted(lexical, key=lambda i: -lexical[i]), sorted(dense, key=lambda i: -dense[i])]
            fused = reciprocal_rank_fusion(rankings, weights=(1.0, RETRIEVAL.dense_weight))
            ranked = sorted(fused.items(), key=lambda kv: -kv[1])
        return [
            Candidate(chunk_id, score, lexical.get(chunk_id, 0.0), dense.get(chunk_id) if dense else None)
            for chunk_id, score in ranked[:n]
        ]

    def _bm25(self, query: Query, n: int) -> dict[int, float]:
        bm25 = self.reader.bm25
        # the question's own terms count twice, a follow-up's context terms once
        terms = [*query.terms, *query.terms, *query.context_terms] if query.context_terms else query.terms
        token_ids = [self._vocab[t] for t in terms if t in self._vocab]
        if bm25 is None or not token_ids:
            return {}
        scores = bm25.get_scores_from_ids(token_ids)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        return {int(self.reader.bm25_ids[i]): float(scores[i]) for i in top if scores[i] > 0}

    def _dense(self, query: Query, n: int) -> dict[int, float]:
        index = self.reader.dense
        if index is None or query.vector is None or index.ntotal == 0:
            return {}
        scores, ids = index.search(query.vector.reshape(1, -1), min(n, index.ntotal))
        return {int(i): float(s) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0}
