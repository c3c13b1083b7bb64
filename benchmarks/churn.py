"""Many small updates to the whole archive: what each costs, and how the segments stay few.

    python -m benchmarks.churn [--rounds 30] [--batch 10] [--articles N]

Lexical-only (a hybrid build adds a fixed ~5 s of model loading to every round). The archive minus
``rounds × batch`` articles is built once; then each round adds ``batch`` new articles in a file of
their own (earlier files are unchanged, so not read again), like a daily feed; finally all the added
files are removed in one build. Reports each build's wall time (its own process, as `rag-qa build`),
the number of segments and of deleted chunks after it: merges show as the slower rounds, and their
cost stays that of the small segments merged, not of the archive.

Writes churn.json and churn.md to --out.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from benchmarks.bench import load_articles
from benchmarks.scale import run_child, workspace


def state(index: Path) -> dict[str, int]:
    manifest = json.loads((index / "manifest.json").read_text())
    deletions = json.loads((index / manifest["version_dir"] / "deletions.json").read_text())
    return {
        "segments": len(manifest["segments"]),
        "deleted_chunks": sum(len(d["chunks"]) for d in deletions.values()),
        "chunks": manifest["chunks"],
    }


def churn(articles: list[dict[str, Any]], rounds: int, batch: int) -> dict[str, Any]:
    fed = rounds * batch
    base, feed = articles[:-fed], articles[-fed:]
    with workspace() as work:
        archive = work / "archive.json"
        archive.write_text(json.dumps(base, ensure_ascii=False), encoding="utf-8")
        index = work / "index"
        common = {"index": index, "mode": "lexical", "model": "none"}
        full = run_child("build", sources=[archive], full=True, **common) | state(index)
        sources, steps = [archive], []
        for number in range(rounds):
            daily = work / f"feed-{number:03d}.json"
            daily.write_text(json.dumps(feed[number * batch : (number + 1) * batch], ensure_ascii=False), "utf-8")
            sources.append(daily)
            steps.append(run_child("build", sources=sources, **common) | state(index))
            print(json.dumps(steps[-1]), flush=True)
        removal = run_child("build", sources=[archive], **common) | state(index)
    times = [s["seconds"] for s in steps]
    return {
        "articles": len(articles),
        "rounds": rounds,
        "batch": batch,
        "full_build": full,
        "rounds_detail": steps,
        "round_seconds_median": round(statistics.median(times), 3),
        "round_seconds_max": max(times),
        "max_segments": max(s["segments"] for s in steps),
        "remove_all_fed": removal,
    }


def markdown(result: dict[str, Any]) -> str:
    full, removal = result["full_build"], result["remove_all_fed"]
    segments = " ".join(str(s["segments"]) for s in result["rounds_detail"])
    return "\n".join(
        [
            f"{result['rounds']} rounds of {result['batch']} new articles on top of "
            f"{result['articles'] - result['rounds'] * result['batch']:,} SaudiNewsNet articles, lexical-only.",
            "",
            "| step | seconds | segments after | deleted chunks after |",
            "| --- | --- | --- | --- |",
            f"| full build | {full['seconds']} | {full['segments']} | {full['deleted_chunks']} |",
            f"| one round: median (max) | {result['round_seconds_median']} ({result['round_seconds_max']}) "
            f"| at most {result['max_segments']} | – |",
            f"| remove all {result['rounds'] * result['batch']} fed articles | {removal['seconds']} "
            f"| {removal['segments']} | {removal['deleted_chunks']} |",
            "",
            f"Segments after each round: {segments}",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--articles", type=int, default=10**9, help="the first N articles (default: all)")
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args()
    result = churn(load_articles(args.articles), args.rounds, args.batch)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "churn.json").write_text(json.dumps(result, indent=2))
    table = markdown(result)
    (out / "churn.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
