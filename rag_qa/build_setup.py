"""What a build works with, settled before it reads a source: the model (lexical-only, said loudly,
when the default cannot be loaded), the previous version it updates (none for a first or full build,
or one it cannot update), and the chunk plan (the previous version's, else one fitted to the model)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from .bundled import BUNDLED_MODEL
from .chunking import Chunker, ChunkingPlan
from .config import DEFAULT_MODEL, NO_MODEL, Settings
from .embedding import Embedder, is_default, load_embedder
from .errors import IndexCorrupt, IndexMissing, ModelMismatch, ModelUnavailable
from .storage import Manifest
from .storage.store import Store
from .textnorm import describe_analyzer

log = logging.getLogger("rag_qa")


@dataclass
class BuildSetup:
    embedder: Embedder | None
    fallback_reason: str | None  # why a build that wanted the default model is lexical-only
    previous: Manifest | None  # the version this build updates
    chunker: Chunker
    warnings: list[str] = field(default_factory=list)


def set_up_build(
    store: Store,
    requested: str,
    explicit: bool,
    full: bool,
    settings: Settings,
    keep_model: bool = False,
    model: str | None = None,
    on_disk: Manifest | None = None,
    embedder: Embedder | None = None,
) -> BuildSetup:
    """``on_disk``: the current version's manifest, as read before the build took the lock; ``embedder``:
    a loaded model to build with (instead of loading ``model``); ``keep_model``: the index's own model."""
    warnings: list[str] = []
    if embedder is not None:
        fallback_reason = None
    elif keep_model and on_disk is not None:  # the index's own model, and why it is lexical-only (if it is)
        embedder = _load_model(model or NO_MODEL, True, settings, warnings)[0]
        fallback_reason = on_disk.fallback_reason
    else:
        built_with = on_disk.model_name if on_disk else None
        if not explicit and requested == DEFAULT_MODEL and built_with == BUNDLED_MODEL:
            requested = BUNDLED_MODEL  # the default's weights that built this index, not the hub's
        embedder, fallback_reason = _load_model(model or requested, explicit, settings, warnings)
    previous = None if full else _previous_manifest(store, embedder, warnings)
    return BuildSetup(embedder, fallback_reason, previous, _chunker(previous, embedder, settings), warnings)


def _warn(warnings: list[str], message: str) -> None:
    log.warning(message)
    warnings.append(message)


def _load_model(
    requested: str, explicit: bool, settings: Settings, warnings: list[str]
) -> tuple[Embedder | None, str | None]:
    if requested == NO_MODEL:
        return None, None
    try:
        build = settings.build
        return load_embedder(requested, build.embed_batch_size, not explicit, build.precision), None
    except ModelUnavailable as exc:
        if explicit or not is_default(requested):
            raise
        message = f"{exc} Building a LEXICAL-ONLY index (BM25): English questions over Arabic articles need the model."
        _warn(warnings, message)
        return None, str(exc)


def _previous_manifest(store: Store, embedder: Embedder | None, warnings: list[str]) -> Manifest | None:
    try:
        previous = store.current_manifest()
    except IndexMissing:
        return None
    except IndexCorrupt as exc:
        _warn(warnings, f"{exc} Rebuilding from scratch.")
        return None
    now = embedder.name if embedder else None
    if previous.analyzer != describe_analyzer():
        _warn(warnings, "The index was built with another text analyzer; rebuilding from scratch.")
        return None
    if previous.model_name == now:
        return previous
    default_both = is_default(now or "") and is_default(previous.model_requested)
    same_request = now == previous.model_requested or default_both
    if previous.model_name is None and previous.fallback_reason and now and same_request:
        _warn(warnings, f"The model {now} is available now; rebuilding the lexical-only index with it.")
        return None
    built = previous.model_name or "no model (lexical-only)"
    using = now or "no model (lexical-only)"
    raise ModelMismatch(
        f"The index at {store.location} was built with {built}, but this build uses {using}. "
        f"Use --full to rebuild it with the new model, or build with --model {previous.model_name or NO_MODEL}."
    )


def _chunker(previous: Manifest | None, embedder: Embedder | None, settings: Settings) -> Chunker:
    chunking = settings.chunking
    if previous is not None:
        recorded = previous.chunking
        plan = ChunkingPlan(recorded["unit"], recorded["size"], recorded["overlap"])
    elif embedder is not None:
        # the prompt, the title, the line break and the model's special tokens share the window
        reserved = embedder.count_tokens(embedder.style.document) + chunking.title_tokens + 4
        size = max(32, min(chunking.tokens, embedder.max_seq_length - reserved))
        plan = ChunkingPlan("tokens", size, min(chunking.overlap_tokens, size // 4))
    else:
        plan = ChunkingPlan("chars", chunking.chars, chunking.overlap_chars)
    length = embedder.count_tokens if plan.unit == "tokens" and embedder else len
    return Chunker(plan, length)
