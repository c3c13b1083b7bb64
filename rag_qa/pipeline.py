"""The facade: ``build_index`` (indexing.py does the build) and ``RagQA`` (retrieve → answer → cite)."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .answering import citations_for, compose
from .config import BUILD, NO_MODEL, RETRIEVAL, env_index, env_model, env_rerank
from .embedding import Embedder, load_embedder
from .errors import (
    BadQuestion,
    IndexCorrupt,
    IndexMissing,
    ModelMismatch,
    ModelUnavailable,
    SourceMissing,
)
from .indexing import locked_build
from .records import Answer, BuildSummary, Citation
from .reranking import Reranker, load_reranker
from .retrieval import Retriever
from .sources import covers
from .storage import (
    IndexReader,
    Manifest,
    read_current_manifest,
)

log = logging.getLogger("rag_qa")
LEXICAL_ONLY_WARNING = "Lexical-only index:"


# ---------------------------------------------------------------- building


def build_index(
    sources: Iterable[str | Path] | None = None,
    index_dir: str | Path | None = None,
    model: str | None = None,
    full: bool = False,
    show_progress: bool = False,
    ann_threshold: int | None = None,
    prune: bool = False,
    keep_model: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> BuildSummary:
    """Build or update the index at ``index_dir`` from ``sources``; returns what was done.

    The index remembers its sources (sources.py): with none named, every remembered source is updated
    (a new index: ``seeds/``); with some, those are added or updated and the other sources' articles
    kept. A source that does not exist raises SourceMissing and changes nothing. ``prune`` drops the
    remembered sources not named (with none named: those that no longer exist).

    Incremental unless ``full``: unchanged articles are skipped, changed ones re-embedded, articles
    whose file vanished from a source read here removed. ``model`` (else RAG_QA_MODEL, else the
    default) names the embedding model; ``"none"`` builds a lexical-only index. If the default model
    cannot be loaded the build goes on lexical-only and says so in ``warnings``; a model named
    explicitly that cannot be loaded raises ModelUnavailable. ``keep_model``: update with the index's
    own model and mode (an upload: a lexical-only index stays lexical-only). ``on_progress`` is called
    with the number of articles handled so far. Beyond ``ann_threshold`` chunks (default 100,000) the
    dense index becomes approximate (FAISS IVF).
    """
    return locked_build(
        index_dir, model, [str(s) for s in sources or ()], (), full, show_progress, ann_threshold, prune, keep_model,
        on_progress,
    )  # fmt: skip


def remove_sources(sources: Iterable[str | Path], index_dir: str | Path | None = None) -> BuildSummary:
    """Remove the articles of remembered ``sources`` from the index and forget them (``rag-qa remove``)."""
    forget = [str(s) for s in sources]
    if not forget:
        raise SourceMissing("Name the source to remove (see `rag-qa info` for the index's sources).")
    return locked_build(index_dir, None, [], forget, False, False, None, False, True, None)


# ---------------------------------------------------------------- asking


@dataclass(frozen=True)
class _Loaded:
    """One index version with its retriever; swapped as a whole so an answer never mixes versions."""

    reader: IndexReader
    retriever: Retriever


class RagQA:
    """Questions over a built index: ``RagQA.load("index").ask("who led the US side?")``."""

    def __init__(
        self,
        loaded: _Loaded,
        embedder: Embedder | None,
        warnings: Sequence[str] = (),
        reranker: Reranker | None = None,
    ) -> None:
        self._loaded = loaded
        self._embedder = embedder
        self._reranker = reranker
        self._swap = threading.Lock()
        self.warnings = tuple(warnings)

    @classmethod
    def load(cls, index_dir: str | Path | None = None, model: str | None = None, rerank: str | None = None) -> RagQA:
        """Open an index. ``model`` (else RAG_QA_MODEL) must match the index's model; ``"none"`` forces lexical.
        ``rerank`` (else RAG_QA_RERANK) names a cross-encoder that re-orders the retrieved passages."""
        rerank = rerank or env_rerank()
        reranker = load_reranker(rerank) if rerank else None
        reader = IndexReader(Path(index_dir or env_index()))
        named = model or env_model()
        built_with = reader.manifest.model_name
        if named and named != NO_MODEL and canonical_model_name(named) != built_with:
            reader.close()
            raise ModelMismatch(
                f"The index at {reader.index_dir} was built with {built_with or 'no model (lexical-only)'}, "
                f"not {named}. Rebuild it with `rag-qa build --full --model {named}`, or leave --model out."
            )
        embedder, warnings = None, []
        if built_with and named != NO_MODEL:
            try:
                embedder = load_embedder(built_with, BUILD.embed_batch_size)
            except ModelUnavailable as exc:
                warnings.append(f"{exc} Answering lexical-only.")
                log.warning(warnings[-1])
        elif reader.manifest.fallback_reason:
            warnings.append(f"{LEXICAL_ONLY_WARNING} {reader.manifest.fallback_reason}")
        return cls(_Loaded(reader, Retriever(reader, embedder)), embedder, warnings, reranker)

    @property
    def manifest(self) -> Manifest:
        return self._loaded.reader.manifest

    @property
    def modes(self) -> tuple[str, ...]:
        return self._loaded.retriever.modes

    def ask(self, question: str, k: int = 5, mode: str | None = None, context: str | None = None) -> Answer:
        """Answer from the indexed articles, citing passages; "not found" when they hold no answer.

        ``context``: the previous question, for a follow-up such as "and the Israeli side?".
        """
        loaded = self._loaded
        text, mode_used, query, candidates, rows = self._retrieve(loaded, question, k, mode, context)
        embedder = loaded.retriever.embedder
        calibration = loaded.reader.manifest.abstention
        if not calibration or embedder is None or calibration.get("model") != embedder.name:
            calibration = None
        level = loaded.reader.manifest.confidence
        answer = compose(
            query, mode_used, candidates, rows, k, embedder, self._warnings(mode, mode_used), calibration,
            confident_at=level["lexical_evidence"] if level else None,
            sentences=loaded.reader.sentences([c.chunk_id for c in candidates]) if query.vector is not None else None,
        )  # fmt: skip
        return replace(answer, reranker=self._reranker.name) if self._reranker else answer

    def search(self, question: str, k: int = 10, mode: str | None = None, context: str | None = None) -> list[Citation]:
        """The ``k`` best passages for ``question``, best first (no answer, no abstention)."""
        *_, candidates, rows = self._retrieve(self._loaded, question, k, mode, context)
        return citations_for(candidates, rows, k)

    def _retrieve(
        self, loaded: _Loaded, question: str, k: int, mode: str | None, context: str | None = None
    ) -> tuple[Any, ...]:
        if not isinstance(k, int) or k < 1 or k > 100:
            raise ValueError(f"k must be an integer between 1 and 100; got {k!r}")
        text = clean_question(question)
        context = clean_question(context) if context and context.strip() else None
        mode_used = loaded.retriever.choose_mode(mode)
        query = loaded.retriever.query(text, mode_used, context)
        candidates = loaded.retriever.retrieve(query, mode_used, n=k * 3)
        rows = loaded.reader.chunk_rows([c.chunk_id for c in candidates])
        if self._reranker is not None:
            candidates = self._reranker.rerank(text, candidates, rows)
        return text, mode_used, query, candidates, rows

    def _warnings(self, requested: str | None, used: str) -> list[str]:
        warnings = list(self.warnings)
        if requested and requested != used:
            warnings.append(f"Mode {requested} needs the embedding model; answered in {used} mode.")
        return warnings

    def refresh(self) -> bool:
        """Switch to a newer index version on disk, if a build made one. Returns True when it switched."""
        with self._swap:
            current = self._loaded.reader
            try:
                on_disk = read_current_manifest(current.index_dir)
            except (IndexMissing, IndexCorrupt):
                return False
            if on_disk.version_dir == current.manifest.version_dir:
                return False
            reader = IndexReader(current.index_dir)
            embedder = self._embedder
            if reader.manifest.model_name != (embedder.name if embedder else None):
                embedder = load_embedder(reader.manifest.model_name) if reader.manifest.model_name else None
                self._embedder = embedder
            self._loaded = _Loaded(reader, Retriever(reader, embedder))
            return True

    def info(self) -> dict[str, Any]:
        reader = self._loaded.reader
        manifest = reader.manifest
        per_file = reader.articles_per_file()
        sources = [
            {
                "path": source,
                "articles": sum(n for name, n in per_file.items() if covers(source, name)),
                "exists": Path(source).exists(),
            }
            for source in manifest.sources
        ]
        return {
            "index": str(reader.index_dir),
            "version": manifest.version_dir,
            "documents": manifest.documents,
            "chunks": manifest.chunks,
            "sources": sources,
            "model": manifest.model_name,
            "mode": self.modes[0],
            "modes": list(self.modes),
            "lexical_only_reason": manifest.fallback_reason,
            "built_at": manifest.created_at,
            "build_seconds": manifest.build_seconds,
            "size_bytes": reader.size_bytes(),
            "segments": len(reader.segments),
            "deleted_chunks": sum(len(s.tombstones.chunks) for s in reader.segments),  # until their merge
            "abstention": manifest.abstention,  # the evidence thresholds calibrated by the build (abstention.py)
            "confidence": manifest.confidence,  # the confident level of lexical evidence (abstention.py)
            "chunking": {k: v for k, v in manifest.chunking.items() if k != "separators"},
            "warnings": list(self.warnings),
        }


_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200d\u2066-\u2069\u202a-\u202e\ufeff]")


def clean_question(question: str) -> str:
    """Strip control and bidi-override characters and surrounding space; reject empty or huge questions."""
    if not isinstance(question, str):
        raise BadQuestion("The question must be text.")
    text = " ".join(_CONTROL_CHARS.sub(" ", question).split())
    if not text:
        raise BadQuestion("Please type a question.")
    if len(text) > RETRIEVAL.max_question_chars:
        raise BadQuestion(
            f"The question is too long ({len(text):,} characters; the limit is {RETRIEVAL.max_question_chars:,})."
        )
    return text


def canonical_model_name(name: str) -> str:
    """Local folders are named by their absolute path, hub models by their id."""
    path = Path(name).expanduser()
    return str(path.resolve()) if path.is_dir() else name
