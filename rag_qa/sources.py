"""Which sources a build reads, keeps and forgets: an index remembers the files and folders it was built from.

A build that names no SOURCE updates every remembered source (a new index: ``seeds/``); a build that
names some adds or updates those and keeps the articles of the others untouched. Articles go away
only when their file vanished from a source this build read, or when the user says so: ``rag-qa remove
SOURCE``, or ``--prune`` (drop every remembered source not named; with no SOURCE, those that no longer
exist). A SOURCE that does not exist is an error, so a typo never empties an index.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import SourceMissing
from .ingest import display_name, holds_files

DEFAULT_SOURCE = "seeds"


@dataclass(frozen=True)
class SourcePlan:
    read: tuple[str, ...]  # sources this build reads: a file that vanished from one of these is removed
    kept: tuple[str, ...]  # remembered sources not read: their articles stay as they are
    forgotten: tuple[str, ...]  # remembered sources whose articles this build removes
    remembered: tuple[str, ...]  # what the new version remembers
    warnings: tuple[str, ...] = ()
    moved: tuple[str, ...] = ()  # remembered relative sources that name another folder from here: kept

    def roots(self, previous: Mapping[str, str]) -> dict[str, str]:
        """Each remembered source's absolute path: as recorded for those this build kept, as found here for
        those it read."""
        return {s: previous[s] if s in self.kept and s in previous else str(Path(s).resolve()) for s in self.remembered}

    def reads(self, file_name: str) -> bool:
        """Whether this build reads the file (a file of a moved source is kept, whatever covers it here)."""
        if any(covers(source, file_name) for source in self.moved):
            return False
        return any(covers(source, file_name) for source in self.read)

    def forgets(self, file_name: str) -> bool:
        """A file of a forgotten source, unless a source that stays also holds it."""
        staying = (*self.read, *self.kept)
        return any(covers(s, file_name) for s in self.forgotten) and not any(covers(s, file_name) for s in staying)


def covers(source: str, file_name: str) -> bool:
    """Whether ``file_name`` (a display name) is ``source`` or lies inside it."""
    folder, path = Path(source).resolve(), Path(file_name).resolve()
    return path == folder or folder in path.parents


def plan_sources(
    named: Sequence[str],
    remembered: Sequence[str],
    *,
    prune: bool = False,
    from_scratch: bool = False,
    forget: Sequence[str] = (),
    index_dir: Path | str = "index",
    roots: Mapping[str, str] | None = None,
) -> SourcePlan:
    """The plan of one build. ``named``: the sources on the command line; ``remembered``: those of the
    current version; ``from_scratch``: the build rewrites everything (``--full``, a new model), so every
    source that stays must be read; ``forget``: sources ``rag-qa remove`` drops (must be remembered);
    ``roots``: where each remembered source was when indexed (a relative one run from another folder is
    another folder: it is kept as it is, not read)."""
    index = Path(index_dir).resolve()
    for source in named:
        if not Path(source).exists():
            raise SourceMissing(f"No such file or folder: {source}. Nothing was changed in the index at {index_dir}.")
        if Path(source).resolve() == index or index in Path(source).resolve().parents:
            raise SourceMissing(f"{source} is the index itself, not articles. Nothing was changed.")
    named = _distinct(display_name(Path(s)) for s in named)
    remembered = _distinct(remembered)
    unknown = [s for s in forget if not any(_same(s, r) for r in remembered)]
    if unknown:
        listed = ", ".join(remembered) or "none"
        raise SourceMissing(
            f"{unknown[0]} is not a source of the index at {index_dir} (its sources: {listed}). Nothing was changed."
        )
    if not named and not remembered and not forget:
        if not Path(DEFAULT_SOURCE).is_dir():
            raise SourceMissing(
                f"Nothing to index: the index at {index_dir} has no sources yet and there is no {DEFAULT_SOURCE}/ "
                "folder here. Name the files or folders to index: rag-qa build PATH."
            )
        named = [DEFAULT_SOURCE]
    forgotten = [r for r in remembered if any(_same(r, s) for s in forget)]
    if prune:
        forgotten += [r for r in remembered if (not any(_same(r, s) for s in named)) if named or not Path(r).exists()]
    staying = [r for r in remembered if r not in forgotten and not any(_same(r, s) for s in named)]
    roots = roots or {}
    moved = [r for r in staying if r in roots and str(Path(r).resolve()) != roots[r] and Path(roots[r]).exists()]
    missing = [r for r in staying if r not in moved and not Path(r).exists()]
    warnings = [
        f"{s} holds no files yet: it is remembered as a source, and the next build reads it again."
        for s in named
        if Path(s).is_dir() and not holds_files(Path(s))
    ]
    if from_scratch and moved:
        raise SourceMissing(
            f"The source {moved[0]} of the index at {index_dir} is {roots[moved[0]]}, but here {moved[0]} names "
            f"{Path(moved[0]).resolve()}; this build rewrites the index from its sources. Run it where the index "
            "was built. Nothing was changed."
        )
    for source in moved:
        warnings.append(
            f"The source {source} is {roots[source]}, but from here {source} names {Path(source).resolve()}: "
            "its articles stay as they are (build from where it was indexed to update them)."
        )
    if forget and not named:
        read: list[str] = []
    elif named and not from_scratch:
        read = named
    else:
        if from_scratch and missing:
            raise SourceMissing(
                f"The source {missing[0]} of the index at {index_dir} no longer exists, and this build rewrites "
                f"the index from its sources. Restore it, or drop its articles with `rag-qa remove {missing[0]}`. "
                "Nothing was changed."
            )
        read = [*named, *(r for r in staying if r not in missing and r not in moved)]
    for source in missing:
        warnings.append(
            f"The source {source} no longer exists; its articles stay in the index "
            f"(`rag-qa remove {source}` drops them)."
        )
    kept = [r for r in staying if r not in read]
    # a named source inside a remembered folder is already covered by it; one that holds others replaces them
    remembered_after = [
        r for r in remembered if r not in forgotten and (r in moved or not any(covers(s, r) for s in named))
    ]
    remembered_after += [s for s in named if not any(covers(r, s) for r in remembered_after)]
    return SourcePlan(
        tuple(read), tuple(kept), tuple(forgotten), tuple(remembered_after), tuple(warnings), tuple(moved)
    )


def _same(a: str, b: str) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def _distinct(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
