"""The build stage: sources → articles → chunks → vectors and terms → a new index version.

An ``Indexer`` (set up by build_request.py under the index's lock) reads only what changed, reuses the
vectors of unchanged text, encodes each new text once, writes one new segment, publishes the version
with its calibration (abstention.py) and reports its progress (progress.py) as it goes.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from importlib import metadata
from typing import Any

import numpy as np

from .abstention import calibrate, confidence_still_valid, confident_level, still_valid
from .build_setup import BuildSetup
from .config import DEFAULTS, Settings
from .encoding import VectorCache, embedding_input, encode_missing, fit_title
from .formats import CLEANING
from .ingest import file_bytes, list_files, read_files
from .progress import BuildProgress, ProgressMeter, TerminalLine, progress_reporter
from .records import Article, BuildSummary, FileResult, IndexedChunk
from .sources import SourcePlan
from .storage import TrackedFile
from .storage.store import Reader, Store, Writer
from .textnorm import char_grams, describe_analyzer
from .textnorm import terms as analyze

log = logging.getLogger("rag_qa")


def package_version() -> str:
    """rag_qa's installed version, as the manifest records it."""
    try:
        return metadata.version("rag_qa")
    except metadata.PackageNotFoundError:
        return "unknown"


class Indexer:
    """One build or update of an index (with what build_setup settled): each source's articles, then the
    new version with its calibration."""

    def __init__(self, store: Store, requested: str, setup: BuildSetup, settings: Settings = DEFAULTS) -> None:
        self.store = store
        self.settings = settings
        self.requested = requested
        self.embedder, self.fallback_reason = setup.embedder, setup.fallback_reason
        self.previous, self.chunker = setup.previous, setup.chunker
        self.warnings: list[str] = list(setup.warnings)
        self.counts = dict(added=0, updated=0, removed=0, skipped=0, duplicates=0, kept=0)
        self.problems: list[str] = []

    def _warn(self, message: str) -> None:
        log.warning(message)
        self.warnings.append(message)

    def run(
        self,
        plan: SourcePlan,
        started: float,
        on_progress: Callable[[BuildProgress], None] | None = None,
        show_progress: bool = False,
    ) -> BuildSummary:
        known, files = self.store.build_state(self.previous)
        seen = self._carry_unread(plan, known, files)
        for warning in plan.warnings:
            self._warn(warning)
        self._writer: Writer | None = None
        self._cache = VectorCache()  # what this build encoded, for the copies and repeats of later batches
        self._encoded = 0
        self._bytes: dict[str, float] = {}  # each pending article's share of its file's bytes (progress.py)
        reporter = progress_reporter(on_progress, show_progress)
        try:
            paths = list_files(plan.read, skip=self.store.own_paths())  # `build .`: the index's files are not read
            sizes = file_bytes(paths)
            meter = ProgressMeter(sum(sizes.values()), reporter)
            reread = self.previous is not None and self.previous.cleaning != CLEANING  # every file, once
            fresh = {} if reread else files
            results = read_files(paths, unchanged=lambda f: fresh.get(f.name, (None,))[0] == f)
            pending: list[Article] = []  # new and changed articles, written in batches
            for path, result in zip(paths, results, strict=True):
                new = self._take_file(result, known, files, seen)
                size = sizes.get(path, 0)
                if result.file is not None and result.file.unchanged:
                    meter.skip(len(files[result.file.name][1]), size)
                else:
                    # each article weighs its share of the file's text: long ones take longer to encode
                    text = sum(len(a.text) for a in result.articles) or 1
                    weights = {a.doc_id: size * len(a.text) / text for a in new}
                    meter.skip(len(result.articles) - len(new), size - sum(weights.values()))
                    self._bytes.update(weights)
                pending += new
                if len(pending) >= self.settings.build.documents_per_batch:
                    self._add_articles(pending, known, meter)
                    pending = []
            self._add_articles(pending, known, meter)
            meter.handled(0, 0, 0, final=True)
            rate = meter.snapshot().passages_per_s
            if isinstance(reporter, TerminalLine):
                reporter.close()
            log.info("encoded %d texts; %d repeated from earlier batches", self._encoded, self._cache.hits)
            vanished = set(known) - seen
            self.counts["removed"] = len(vanished)
            unchanged = self.previous is not None and list(plan.remembered) == list(self.previous.sources)
            if unchanged and not reread and self._writer is None and not vanished:
                manifest = self.previous  # nothing changed: the current version stays as it is
            else:
                writer = self._open_writer()
                writer.remove_documents(vanished)
                writer.replace_source_files(self.files_read)
                staged = writer.finish(self._manifest_fields(time.perf_counter() - started, plan))
                try:
                    calibration = self._calibration(staged)
                finally:
                    staged.close()
                manifest = writer.publish(calibration, self.settings.build.keep_versions)
        except BaseException:
            if isinstance(reporter, TerminalLine):
                reporter.close()  # an error's sentence on a line of its own
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
            index=self.store.location,
            sources=tuple(manifest.sources),
            precision=self.embedder.describe().get("precision") if self.embedder and rate else None,
            passages_per_s=round(rate, 2) if rate else None,
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

    def _calibration(self, reader: Reader) -> dict[str, Any]:
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

    def _open_writer(self) -> Writer:
        """The new version is started only once something changed (a no-change build writes nothing)."""
        if self._writer is None:
            dimension = self.embedder.dimension if self.embedder else None
            self._writer = self.store.writer(self.previous, dimension, self.settings)
        return self._writer

    def _take_file(
        self, result: FileResult, known: dict[str, str], files: dict[str, TrackedFile], seen: set[str]
    ) -> list[Article]:
        """Count one file's articles and remember the file; returns its new and changed articles."""
        for problem in result.problems:
            log.info("skipped %s", problem)
            self.problems.append(str(problem))
        file = result.file
        if file is not None and file.unchanged:  # not read: its articles stay, its bad records are reported again
            _, doc_ids, problems = files[file.name]
            self.counts["skipped"] += len(set(doc_ids) - seen)
            seen.update(doc_ids)
            self.problems.extend(problems)
            self.files_read.append(files[file.name])
            return []
        fresh: list[Article] = []
        for article in result.articles:
            if article.doc_id in seen:
                self.counts["duplicates"] += 1
                continue
            seen.add(article.doc_id)
            old_hash = known.get(article.doc_id)
            if old_hash == article.content_hash:
                self.counts["skipped"] += 1
                continue
            self.counts["updated" if old_hash else "added"] += 1
            fresh.append(article)
        if file is not None and all(p.source != file.name for p in result.problems):  # else: tried again next time
            doc_ids = [a.doc_id for a in result.articles]
            self.files_read.append((file, doc_ids, [str(p) for p in result.problems]))
        return fresh

    def _add_articles(self, fresh: list[Article], known: dict[str, str], meter: ProgressMeter) -> None:
        """Chunk, encode (what the index does not hold yet) and store new and changed articles."""
        if not fresh:
            return
        replaced = [a.doc_id for a in fresh if a.doc_id in known]
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
        passages, nbytes = len(inputs), sum(self._bytes.pop(a.doc_id, 0.0) for a in fresh)
        if self.embedder is not None:
            texts = {id(c): c.text for _, chunks in chunked for c in chunks}
            self._encoded += encode_missing(
                self.embedder, inputs, texts, hashes, vectors, sentences, self._cache,
                on_share=lambda share: meter.partial(passages * share, nbytes * share),
            )  # fmt: skip
        for article, chunks in chunked:
            indexed = [(c, f"{c.title}\n{c.text}") for c in chunks]  # what BM25 and the terms read
            stored = [IndexedChunk(c, tuple(analyze(t)), tuple(char_grams(t)), hashes[id(c)]) for c, t in indexed]
            ids = writer.add_document(article, stored)
            if self.embedder is not None and ids:
                writer.add_vectors(ids, np.stack([vectors[s.embed_hash] for s in stored]))
                for chunk_id, chunk in zip(ids, stored, strict=True):
                    writer.add_sentences(chunk_id, sentences[chunk.embed_hash])
        meter.handled(len(fresh), passages, nbytes)

    def _manifest_fields(self, seconds: float, plan: SourcePlan) -> dict[str, Any]:
        software = {"rag_qa": package_version(), "numpy": np.__version__}
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
            sources=list(plan.remembered),
            source_roots=plan.roots(self.previous.source_roots if self.previous else {}),
            cleaning=self.previous.cleaning if plan.kept and self.previous else CLEANING,  # once all were read
        )
