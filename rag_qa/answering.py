"""Answers without an LLM: the sentence(s) of the retrieved passages that best answer the question, cited.

The answer is extractive, so every word of it can be checked in a cited passage. When no passage holds
enough evidence (too few of the question's weighted terms, and no dense similarity above the model's
threshold) the answer is "not found" with no citations, rather than noise.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .config import DEFAULTS, AnsweringSettings, Settings
from .embedding import Embedder
from .passages import RankedPassage, answer_passages, answer_pool, coverage, distinct_passages
from .records import Answer, Calibration, Citation, Query, Retrieved
from .sentence_choice import choose_sentences
from .textnorm import arabic_share, char_grams, normalise

NOT_FOUND = "Not found in the indexed articles."
NOT_FOUND_ARABIC = "لم أجد الإجابة في المقالات المفهرسة (not found in the indexed articles)."
_NUMBER = re.compile(r"\d+")


SCRIPTS = ("arabic", "other")


def question_script(question: str) -> str:
    """Which group of thresholds a question is held to: "arabic" (mostly Arabic letters) or "other"."""
    return "arabic" if arabic_share(question) > 0.5 else "other"


def not_found_text(question: str) -> str:
    return NOT_FOUND_ARABIC if arabic_share(question) > 0.5 else NOT_FOUND


def compose(
    found: Retrieved,
    k: int,
    embedder: Embedder | None,
    warnings: Sequence[str] = (),
    calibration: Calibration | None = None,
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
    calibration: Calibration | None,
    confident_at: float | None,
) -> str | None:
    """ "confident" or "weak" for an answer that passed has_evidence, from the passages it draws on
    (``pool``); None when the index has no level.

    The calibrated thresholds of a model (abstention.calibrate) already stand for this index's confident
    level. Without them, an answer is confident when a passage it draws on reaches the index's confident
    lexical evidence, which at most 10 % of off-topic background questions reach."""
    if calibration and embedder is not None and query.vector is not None:
        levels = calibration.for_script(question_script(query.text))
        sure = any(evidence(p) >= levels.confident or lexical_evidence(query, p) >= levels.lexical for p in pool)
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


def has_evidence(
    query: Query,
    passages: Sequence[RankedPassage],
    embedder: Embedder | None,
    calibration: Calibration | None = None,
    settings: AnsweringSettings = DEFAULTS.answering,
) -> bool:
    """Whether any passage an answer would draw on supports one; else the answer is "not found".

    With the question encoded and the index calibrated (abstention.py): evidence() or lexical_evidence()
    reaching the index's thresholds. Else lexical evidence, or a cosine above the model family's
    threshold.
    """
    top = [passages[i] for i in answer_pool(passages, settings.sentence_passages)]
    if calibration and embedder is not None and query.vector is not None:
        levels = calibration.for_script(question_script(query.text))
        return any(evidence(p) >= levels.dense or lexical_evidence(query, p) >= levels.lexical for p in top)
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
