"""What a build or a removal is asked to do (``BuildRequest``), and running it under the index's lock.

``locked_build`` checks the request before anything is written (a typo in a source changes nothing),
takes the index's build lock, resolves the model (falling back to lexical-only when the default cannot
be loaded, build_setup.py) and hands the plan of sources to an ``Indexer`` (indexing.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from .build_setup import set_up_build
from .config import DEFAULT_INDEX, DEFAULT_MODEL, DEFAULTS, NO_MODEL, Settings
from .embedding import Embedder
from .errors import BadArgument, BuildLocked, IndexCorrupt, IndexMissing, IndexOutdated
from .indexing import Indexer
from .precision import CHOICES as PRECISIONS
from .progress import BuildProgress
from .records import BuildSummary
from .sources import plan_sources
from .storage import Manifest
from .storage.manifest import REBUILD_HINT
from .storage.store import Store, open_store

log = logging.getLogger("rag_qa")


@dataclass(frozen=True)
class BuildRequest:
    """A build (``build_index``) or a removal (``remove_sources``: ``forget``), as the caller asked for it."""

    index_dir: str | Path | Store | None
    sources: tuple[str, ...] = ()  # named on this build; none: every remembered source
    forget: tuple[str, ...] = ()  # sources whose articles are removed
    model: str | None = None
    full: bool = False
    prune: bool = False
    keep_model: bool = False  # update with the index's own model and mode (an upload)
    show_progress: bool = False  # a progress line on stderr
    on_progress: Callable[[BuildProgress], None] | None = None
    ann_threshold: int | None = None
    precision: str | None = None  # what passages are encoded in (precision.py); None: the settings' choice
    settings: Settings = DEFAULTS
    embedder: Embedder | None = None
    ray: str | None = None

    def effective_settings(self) -> Settings:
        """The settings with this request's overrides applied."""
        settings, build = self.settings, self.settings.build
        if self.ann_threshold is not None:
            settings = replace(settings, ann=replace(settings.ann, threshold=self.ann_threshold))
        if self.precision is not None:
            build = replace(build, precision=self.precision)
        if self.ray:  # an encoding round starts Ray's actors: fewer, larger rounds
            build = replace(build, documents_per_batch=settings.ray.documents_per_batch)
        if build.precision not in PRECISIONS:  # a typo fails before anything is done
            raise BadArgument(f"Unknown precision '{build.precision}'; choose one of {', '.join(PRECISIONS)}.")
        return replace(settings, build=build)


def locked_build(request: BuildRequest) -> BuildSummary:
    started = time.perf_counter()
    store = open_store(request.index_dir, DEFAULT_INDEX)
    settings = request.effective_settings()
    named_sources, forget = list(request.sources), request.forget
    on_disk, full = _current_manifest(store, request.full)
    named: str | None
    embedder, keep_model = request.embedder, request.keep_model
    if request.model is None and embedder is None and on_disk is not None and not on_disk.fallback_reason:
        keep_model = True  # no --model: an update keeps the index's own model (lexical-only, as asked, stays so)
    if keep_model and on_disk is not None:
        named, requested = on_disk.model_name or NO_MODEL, on_disk.model_requested
    else:
        named = embedder.name if embedder is not None else request.model
        requested = named or DEFAULT_MODEL
    # before anything is written: a typo in a source is an error that leaves the index as it is
    remembered = on_disk.sources if on_disk else []
    roots = on_disk.source_roots if on_disk else {}
    plan_sources(named_sources, remembered, prune=request.prune, forget=forget, index_dir=store.location, roots=roots)
    if forget and on_disk is None:
        raise IndexMissing(f"No index at {store.location}: nothing to remove.")

    from filelock import Timeout

    try:
        with store.build_lock(settings.build.lock_timeout_s):
            store.prepare(settings)
            setup = set_up_build(
                store, requested, explicit=named is not None, full=full, settings=settings,
                keep_model=keep_model and on_disk is not None, model=named, on_disk=on_disk, embedder=embedder,
            )  # fmt: skip
            if request.ray and setup.embedder is not None:
                from .ray_encoding import on_ray

                setup.embedder = on_ray(setup.embedder, request.ray, settings.ray, settings.build.embed_batch_size)
            elif request.ray:
                setup.warnings.append("--ray had nothing to encode: the index is lexical-only.")
            build = Indexer(store, requested, setup, settings)
            plan = plan_sources(
                named_sources, remembered, prune=request.prune, forget=forget, index_dir=store.location,
                from_scratch=build.previous is None and on_disk is not None, roots=roots,
            )  # fmt: skip
            return build.run(plan, started, request.on_progress, request.show_progress)
    except Timeout:
        location = store.location
        raise BuildLocked(f"Another build is running on {location}; wait for it to finish and try again.") from None


def _current_manifest(store: Store, full: bool) -> tuple[Manifest | None, bool]:
    """The current version's manifest (None for a new index) and whether the build starts afresh. A damaged
    one stops the build unless it is a ``--full`` rebuild: the sources it remembers cannot be read, and an
    update would drop their articles. One written by an older rag_qa is rebuilt from its sources."""
    try:
        return store.current_manifest(), full
    except IndexMissing:
        return None, full
    except IndexOutdated as exc:
        log.warning("%s Rebuilding it from its sources.", str(exc).split(" Update it")[0])
        return exc.manifest, True
    except IndexCorrupt as exc:
        if full:
            return None, full
        damage = str(exc).replace(REBUILD_HINT, "").strip()
        raise IndexCorrupt(
            f"{damage} Nothing was changed: `rag-qa build --full SOURCE…` rebuilds it from the sources you name."
        ) from None
