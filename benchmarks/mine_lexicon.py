"""Mine the two word lists answer_types.py uses to tell names from words, from SaudiNewsNet articles.

- ``common``: the most frequent normalised words of the articles, less those that are given names.
- ``family_names``: "ال…ي" words that follow a word without the article in at least half of their
  occurrences ("عبدالرحمن الغامدي"; an adjective follows a noun with it: "المتحدث الرسمي").
- ``places``: words that follow "مدينة", "محافظة", "منطقة", "مركز", "قرية" or "حي" five times and in 5 % of
  their occurrences ("القريات", "الطائف").
- ``given_names``: words that follow a title ("الأمير", "الدكتور", "المواطن", …) at least ``--min-count``
  times and in a fifth of their occurrences (or 25 times), or that come before "بن" (son of) 5 times.

Only the days named (default: the first seven, 2015-07-21 … 2015-07-27) are read, none of the days the
news QA sets are written over, so no question's article is mined. Writes ``rag_qa/data/lexicon.json``:

    python -m benchmarks.mine_lexicon
"""

from __future__ import annotations

import argparse
import json
import re
import zipfile
from collections import Counter
from pathlib import Path

from rag_qa.answer_spans import TITLES
from rag_qa.textnorm import STOPWORDS, words

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "saudinewsnet"
DAYS = ("2015-07-21", "2015-07-22", "2015-07-23", "2015-07-24", "2015-07-25", "2015-07-26", "2015-07-27")
PLACE_NOUNS = frozenset(
    "مدينه بمدينه لمدينه محافظه بمحافظه لمحافظه منطقه بمنطقه لمنطقه مركز بمركز قريه بقريه حي بحي عاصمه".split()
)
NISBA = re.compile("^ال..+ي$")
PREFIXED = re.compile("^(ال|بال|وال|لل|فال|كال)")  # an article: a word, not a given name
OUT = Path(__file__).resolve().parents[1] / "rag_qa" / "data" / "lexicon.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", nargs="*", default=list(DAYS))
    parser.add_argument("--common", type=int, default=40000, help="how many frequent words to keep")
    parser.add_argument("--min-count", type=int, default=3)
    args = parser.parse_args()
    counts: Counter[str] = Counter()
    after_title: Counter[str] = Counter()
    before_son: Counter[str] = Counter()
    after_place: Counter[str] = Counter()  # the word after "مدينة", "محافظة", "منطقة", …: a place's name
    after_word: Counter[str] = Counter()  # "ال…ي" words after a word without the article: a family name
    articles = 0
    for day in args.days:
        with zipfile.ZipFile(DATA / f"{day}.zip") as archive:
            for name in archive.namelist():
                for record in json.loads(archive.read(name)):
                    articles += 1
                    tokens = words(f"{record.get('title', '')}\n{record.get('content', '')}")
                    counts.update(tokens)
                    for before, token in zip(tokens, tokens[1:], strict=False):
                        if before in TITLES and not token.isdigit():
                            after_title[token] += 1
                        if token == "بن":
                            before_son[before] += 1
                        if before in PLACE_NOUNS and token not in STOPWORDS and not token.isdigit():
                            after_place[token] += 1
                        if NISBA.match(token) and not PREFIXED.match(before) and before not in STOPWORDS:
                            after_word[token] += 1
    candidates = {t for t, n in after_title.items() if n >= args.min_count and (n >= 0.2 * counts[t] or n >= 25)}
    candidates |= {t for t, n in before_son.items() if n >= 5}
    given = sorted(
        t for t in candidates
        if t not in STOPWORDS and t not in TITLES and not t.isdigit() and not PREFIXED.match(t)
    )  # fmt: skip
    given_set = set(given)
    common = [t for t, _ in counts.most_common(args.common + len(given)) if t not in given_set][: args.common]
    places = sorted(t for t, n in after_place.items() if n >= 5 and n >= 0.05 * counts[t])
    family = sorted(t for t, n in after_word.items() if n >= args.min_count and n >= 0.5 * counts[t])
    OUT.parent.mkdir(exist_ok=True)
    payload = {
        "days": args.days, "articles": articles, "given_names": given, "family_names": family, "places": places,
        "common": sorted(common),
    }  # fmt: skip
    OUT.write_text(json.dumps(payload, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    found = f"{len(given)} given names, {len(family)} family names, {len(places)} places, {len(common)} common words"
    print(f"{articles} articles: {found} -> {OUT}")


if __name__ == "__main__":
    main()
