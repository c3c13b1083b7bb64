"""Ingestion: files, folders and zip archives in → one ``FileResult`` per file out (its articles and
problems; formats.py reads each format). A bad file never stops the others: it becomes a ``Problem``
and ingestion goes on. A build reads only the files that changed since the last one.
"""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from .formats import SkipFile, read_bytes
from .records import Article, FileResult, Problem, SourceFile

log = logging.getLogger(__name__)

TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl")
SUPPORTED_SUFFIXES = (*TEXT_SUFFIXES, ".zip")
MAX_FILE_BYTES = 256 * 1024 * 1024  # a single file (or zip member) larger than this is skipped


def read_sources(
    sources: Iterable[str | Path],
    unchanged: Callable[[SourceFile], bool] | None = None,
    skip: Sequence[Path] = (),
) -> Iterator[FileResult]:
    """One result per file found under ``sources`` (files or folders), in name order; a source that does
    not exist is a result with no file and one problem.

    ``unchanged`` judges each file by name, size and modification time: a file it calls unchanged is not
    read (its result is its record, marked unchanged). ``skip``: files and folders never read (the index
    itself and its lock)."""
    return read_files(list_files(sources, skip), unchanged)


def list_files(sources: Iterable[str | Path], skip: Sequence[Path] = ()) -> list[Path]:
    """The files ``read_sources`` reads, in its order; a source that does not exist is listed as it is."""
    skipped = [p.resolve() for p in skip]
    listed: list[Path] = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            kept = (f for f in _files(path) if not any(s == f.resolve() or s in f.resolve().parents for s in skipped))
            listed += sorted(kept)
        else:
            listed.append(path)
    return listed


def read_files(paths: Iterable[Path], unchanged: Callable[[SourceFile], bool] | None = None) -> Iterator[FileResult]:
    """``read_file`` of each path; a path that does not exist is a result with no file and one problem."""
    for path in paths:
        if path.exists():
            yield read_file(path, unchanged)
        else:
            yield FileResult(None, (), (Problem(str(path), "no such file or folder"),))


def file_bytes(paths: Iterable[Path]) -> dict[Path, int]:
    """The size of each path that is a file (what a build's progress is measured in)."""
    sizes = {}
    for path in paths:
        try:
            sizes[path] = path.stat().st_size
        except OSError:
            continue
    return sizes


def iter_articles(sources: Iterable[str | Path]) -> Iterator[Article | Problem]:
    """Every article found under ``sources``, and a Problem per bad input (each file's in turn)."""
    for result in read_sources(sources):
        yield from result.articles
        yield from result.problems


def read_file(path: Path, unchanged: Callable[[SourceFile], bool] | None = None) -> FileResult:
    try:
        stat = path.stat()
    except OSError:
        return FileResult(None, (), tuple(p for p in _read_path(path) if isinstance(p, Problem)))  # says why
    record = SourceFile(display_name(path), stat.st_size, stat.st_mtime_ns)
    if unchanged is not None and unchanged(record):
        return FileResult(replace(record, unchanged=True))
    items = list(_read_path(path))
    articles = tuple(i for i in items if isinstance(i, Article))
    return FileResult(record, articles, tuple(i for i in items if isinstance(i, Problem)))


def holds_files(folder: Path) -> bool:
    """Whether a build finds any file to read in ``folder``."""
    return next(_files(folder), None) is not None


def _files(folder: Path) -> Iterator[Path]:
    """The files a build reads in ``folder``, in no order (hidden ones are never read)."""
    return (p for p in folder.rglob("*") if p.is_file() and not _hidden(p.relative_to(folder)))


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in relative.parts)


def display_name(path: Path) -> str:
    """How a file is named in ids and citations: relative to the working directory when inside it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def _read_path(path: Path) -> Iterator[Article | Problem]:
    name = display_name(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        yield Problem(
            name, f"unsupported file type '{suffix or path.name}' (supported: {', '.join(SUPPORTED_SUFFIXES)})"
        )
        return
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SkipFile(f"file too large ({size / 2**20:.0f} MB; the limit is {MAX_FILE_BYTES // 2**20} MB)")
        if suffix == ".zip":
            yield from _read_zip(name, path)
        else:
            yield from read_bytes(name, suffix, path.read_bytes())
    except SkipFile as exc:
        yield Problem(name, str(exc))
    except OSError as exc:
        yield Problem(name, f"cannot read file ({exc.strerror or exc})")


def _read_zip(name: str, path: Path) -> Iterator[Article | Problem]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SkipFile(f"not a readable zip archive, truncated or corrupt ({exc})") from None
    with archive:
        for info in sorted(archive.infolist(), key=lambda i: i.filename):
            member = f"{name}:{info.filename}"
            if info.is_dir() or _hidden(Path(info.filename)):
                continue
            suffix = Path(info.filename).suffix.lower()
            if suffix not in TEXT_SUFFIXES:
                yield Problem(member, f"unsupported file type in archive '{suffix or info.filename}'")
                continue
            if info.file_size > MAX_FILE_BYTES:
                yield Problem(member, f"archive member too large ({info.file_size / 2**20:.0f} MB uncompressed)")
                continue
            try:
                data = archive.read(info)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
                yield Problem(member, f"cannot extract from the archive, truncated or corrupt ({exc})")
                continue
            try:
                yield from read_bytes(member, suffix, data)
            except SkipFile as exc:
                yield Problem(member, str(exc))
