"""Chunking: an Article → passages with exact character offsets (``article.text[start:end] == chunk.text``).

langchain-text-splitters' recursive splitter, with Arabic punctuation among the separators. Sizes are
counted in the embedding model's tokens when a model is loaded (so no chunk is cut off by the model's
maximum sequence length) and in characters for a lexical-only index.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .records import Article, Chunk

# Paragraphs, lines, then sentence ends (Latin and Arabic), then clause marks (، ؛), then words.
SEPARATORS = ["\n\n", "\n", ". ", "؟ ", "? ", "! ", "؛ ", "; ", "، ", ", ", " ", ""]


@dataclass(frozen=True)
class ChunkingPlan:
    """How an index is chunked; recorded in the manifest."""

    unit: str  # "tokens" or "chars"
    size: int
    overlap: int

    def describe(self) -> dict[str, Any]:
        return {"unit": self.unit, "size": self.size, "overlap": self.overlap, "separators": SEPARATORS}


class Chunker:
    def __init__(self, plan: ChunkingPlan, length: Callable[[str], int] = len) -> None:
        if plan.size <= 0 or not 0 <= plan.overlap < plan.size:
            raise ValueError(f"chunk size must be positive and overlap in [0, size); got {plan}")
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        self.plan = plan
        self._splitter = RecursiveCharacterTextSplitter(
            chunk_size=plan.size,
            chunk_overlap=plan.overlap,
            length_function=length,
            separators=SEPARATORS,
            keep_separator="end",
            strip_whitespace=True,
        )

    def split(self, article: Article) -> list[Chunk]:
        text = article.text
        chunks: list[Chunk] = []
        search_from = 0
        for piece in self._splitter.split_text(text):
            start = text.find(piece, search_from)
            if start < 0:  # cannot happen with keep_separator; guard the offset invariant anyway
                start = text.find(piece)
                if start < 0:
                    continue
            end = start + len(piece)
            chunks.append(Chunk(article.doc_id, len(chunks), article.title, piece, start, end))
            search_from = start + 1
        return chunks
