"""The build stage: sources → articles → chunks → vectors and terms → a new index version.

``locked_build`` takes the index's build lock, resolves the model (falling back to lexical-only when the
default cannot be loaded) and hands the plan of sources to an ``Indexer``, which reads only what changed,
reuses the vectors of unchanged text, writes one new segment and publishes the version with its
calibration (abstention.py).
"""

from __future__ import annotations

import hashlib
import logging
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from . import __version__
from .abstention import calibrate, confidence_still_valid, confident_level, still_valid
from .bundled import BUNDLED_MODEL
from .chunking import Chunker, ChunkingPlan
from .config import DEFAULT_INDEX, DEFAULT_MODEL, DEFAULTS, NO_MODEL, Settings
from .embedding import Embedder, is_default, load_embedder
from .errors import (
    BuildLocked,
    IndexCorrupt,
    IndexMissing,
    ModelMismatch,
    ModelUnavailable,
)
from .ingest import iter_articles
from .records import Article, BuildSummary, Problem, SentenceVectors, SourceFile
from .sentences import sentence_spans
from .sources import SourcePlan, plan_sources
from .storage import (
    IndexReader,
    IndexWriter,
    Manifest,
    TrackedFile,
    read_build_state,
    read_current_manifest,
    remove_stale_versions,
)
from .textnorm import char_grams, describe_analyzer
from .textnorm import terms as analyze

log = logging.getLogger("rag_qa")
T = TypeVar("T")


def locked_build(
    index_dir: str | Path | None,
    model: str | None,
    named_sources: list[str],
    forget: Sequence[str],
    full: bool,
    show_progress: bool,
    ann_threshold: int | None,
    prune: bool,
    keep_model: bool,
    on_progress: Callable[[int], None] | None,
    settings: Settings,
    embedder: Embedder | None,
) -> BuildSummary:
    started = time.perf_counter()
    index_dir = Path(index_dir or DEFAULT_INDEX)
    if ann_threshold is not None:
        settings = replace(settings, ann=replace(settings.ann, threshold=ann_threshold))
    on_disk = _current_manifest(index_dir)
    named: str | None
    if keep_model and on_disk is not None:
        named, requested = on_disk.model_name or NO_MODEL, on_disk.model_requested
    else:
        named = embedder.name if embedder is not None else model
        requested = named or DEFAULT_MODEL
    # before anything is written: a typo in a source is an error that leaves the index as it is
    remembered = on_disk.sources if on_disk else []
    plan_sources(named_sources, remembered, prune=prune, forget=forget, index_dir=index_dir)
    if forget and on_disk is None:
        raise IndexMissing(f"No index at {index_dir}: nothing to remove.")
    index_dir.mkdir(parents=True, exist_ok=True)

    from filelock import FileLock, Timeout

    try:
        with FileLock(str(index_dir / ".build.lock"), timeout=settings.build.lock_timeout_s):
            build = Indexer(
                index_dir, requested, explicit=named is not None, full=full, settings=settings,
                keep_model=keep_model and on_disk is not None, model=named, on_disk=on_disk, embedder=embedder,
            )  # fmt: skip
            plan = plan_sources(
                named_sources, remembered, prune=prune, forget=forget, index_dir=index_dir,
                from_scratch=build.previous is None and on_disk is not None,
            )  # fmt: skip
            return build.run(plan, show_progress, started, on_progress)
    except Timeout:
        raise BuildLocked(f"Another build is running on {index_dir}; wait for it to finish and try again.") from None


def _current_manifest(index_dir: Path) -> Manifest | None:
    try:
        return read_current_manifest(index_dir)
    except (IndexMissing, IndexCorrupt):
        return None


