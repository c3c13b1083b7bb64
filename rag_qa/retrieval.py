"""Retrieval: BM25 over character grams plus a proximity bonus, and dense (FAISS) candidates, fused by RRF."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from .answer_types import analyse
from .config import DEFAULTS, RetrievalSettings
from .embedding import Embedder
from .errors import BadArgument
from .records import Candidate, Passage, Query, Retrieved, SentenceVectors
from .storage.catalog import Catalog, day_number
from .storage.store import Reader
from .textnorm import arabic_share, char_grams, jaccard
from .textnorm import terms as analyze

SAME_PASSAGE = 0.8  # two copies' passages with this share of words in common are the same passage


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[int]], k: int, weights: Sequence[float] | None = None
) -> dict[int, float]:
    """Cormack, Clarke & Büttcher (2009): score(d) = Σ_rankings w · 1 / (k + rank(d)), ranks from 1."""
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights or [1.0] * len(rankings), strict=True):
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank)
    return fused


class Retriever:
    def __init__(
        self, reader: Reader, embedder: Embedder | None, settings: RetrievalSettings = DEFAULTS.retrieval
    ) -> None:
        self.reader = reader
        self.embedder = embedder if reader.has_dense else None
        self.settings = settings

    @property
    def modes(self) -> tuple[str, ...]:
        return ("hybrid", "dense", "lexical") if self.embedder is not None else ("lexical",)

    def choose_mode(self, requested: str | None) -> str:
        if requested is None:
            return self.modes[0]
        if requested not in ("hybrid", "dense", "lexical"):
            raise BadArgument(f"mode must be one of hybrid, dense, lexical; got {requested!r}")
        return requested if requested in self.modes else "lexical"

    def query(self, text: str, mode: str, context: str | None = None, vector: np.ndarray | None = None) -> Query:
        """Analyse a question. ``context`` (the previous question of a conversation) widens a follow-up
        such as "and the Israeli side?" with weaker weight than the question's own words. ``vector``: the
        question already encoded (questions encoded in one batch)."""
        own = analyze(text)
        extra = [t for t in analyze(context) if t not in own] if context else []
        idf = self.idfs([*own, *extra])
        weights = {t: idf[t] for t in dict.fromkeys(own)}
        weights |= {t: self.settings.context_weight * idf[t] for t in dict.fromkeys(extra)}
        focus_vector = None
        if mode == "lexical" or self.embedder is None:
            vector = None
        elif vector is None:
            # A question in another script than Arabic matches the focus it names ("the depth") through the
            # model; its focus is encoded in the question's batch (answer_types, sentence_choice)
            focus = analyse(text).focus_text if arabic_share(text) <= 0.5 else ""
            texts = [f"{context}\n{text}" if context else text, *([focus] if focus else [])]
            encoded = self.embedder.encode_queries(texts)
            vector, focus_vector = encoded[0], (encoded[1] if focus else None)
        return Query(text, tuple(own), weights, vector, tuple(extra), context, focus_vector)

    def idfs(self, terms: Sequence[str]) -> dict[str, float]:
        """BM25's IDF of each word term, looked up at once (terms never seen get the highest)."""
        frequencies = self.reader.document_frequencies(set(terms))
        n = max(self.reader.chunk_count, 1)
        return {t: math.log(1.0 + (n - df + 0.5) / (df + 0.5)) for t, df in frequencies.items()}

    def for_answer(self, query: Query, mode: str, k: int) -> Retrieved:
        """What an answer from ``k`` passages draws on (``RagQA.ask``, ``search`` and the calibration):
        the best 3·k candidates (room for dropping repeated passages), their passages and, the question
        encoded, their stored sentence vectors."""
        read: dict[int, Passage] = {}
        stored: dict[int, SentenceVectors] = {}
        candidates = self.retrieve(query, mode, 3 * k, read, stored)
        read |= self.reader.passages([c.chunk_id for c in candidates if c.chunk_id not in read])
        if self.settings.group_copies:
            candidates = one_copy_each(candidates, read, self.reader.catalog)
        ids = [c.chunk_id for c in candidates]
        if query.vector is not None:
            stored |= self.reader.sentences([i for i in ids if i not in stored])
        article_chunks = self._article_chunks(ids, read)
        if query.vector is not None:
            stored |= self.reader.sentences([i for i in article_chunks if i not in stored])
        every = [*ids, *article_chunks]
        sentences = {i: stored[i] for i in every if i in stored}
        passages = {i: read[i] for i in every if i in read}
        return Retrieved(query, mode, tuple(candidates), passages, sentences, article_chunks)

    def _article_chunks(self, ids: Sequence[int], read: dict[int, Passage]) -> tuple[int, ...]:
        """The passages of the best ``article_depth`` articles among ``ids`` that retrieval did not return
        (read into ``read``). Both stores give an article's chunks consecutive ids when writing it, so an
        article's chunks are looked up from its first one (``chunk_id - ordinal``), by id."""
        articles: dict[str, int] = {}
        for i in ids:
            passage = read.get(i)
            if passage is not None and passage.doc_id not in articles:
                articles[passage.doc_id] = i - passage.ordinal
            if len(articles) == self.settings.article_depth:
                break
        taken = set(ids)
        wanted = [f + n for f in articles.values() for n in range(self.settings.article_chunks) if f + n not in taken]
        unread = [i for i in wanted if i not in read]
        read |= self.reader.passages(unread) if unread else {}
        kept = {i: read[i] for i in wanted if i in read and read[i].doc_id in articles}
        return tuple(sorted(kept, key=lambda i: (list(articles).index(kept[i].doc_id), kept[i].ordinal)))

    def retrieve(
        self,
        query: Query,
        mode: str,
        n: int,
        read: dict[int, Passage] | None = None,
        stored: dict[int, SentenceVectors] | None = None,
    ) -> list[Candidate]:
        """The best ``n`` chunks for ``query`` in ``mode``, best first. ``read`` and ``stored``: passages
        and sentence vectors already read for this question, to which those read here are added (each is
        read once)."""
        read = {} if read is None else read
        stored = {} if stored is None else stored
        pool = max(n, self.settings.candidates)
        lexical = self._bm25(query, pool, read) if mode != "dense" else {}
        dense = self._dense(query, pool) if mode != "lexical" else {}
        if mode == "lexical":
            ranked = sorted(lexical.items(), key=lambda kv: -kv[1])
        elif mode == "dense":
            ranked = sorted(dense.items(), key=lambda kv: -kv[1])
        else:
            rankings = [sorted(lexical, key=lambda i: -lexical[i]), sorted(dense, key=lambda i: -dense[i])]
            support = (
                self.lexical_support(query, [read[i].terms for i in rankings[0][:3] if i in read]) if dense else 1.0
            )
            fused = reciprocal_rank_fusion(rankings, self.settings.rrf_k, (support, self.settings.dense_weight))
            ranked = sorted(fused.items(), key=lambda kv: -kv[1])
            if query.vector is not None:
                ranked = self._by_best_sentence(query.vector, ranked, stored)
        if query.recent_from is not None:
            ranked = self._newest_first(ranked, query.recent_from)
        return [
            Candidate(chunk_id, score, lexical.get(chunk_id, 0.0), dense.get(chunk_id) if dense else None)
            for chunk_id, score in ranked[:n]
        ]

    def _newest_first(self, ranked: list[tuple[int, float]], newest: str) -> list[tuple[int, float]]:
        """"Latest": each score divided by 1 + age / ``recency_days``, the age in days before ``newest``
        (Onyx decays by age in years, for time-framed questions only; a news archive's scale is days).
        Articles without a date count as the oldest."""
        catalog = self.reader.catalog
        days = catalog.chunk_days([i for i, _ in ranked])
        anchor = day_number(newest)
        dated = catalog.days[catalog.days >= 0]
        age = anchor - np.where(days >= 0, days, dated.min() if len(dated) else anchor)
        scale = self.settings.recency_days
        decayed = [(i, score / (1.0 + max(int(a), 0) / scale)) for (i, score), a in zip(ranked, age, strict=True)]
        return sorted(decayed, key=lambda kv: -kv[1])

    def _by_best_sentence(
        self, vector: np.ndarray, ranked: list[tuple[int, float]], stored: dict[int, SentenceVectors]
    ) -> list[tuple[int, float]]:
        """``ranked`` with a third ranking fused into its first ``sentence_depth``: by the cosine of their
        best stored sentence, at ``sentence_weight`` (scores only rise, so the rest stay behind them)."""
        depth = self.settings.sentence_depth
        head = dict(ranked[:depth])
        stored |= self.reader.sentences([i for i in head if i not in stored])
        best = {
            i: float((s.vectors.astype(np.float32) @ vector).max())
            for i, s in stored.items()  # (in the store's order: equal cosines keep it)
            if i in head and len(s.vectors)
        }
        by_sentence = [sorted(best, key=lambda i: -best[i])]
        extra = reciprocal_rank_fusion(by_sentence, self.settings.rrf_k, (self.settings.sentence_weight,))
        rescored = sorted(((i, score + extra.get(i, 0.0)) for i, score in head.items()), key=lambda kv: -kv[1])
        return rescored + ranked[depth:]

    def lexical_support(self, query: Query, held: Sequence[Sequence[str]]) -> float:
        """BM25's weight in the fusion: the best IDF share of the question's own terms among the passages
        whose terms are ``held``, as a share of ``full_lexical_support`` (0..1)."""
        total = sum(query.term_weights[t] for t in set(query.terms))
        if total <= 0 or not held:
            return 1.0 if total <= 0 else 0.0
        best = max(sum(query.term_weights[t] for t in set(query.terms) & set(terms)) for terms in held)
        return min(1.0, best / total / self.settings.full_lexical_support)

    def _bm25(self, query: Query, n: int, read: dict[int, Passage]) -> dict[int, float]:
        grams = char_grams(query.text)
        if query.context:  # the question's own grams count twice, a follow-up's context grams once
            grams = [*grams, *grams, *char_grams(query.context)]
        found = self.reader.lexical_search(grams, n, query.within)
        read |= self.reader.passages([i for i in found if i not in read])
        if len(set(query.terms)) < 2:
            return found
        weight, window = self.settings.proximity_weight, self.settings.proximity_window
        return {i: s + weight * proximity(query, read[i].terms if i in read else (), window) for i, s in found.items()}

    def _dense(self, query: Query, n: int) -> dict[int, float]:
        if query.vector is None:
            return {}
        return self.reader.dense_search(query.vector, n, query.within)


