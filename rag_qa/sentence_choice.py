"""Choosing the answer's sentences among the answer pool's passages: a weighted sum of what each sentence
holds of the question (terms, word pairs, character grams, similarity, the asked-for type) and of its
passage's strength. Weights: config.AnsweringSettings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .answer_types import asked_type, supplies
from .config import DEFAULTS, Settings
from .embedding import Embedder
from .passages import RankedPassage, answer_pool, coverage
from .records import Query
from .textnorm import char_grams
from .textnorm import terms as analyze


@dataclass(frozen=True)
class Sentence:
    passage: int  # index into the ranked passages
    start: int  # offsets inside the passage text
    end: int
    text: str
    score: float


def _sentence_coverage(query: Query, sentence_terms: frozenset[str], context_bonus: float) -> float:
    """A follow-up's own words decide; its context (the previous question) only breaks ties."""
    if not query.context_terms or not query.terms:
        return coverage(query, sentence_terms)
    own = coverage(query, sentence_terms, query.terms)
    return own + context_bonus * coverage(query, sentence_terms, query.context_terms)


def choose_sentences(
    query: Query, passages: Sequence[RankedPassage], embedder: Embedder | None, settings: Settings = DEFAULTS
) -> list[Sentence]:
    """The answer's sentences, best first, from passages with their sentences (answer_passages).

    Each sentence is scored by a weighted sum: the question's terms it holds (IDF-weighted), word pairs
    side by side, character 4-grams, its similarity to the question, whether it holds what is asked for
    (a number, a year), and its passage's strength. Tuned with the bundled e5 on XQuAD dev (half of the
    Arabic and English questions, `benchmarks/` sweeps): answer_hit rose from 0.797 / 0.585 (Arabic /
    English → Arabic) at similarity weight 0.5 to 0.824 / 0.614 at 3.0; weights fitted per feature by a
    listwise loss gave no more (0.827 / 0.672 top-2 under 5-fold cross-validation, against 0.830 / 0.688).
    """
    min_similarity = embedder.style.min_similarity if embedder is not None else 0.0
    weights = settings.answering
    pool = answer_pool(passages, weights.sentence_passages)
    sentences = _scored_sentences(query, passages, pool, min_similarity, settings)
    if not sentences:
        return []
    ranked = sorted(sentences, key=lambda s: -s.score)
    best = ranked[0]
    # the best sentence first, even when the second comes before it in the passage: the answer leads
    second = weights.second_sentence_ratio * best.score
    return [best] + [s for s in ranked[1 : weights.max_answer_sentences] if s.score >= second]


def _scored_sentences(
    query: Query, passages: Sequence[RankedPassage], pool: Sequence[int], min_similarity: float, settings: Settings
) -> list[Sentence]:
    weights = settings.answering
    found: list[tuple[int, int, int, str, list[str]]] = []
    for p in pool:
        text = passages[p].passage.text
        for start, end in passages[p].spans:
            found.append((p, start, end, text[start:end], analyze(text[start:end])))
    if not found:
        return []
    similarity = np.zeros(len(found), dtype=np.float32)
    if all(passages[p].cosines is not None for p in pool):
        cosine = np.concatenate([passages[p].cosines for p in pool])
        # rescaled so that the model's evidence threshold maps to 0 and a perfect match to 1; across scripts
        # even the best sentence may sit near or below that threshold, and then the floor drops with it
        floor = min(min_similarity, float(cosine.max()) - weights.similarity_margin)
        similarity = np.clip((cosine - floor) / max(1.0 - floor, 1e-6), 0.0, 1.0)
    kind = asked_type(query.text)
    question_pairs = set(zip(query.terms, query.terms[1:], strict=False))
    question_grams = set(char_grams(query.text))
    strength = {p: passage_strength(query, passages, p, pool, settings) for p in pool}
    sentences = []
    for (p, start, end, text, sentence_terms), sim in zip(found, similarity, strict=True):
        distinct = frozenset(sentence_terms)
        pairs = set(zip(sentence_terms, sentence_terms[1:], strict=False))
        phrases = len(question_pairs & pairs) / max(len(question_pairs), 1)
        subword = len(question_grams & set(char_grams(text))) / len(question_grams) if question_grams else 0.0
        score = (
            _sentence_coverage(query, distinct, weights.context_bonus)
            + weights.phrase_weight * phrases
            + weights.subword_weight * subword
            + weights.similarity_weight * float(sim)
            + weights.type_weight * supplies(kind, text, query.text)
            + strength[p]
        )
        sentences.append(Sentence(p, start, end, text, score))
    return sentences


def passage_strength(
    query: Query, passages: Sequence[RankedPassage], p: int, pool: Sequence[int], settings: Settings = DEFAULTS
) -> float:
    """How well the sentence's passage as a whole answers: the best sentence usually sits in the best passage.

    Its retrieval evidence relative to the best of the pool (BM25 and, when a model ran, dense similarity)
    plus the question's IDF mass the passage holds. Measured on XQuAD-ar dev, lexical: answer_hit
    0.755 without it, 0.786 with it (word BM25; `rag-qa eval --corpus xquad.ar.dev.json --model none`).
    """
    candidate = passages[p].candidate
    bm25 = _share(candidate.bm25, max(passages[i].candidate.bm25 for i in pool))
    if candidate.dense is None:
        retrieval_share = bm25
    else:  # BM25 counts as much as the question's words are found (not at all across scripts): retrieval.py
        held = max(coverage(query, passages[i].terms) for i in pool)
        support = min(1.0, held / settings.retrieval.full_lexical_support)
        dense = _share(candidate.dense, max(passages[i].candidate.dense or 0.0 for i in pool))
        retrieval_share = (support * bm25 + dense) / (support + 1.0)
    weights = settings.answering
    return weights.passage_weight * retrieval_share + weights.passage_coverage_weight * coverage(
        query, passages[p].terms
    )


def _share(value: float, best: float) -> float:
    return max(value, 0.0) / best if best > 0 else 0.0
