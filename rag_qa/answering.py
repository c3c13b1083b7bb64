"""Answers without an LLM: the sentence(s) of the retrieved articles that hold what the question asks, cited.

The answer is extractive, so every word of it can be checked in a cited passage. Its sentence is chosen
among the answer pool's passages and every other passage of the best two articles (sentence_choice.py),
and the asked number, date, name or place is marked in it (``Answer.span``). When no passage holds
enough evidence (too few of the question's weighted terms, and no dense similarity above the model's
threshold) the answer is "not found" with no citations, rather than noise; and when the articles match
the question's topic but no sentence probably holds the asked fact, "not found" names what they do hold
(``Answer.mentioned``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .answer_types import DATE, NAME, NUMBER, PERSON, PLACE, Asked, analyse
from .config import DEFAULTS, AnsweringSettings, Settings
from .embedding import Embedder
from .passages import RankedPassage, answer_passages, answer_pool, article_passages, coverage, distinct_passages
from .records import Answer, AnswerSpan, Calibration, Citation, Query, Retrieved
from .sentence_choice import Sentence, choose_sentences, load_model, model_family
from .textnorm import arabic_share, char_grams, normalise

NOT_FOUND = "Not found in the indexed articles."
NOT_FOUND_ARABIC = "لم أجد الإجابة في المقالات المفهرسة (not found in the indexed articles)."
_NUMBER = re.compile(r"\d+")
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")


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
    confidence = answer_confidence(
        query, [passages[i] for i in answer_pool(passages, answering.sentence_passages)], embedder, calibration,
        confident_at,
    )  # fmt: skip
    candidates = sentence_candidates(found, passages, embedder, settings)
    everything, pool, asked = candidates.passages, candidates.pool, candidates.asked
    script, family = question_script(query.text), model_family(embedder, mode)
    model = load_model(family)  # weights learned with e5's similarities, or lexically; another model: hand-set

    chosen = choose_sentences(query, asked, everything, pool, embedder, candidates.focus_vector, settings, model)
    if not chosen:
        return Answer(query.text, not_found_text(query.text), mode, (), found=False, warnings=tuple(warnings))
    best = chosen[0]
    missing = missing_numbers(query, [everything[i] for i in pool])
    later = later_year(missing, [everything[i] for i in pool])
    if later or (asked.kind and best.score < model.not_found_below(family, script)):
        # the articles match the topic, but no sentence holds the asked fact: say what they do mention
        mentioned = _citation(1, everything[best.passage], ((best.start, best.end),))
        text = f"{not_found_text(query.text)} {mention_text(query.text, asked, mentioned.title, later)}"
        return Answer(query.text, text, mode, (), found=False, warnings=tuple(warnings), mentioned=(mentioned,))
    if missing:  # "who won the 2022 World Cup?" over articles about 2014 and 2018
        confidence = "weak"
        warnings = [*warnings, f"No passage it draws on mentions {', '.join(missing)}."]
    if asked.kind and best.span is None:
        warnings = [*warnings, f"The quoted sentence gives no {KIND_NAMES[asked.kind]}: check the passage."]
    if confidence == "confident" and family and not sure(asked, best, model.confident_from(family, script)):
        confidence = "weak"
    # Passages quoted in the answer come first, in answer order, so [1] is the main evidence; the article's
    # other passages are cited only when quoted.
    used = list(dict.fromkeys(s.passage for s in chosen))
    order = used + [i for i in range(len(passages)) if i not in used]
    number = {p: n for n, p in enumerate(order, start=1)}
    highlights: dict[int, list[tuple[int, int]]] = {}
    for s in sorted(chosen, key=lambda s: s.start):
        highlights.setdefault(s.passage, []).append((s.start, s.end))
    citations = tuple(_citation(number[p], everything[p], tuple(highlights.get(p, ()))) for p in order)
    text = " ".join(f"{s.text} [{number[s.passage]}]" for s in chosen)
    span, span_at = None, None
    if best.span is not None:  # the best sentence opens the answer text
        start, end = best.span
        span = AnswerSpan(everything[best.passage].passage.text[start:end], number[best.passage], start, end)
        span_at = (start - best.start, end - best.start)
    return Answer(
        query.text, text, mode, citations, True, tuple(warnings), confidence=confidence, span=span, span_at=span_at
    )


@dataclass(frozen=True)
class SentenceCandidates:
    """What the answer's sentence is chosen from: the retrieved passages followed by the best articles'
    other passages, the ``pool`` of those whose sentences count, what the question asks for, and its focus
    encoded (when the question is)."""

    passages: list[RankedPassage]
    pool: list[int]
    asked: Asked
    focus_vector: np.ndarray | None


def sentence_candidates(
    found: Retrieved, passages: list[RankedPassage], embedder: Embedder | None, settings: Settings = DEFAULTS
) -> SentenceCandidates:
    """The sentences an answer may quote (answer_passages gave ``passages``): those of the answer pool and
    of every other passage of the best articles (Retrieved.article_chunks)."""
    query = found.query
    everything = [*passages, *article_passages(query, found, embedder, passages)]
    pool = [*answer_pool(passages, settings.answering.sentence_passages), *range(len(passages), len(everything))]
    asked = analyse(query.text)
    focus_vector = query.focus_vector if query.vector is not None else None
    return SentenceCandidates(everything, pool, asked, focus_vector)


KIND_NAMES = {NUMBER: "number", DATE: "date", PERSON: "name", PLACE: "place", NAME: "name"}
_KIND_NAMES_ARABIC = {NUMBER: "العدد", DATE: "التاريخ", PERSON: "الاسم", PLACE: "المكان", NAME: "الاسم"}


def sure(asked: Asked, best: Sentence, level: float) -> bool:
    """Whether the quoted sentence may be called confident: probably the answer (``level``: the model's
    confident probability for the question's script) and, when the question asks for a kind of answer,
    holding the focus and an answer of that kind."""
    return best.score >= level and (asked.kind is None or (best.span is not None and best.focus))


def mention_text(question: str, asked: Asked, title: str, missing: Sequence[str] = ()) -> str:
    """What the articles hold instead of the asked fact: "They mention «title» but give no number for it"."""
    kind = asked.kind or NAME
    if arabic_share(question) > 0.5:
        what = " ".join(missing) if missing else _KIND_NAMES_ARABIC[kind] + " المطلوب"
        return f"تذكر المقالات «{title}» دون {what}."
    what = ", ".join(missing) if missing else f"the {KIND_NAMES[kind]} asked for"
    return f"The articles mention “{title}” but not {what}."


def later_year(missing: Sequence[str], passages: Sequence[RankedPassage]) -> list[str]:
    """The years the question names (``missing``: held by no passage) that come more than a year after
    every year the passages mention or are dated: "who won the 2018 World Cup?" over articles of 2015 asks
    about what they cannot know."""
    asked = [n for n in missing if _YEAR.fullmatch(n)]
    if not asked:
        return []
    held = [int(y) for p in passages for y in _YEAR.findall(f"{p.passage.date or ''} {normalise(p.passage.text)}")]
    newest = max(held, default=0)
    return [n for n in asked if newest and int(n) > newest + 1]  # (a season's articles name the year before)


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
        publisher=passage.publisher,
    )
