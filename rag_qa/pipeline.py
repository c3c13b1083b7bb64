"""The facade: ``build_index`` (indexing.py does the build) and ``RagQA`` (retrieve → answer → cite)."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from .answering import citations_for, compose
from .build_request import BuildRequest, locked_build
from .config import DEFAULT_INDEX, DEFAULTS, NO_MODEL, Settings
from .display import LEXICAL_ONLY_WARNING
from .embedding import Embedder, load_embedder
from .errors import (
    BadArgument,
    BadQuestion,
    IndexCorrupt,
    IndexMissing,
    ModelMismatch,
    ModelUnavailable,
    SourceMissing,
)
from .index_info import describe_index
from .progress import BuildProgress
from .records import Answer, BuildSummary, Calibration, Citation, Retrieved
from .reranking import Reranker, load_reranker
from .retrieval import Retriever
from .scope import Asked, Scope, ask_within
from .storage import Manifest
from .storage.store import Reader, Store, open_store

log = logging.getLogger("rag_qa")


# ---------------------------------------------------------------- building


def build_index(
    sources: Iterable[str | Path] | None = None,
    index_dir: str | Path | Store | None = None,
    model: str | None = None,
    full: bool = False,
    show_progress: bool = False,
    ann_threshold: int | None = None,
    prune: bool = False,
    keep_model: bool = False,
    on_progress: Callable[[BuildProgress], None] | None = None,
    *,
    settings: Settings | None = None,
    embedder: Embedder | None = None,
    ray: str | None = None,
    precision: str | None = None,
) -> BuildSummary:
    """Build or update the index at ``index_dir`` from ``sources``; returns what was done.

    The index remembers its sources (sources.py): with none named, every remembered source is updated
    (a new index: ``seeds/``); with some, those are added or updated and the other sources' articles
    kept. A source that does not exist raises SourceMissing and changes nothing. ``prune`` drops the
    remembered sources not named (with none named: those that no longer exist).

    Incremental unless ``full``: unchanged articles are skipped, changed ones re-embedded, articles
    whose file vanished from a source read here removed. ``model`` names the embedding model
    (unnamed: the index's own, and the default for a new index or one lexical-only for want of it);
    ``"none"`` builds a lexical-only index. If the default model cannot be loaded the build goes on
    lexical-only and says so in ``warnings``; a model named explicitly that cannot be loaded raises
    ModelUnavailable. ``keep_model``: update with the index's own model and mode (an upload: a lexical-only
    index stays lexical-only). ``on_progress`` hears a ``BuildProgress`` (passages per second, time left;
    ``show_progress``: on stderr too). Beyond ``ann_threshold`` chunks (default 100,000) the dense index
    becomes approximate (FAISS IVF). ``settings``: the tuning values (config.Settings);
    ``embedder``: an already loaded embedder (``model`` is then its name), e.g. a test's. ``index_dir`` may
    name another store (storage/store.py: ``milvus://host:19530`` or a Milvus Lite ``….db`` file); ``ray``
    (a Ray address, or ``"local"``) encodes on Ray Data actors (ray_encoding.py). ``precision``: what
    passages are encoded in (precision.py: ``auto``, ``fp32``, ``bf16``, ``fp16``; default: the settings').
    """
    request = BuildRequest(
        index_dir, tuple(str(s) for s in sources or ()), model=model, full=full, prune=prune, keep_model=keep_model,
        show_progress=show_progress, on_progress=on_progress, ann_threshold=ann_threshold, precision=precision,
        settings=settings or DEFAULTS, embedder=embedder, ray=ray,
    )  # fmt: skip
    return locked_build(request)


def remove_sources(
    sources: Iterable[str | Path],
    index_dir: str | Path | Store | None = None,
    *,
    settings: Settings | None = None,
    embedder: Embedder | None = None,
) -> BuildSummary:
    """Remove the articles of remembered ``sources`` from the index and forget them (``rag-qa remove``).
    ``embedder``: the index's model already loaded (it may recalibrate the thresholds)."""
    forget = [str(s) for s in sources]
    if not forget:
        raise SourceMissing("Name the source to remove (see `rag-qa info` for the index's sources).")
    request = BuildRequest(index_dir, forget=tuple(forget), keep_model=embedder is None, embedder=embedder)
    return locked_build(replace(request, settings=settings or DEFAULTS))


# ---------------------------------------------------------------- asking


@dataclass(frozen=True)
class _Loaded:
    """One index version with its retriever and its levels of evidence; swapped as a whole so an answer
    never mixes versions."""

    reader: Reader
    store: Store
    retriever: Retriever
    calibration: Calibration | None = None  # the evidence thresholds, when they hold for this embedder
    confident_at: float | None = None  # the confident level of lexical evidence (abstention.confident_level)

    @classmethod
    def of(cls, store: Store, reader: Reader, retriever: Retriever) -> _Loaded:
        """The thresholds are those of the model that built the index (Manifest.read checked their form):
        answering lexical-only, or with another embedder, they do not apply."""
        calibration, embedder = reader.manifest.calibration, retriever.embedder
        if calibration is None or embedder is None or calibration.model != embedder.name:
            calibration = None
        level = reader.manifest.confidence
        return cls(reader, store, retriever, calibration, level["lexical_evidence"] if level else None)


class RagQA:
    """Questions over a built index: ``RagQA.load("index").ask("who led the US side?")``."""

    def __init__(
        self,
        loaded: _Loaded,
        embedder: Embedder | None,
        warnings: Sequence[str] = (),
        reranker: Reranker | None = None,
        settings: Settings = DEFAULTS,
    ) -> None:
        self._loaded = loaded
        self._embedder = embedder
        self._reranker = reranker
        self._swap = threading.Lock()
        self.settings = settings
        self.warnings = tuple(warnings)

    @classmethod
    def load(
        cls,
        index_dir: str | Path | Store | None = None,
        model: str | None = None,
        rerank: str | None = None,
        *,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        reranker: Reranker | None = None,
    ) -> RagQA:
        """Open an index (default ``index``). ``model`` must match the index's model; ``"none"`` forces
        lexical. ``rerank`` names a cross-encoder that re-orders the retrieved passages. Instead of names,
        an already loaded ``embedder`` (it must be the index's model) or ``reranker`` can be passed in;
        ``settings``: the tuning values (config.Settings)."""
        settings = settings or DEFAULTS
        reranker = reranker or (load_reranker(rerank) if rerank else None)
        store = open_store(index_dir, DEFAULT_INDEX)
        reader = store.reader()
        named = embedder.name if embedder is not None else model
        built_with = reader.manifest.model_name
        if named and named != NO_MODEL and canonical_model_name(named) != built_with:
            reader.close()
            raise ModelMismatch(
                f"The index at {reader.index_dir} was built with {built_with or 'no model (lexical-only)'}, "
                f"not {named}. Rebuild it with `rag-qa build --full --model {named}`, or leave --model out."
            )
        warnings = []
        if built_with and named != NO_MODEL and embedder is None:
            try:
                embedder = load_embedder(built_with, settings.build.embed_batch_size)
            except ModelUnavailable as exc:
                warnings.append(f"{exc} Answering lexical-only.")
                log.warning(warnings[-1])
        elif not built_with and reader.manifest.fallback_reason:
            warnings.append(f"{LEXICAL_ONLY_WARNING} {reader.manifest.fallback_reason}")
        if named == NO_MODEL:
            embedder = None
        retriever = Retriever(reader, embedder, settings.retrieval)
        return cls(_Loaded.of(store, reader, retriever), embedder, warnings, reranker, settings)

    @property
    def retriever(self) -> Retriever:
        """The current version's retriever (with its reader and embedder), for benchmarks and tools."""
        return self._loaded.retriever

    @property
    def manifest(self) -> Manifest:
        return self._loaded.reader.manifest

    @property
    def modes(self) -> tuple[str, ...]:
        return self._loaded.retriever.modes

    def ask(
        self,
        question: str,
        k: int = 5,
        mode: str | None = None,
        context: str | None = None,
        *,
        publishers: str | Iterable[str] | None = None,
        since: str | date | None = None,
        until: str | date | None = None,
        articles: str | Iterable[str] | None = None,
        sources: str | Path | Iterable[str | Path] | None = None,
        read_time: bool = True,
    ) -> Answer:
        """Answer from the indexed articles, citing passages; "not found" when they hold no answer.

        ``context``: the previous question, for a follow-up such as "and the Israeli side?". The scope
        (scope.py): only articles of these ``publishers``, dated ``since`` … ``until`` (inclusive ISO
        dates), these ``articles`` (doc ids) or from these remembered ``sources``; the filters combine,
        and one that keeps nothing raises EmptyScope. ``read_time``: a time phrase in the question
        ("yesterday", "في 25 يوليو", "latest") narrows the dates, read against the newest article
        (time_reading.py); the answer's ``time_reading`` says how. False searches every date.
        """
        loaded = self._loaded
        scope = Scope.of(publishers, since, until, articles, sources)
        found, asked = self._retrieve(loaded, question, k, mode, context, scope, read_time)
        warnings = [*self._warnings(mode, found.mode), *asked.warnings]
        embedder = loaded.retriever.embedder
        answer = compose(found, k, embedder, warnings, loaded.calibration, loaded.confident_at, self.settings)
        answer = replace(
            answer, question=asked.question, citations=tuple(self._with_copies(loaded, answer.citations)),
            mentioned=tuple(self._with_copies(loaded, answer.mentioned)), scope=scope.to_dict() if scope else None,
            time_reading=asked.reading.to_dict() if asked.reading else None,
        )  # fmt: skip
        return replace(answer, reranker=self._reranker.name) if self._reranker else answer

    def search(
        self, question: str, k: int = 10, mode: str | None = None, context: str | None = None, *,
        publishers: str | Iterable[str] | None = None, since: str | date | None = None, until: str | date | None = None,
        articles: str | Iterable[str] | None = None, sources: str | Path | Iterable[str | Path] | None = None,
        read_time: bool = True,
    ) -> list[Citation]:  # fmt: skip
        """The ``k`` best passages for ``question``, best first (no answer, no abstention); the scope as
        for ``ask``."""
        loaded = self._loaded
        scope = Scope.of(publishers, since, until, articles, sources)
        found, _ = self._retrieve(loaded, question, k, mode, context, scope, read_time)
        return self._with_copies(loaded, citations_for(found, k))

    def _with_copies(self, loaded: _Loaded, citations: Sequence[Citation]) -> list[Citation]:
        """The citations with the other articles that carry the same story (copies.py)."""
        return [replace(c, copies=loaded.reader.catalog.copy_refs(c.doc_id)) for c in citations]

    def _retrieve(
        self, loaded: _Loaded, question: str, k: int, mode: str | None, context: str | None, scope: Scope,
        read_time: bool,
    ) -> tuple[Retrieved, Asked]:  # fmt: skip
        if not isinstance(k, int) or k < 1 or k > 100:
            raise BadArgument(f"k must be an integer between 1 and 100; got {k!r}")
        limit = self.settings.retrieval.max_question_chars
        text = clean_question(question, limit)
        context = clean_question(context, limit) if context and context.strip() else None
        mode_used = loaded.retriever.choose_mode(mode)
        reader = loaded.reader
        files = reader.articles_by_file() if scope.sources else {}  # (read from the index only when needed)
        asked = ask_within(text, scope, read_time, reader.catalog, files, reader.manifest.sources)
        query = replace(
            loaded.retriever.query(asked.searched, mode_used, context), within=asked.within,
            recent_from=asked.reading.newest if asked.reading and asked.reading.latest else None,
        )  # fmt: skip
        found = loaded.retriever.for_answer(query, mode_used, k)
        if self._reranker is not None:
            depth = self.settings.retrieval.rerank_depth
            reranked = self._reranker.rerank(asked.searched, found.candidates, found.passages, depth)
            found = replace(found, candidates=tuple(reranked))
        return found, asked

    def _warnings(self, requested: str | None, used: str) -> list[str]:
        warnings = list(self.warnings)
        if requested and requested != used:
            warnings.append(f"Mode {requested} needs the embedding model; answered in {used} mode.")
        return warnings

    def refresh(self) -> bool:
        """Switch to a newer index version on disk, if a build made one. Returns True when it switched."""
        with self._swap:
            current, store = self._loaded.reader, self._loaded.store
            try:
                on_disk = store.current_manifest()
            except (IndexMissing, IndexCorrupt):
                return False
            if on_disk.version_dir == current.manifest.version_dir:
                return False
            retrieval = self.settings.retrieval
            reader = store.reader()
            embedder, name = self._embedder, reader.manifest.model_name
            if name != current.manifest.model_name:  # rebuilt with another model (or none)
                try:
                    embedder = load_embedder(name, self.settings.build.embed_batch_size) if name else None
                except ModelUnavailable as exc:  # the new version still answers, lexically
                    log.warning("%s Answering lexical-only.", exc)
                    embedder = None
                self._embedder = embedder
            self._loaded = _Loaded.of(store, reader, Retriever(reader, embedder, retrieval))
            return True

    def info(self) -> dict[str, Any]:
        """What ``rag-qa info`` shows (index_info.py)."""
        return describe_index(self._loaded.reader, self.modes, self.warnings)


_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200d\u2066-\u2069\u202a-\u202e\ufeff]")


def clean_question(question: str, limit: int = DEFAULTS.retrieval.max_question_chars) -> str:
    """Strip control and bidi-override characters and surrounding space; reject empty or huge questions."""
    if not isinstance(question, str):
        raise BadQuestion("The question must be text.")
    text = " ".join(_CONTROL_CHARS.sub(" ", question).split())
    if not text:
        raise BadQuestion("Please type a question.")
    if len(text) > limit:
        raise BadQuestion(f"The question is too long ({len(text):,} characters; the limit is {limit:,}).")
    return text


def canonical_model_name(name: str) -> str:
    """Local folders are named by their absolute path, hub models by their id."""
    path = Path(name).expanduser()
    return str(path.resolve()) if path.is_dir() else name
