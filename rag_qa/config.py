"""Settings: every tuning value of the pipeline in one frozen, nested ``Settings``, passed in.

``RagQA.load(..., settings=...)`` and ``build_index(..., settings=...)`` take one (default: ``Settings()``),
so a benchmark sweeps a value with ``dataclasses.replace`` instead of rebinding module globals. The
library reads no environment variable of the contract: the CLI and the app read them (``cli.py``),
and ``Settings.from_env()`` reads RAG_QA_SETTINGS for them.
Each value's comment says where it was measured.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, is_dataclass, replace
from pathlib import Path
from typing import Any

from .errors import BadArgument

DEFAULT_MODEL = "intfloat/multilingual-e5-small"
DEFAULT_INDEX = "index"
NO_MODEL = "none"
# One-time work a user waits for (a model converted on first use) is logged here: the CLI prints it on
# stderr even without -v; a library user gets it through logging like any other record.
NOTICE_LOGGER = "rag_qa.notice"
FORMAT_VERSION = 4  # 3: sentence vectors stored, dense evidence with the best sentence; 4: publishers, copies


@dataclass(frozen=True)
class ChunkingSettings:
    # With a model loaded, sizes are counted in the model's tokens; lexical-only, in characters.
    tokens: int = 220
    overlap_tokens: int = 32
    chars: int = 1100
    overlap_chars: int = 150
    title_tokens: int = 32  # the title is embedded with every chunk, cut to this many model tokens


@dataclass(frozen=True)
class RetrievalSettings:
    rrf_k: int = 10  # reciprocal-rank-fusion constant; 60 in Cormack et al. 2009, 10 best on XQuAD-en (fusion.md)
    dense_weight: float = 1.0  # the dense ranking's weight in the fusion (BM25's is 1)
    candidates: int = 50  # passages each retriever hands to the fusion
    bm25_k1: float = 1.5
    bm25_b: float = 0.75
    # BM25's weight in the fusion follows how much of the question its best passages hold: an English
    # question over Arabic articles matches almost none of their words, and its BM25 ranking is noise that
    # would drag the dense one down. Full weight from this IDF share of the question's terms in one of
    # BM25's top 3. XQuAD dev, e5: en→ar recall@1 0.596 → 0.763 (dense alone 0.791), ar 0.899 → 0.897.
    full_lexical_support: float = 0.5
    # Hybrid fusion re-ranks its best sentence_depth passages with a third ranking, by the cosine of each
    # one's best stored sentence (a question's answer sits in one sentence, which it matches more closely
    # than the passage). Bundled e5 on XQuAD dev, recall@1 / @5 of the fused ranking: English -> Arabic
    # 0.764 / 0.966 -> 0.791 / 0.977, Arabic 0.899 / 0.989 -> 0.903 / 0.992 (weight 1.0: 0.799 / 0.980 and
    # 0.890 / 0.993).
    sentence_depth: int = 30
    sentence_weight: float = 0.5
    context_weight: float = 0.5  # weight of the previous question's terms in a follow-up
    # BM25 scores each term alone; passages where the question's terms stand close together rank higher.
    # XQuAD-ar dev + 31k SaudiNewsNet distractors, BM25 recall@5: 0.877 → 0.892 over words, 0.926 → 0.935
    # over 4-grams.
    proximity_weight: float = 0.3  # BM25 points per unit of retrieval.proximity()
    proximity_window: int = 4  # terms further apart than this do not count as close
    # Answering reads every passage of the best ``article_depth`` articles (up to ``article_chunks`` each),
    # not only the retrieved ones: the asked detail often sits in another paragraph of the article.
    article_depth: int = 2
    article_chunks: int = 24
    # "Latest" (time_reading.py): a score is divided by 1 + age / recency_days, its article's age in days
    # before the index's newest article.
    recency_days: float = 7.0
    group_copies: bool = True  # cite one article of each group of wire copies (copies.py); False: every copy
    rerank_depth: int = 30  # candidates a cross-encoder re-scores; the rest keep their fused order behind them
    max_question_chars: int = 2000


@dataclass(frozen=True)
class AnsweringSettings:
    """How the answer's sentences are chosen (answering.choose_sentences) and when it is "not found"
    without a calibration. Sentence weights tuned with the bundled e5 on XQuAD dev (half of the Arabic and
    English questions): answer_hit rose from 0.797 / 0.585 at similarity weight 0.5 to 0.824 / 0.614 at 3.0."""

    sentence_passages: int = 5  # sentences are picked from this many of the best passages
    similarity_weight: float = 3.0  # the sentence's similarity to the question (rescaled 0..1)
    phrase_weight: float = 0.25  # question word pairs found side by side ("الجانب الأمريكي")
    passage_weight: float = 0.75  # the sentence's passage: its retrieval score as a share of the best passage's
    passage_coverage_weight: float = 0.3  # ... and the share of the question's IDF mass the whole passage holds
    context_bonus: float = 0.25  # weight of a follow-up's context terms in sentence choice
    subword_weight: float = 1.0  # share of the question's character 4-grams in the sentence (إشعال ~ اشتعال)
    similarity_margin: float = 0.05  # the best sentence's cosine stands this far above the rescaling floor
    type_weight: float = 0.3  # the sentence holds what the question asks for (a number for "كم", a year for "متى")
    second_sentence_ratio: float = 0.5  # a second sentence is quoted when it scores this share of the best
    max_answer_sentences: int = 2
    # answering.lexical_evidence a passage must reach to support an answer without a model. XQuAD-ar dev
    # and tests/data/unanswerable.json, lexical: answerable questions abstain 0.8 %, unanswerable ones 45 %.
    min_lexical_evidence: float = 0.25


@dataclass(frozen=True)
class AbstentionSettings:
    """The build's calibration of "not found" and weak evidence (abstention.py)."""

    background_quantile: float = 0.9  # share of the background questions kept below the confident level
    answer_passages: int = 5  # the k of RagQA.ask the calibration asks with
    recalibrate_after: float = 0.1  # an update changing the live chunks by more than this share recalibrates


