"""Defaults in one place, and the environment variables of the contract."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_MODEL = "intfloat/multilingual-e5-small"
DEFAULT_INDEX = "index"
NO_MODEL = "none"
FORMAT_VERSION = 3  # 3: sentence vectors stored, dense evidence with the best sentence


def env_index() -> str:
    return os.environ.get("RAG_QA_INDEX") or DEFAULT_INDEX


def env_rerank() -> str | None:
    """The cross-encoder named in RAG_QA_RERANK, or None (no reranking)."""
    return os.environ.get("RAG_QA_RERANK") or None


def env_model() -> str | None:
    """The model named in RAG_QA_MODEL, or None when the variable is unset."""
    return os.environ.get("RAG_QA_MODEL") or None


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
    # answering.lexical_evidence a passage must reach to support an answer without a model.
    min_lexical_evidence: float = 0.25
    max_question_chars: int = 2000


@dataclass(frozen=True)
class BuildSettings:
    embed_batch_size: int = 32
    documents_per_batch: int = 256
    keep_versions: int = 2  # the current index version and the one before it
    lock_timeout_s: float = 0.0


@dataclass(frozen=True)
class AnnSettings:
    # Beyond this many chunks the dense index is approximate (IVF) instead of exact (flat).
    threshold: int = 100_000
    train_per_list: int = 40  # training vectors per IVF list (FAISS warns below 39)
    train_iterations: int = 10
    target_recall: float = 0.95  # recall@10 against exact search that picks nprobe
    calibration_queries: int = 500


CHUNKING = ChunkingSettings()
RETRIEVAL = RetrievalSettings()
BUILD = BuildSettings()
ANN = AnnSettings()

# BM25's weight in the fusion follows how much of the question its best passages hold: an English question
# over Arabic articles matches almost none of their words, and its BM25 ranking is noise that would drag
# the dense one down. Full weight from this IDF share of the question's terms in one of BM25's top 3.
FULL_LEXICAL_SUPPORT = 0.5  # XQuAD dev, e5: en→ar recall@1 0.596 → 0.763 (dense alone 0.791), ar 0.899 → 0.897
