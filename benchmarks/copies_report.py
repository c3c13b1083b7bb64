"""Wire copies in SaudiNewsNet: how many groups copies.py finds among all 31,030 articles, how large they
are, how far apart their dates lie and how many span several newspapers (the articles read and cleaned as
a build reads them; no index needed).

    python -m benchmarks.copies_report [--data ../shared/data/saudinewsnet] [--samples 5]
"""

from __future__ import annotations

import argparse
import json
import random
import time
import zipfile
from collections import Counter
from dataclasses import replace
from pathlib import Path

from rag_qa.copies import fingerprint, group_copies
from rag_qa.formats import read_bytes
from rag_qa.records import Article
from rag_qa.storage.catalog import day_number

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "saudinewsnet"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--samples", type=int, default=5, help="groups to print, at random")
    args = parser.parse_args()
    articles: list[Article] = []
    for archive in sorted(args.data.glob("*.zip")):
        with zipfile.ZipFile(archive) as opened:
            for member in opened.namelist():
                items = read_bytes(f"{archive}:{member}", Path(member).suffix, opened.read(member))
                articles += [a for a in items if isinstance(a, Article)]
    started = time.perf_counter()
    prints = [replace(fingerprint(a.doc_id, a.text), day=day_number(a.date)) for a in articles]
    fingerprinted = time.perf_counter() - started
    started = time.perf_counter()
    groups = group_copies(prints)
    grouped = time.perf_counter() - started
    by_id = {a.doc_id: a for a in articles}
    sizes = Counter(len(g) for g in groups)
    papers = Counter(len({by_id[d].publisher for d in g}) for g in groups)
    spans = Counter(
        max(day_number(by_id[d].date) for d in g) - min(day_number(by_id[d].date) for d in g) for g in groups
    )
    in_groups = sum(sizes[s] * s for s in sizes)
    report = {
        "articles": len(articles),
        "groups": len(groups),
        "articles_in_groups": in_groups,
        "share_in_groups": round(in_groups / len(articles), 3),
        "copies_beyond_the_first": in_groups - len(groups),
        "group_sizes": dict(sorted(sizes.items())),
        "newspapers_per_group": dict(sorted(papers.items())),
        "days_between_first_and_last_copy": dict(sorted(spans.items())),
        "seconds": {"fingerprints": round(fingerprinted, 1), "grouping": round(grouped, 2)},
    }
    print(json.dumps(report, indent=2))
    for group in random.Random(0).sample(groups, min(args.samples, len(groups))):
        print("---")
        for doc_id in group:
            a = by_id[doc_id]
            print(f"  {a.publisher} {a.date} {a.title[:70]}")


if __name__ == "__main__":
    main()
