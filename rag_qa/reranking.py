"""Optional reranking: a cross-encoder (e.g. BAAI/bge-reranker-v2-m3) re-scores the fused candidates.

Off by default (it costs one model pass per candidate); turned on with ``--rerank MODEL`` or
RAG_QA_RERANK. Models resolve like embedding models: a local folder, the Hugging Face cache, or the hub
when it answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from .config import DEFAULTS
from .embedder import first_line, quiet_transformers
from .embedding import offline, resolve_model
from .errors import ModelUnavailable
from .records import Candidate, Passage


class Reranker:
    def __init__(self, name: str, model: Any, batch_size: int = 16) -> None:
        self.name = name
        self._model = model
        self.batch_size = batch_size

    def rerank(
        self,
        question: str,
        candidates: Sequence[Candidate],
        passages: dict[int, Passage],
        depth: int = DEFAULTS.retrieval.rerank_depth,
    ) -> list[Candidate]:
        """The first ``depth`` candidates ordered by cross-encoder score (which becomes their score); the
        rest keep their fused order behind them."""
        head = [c for c in candidates[:depth] if c.chunk_id in passages]
        if not head:
            return list(candidates)
        pairs = [(question, f"{passages[c.chunk_id].title}\n{passages[c.chunk_id].text}") for c in head]
        scores = self._model.predict(pairs, batch_size=self.batch_size, show_progress_bar=False)
        rescored = sorted(
            (replace(c, score=float(s)) for c, s in zip(head, scores, strict=True)), key=lambda c: -c.score
        )
        return rescored + [c for c in candidates if c not in head]


def load_reranker(name: str) -> Reranker:
    """Load a sentence-transformers CrossEncoder; raises ModelUnavailable with one clear sentence."""
    location = resolve_model(name)
    quiet_transformers()
    try:
        from sentence_transformers import CrossEncoder

        model = CrossEncoder(location, local_files_only=location != name or offline())
    except Exception as exc:  # many kinds from torch/transformers, all meaning "cannot load"
        raise ModelUnavailable(f"Cannot load the reranker '{name}': {first_line(exc)}") from None
    return Reranker(name, model)
