"""Progress of a build that a user can plan with: passages per second and the time left.

The share done is measured in bytes of the files a build reads (each article weighs its share of its
file's text times the file's size), because a build does not know how many passages it will cut before
it reads every file. Files and articles not read again (unchanged) count as done at once and are left
out of the rate, so an update of a large index does not promise to end too soon. The time left is the
bytes left at the pace measured since the first slice of passages was encoded (the first one is slower:
the model warms up). Building 1,474 SaudiNewsNet articles with e5 on 2 cores (`python -m benchmarks.eta`), the end it
predicted was within 10 % of the real end from the first minute on (docs/measurements.md).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

REPORT_EVERY_S = 0.5  # at most this often, besides the last report


@dataclass(frozen=True)
class BuildProgress:
    """One progress report of a build (``build_index(on_progress=…)``, the CLI line, the upload bar)."""

    articles: int  # articles handled so far (encoded, or unchanged and kept)
    passages: int  # passages encoded and stored so far
    seconds: float  # since the build started reading
    share: float  # share of the sources' bytes handled, 0 to 1
    passages_per_s: float | None  # None until the first passages are encoded
    eta_s: float | None  # the time left; None until it can be estimated

    def describe(self) -> str:
        """E.g. ``1,234 passages · 18.3 passages/s · 41 % · about 3 min left``."""
        parts = [f"{self.passages:,} passage{'' if self.passages == 1 else 's'}"]
        if self.passages_per_s is not None:
            parts.append(f"{self.passages_per_s:,.1f} passages/s")
        parts.append(f"{self.share * 100:.0f} %")
        if self.eta_s is not None and self.share < 1:
            parts.append(f"about {duration(self.eta_s)} left")
        return " · ".join(parts)


def duration(seconds: float) -> str:
    """``45 s``, ``3 min``, ``1 h 20 min``."""
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


class ProgressMeter:
    """Counts what a build has handled and reports it to ``report`` (at most every REPORT_EVERY_S)."""

    def __init__(
        self,
        total_bytes: int,
        report: Callable[[BuildProgress], None] | None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.total = max(total_bytes, 1)
        self.report = report
        self.clock = clock
        self.started = clock()
        self.last_report = -REPORT_EVERY_S
        self.articles = 0
        self.passages = 0
        self.done = 0.0  # bytes handled, whether read or skipped
        self.skipped = 0.0  # bytes not read again: they cost no time
        self.anchor: tuple[float, float] | None = None  # (seconds, bytes worked) at the first work measured

    def skip(self, articles: int, nbytes: float) -> None:
        """Articles kept without encoding (an unchanged file, an unchanged article)."""
        self.articles += articles
        self.done += nbytes
        self.skipped += nbytes
        self._emit(final=False)

    def handled(self, articles: int, passages: float, nbytes: float, final: bool = False) -> None:
        """Articles read, encoded and stored (``passages`` and ``nbytes`` may be a share of a batch)."""
        self.articles += articles
        self.passages += round(passages)
        self.done = self.total if final else self.done + nbytes
        self._emit(final)

    def snapshot(self, passages: float = 0.0, nbytes: float = 0.0) -> BuildProgress:
        """The progress now, counting ``passages`` and ``nbytes`` of a batch still being encoded."""
        seconds = self.clock() - self.started
        done, passages_done = min(self.done + nbytes, self.total), self.passages + passages
        worked = done - self.skipped
        rate = passages_done / seconds if passages_done and seconds > 0 else None
        eta = seconds * (self.total - done) / worked if worked > 0 and seconds > 0 else None
        if self.anchor is None and worked > 0:
            self.anchor = (seconds, worked)
        elif self.anchor is not None and worked > self.anchor[1] and seconds > self.anchor[0]:
            # the pace since the first work measured: the first encoding warms the model up (slower)
            eta = (seconds - self.anchor[0]) * (self.total - done) / (worked - self.anchor[1])
        return BuildProgress(self.articles, round(passages_done), seconds, done / self.total, rate, eta)

    def partial(self, passages: float, nbytes: float) -> None:
        """A batch is part encoded: report it as if that part were stored."""
        if self.report is not None and self.clock() - self.last_report >= REPORT_EVERY_S:
            self.last_report = self.clock()
            self.report(self.snapshot(passages, nbytes))

    def _emit(self, final: bool) -> None:
        if self.report is not None and (final or self.clock() - self.last_report >= REPORT_EVERY_S):
            self.last_report = self.clock()
            self.report(self.snapshot())


def progress_reporter(
    on_progress: Callable[[BuildProgress], None] | None, show_progress: bool
) -> Callable[[BuildProgress], None] | None:
    """``on_progress`` and, with ``show_progress``, a ``TerminalLine``."""
    if not show_progress:
        return on_progress
    return TerminalLine(on_progress)


class TerminalLine:
    """The progress as one line on stderr, rewritten in place (nothing for a build that encodes nothing),
    passed on to ``then``; ``close`` ends the line."""

    def __init__(self, then: Callable[[BuildProgress], None] | None = None) -> None:
        self.then = then
        self.written = False

    def __call__(self, progress: BuildProgress) -> None:
        if progress.passages or self.written:
            sys.stderr.write(f"\rindexing: {progress.describe()}\033[K")
            sys.stderr.flush()
            self.written = True
        if self.then is not None:
            self.then(progress)

    def close(self) -> None:
        if self.written:
            sys.stderr.write("\n")
            self.written = False