@dataclass(frozen=True)
class BuildSettings:
    embed_batch_size: int = 32
    # what passages are encoded in (precision.py): auto (bf16 on a CPU with native bf16, fp16 on CUDA,
    # else fp32), fp32, bf16 or fp16; `rag-qa build --precision`
    precision: str = "auto"
    documents_per_batch: int = 256
    keep_versions: int = 2  # the current index version and the one before it
    lock_timeout_s: float = 0.0
    # Segment merges (storage/merging.py, Lucene's tiered policy)
    segments_per_tier: int = 8  # this many segments of the same size class are merged into one
    tier_base: int = 8  # size classes: live chunks in [8^t, 8^(t+1))
    max_deleted_share: float = 0.3  # a segment with more of its chunks deleted is rewritten without them


@dataclass(frozen=True)
class AnnSettings:
    # Beyond this many chunks the dense index is approximate (IVF) instead of exact (flat).
    threshold: int = 100_000
    train_per_list: int = 40  # training vectors per IVF list (FAISS warns below 39)
    train_iterations: int = 10
    target_recall: float = 0.95  # recall@10 against exact search that picks nprobe
    calibration_queries: int = 500


@dataclass(frozen=True)
class RaySettings:
    # Distributed embedding (ray_encoding.py, `rag-qa build --ray`): Ray Data actors holding the model.
    actors: int = 2  # actors encoding at once (each loads the model; one GPU each when the cluster has GPUs)
    batch_size: int = 256  # texts per actor call
    cpus_per_actor: int = 1  # CPUs (and torch threads) of each actor
    cpus: int = 0  # CPUs of a Ray started on this machine (0: all)
    documents_per_batch: int = 2048  # articles per encoding round (each round starts its actors)


@dataclass(frozen=True)
class Settings:
    chunking: ChunkingSettings = ChunkingSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    answering: AnsweringSettings = AnsweringSettings()
    abstention: AbstentionSettings = AbstentionSettings()
    build: BuildSettings = BuildSettings()
    ann: AnnSettings = AnnSettings()
    ray: RaySettings = RaySettings()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The defaults with the overrides in RAG_QA_SETTINGS: a JSON object of sections and values, or
        the path of a file holding one, e.g. ``{"retrieval": {"rrf_k": 60}, "build": {"keep_versions": 3}}``.
        Used by the CLI and the app only. Raises BadArgument (a ValueError) with one sentence for an unknown name or a
        value of the wrong type (a typo must not be ignored)."""
        raw = (os.environ if environ is None else environ).get("RAG_QA_SETTINGS", "").strip()
        if not raw:
            return cls()
        try:
            text = raw if raw.startswith(("{", "[")) else Path(raw).read_text(encoding="utf-8")
            overrides = json.loads(text)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadArgument(f"RAG_QA_SETTINGS is neither a JSON object nor a readable JSON file: {exc}") from None
        return _overridden(cls(), overrides, "RAG_QA_SETTINGS")


DEFAULTS = Settings()


def _overridden(value: Any, overrides: Any, where: str) -> Any:
    """``value`` (a settings dataclass) with ``overrides`` (a JSON object) applied, checked name by name."""
    if not isinstance(overrides, dict):
        raise BadArgument(f"{where} must be a JSON object of names and values.")
    known = {f.name: getattr(value, f.name) for f in fields(value)}
    changes = {}
    for name, new in overrides.items():
        if name not in known:
            raise BadArgument(f"{where} has no setting '{name}'; known: {', '.join(known)}.")
        current = known[name]
        if is_dataclass(current):
            changes[name] = _overridden(current, new, f"{where}.{name}")
        elif isinstance(current, str):
            if not isinstance(new, str):
                raise BadArgument(f"{where}.{name} must be a string like {current!r}; got {new!r}.")
            changes[name] = new
        elif isinstance(current, bool) or not isinstance(new, (int, float)) or isinstance(new, bool):
            raise BadArgument(f"{where}.{name} must be a number like {current!r}; got {new!r}.")
        elif isinstance(current, int) and not isinstance(new, int):
            raise BadArgument(f"{where}.{name} must be a whole number like {current!r}; got {new!r}.")
        else:
            changes[name] = type(current)(new)
    return replace(value, **changes)
