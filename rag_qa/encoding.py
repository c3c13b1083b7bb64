"""What the model sees for a chunk (its article's title, fitted, then the passage), and encoding in one
batch the chunks and sentences a build does not hold vectors for yet."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .config import DEFAULTS
from .embedding import Embedder
from .records import SentenceVectors
from .sentences import sentence_spans


def encode_missing(
    embedder: Embedder,
    inputs: dict[int, str],
    texts: dict[int, str],
    hashes: dict[int, str],
    vectors: dict[str, np.ndarray],
    sentences: dict[str, SentenceVectors],
) -> None:
    """Encode, in one batch, the chunks (``inputs``: embedding inputs) and the chunks' sentences (of
    ``texts``) that the index does not hold yet (``vectors`` and ``sentences`` by embedding-input hash;
    filled in place). A sentence that two overlapping chunks share whole is encoded once."""
    chunks = {hashes[key]: text for key, text in inputs.items() if hashes[key] not in vectors}
    split = {hashes[key]: sentence_spans(text) for key, text in texts.items() if hashes[key] not in sentences}
    owners = {hashes[key]: texts[key] for key in texts}
    pieces = list(dict.fromkeys(owners[h][a:b] for h, spans in split.items() for a, b in spans))
    encoded = embedder.encode_documents([*chunks.values(), *pieces])
    vectors.update(zip(chunks, encoded[: len(chunks)], strict=True))
    row = {piece: len(chunks) + i for i, piece in enumerate(pieces)}
    for chunk_hash, spans in split.items():
        matrix = encoded[[row[owners[chunk_hash][a:b]] for a, b in spans]].astype(np.float16)
        sentences[chunk_hash] = SentenceVectors(np.asarray(spans, dtype=np.int32).reshape(-1, 2), matrix)


def embedding_input(title: str, text: str) -> str:
    """What the model sees for a chunk: its article's title (already fitted), then the passage."""
    return f"{title}\n{text}"


def fit_title(title: str, count_tokens: Callable[[str], int], budget: int = DEFAULTS.chunking.title_tokens) -> str:
    """The longest word prefix of ``title`` within ``budget`` model tokens, so title + chunk fit the window."""
    if count_tokens(title) <= budget:
        return title
    words = title.split()
    low, high = 0, len(words)  # binary search on the number of words kept
    while low < high:
        middle = (low + high + 1) // 2
        if count_tokens(" ".join(words[:middle])) <= budget:
            low = middle
        else:
            high = middle - 1
    return " ".join(words[:low])