class Indexer:
    """One build or update of an index: model, previous version, chunk plan, then each source's articles."""

    def __init__(
        self,
        index_dir: Path,
        requested: str,
        explicit: bool,
        full: bool,
        settings: Settings = DEFAULTS,
        keep_model: bool = False,
        model: str | None = None,
        on_disk: Manifest | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        """``on_disk``: the current version's manifest, as read before the build took the lock;
        ``embedder``: a loaded model to build with (instead of loading ``model``)."""
        self.index_dir = index_dir
        self.settings = settings
        self.requested = requested
        self.warnings: list[str] = []
        remove_stale_versions(index_dir, settings.build.keep_versions)
        self.embedder: Embedder | None
        if embedder is not None:
            self.embedder, self.fallback_reason = embedder, None
        elif keep_model and on_disk is not None:  # the index's own model, and why it is lexical-only (if it is)
            self.embedder = self._load_model(model or NO_MODEL, explicit=True)[0]
            self.fallback_reason = on_disk.fallback_reason
        else:
            built_with = on_disk.model_name if on_disk else None
            if not explicit and requested == DEFAULT_MODEL and built_with == BUNDLED_MODEL:
                requested = BUNDLED_MODEL  # the default's weights that built this index, not the hub's
            self.embedder, self.fallback_reason = self._load_model(model or requested, explicit)
        self.previous = None if full else self._previous_manifest()
        self.chunker = self._chunker()
        self.counts = dict(added=0, updated=0, removed=0, skipped=0, duplicates=0, kept=0)
        self.problems: list[str] = []
        self._file_docs: list[str] = []  # articles of the file being read, and its problems
        self._file_problems: list[Problem] = []

    def _load_model(self, requested: str, explicit: bool) -> tuple[Embedder | None, str | None]:
        if requested == NO_MODEL:
            return None, None
        try:
            return load_embedder(requested, self.settings.build.embed_batch_size, default_fallback=not explicit), None
        except ModelUnavailable as exc:
            if explicit or not is_default(requested):
                raise
            message = (
                f"{exc} Building a LEXICAL-ONLY index (BM25): English questions over Arabic articles need the model."
            )
            self._warn(message)
            return None, str(exc)

    def _warn(self, message: str) -> None:
        log.warning(message)
        self.warnings.append(message)

    def _previous_manifest(self) -> Manifest | None:
        try:
            previous = read_current_manifest(self.index_dir)
        except IndexMissing:
            return None
        except IndexCorrupt as exc:
            self._warn(f"{exc} Rebuilding from scratch.")
            return None
        now = self.embedder.name if self.embedder else None
        if previous.analyzer != describe_analyzer():
            self._warn("The index was built with another text analyzer; rebuilding from scratch.")
            return None
        if previous.model_name == now:
            return previous
        default_both = is_default(now or "") and is_default(previous.model_requested)
        same_request = now == previous.model_requested or default_both
        if previous.model_name is None and previous.fallback_reason and now and same_request:
            self._warn(f"The model {now} is available now; rebuilding the lexical-only index with it.")
            return None
        built = previous.model_name or "no model (lexical-only)"
        using = now or "no model (lexical-only)"
        raise ModelMismatch(
            f"The index at {self.index_dir} was built with {built}, but this build uses {using}. "
            f"Use --full to rebuild it with the new model, or build with --model {previous.model_name or NO_MODEL}."
        )

    def _chunker(self) -> Chunker:
        chunking = self.settings.chunking
        if self.previous is not None:
            recorded = self.previous.chunking
            plan = ChunkingPlan(recorded["unit"], recorded["size"], recorded["overlap"])
        elif self.embedder is not None:
            # the prompt, the title, the line break and the model's special tokens share the window
            reserved = self.embedder.count_tokens(self.embedder.style.document) + chunking.title_tokens + 4
            size = max(32, min(chunking.tokens, self.embedder.max_seq_length - reserved))
            plan = ChunkingPlan("tokens", size, min(chunking.overlap_tokens, size // 4))
        else:
            plan = ChunkingPlan("chars", chunking.chars, chunking.overlap_chars)
        length = self.embedder.count_tokens if plan.unit == "tokens" and self.embedder else len
        return Chunker(plan, length)

    def run(
        self, plan: SourcePlan, show_progress: bool, started: float, on_progress: Callable[[int], None] | None = None
    ) -> BuildSummary:
        known, files = read_build_state(self.index_dir, self.previous)
        seen = self._carry_unread(plan, known, files)
        for warning in plan.warnings:
            self._warn(warning)
        self._writer: IndexWriter | None = None
        handled = 0
        try:
            items = iter_articles(plan.read, unchanged=lambda f: files.get(f.name, (None,))[0] == f)
            if show_progress:
                from tqdm import tqdm

                items = tqdm(items, desc="indexing", unit=" files and articles", file=sys.stderr, mininterval=0.5)
            for batch in _batched(items, self.settings.build.documents_per_batch):
                self._add_batch(batch, known, files, seen)
                handled += sum(isinstance(item, Article) for item in batch)
                if on_progress is not None:
                    on_progress(handled)
            vanished = set(known) - seen
            self.counts["removed"] = len(vanished)
            unchanged = self.previous is not None and list(plan.remembered) == list(self.previous.sources)
            if unchanged and self._writer is None and not vanished:
                manifest = self.previous  # nothing changed: the current version stays as it is
            else:
                writer = self._open_writer()
                writer.remove_documents(vanished)
                writer.replace_source_files(self.files_read)
                staged = writer.finish(self._manifest_fields(time.perf_counter() - started, plan.remembered))
                try:
                    calibration = self._calibration(staged)
                finally:
                    staged.close()
                manifest = writer.publish(calibration, self.settings.build.keep_versions)
        except BaseException:
            if self._writer is not None:
                self._writer.abort()
            raise
        assert manifest is not None
        return BuildSummary(
            documents=manifest.documents,
            chunks=manifest.chunks,
            errors=len(self.problems),
            mode=manifest.mode,
            model=manifest.model_name,
            seconds=round(time.perf_counter() - started, 3),
            lexical_only_reason=self.fallback_reason or manifest.fallback_reason,
            problems=tuple(self.problems),
            warnings=tuple(self.warnings),
            index=str(self.index_dir),
            sources=tuple(manifest.sources),
            **self.counts,
        )

    def _carry_unread(self, plan: SourcePlan, known: dict[str, str], files: dict[str, TrackedFile]) -> set[str]:
        """The articles this build keeps without reading: those of remembered sources it does not read.

        Files of forgotten sources are dropped (their articles are removed); an article no tracked file
        accounts for stays unless this build reads every source that remains."""
        self.files_read: list[TrackedFile] = []
        carried: set[str] = set()
        tracked: set[str] = set()
        for name, entry in files.items():
            tracked.update(entry[1])
            if plan.reads(name) or plan.forgets(name):
                continue
            self.files_read.append(entry)
            carried.update(entry[1])
        if plan.kept:
            carried |= set(known) - tracked
        self.counts["kept"] = len(carried & set(known))
        return carried

    def _calibration(self, reader: IndexReader) -> dict[str, Any]:
        """The evidence thresholds and confident level of the new version (abstention.py); the previous
        ones while they still hold."""
        settings, chunks = self.settings, reader.chunk_count
        after = settings.abstention.recalibrate_after
        level = self.previous.confidence if self.previous else None
        if not confidence_still_valid(level, chunks, after):
            level = confident_level(reader, settings)
        if self.embedder is None:
            return {"abstention": None, "confidence": level}
        previous = self.previous.abstention if self.previous else None
        if still_valid(previous, self.embedder.name, chunks, after):
            return {"abstention": previous, "confidence": level}
        return {"abstention": calibrate(reader, self.embedder, settings), "confidence": level}

    def _open_writer(self) -> IndexWriter:
        """The new version is started only once something changed (a no-change build writes nothing)."""
        if self._writer is None:
            dimension = self.embedder.dimension if self.embedder else None
            self._writer = IndexWriter(self.index_dir, self.previous, dimension, self.settings)
        return self._writer

    def _add_batch(
        self,
        batch: list[Article | Problem | SourceFile],
        known: dict[str, str],
        files: dict[str, TrackedFile],
        seen: set[str],
    ) -> None:
        fresh: list[Article] = []
        replaced: list[str] = []
        for item in batch:
            if isinstance(item, SourceFile):
                self._end_of_file(item, files, seen)
            elif isinstance(item, Problem):
                log.info("skipped %s", item)
                self.problems.append(str(item))
                self._file_problems.append(item)
            else:
                self._file_docs.append(item.doc_id)
                if item.doc_id in seen:
                    self.counts["duplicates"] += 1
                    continue
                seen.add(item.doc_id)
                old_hash = known.get(item.doc_id)
                if old_hash == item.content_hash:
                    self.counts["skipped"] += 1
                    continue
                self.counts["updated" if old_hash else "added"] += 1
                if old_hash:
                    replaced.append(item.doc_id)
                fresh.append(item)
        if not fresh:
            return
        writer = self._open_writer()
        chunked = [(article, self.chunker.split(article)) for article in fresh]
        budget = self.settings.chunking.title_tokens
        titles = {
            a.doc_id: fit_title(a.title, self.embedder.count_tokens, budget) if self.embedder else a.title
            for a in fresh
        }
        inputs = {id(c): embedding_input(titles[c.doc_id], c.text) for _, chunks in chunked for c in chunks}
        hashes = {key: hashlib.sha256(text.encode()).hexdigest()[:24] for key, text in inputs.items()}
        vectors, sentences = writer.reusable(list(hashes.values()))  # before the old chunks go
        writer.remove_documents(replaced)
        if self.embedder is not None:
            texts = {id(c): c.text for _, chunks in chunked for c in chunks}
            self._encode(inputs, texts, hashes, vectors, sentences)
        for article, chunks in chunked:
            chunk_hashes = [hashes[id(c)] for c in chunks]
            indexed = [f"{c.title}\n{c.text}" for c in chunks]
            ids = writer.add_document(
                article, chunks, [analyze(t) for t in indexed], [char_grams(t) for t in indexed], chunk_hashes
            )
            if self.embedder is not None and ids:
                writer.add_vectors(ids, np.stack([vectors[h] for h in chunk_hashes]))
                for chunk_id, chunk_hash in zip(ids, chunk_hashes, strict=True):
                    writer.add_sentences(chunk_id, sentences[chunk_hash])

    def _encode(
        self,
        inputs: dict[int, str],
        texts: dict[int, str],
        hashes: dict[int, str],
        vectors: dict[str, np.ndarray],
        sentences: dict[str, SentenceVectors],
    ) -> None:
        """Encode, in one batch, the chunks and the chunks' sentences that the index does not hold yet
        (``vectors`` and ``sentences`` by embedding-input hash; filled in place). A sentence that two
        overlapping chunks share whole is encoded once."""
        assert self.embedder is not None
        chunks = {hashes[key]: text for key, text in inputs.items() if hashes[key] not in vectors}
        split = {hashes[key]: sentence_spans(text) for key, text in texts.items() if hashes[key] not in sentences}
        owners = {hashes[key]: texts[key] for key in texts}
        pieces = list(dict.fromkeys(owners[h][a:b] for h, spans in split.items() for a, b in spans))
        encoded = self.embedder.encode_documents([*chunks.values(), *pieces])
        vectors.update(zip(chunks, encoded[: len(chunks)], strict=True))
        row = {piece: len(chunks) + i for i, piece in enumerate(pieces)}
        for chunk_hash, spans in split.items():
            matrix = encoded[[row[owners[chunk_hash][a:b]] for a, b in spans]].astype(np.float16)
            sentences[chunk_hash] = SentenceVectors(np.asarray(spans, dtype=np.int32).reshape(-1, 2), matrix)

    def _end_of_file(self, file: SourceFile, files: dict[str, TrackedFile], seen: set[str]) -> None:
        if file.unchanged:  # not read: its articles stay as they are, its bad records are reported again
            _, doc_ids, problems = files[file.name]
            self.counts["skipped"] += len(set(doc_ids) - seen)
            seen.update(doc_ids)
            self.problems.extend(problems)
            self.files_read.append(files[file.name])
        elif all(p.source != file.name for p in self._file_problems):  # else unreadable: tried again next time
            self.files_read.append((file, self._file_docs, [str(p) for p in self._file_problems]))
        self._file_docs, self._file_problems = [], []

    def _manifest_fields(self, seconds: float, sources: Sequence[str]) -> dict[str, Any]:
        software = {"rag_qa": __version__, "numpy": np.__version__}
        retrieval = self.settings.retrieval
        if self.embedder is not None:
            import faiss
            import sentence_transformers

            software |= {"faiss": faiss.__version__, "sentence_transformers": sentence_transformers.__version__}
        return dict(
            mode="hybrid" if self.embedder else "lexical",
            model=self.embedder.describe() if self.embedder else None,
            model_requested=self.requested,
            fallback_reason=self.fallback_reason,
            chunking=self.chunker.plan.describe(),
            analyzer=describe_analyzer(),
            bm25={"scoring": "lucene", "terms": "character grams", "k1": retrieval.bm25_k1, "b": retrieval.bm25_b},
            created_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            build_seconds=round(seconds, 3),
            software=software,
            sources=list(sources),
        )


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


def _batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
