"""When to answer "not found": each index's evidence thresholds, calibrated by the build that writes it.

An answer needs evidence among the passages it would draw on: dense evidence (the mean of a passage's
cosine and its best sentence's, answering.evidence) or lexical evidence (answering.lexical_evidence).
Where evidence stops meaning "the articles answer this" depends on the model (e5 scores unrelated
pairs around 0.8, MiniLM around 0.2), on the corpus (a news archive shares words with almost any
question) and on the question's script (an English question over Arabic articles shares no word with
them), so no fixed number fits.

So every build with a model asks the finished index BACKGROUND_QUESTIONS, general-knowledge questions
in Arabic and English about things news articles rarely answer, and sets per script (Arabic, other) a
"not found" level, below which an answer is withheld, and a confident level, below which it is given and
labelled weak evidence. The not-found level turns away the model family's share of them
(PromptStyle.not_found_quantile: 0.9; for e5, whose cosines sit in a narrow band, 0.5 of the Arabic
ones and 0.3 of the others); the confident level, 90 % of them.

Measured with all-MiniLM-L6-v2 on XQuAD-en dev (`rag-qa eval --corpus xquad.en.dev.json --model <MiniLM>
--unanswerable tests/data/unanswerable.json`, whose 40 questions are not in the background set):
0.16 % of the 612 answerable questions and 70 % of the unanswerable ones get "not found" (`python -m
benchmarks.fusion --no-sweep`; 4.7 % and 97.5 % before dense evidence took the best sentence in, which
separates better, AUC 0.988, but moved the calibrated level below the 5 % point: 0.391 against 0.421).
With the bundled e5 on XQuAD-ar, see docs/measurements.md.

Lexical-only indexes keep the fixed rule of answering.has_evidence and get a confident level of lexical
evidence (confident_level): without a model, the background percentile would turn away a third of the
answerable questions (XQuAD-ar dev).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .answering import SCRIPTS, evidence, lexical_evidence, question_script
from .config import DEFAULTS, Settings
from .embedding import Embedder
from .passages import answer_passages, answer_pool
from .retrieval import Retriever
from .storage.store import Reader

# (Values: config.AbstentionSettings.)
# The share of background questions below the "not found" level of dense evidence is the model family's
# (embedding.PromptStyle.not_found_quantile): e5's evidence does not separate answerable from unanswerable
# questions well enough for 0.9 (bundled e5 on XQuAD-ar, AUC 0.95 Arabic, 0.84 English → Arabic): at 0.9,
# 6.5 % of the answerable Arabic questions and 26 % of the English ones abstained; at 0.5 / 0.3, 0.2 %
# and 2.8 %, with 32 % / 23 % of the unanswerable ones abstaining and 38 % / 49 % labelled weak evidence.
# Among 3,221 news articles more background questions find a near passage, the levels rise, and 5.1 % /
# 17 % of the answerable questions abstain (47 % / 28 % of the unanswerable ones).


def calibrate(reader: Reader, embedder: Embedder, settings: Settings = DEFAULTS) -> dict[str, Any]:
    """The evidence thresholds of the index ``reader`` opens, with what they were measured on.

    Two thresholds, dense evidence and lexical evidence, both at one percentile of the background
    questions' scores: the lowest percentile at which no more than 1 − ``background_quantile`` of the
    background questions pass either. The lexical one keeps answers that a weak model would lose (an
    English-only model over Arabic articles scores every Arabic question alike).

    One pair per question script (``by_script``: Arabic, other): a question in another script than the
    articles shares almost no word with them, so its evidence is the cosine alone, and a threshold set on
    questions that do share words would turn it away. Measured with the bundled e5 on XQuAD-ar (1,190
    paragraphs): Arabic background questions reach dense evidence 0.93 at their 90th percentile, English
    ones 0.79; English XQuAD questions over the Arabic paragraphs have a median of 0.82.
    """
    retriever = Retriever(reader, embedder, settings.retrieval)
    vectors = embedder.encode_queries(list(BACKGROUND_QUESTIONS))
    scores = np.array(
        [best_evidence(retriever, q, v, settings) for q, v in zip(BACKGROUND_QUESTIONS, vectors, strict=True)]
    )
    scripts = np.array([question_script(q) for q in BACKGROUND_QUESTIONS])
    quantiles = {script: embedder.style.not_found_quantile(script) for script in SCRIPTS}
    by_script = {script: _thresholds(scores[scripts == script], quantiles[script], settings) for script in SCRIPTS}
    answered = float(np.mean([_answers(scores[i], by_script[scripts[i]]) for i in range(len(scores))]))
    return {
        **by_script["arabic"],
        "by_script": by_script,
        "background_questions": len(BACKGROUND_QUESTIONS),
        "background_answered": round(answered, 4),
        "not_found_quantile": quantiles,
        "model": embedder.name,
        "chunks": reader.chunk_count,
    }


def _thresholds(scores: np.ndarray, not_found_quantile: float, settings: Settings) -> dict[str, float]:
    """A script's thresholds from its background questions' (dense, lexical) evidence.

    "Not found" below both: the lowest percentile p ≥ ``not_found_quantile`` of their dense evidence, with
    the lexical threshold at their max(p, ``background_quantile``) percentile (never below the fixed lexical
    rule), at which at most 1 − ``not_found_quantile`` of them pass either. "Confident" from
    ``background_quantile`` of the dense evidence; between the two an answer is labelled weak evidence.
    """
    dense, lexical = scores[:, 0], scores[:, 1]
    background, fixed = settings.abstention.background_quantile, settings.answering.min_lexical_evidence
    for percentile in np.linspace(not_found_quantile, 1.0, 101):
        low = float(np.quantile(dense, percentile))
        strong = max(fixed, float(np.quantile(lexical, max(percentile, background))))
        if float(((dense >= low) | (lexical >= strong)).mean()) <= 1.0 - not_found_quantile:
            break
    return {  # rounded up: a shorter number never lets one more background question through
        "min_evidence": _round_up(low),
        "min_lexical_evidence": _round_up(strong),
        "confident_evidence": _round_up(max(low, float(np.quantile(dense, background)))),
    }


def _round_up(value: float, digits: int = 4) -> float:
    return math.ceil(value * 10**digits) / 10**digits


def _answers(score: np.ndarray, thresholds: dict[str, float]) -> bool:
    return bool(score[0] >= thresholds["min_evidence"] or score[1] >= thresholds["min_lexical_evidence"])


def still_valid(calibration: dict[str, Any] | None, model: str, chunks: int, recalibrate_after: float) -> bool:
    """Whether a previous version's calibration holds for an update to ``chunks`` live chunks: same model,
    and a corpus that changed by at most ``recalibrate_after`` (the percentile barely moves; asking the
    background questions again would cost seconds on every small update of an archive)."""
    if not calibration or calibration.get("model") != model:  # (Manifest.read checked its thresholds)
        return False
    before = int(calibration.get("chunks", 0))
    return before > 0 and abs(chunks - before) <= recalibrate_after * before


def best_evidence(
    retriever: Retriever, question: str, vector: np.ndarray | None = None, settings: Settings = DEFAULTS
) -> tuple[float, float]:
    """The (dense, lexical) evidence ``question`` would have if asked (hybrid mode with its ``vector``,
    else lexical; the calibrated k): the best of each among the passages an answer would draw on, retrieved
    as ``RagQA.ask`` retrieves them; zeros when nothing is retrieved."""
    mode = "hybrid" if vector is not None else "lexical"
    k = settings.abstention.answer_passages
    found = retriever.for_answer(retriever.query(question, mode, vector=vector), mode, k)
    pool_size = settings.answering.sentence_passages
    passages = answer_passages(
        found.query, found.candidates, found.passages, k, retriever.embedder, found.sentences, pool_size
    )
    pool = [passages[i] for i in answer_pool(passages, pool_size)]
    return (
        max((evidence(p) for p in pool), default=0.0) if vector is not None else 0.0,
        max((lexical_evidence(found.query, p) for p in pool), default=0.0),
    )


def confident_level(reader: Reader, settings: Settings = DEFAULTS) -> dict[str, Any]:
    """The lexical evidence from which an answer counts as confident on this index, and what it was measured on.

    Without a calibrated model, "not found" follows a fixed lexical rule (answering.has_evidence) that a
    news archive passes easily: it shares words with almost any question. So each build also asks the
    BACKGROUND_QUESTIONS lexically and sets the confident level where at most 10 % of them reach it
    (never below the fixed rule); an answer under it is shown as weak evidence, for the reader to check.
    """
    retriever = Retriever(reader, None, settings.retrieval)
    scores = np.array([best_evidence(retriever, q, None, settings)[1] for q in BACKGROUND_QUESTIONS])
    quantile = settings.abstention.background_quantile
    level = max(settings.answering.min_lexical_evidence, float(np.quantile(scores, quantile)))
    return {
        "lexical_evidence": round(level, 4),
        "background_questions": len(BACKGROUND_QUESTIONS),
        "background_confident": round(float((scores >= round(level, 4)).mean()), 4),
        "chunks": reader.chunk_count,
    }


def confidence_still_valid(level: dict[str, Any] | None, chunks: int, recalibrate_after: float) -> bool:
    """A previous version's confident level holds while the live chunks change by at most ``recalibrate_after``."""
    if not level or not isinstance(level.get("lexical_evidence"), (int, float)):
        return False
    before = int(level.get("chunks", 0))
    return before > 0 and abs(chunks - before) <= recalibrate_after * before


