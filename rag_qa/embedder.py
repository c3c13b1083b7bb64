"""What the pipeline needs of an embedding model, whichever engine runs it: the Embedder protocol, the
prompt conventions of model families (PromptStyle), and what an index's manifest records of a model.
embedding.py loads models on torch, openvino_engine.py on OpenVINO."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class PromptStyle:
    """How a model family wants its inputs prefixed, and the cosine above which a passage is evidence."""

    query: str
    document: str
    min_similarity: float
    # Share of the background questions below the index's "not found" level of dense evidence, for
    # Arabic questions and for the others (abstention.py): 0.9 where the cosine separates well (MiniLM on
    # English: 70 % of unanswerable questions abstain, 0.16 % of answerable ones). e5 packs its cosines
    # into a narrow band (unrelated pairs near 0.8), and an English question over Arabic articles is judged
    # on its cosine alone: at 0.5 and 0.3, 0.2 % and 2.8 % of the answerable XQuAD dev questions abstain
    # (5.1 % and 17 % among 3,221 news articles), and answers up to the confident level are labelled weak
    # evidence (docs/measurements.md).
    not_found_quantile_arabic: float = 0.9
    not_found_quantile_other: float = 0.9

    def not_found_quantile(self, script: str) -> float:
        return self.not_found_quantile_arabic if script == "arabic" else self.not_found_quantile_other


# Checked in order against the model name (or folder name); the first match wins.
KNOWN_STYLES: tuple[tuple[str, PromptStyle], ...] = (
    (r"e5-.*instruct", PromptStyle("Instruct: Given a question, retrieve passages that answer it\nQuery: ", "", 0.80)),
    (r"(^|/|-)e5-", PromptStyle("query: ", "passage: ", 0.80, 0.5, 0.3)),  # (multilingual-)e5-*
    (r"bge-m3", PromptStyle("", "", 0.45)),
    (r"bge-.*-(en|zh)", PromptStyle("Represent this sentence for searching relevant passages: ", "", 0.55)),
    (r"all[-_]minilm[-_]l6", PromptStyle("", "", 0.45)),
    (r"gte-|labse|paraphrase-|minilm|mpnet|distiluse", PromptStyle("", "", 0.35)),
)
DEFAULT_STYLE = PromptStyle("", "", 0.35)


def prompt_style(name: str, model_prompts: dict[str, str] | None = None) -> PromptStyle:
    """The prompt convention for ``name``; non-empty prompts saved with the model itself take precedence.

    sentence-transformers 6 saves empty ``query`` / ``document`` prompts with every model, so an empty
    prompt counts as none: it would otherwise erase e5's "query: " / "passage: "."""
    style = next((s for pattern, s in KNOWN_STYLES if re.search(pattern, name, re.IGNORECASE)), DEFAULT_STYLE)
    prompts = model_prompts or {}
    query = prompts.get("query") or style.query
    document = prompts.get("document") or prompts.get("passage") or style.document
    return replace(style, query=query, document=document)


class Embedder(Protocol):
    """What the pipeline needs of an embedding model: its name (recorded in the index), dimension, input
    window and prompt style, a token count (chunk sizes), and L2-normalised float32 vectors for
    documents and for queries. OpenVinoEmbedder and SentenceTransformerEmbedder are the real ones; tests
    pass small fakes too."""

    name: str
    dimension: int
    max_seq_length: int
    style: PromptStyle

    def describe(self) -> dict[str, Any]: ...

    def count_tokens(self, text: str) -> int: ...

    def encode_documents(self, texts: list[str]) -> np.ndarray: ...

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...


def describe_embedder(embedder: Embedder) -> dict[str, Any]:
    """What an index's manifest records about the model that built it."""
    return {
        "name": embedder.name,
        "dimension": embedder.dimension,
        "max_seq_length": embedder.max_seq_length,
        "prompts": {"query": embedder.style.query, "document": embedder.style.document},
        "min_similarity": embedder.style.min_similarity,
    }


def quiet_transformers() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        import transformers

        transformers.utils.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()
    except Exception:  # only cosmetics
        pass


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
