"""Small deterministic stand-ins for the models, passed in where the pipeline takes an ``Embedder``."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pytest

from rag_qa.embedder import PromptStyle, describe_embedder
from rag_qa.textnorm import char_grams


class HashingEmbedder:
    """Each text is the normalised sum of random unit vectors of its character 4-grams (of normalised
    words), so texts sharing word pieces are near and others are not: a lexical model, deterministic and
    instant, whose rankings a test can reason about. Counts what it encodes."""

    def __init__(self, name: str = "test/hashing-embedder", dimension: int = 64) -> None:
        self.name = name
        self.dimension = dimension
        self.max_seq_length = 128
        self.style = PromptStyle("", "", 0.3)
        self.documents: list[str] = []  # every document text encoded, in order
        self.queries: list[str] = []

    def describe(self) -> dict[str, Any]:
        return describe_embedder(self)

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def encode_documents(self, texts: list[str]) -> np.ndarray:
        self.documents.extend(texts)
        return self._encode(texts)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        self.queries.extend(texts)
        return self._encode(texts)

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for gram in char_grams(text) or [text]:
                seed = int.from_bytes(hashlib.blake2b(gram.encode(), digest_size=8).digest(), "little")
                vectors[row] += np.random.default_rng(seed).standard_normal(self.dimension).astype(np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms > 0, norms, 1.0)


def record_encoding(monkeypatch: Any, fail: str | None = None) -> list[str]:
    """The texts every real model encodes as documents from now on, whichever engine runs it (torch or
    OpenVINO); with ``fail``, encoding any document fails the test with that message instead."""
    from rag_qa.embedding import SentenceTransformerEmbedder
    from rag_qa.openvino_engine import OpenVinoEmbedder

    encoded: list[str] = []
    for engine in (SentenceTransformerEmbedder, OpenVinoEmbedder):
        original = engine.encode_documents

        def recording(self: Any, texts: list[str], original: Any = original) -> np.ndarray:
            if fail is not None:
                pytest.fail(fail)  # not an Exception: no error handling on the way can swallow it
            encoded.extend(texts)
            return original(self, texts)

        monkeypatch.setattr(engine, "encode_documents", recording)
    return encoded
