"""Chunking: an Article → passages with exact character offsets (``article.text[start:end] == chunk.text``).

langchain-text-splitters' recursive splitter, with Arabic punctuation among the separators. Sizes are
counted in the embedding model's tokens when a model is loaded (so no chunk is cut off by the model's
maximum sequence length) and in characters for a lexical-only index.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import BadArgument
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
            raise BadArgument(f"chunk size must be positive and overlap in [0, size); got {plan}")
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
        previous_start, previous_end = -1, 0
        for piece in self._splitter.split_text(text):
            start = _locate(text, piece, previous_start, previous_end)
            if start < 0:  # cannot happen with keep_separator; the offset invariant matters more than the piece
                continue
            chunks.append(Chunk(article.doc_id, len(chunks), article.title, piece, start, start + len(piece)))
            previous_start, previous_end = start, start + len(piece)
        return chunks


def _locate(text: str, piece: str, previous_start: int, previous_end: int) -> int:
    """Where ``piece`` starts, given the previous chunk's span.

    A chunk starts after the previous one's start, reaches past its end (it brings new text) and
    leaves no gap (it starts no later than the first non-space character after the previous end).
    Of the occurrences that fit, the last one is taken: with repeated words a plain ``find`` would
    land on an earlier copy.
    """
    gap_end = previous_end
    while gap_end < len(text) and text[gap_end].isspace():
        gap_end += 1
    best = -1
    start = text.find(piece, previous_start + 1)
    while 0 <= start <= gap_end:
        if start + len(piece) > previous_end:
            best = start
        start = text.find(piece, start + 1)
    return best if best >= 0 else text.find(piece, previous_start + 1)
