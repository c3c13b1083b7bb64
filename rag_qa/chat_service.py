"""The chat app's hold on the index: it answers, picks up a rebuilt index without a restart, and adds
uploads with the index's own mode and model (a refused or failed upload leaves no file behind)."""

from __future__ import annotations

import html
import logging
import os
import re
import shutil
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .config import Settings
from .display import plural
from .errors import RagQAError
from .ingest import SUPPORTED_SUFFIXES, iter_articles
from .progress import BuildProgress
from .records import Answer, Article, Problem
from .scope import publisher_name

log = logging.getLogger(__name__)

UPLOAD_TYPES = SUPPORTED_SUFFIXES
MAX_UPLOAD_MB = 25
_UNSAFE_NAME = re.compile(r"[^\w.\-]+")


class ChatService:
    """Holds the loaded index; answers, and picks up a rebuilt index without a restart."""

    def __init__(
        self,
        index_dir: str | Path,
        uploads_dir: str | Path | None = None,
        rerank: str | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.index_dir = index_dir  # a directory or a store URI (milvus://…, …/x.milvus.db)
        self.rerank = rerank
        self.settings = settings
        self.uploads_dir = Path(uploads_dir or os.environ.get("RAG_QA_UPLOADS") or "seeds/uploads")
        self._qa: Any = None
        self.load_error: str | None = None
        self._build_lock = threading.Lock()
        self._open()

    def _open(self) -> None:
        from .pipeline import RagQA

        try:
            self._qa = RagQA.load(self.index_dir, rerank=self.rerank, settings=self.settings)
            self.load_error = None
        except RagQAError as exc:
            self._qa, self.load_error = None, str(exc)

    def qa(self) -> Any:
        if self._qa is None:
            self._open()
        else:
            try:
                self._qa.refresh()
            except RagQAError as exc:
                log.warning("keeping the loaded index: %s", exc)
        return self._qa

    def _loaded(self) -> Any:
        """The index as last loaded (no check for a newer version: ``qa()`` does that once per question)."""
        if self._qa is None:
            self._open()
        return self._qa

    def modes(self) -> tuple[str, ...]:
        qa = self._loaded()
        return qa.modes if qa is not None else ("lexical",)

    def ask(
        self, question: str, k: int = 5, mode: str | None = None, context: str | None = None, **scope: Any
    ) -> Answer:
        """``scope``: RagQA.ask's publishers, since, until, articles, sources and read_time."""
        qa = self.qa()
        if qa is None:
            raise RagQAError(self.load_error or "No index loaded.")
        return qa.ask(question, k=k, mode=mode or None, context=context or None, **scope)

    def publisher_choices(self) -> list[tuple[str, str]]:
        """(label, publisher) of each publisher in the index, the largest first: "عكاظ · okaz (143)"."""
        qa = self._loaded()
        if qa is None:
            return []
        counts = qa.retriever.reader.catalog.publishers()
        return [(_publisher_label(p, n), p) for p, n in counts.items()]

    def dates(self) -> tuple[str | None, str | None]:
        qa = self._loaded()
        catalog = qa.retriever.reader.catalog if qa is not None else None
        return (catalog.first_date, catalog.last_date) if catalog is not None else (None, None)

    def article_title(self, doc_id: str) -> str | None:
        qa = self._loaded()
        entry = qa.retriever.reader.catalog.entry(doc_id) if qa is not None and doc_id else None
        return entry.title if entry is not None else None

    def status_markdown(self) -> str:
        qa = self._loaded()
        if qa is None:
            return f"**No index loaded.** {self.load_error}"
        info = qa.info()
        return (
            f"**{plural(info['documents'], 'article')}** · {plural(info['chunks'], 'passage')} · model "
            f"`{info['model'] or 'none'}` · mode **{info['mode']}**"
        )

    def banner_html(self) -> str:
        qa = self._loaded()
        if qa is None or "hybrid" in qa.modes:
            return ""
        reason = (
            qa.manifest.fallback_reason
            or next(iter(qa.warnings), None)  # the index's model could not be loaded here
            or "The index was built without an embedding model (--model none)."
        )
        return (
            '<div class="rag-banner" dir="auto"><details><summary><b>Lexical-only mode</b>: keyword search; '
            "English questions over Arabic articles need the model. Why, and how to fix</summary>"
            f"{html.escape(reason)} Arabic questions over Arabic articles work. To fix: make "
            "<code>intfloat/multilingual-e5-small</code> available (run once with internet, or set "
            "<code>RAG_QA_MODEL</code> to a local model folder) and run <code>rag-qa build --full</code>."
            "</details></div>"
        )

    def add_files(self, paths: Sequence[str | Path], progress: Callable[[BuildProgress], None] | None = None) -> str:
        """Copy uploads into the uploads folder and update the index with its own mode and model; returns
        what happened. A refused or failed upload leaves no file behind (a replaced one is restored), so
        the next build cannot index it behind the user's back. ``progress`` hears the build's progress."""
        from .pipeline import build_index

        accepted: list[tuple[Path, str, int]] = []
        refused: list[str] = []
        for path in map(Path, paths):
            if path.suffix.lower() not in UPLOAD_TYPES:
                refused.append(f"{path.name}: not one of {', '.join(UPLOAD_TYPES)}")
            elif path.stat().st_size > MAX_UPLOAD_MB * 2**20:
                refused.append(f"{path.name}: larger than {MAX_UPLOAD_MB} MB")
            elif (articles := _articles_in(path))[0] == 0:
                refused.append(f"{path.name}: {articles[1] or 'no article in it'}")
            else:
                accepted.append((path, safe_upload_name(path.name), articles[0]))
        if not accepted:
            return "Nothing added. " + "; ".join(refused)
        with self._build_lock:
            written: dict[Path, bytes | None] = {}  # each file written, and what it replaced
            try:
                self.uploads_dir.mkdir(parents=True, exist_ok=True)
                for path, name, _ in accepted:
                    target = self.uploads_dir / name
                    written[target] = target.read_bytes() if target.exists() else None
                    shutil.copyfile(path, target)
                summary = build_index(
                    [self.uploads_dir], self.index_dir, keep_model=True, on_progress=progress, settings=self.settings
                )
            except BaseException:
                for target, before in written.items():
                    if before is None:
                        target.unlink(missing_ok=True)
                    else:
                        target.write_bytes(before)
                raise
            self.qa()
        replaced = [target.name for target, before in written.items() if before is not None]
        text = (
            f"Added {plural(summary.added, 'article')} and updated {summary.updated} from "
            f"{plural(len(accepted), 'file')} ({summary.mode} mode); the index now holds "
            f"{plural(summary.documents, 'article')}."
        )
        if replaced:
            text += f" Replaced the earlier upload of {', '.join(replaced)}."
        problems = [*refused, *summary.problems]
        return text + (" Skipped: " + "; ".join(problems) if problems else "")


def _publisher_label(publisher: str, count: int) -> str:
    name = publisher_name(publisher)
    return f"{name} · {publisher} ({count:,})" if name != publisher else f"{publisher} ({count:,})"


def _articles_in(path: Path) -> tuple[int, str | None]:
    """How many articles a file gives, and the first problem found in it (read before it is kept)."""
    count, problem = 0, None
    for item in iter_articles([path]):
        if isinstance(item, Article):
            count += 1
        elif isinstance(item, Problem) and problem is None:
            problem = item.reason
    return count, problem


def safe_upload_name(name: str) -> str:
    """A file name that stays inside the uploads folder: no path parts, no leading dots, safe characters."""
    base = Path(name.replace("\\", "/")).name
    cleaned = _UNSAFE_NAME.sub("_", base).lstrip("._") or "upload"
    return cleaned[:120]