def one_copy_each(candidates: Sequence[Candidate], read: dict[int, Passage], catalog: Catalog) -> list[Candidate]:
    """The candidates with one article of each group of wire copies (copies.py): the copy whose passage
    ranked first, or, where other copies hold that same passage (word Jaccard ≥ ``SAME_PASSAGE``), the
    earliest of them (then the fullest). The other copies' passages repeat it and are left out."""
    first: dict[int, Passage] = {}  # group → its best-ranked passage
    keep: dict[int, tuple[tuple[str, int], str]] = {}  # group → ((date, -length), doc id) of the copy kept
    for candidate in candidates:
        passage = read.get(candidate.chunk_id)
        group = catalog.group_of.get(passage.doc_id) if passage else None
        entry = catalog.entry(passage.doc_id) if passage and group is not None else None
        if passage is None or group is None or entry is None:
            continue
        key = (entry.date or "9999", -entry.length)
        if group not in first:
            first[group], keep[group] = passage, (key, entry.doc_id)
        elif key < keep[group][0] and jaccard(passage.terms, first[group].terms) >= SAME_PASSAGE:
            keep[group] = (key, entry.doc_id)
    if not keep:
        return list(candidates)
    kept = {doc_id for _, doc_id in keep.values()}
    return [
        c for c in candidates
        if (p := read.get(c.chunk_id)) is None or p.doc_id not in catalog.group_of or p.doc_id in kept
    ]  # fmt: skip


def proximity(query: Query, chunk_terms: Sequence[str], window: int) -> float:
    """How close together the question's terms stand in a passage: over each pair of distinct question
    terms found within ``window`` positions, the smaller IDF of the two divided by their distance
    (the minimum pair distance of Tao & Zhai, SIGIR 2007, weighted as BM25 weighs the terms)."""
    wanted = set(query.terms)
    positions: dict[str, list[int]] = defaultdict(list)
    for position, term in enumerate(chunk_terms):
        if term in wanted:
            positions[term].append(position)
    present = sorted(positions)
    total = 0.0
    for x, first in enumerate(present):
        for second in present[x + 1 :]:
            distance = min(abs(i - j) for i in positions[first] for j in positions[second])
            if distance <= window:
                total += min(query.term_weights[first], query.term_weights[second]) / distance
    return total
