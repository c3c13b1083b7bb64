"""Answers without an LLM: the sentence(s) of the retrieved passages that best answer the question, cited.

The answer is extractive, so every word of it can be checked in a cited passage. When no passage holds
enough evidence (too few of the question's weighted terms, and no dense similarity above the model's
threshold) the answer is "not found" with no citations, rather than noise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .answer_types import asked_type, supplies
from .config import DEFAULTS, AnsweringSettings, Settings
from .embedding import Embedder
from .records import Answer, Candidate, Citation, Passage, Query, Retrieved, SentenceVectors
from .sentences import sentence_spans
from .textnorm import arabic_share, char_grams, normalise, words
from .textnorm import terms as analyze

NOT_FOUND = "Not found in the indexed articles."
NOT_FOUND_ARABIC = "لم أجد الإجابة في المقالات المفهرسة (not found in the indexed articles)."
_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True)
class Sentence:
    passage: int  # index into the ranked passages
    start: int  # offsets inside the passage text
    end: int
    text: str
    score: float


SCRIPTS = ("arabic", "other")


def question_script(question: str) -> str:
    """Which group of thresholds a question is held to: "arabic" (mostly Arabic letters) or "other"."""
    return "arabic" if arabic_share(question) > 0.5 else "other"


def thresholds_for(calibration: dict[str, Any], question: str, level: str = "min_evidence") -> tuple[float, float]:
    """The (dense, lexical) evidence thresholds of ``calibration`` for ``question``'s script: "not found"
    below them, or (``level="confident_evidence"``) weak evidence below them."""
    group = (calibration.get("by_script") or {}).get(question_script(question), calibration)
    return float(group.get(level, group["min_evidence"])), float(group["min_lexical_evidence"])


def not_found_text(question: str) -> str:
    return NOT_FOUND_ARABIC if arabic_share(question) > 0.5 else NOT_FOUND


def coverage(query: Query, passage_terms: set[str] | frozenset[str], among: Iterable[str] | None = None) -> float:
    """IDF-weighted share of the question's distinct terms (or of ``among``) present in a passage (0..1)."""
    weights = query.term_weights if among is None else {t: query.term_weights[t] for t in among}
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    return sum(w for t, w in weights.items() if t in passage_terms) / total


def _sentence_coverage(query: Query, sentence_terms: frozenset[str], context_bonus: float) -> float:
    """A follow-up's own words decide; its context (the previous question) only breaks ties."""
    if not query.context_terms or not query.terms:
        return coverage(query, sentence_terms)
    own = coverage(query, sentence_terms, query.terms)
    return own + context_bonus * coverage(query, sentence_terms, query.context_terms)


def compose(
    found: Retrieved,
    k: int,
    embedder: Embedder | None,
    warnings: Sequence[str] = (),
    calibration: dict[str, Any] | None = None,
    confident_at: float | None = None,
    settings: Settings = DEFAULTS,
) -> Answer:
    """The answer from what retrieval ``found``; ``calibration``: the index's evidence thresholds
    (abstention.calibrate), when it has them; ``confident_at``: the index's confident level of lexical
    evidence (abstention.confident_level), below which an answer without them is "weak"."""
    answering, query, mode = settings.answering, found.query, found.mode
    passages = answer_passages(
        query, found.candidates, found.passages, k, embedder, found.sentences, answering.sentence_passages
    )
    if not passages or not has_evidence(query, passages, embedder, calibration, answering):
        return Answer(query.text, not_found_text(query.text), mode, (), found=False, warnings=tuple(warnings))
    pool = answer_pool(passages, answering.sentence_passages)
    confidence = answer_confidence(query, [passages[i] for i in pool], embedder, calibration, confident_at)
    missing = missing_numbers(query, [passages[i] for i in pool])
    if missing:  # "who won the 2022 World Cup?" over articles about 2014 and 2018
        confidence = "weak"
        warnings = [*warnings, f"No passage it draws on mentions {', '.join(missing)}."]
    chosen = choose_sentences(query, passages, embedder, settings)
    # Passages quoted in the answer come first, in answer order, so [1] is the main evidence.
    used = list(dict.fromkeys(s.passage for s in chosen))
    order = used + [i for i in range(len(passages)) if i not in used]
    number = {p: n for n, p in enumerate(order, start=1)}
    highlights: dict[int, list[tuple[int, int]]] = {}
    for s in sorted(chosen, key=lambda s: s.start):
        highlights.setdefault(s.passage, []).append((s.start, s.end))
    citations = tuple(_citation(number[p], passages[p], tuple(highlights.get(p, ()))) for p in order)
    text = " ".join(f"{s.text} [{number[s.passage]}]" for s in chosen)
    return Answer(query.text, text, mode, citations, found=True, warnings=tuple(warnings), confidence=confidence)