# Disjoint from tests/data/unanswerable.json, which measures the result.
BACKGROUND_QUESTIONS: tuple[str, ...] = (
    "ما هي عاصمة كندا؟",
    "What is the capital of Canada?",
    "من كتب مسرحية هاملت؟",
    "Who wrote Hamlet?",
    "كم عدد الكواكب في المجموعة الشمسية؟",
    "How many planets are in the solar system?",
    "ما هو أسرع حيوان بري؟",
    "What is the fastest land animal?",
    "متى انتهت الحرب العالمية الثانية؟",
    "When did the Second World War end?",
    "من هو أول رائد فضاء عربي؟",
    "Who was the first Arab astronaut?",
    "ما هي درجة غليان الماء؟",
    "At what temperature does water boil?",
    "كيف أصنع الخبز في المنزل؟",
    "How do I bake bread at home?",
    "ما هي عاصمة الأرجنتين؟",
    "What is the capital of Argentina?",
    "من فاز ببطولة ويمبلدون عام 2019؟",
    "Who won Wimbledon in 2019?",
    "ما هو أكبر كوكب في المجموعة الشمسية؟",
    "What is the largest planet in the solar system?",
    "كم عدد عظام جسم الإنسان؟",
    "How many bones are in the human body?",
    "من هو مخرج فيلم تيتانيك؟",
    "Who directed the film Titanic?",
    "ما هي اللغة الرسمية في البرازيل؟",
    "What language is spoken in Brazil?",
    "متى اخترعت الطباعة؟",
    "When was the printing press invented?",
    "ما هو أعلى جبل في أفريقيا؟",
    "What is the highest mountain in Africa?",
    "من هو مؤلف سلسلة هاري بوتر؟",
    "Who wrote the Harry Potter books?",
    "كم يستغرق السفر بالطائرة من لندن إلى نيويورك؟",
    "How long is a flight from London to New York?",
    "ما هي فوائد الشاي الأخضر؟",
    "What are the health benefits of green tea?",
    "ما هو الحيوان الوطني لأستراليا؟",
    "What is the national animal of Scotland?",
    "من اكتشف البنسلين؟",
    "Who discovered penicillin?",
    "كم عدد لاعبي فريق الكريكيت؟",
    "How many players are on a cricket team?",
    "ما هو أطول جسر في العالم؟",
    "What is the longest bridge in the world?",
    "من لحن السيمفونية التاسعة؟",
    "Who composed the Ninth Symphony?",
    "ما هي عملة سويسرا؟",
    "What is the currency of Switzerland?",
    "كيف أزرع الطماطم في الشرفة؟",
    "How do I grow tomatoes on a balcony?",
    "ما اسم أصغر دولة في العالم؟",
    "What is the smallest country in the world?",
    "من هو بطل العالم في الشطرنج؟",
    "Who is the world chess champion?",
    "متى افتتح برج إيفل؟",
    "When did the Eiffel Tower open?",
    "ما هو عدد سكان الصين؟",
    "What is the population of China?",
    "ما هي أفضل لعبة فيديو لعام 2023؟",
    "What was the best video game of 2023?",
    "من غنى أغنية بوهيميان رابسودي؟",
    "Who sang Bohemian Rhapsody?",
    "كم تبلغ المسافة بين الأرض والقمر؟",
    "How far is the Moon from the Earth?",
    "ما هو المكون الرئيسي للحمص؟",
    "What is the main ingredient of hummus?",
    "من رسم ليلة النجوم؟",
    "Who painted The Starry Night?",
    "ما هي أكبر صحراء في آسيا؟",
    "What is the largest desert in Asia?",
    "كم عدد أوتار آلة العود؟",
    "How many strings does a violin have?",
    "متى تأسست شركة غوغل؟",
    "When was Google founded?",
    "ما هو أفضل علاج لنزلات البرد؟",
    "What is the best cure for a cold?",
    "من هو مخترع المصباح الكهربائي؟",
    "Who invented the light bulb?",
    "ما هي عاصمة نيجيريا؟",
    "What is the capital of Nigeria?",
    "كم عدد الدول في أمريكا الجنوبية؟",
    "How many countries are in South America?",
    "من فاز بدوري أبطال أوروبا عام 2015؟",
    "Who won the Champions League in 2015?",
    "ما هو طول سور الصين العظيم؟",
    "How long is the Great Wall of China?",
)
