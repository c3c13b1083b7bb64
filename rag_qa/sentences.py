"""Sentences of a passage: the units an answer quotes, and whose vectors a build stores for answering.

Sentences end at . ! ? ؟ … (with the closing quotes that follow) and at line breaks, except after an
initial ("جون سي. ميسنجر", "Michael E. Mann").
"""

from __future__ import annotations

import re

from .textnorm import STOPWORDS, normalise, words

_SENTENCE_BREAK = re.compile(r"(?<=[.!?؟…])[\"'”»)]*\s+|\n+")
# A letter closed by a full stop, and the word before it: perhaps an initial ("جون سي. ميسنجر"); see _is_initial.
_LETTER_BEFORE_STOP = re.compile(r"(\S+)\s+([^\W\d_]{1,5})\.$")
# A "sentence" that is a letter and its full stop alone opens the next one: a title or initial after another
# sentence's end ("…منه؟» د. عثمان العصفور إن…", Dr. Othman; "…agreed. Dr. Smith said…").
_TITLE_ALONE = re.compile(r"^\s*([^\W\d_]|Dr|Mr|Mrs|Ms|Prof|St)\.$", re.IGNORECASE)
_LATIN_LETTER_NAMES = frozenset(
    normalise(name)
    for name in "إيه بي سي دي إي إف جي إتش إيتش آي جيه جاي كيه إل إم إن أو كيو آر إس تي يو دبليو إكس واي زد".split()
)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text`` (ends: . ! ? ؟ … and line breaks), whitespace trimmed."""
    spans = []
    start = 0
    for match in [*_SENTENCE_BREAK.finditer(text), None]:
        if (
            match is not None
            and "\n" not in match.group(0)
            and (
                _TITLE_ALONE.match(text[start : match.start()])
                or _is_initial(
                    text[max(start, match.start() - 30) : match.start()], text[match.end() : match.end() + 30]
                )
            )
        ):
            continue
        end = match.start() if match else len(text)
        if match is not None and match.group(0).strip():  # closing quotes belong to the sentence
            end += len(match.group(0).rstrip())
        piece = text[start:end]
        if piece.strip():
            left = start + len(piece) - len(piece.lstrip())
            spans.append((left, start + len(piece.rstrip())))
        start = match.end() if match else len(text)
    return spans


def _is_initial(before: str, after: str) -> bool:
    """Whether the full stop ending ``before`` closes an initial rather than a sentence.

    An initial is a lone letter ("م. ثيو كيرني", "Michael E. Mann") or a Latin letter's name spelled in
    Arabic after a given name ("جون سي. ميسنجر", "رايموند إس. برادلي"; a spelled letter after a word with
    the article names a thing: "لفرضية شينزل الواسعة اتش.", hypothesis H). Not when a number comes before
    it ("عام 1990 م." closes a sentence with the era letter), nor when a function word follows ("قدمته
    بي سكاي بي. وقد وافقت…").
    """
    found = _LETTER_BEFORE_STOP.search(before)
    if found is None:
        return False
    previous, letter = normalise(found.group(1)).strip("\"'«(“"), normalise(found.group(2))
    if not previous or previous[-1].isdigit():
        return False
    if len(letter) > 1 and (letter not in _LATIN_LETTER_NAMES or previous.startswith("ال")):
        return False
    following = words(after)
    return not (following and following[0] in STOPWORDS)