def answer_confidence(
    query: Query,
    pool: Sequence[RankedPassage],
    embedder: Embedder | None,
    calibration: dict[str, Any] | None,
    confident_at: float | None,
) -> str | None:
    """ "confident" or "weak" for an answer that passed has_evidence, from the passages it draws on
    (``pool``); None when the index has no level.

    The calibrated thresholds of a model (abstention.calibrate) already stand for this index's confident
    level. Without them, an answer is confident when a passage it draws on reaches the index's confident
    lexical evidence, which at most 10 % of off-topic background questions reach."""
    if calibration and embedder is not None and query.vector is not None:
        dense, lexical = thresholds_for(calibration, query.text, level="confident_evidence")
        sure = any(evidence(p) >= dense or lexical_evidence(query, p) >= lexical for p in pool)
        return "confident" if sure else "weak"
    if confident_at is None:
        return None
    best = max(lexical_evidence(query, p) for p in pool)
    return "confident" if best >= confident_at else "weak"


def missing_numbers(query: Query, passages: Sequence[RankedPassage]) -> list[str]:
    """The numbers the question names (a year, a count) that none of ``passages`` holds.

    Such an answer is labelled weak evidence rather than withheld: on XQuAD-ar dev, 16 of the 92 answerable
    questions with a number name it differently from their passage ("the 1970s", a range).
    """
    asked = dict.fromkeys(_NUMBER.findall(normalise(query.text)))
    if not asked:
        return []
    held = {n for p in passages for n in _NUMBER.findall(normalise(p.passage.text))}
    return [n for n in asked if n not in held]


def citations_for(found: Retrieved, k: int) -> list[Citation]:
    """Ranked passages as citations, numbered in rank order (for ``search``)."""
    return [_citation(n, p, ()) for n, p in enumerate(distinct_passages(found.candidates, found.passages, k), start=1)]


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


def has_evidence(
    query: Query,
    passages: Sequence[RankedPassage],
    embedder: Embedder | None,
    calibration: dict[str, Any] | None = None,
    settings: AnsweringSettings = DEFAULTS.answering,
) -> bool:
    """Whether any passage an answer would draw on supports one; else the answer is "not found".

    With the question encoded and the index calibrated (abstention.py): evidence() or lexical_evidence()
    reaching the index's thresholds. Else lexical evidence, or a cosine above the model family's
    threshold.
    """
    top = [passages[i] for i in answer_pool(passages, settings.sentence_passages)]
    if calibration and embedder is not None and query.vector is not None:
        dense, lexical = thresholds_for(calibration, query.text)
        return any(evidence(p) >= dense or lexical_evidence(query, p) >= lexical for p in top)
    if any(lexical_evidence(query, p) >= settings.min_lexical_evidence for p in top):
        return True
    if embedder is None:
        return False
    threshold = embedder.style.min_similarity
    return any(p.candidate.dense is not None and p.candidate.dense >= threshold for p in top)


def lexical_evidence(query: Query, ranked: RankedPassage) -> float:
    """The mean of two shares found in the passage: the question's IDF-weighted word terms (coverage) and
    its character 4-grams, which count inflected and cliticised forms of the question's words.

    XQuAD-ar dev and tests/data/unanswerable.json, lexical: at the threshold 0.25 answerable questions
    abstain 0.8 % and unanswerable ones 45 %; word coverage alone at 0.2 gave 2.1 % and 45 %
    (`python -m benchmarks.abstention_curve`).
    """
    question_grams = set(char_grams(query.text))
    found = question_grams & set(char_grams(ranked.passage.text))
    gram_share = len(found) / len(question_grams) if question_grams else 0.0
    return (coverage(query, ranked.terms) + gram_share) / 2


def evidence(passage: RankedPassage) -> float:
    """Dense evidence: the mean of the passage's cosine and its best sentence's.

    A question's answer usually sits in one sentence, which the question matches more closely than the
    passage around it; an unrelated question matches neither. Bundled e5 on XQuAD-ar dev against the
    background and unanswerable questions (`python -m benchmarks.fusion`), AUC: Arabic 0.949
    (passage cosine alone 0.933, cosine + 0.2 × word coverage 0.914), English → Arabic 0.837 (0.821, 0.796).
    """
    return ((passage.candidate.dense or 0.0) + passage.best_sentence) / 2


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


def _citation(n: int, ranked: RankedPassage, highlights: tuple[tuple[int, int], ...]) -> Citation:
    passage = ranked.passage
    return Citation(
        n=n,
        doc_id=passage.doc_id,
        title=passage.title,
        source=passage.source,
        text=passage.text,
        start=passage.start,
        end=passage.end,
        score=ranked.candidate.score,
        chunk_id=passage.chunk_id,
        highlights=highlights,
        date=passage.date,
    )
