"""Where a sentence holds the answer a question asks for (answer_types.Asked): its spans of the asked kind.

Cues, not a tagger: digits and number words with what they count ("42 طابعا", "نحو 140 كلم"), month and
day names ("الثاني عشر من سبتمبر", "الأربعاء المقبل"), runs of name-like words after a title or a role
("الدكتور حامد بن أحمد النفيعي"), the class noun the question named followed by its name ("شركة سامكو"),
place names. ``answer_span`` picks the span nearest the focus, with the attribute before its value.

Name-like words: not a function word, no article (except a family name such as "الجهني" after a given
name, or a place), and either a given name or not among the 40,000 most frequent words of Arabic news.
The lists (``data/lexicon.json``) are mined from a week of SaudiNewsNet by ``benchmarks/mine_lexicon.py``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .answer_types import ARABIC_ATTRIBUTE, DATE, MONTHS, NAME, NUMBER, NUMBER_WORDS, PLACE, Asked, bare_word
from .textnorm import STOPWORDS, normalise, stem

_ORDINALS = frozenset(
    normalise(w)
    for w in (
        "الأول الثاني الثالث الرابع الخامس السادس السابع الثامن التاسع العاشر الحادي عشر العشرين الثلاثين "
        "الأولى الثانية الثالثة الرابعة الخامسة السادسة السابعة الثامنة التاسعة العاشرة والعشرين والثلاثين "
        "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth"
    ).split()
)
_WEEKDAYS = frozenset(
    "السبت الاحد الاثنين الثلاثاء الاربعاء الخميس الجمعه saturday sunday monday tuesday wednesday thursday "
    "friday".split()
)
_RELATIVE_DAYS = frozenset("امس اليوم غدا غد الليله البارحه yesterday today tomorrow tonight".split())
_SCALES = frozenset(
    "الف الفا الاف الفان الفين مليون مليونا ملايين مليار مليارا مليارات بالمئه بالمائه % thousand million "
    "billion percent per cent".split()
)
_APPROXIMATELY = frozenset("نحو حوالي قرابه زهاء يقارب اكثر اقل about around nearly almost over more than".split())
_CENTURY_WORDS = frozenset(("قرن", "century", "centuries"))
TITLES = frozenset(
    normalise(w)
    for w in (
        "الدكتور الدكتورة د المهندس المهندسة الأمير الأميرة الملك الشيخ الشيخة الرئيس العميد اللواء الفريق "
        "العقيد المقدم الرائد النقيب الملازم السيد السيدة الأستاذ الأستاذة المواطن المواطنة الشاب الفتاة الطفل "
        "الطفلة الفنان الفنانة اللاعب المدرب الكاتب الكاتبة الروائي السفير الوزير المستشار المحامي القاضي "
        "الإمام المشير الجنرال البروفيسور الحاج السيناتور النائب المطرب المطربة الممثل الممثلة الإعلامي "
        "الإعلامية الطبيب الطبيبة الباحث الباحثة المغني المغنية السائق المعلم المعلمة"
    ).split()
)
_NAME_LINKS = frozenset("بن بنت ابن ابو ابي ال عبد".split())
_ARTICLE = re.compile("^(و|ف)?(ب|ل|ك)?ال")
_YEAR = re.compile(r"^(1[0-9]{3}|20[0-9]{2})$")
_ARABIC_LETTERS = re.compile("[\u0621-\u064a]+")
_ARTICLE_ONLY, _ENDING, _LONG_VOWELS = re.compile("^ال"), re.compile("[اه]$"), re.compile("[اوي]")
_POSSESSIVE = re.compile("(ته|تها|تهم|تهما|هما)$")
_DIGITS = re.compile(r"\d")
_TOKEN = re.compile(r"[^\W_]+(?:[.,٫][0-9٠-٩]+)*%?|%")
_ENGLISH_NAME = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*")


@dataclass(frozen=True)
class Token:
    start: int
    end: int
    norm: str

    @property
    def bare(self) -> str:
        return bare_word(self.norm)


@lru_cache(maxsize=1)
def _lexicon() -> tuple[frozenset[str], frozenset[str], frozenset[str], frozenset[str]]:
    """Given names, family names, common words and places (benchmarks/mine_lexicon.py)."""
    path = Path(__file__).with_name("data") / "lexicon.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return frozenset(), frozenset(), frozenset(), frozenset()
    return tuple(frozenset(data.get(k, ())) for k in ("given_names", "family_names", "common", "places"))  # type: ignore[return-value]


@lru_cache(maxsize=8192)
def tokens(sentence: str) -> tuple[Token, ...]:
    """The sentence's words and numbers ("3.45", "40%") with their offsets in it, normalised."""
    return tuple(Token(m.start(), m.end(), normalise(m.group(0))) for m in _TOKEN.finditer(sentence))


def supplies(kind: str | None, sentence: str, question: str) -> bool:
    """Whether ``sentence`` holds something of ``kind`` that the question does not already contain."""
    return bool(typed_spans(kind, sentence, question))


@lru_cache(maxsize=8192)
def typed_spans(
    kind: str | None, sentence: str, question: str, focus: tuple[str, ...] = (), units: frozenset[str] = frozenset()
) -> tuple[tuple[int, int], ...]:
    """Character spans of ``sentence`` that can answer a question of ``kind`` and that the question does
    not already hold; ``focus``: the class noun a place or name question named ("مستشفى", "شركة")."""
    if kind is None:
        return ()
    toks = tokens(sentence)
    asked = {t.norm for t in tokens(question)} | {bare_word(t.norm) for t in tokens(question)}
    if kind == NUMBER:
        spans = _number_spans(toks)
    elif kind == DATE:
        spans = _date_spans(toks)
    else:
        spans = _name_spans(toks, sentence, kind, focus)
    kept = []
    for first, last in spans:
        inside = toks[first : last + 1]
        if all(t.norm in asked or t.bare in asked or t.norm in STOPWORDS for t in inside):
            continue  # the question's own number, date or name
        if units and not any(t.norm in units or t.bare in units for t in inside):
            continue  # "ما تكلفة …" is not answered by "270 مترا"
        kept.append((toks[first].start, toks[last].end))
    return tuple(kept)


def answer_span(asked: Asked, sentence: str, question: str) -> tuple[int, int] | None:
    """The span of ``sentence`` that answers: of the asked kind, nearest the focus (else the first)."""
    spans = typed_spans(asked.kind, sentence, question, asked.focus, asked.units)
    if not spans:
        return None
    gaps = focus_gaps(asked, sentence, spans)
    return spans[int(min(range(len(spans)), key=lambda i: gaps[i]))] if gaps else spans[0]


def focus_gaps(asked: Asked, sentence: str, spans: Sequence[tuple[int, int]]) -> list[float]:
    """For each span, how many words separate it from the nearest word holding the focus ("42 طابعا" for
    "كم عدد الطوابع": 0); empty when the sentence does not hold the focus."""
    toks = tokens(sentence)
    # the attribute itself ("عمق"), not what it is of; an English one in the Arabic word for it
    head = Asked(asked.kind, tuple(ARABIC_ATTRIBUTE.get(w, w) for w in asked.focus[:1]))
    at = [i for i, t in enumerate(toks) if _holds_focus(head, t)]
    units = asked.units
    gaps: list[float] = []
    for start, end in spans:
        inside = [i for i, t in enumerate(toks) if t.start >= start and t.end <= end] or [0]
        # Arabic states the attribute, then its value ("عرضه 270 مترا وعمقه يصل إلى 26 مترا"): before it, a
        # span is three times as far
        gap: float = min((max(inside[0] - i, 3 * (i - inside[-1]) + 2, 0) for i in at), default=1_000)
        if units and any(toks[i].norm in units or toks[i].bare in units for i in inside):
            gap = gap - 0.5 if at else 2  # "1250 كيلومترا" answers "ما طول …" by its unit
        gaps.append(gap)
    return gaps if min(gaps, default=1_000) < 1_000 else []


def focus_closeness(asked: Asked, sentence: str, spans: Sequence[tuple[int, int]]) -> float:
    """1 when an answer span touches the focus, falling with the words between them; 0 without either."""
    gaps = focus_gaps(asked, sentence, spans) if spans else []
    return 1.0 / (1.0 + min(gaps) / 2.0) if gaps and min(gaps) < 1_000 else 0.0


def focus_positions(asked: Asked, sentence: str) -> list[int]:
    """Offsets in ``sentence`` of the words that hold the focus (same stem, or one holding the other)."""
    return [t.start for t in tokens(sentence) if _holds_focus(asked, t)] if asked.focus else []


def _holds_focus(asked: Asked, token: Token) -> bool:
    return bool(asked.focus) and _word_holds(asked.focus, token.norm)


@lru_cache(maxsize=65536)
def _word_holds(focus: tuple[str, ...], norm: str) -> bool:
    """Whether the word ``norm`` holds one of the ``focus`` words: the same stem or bare form, one inside
    the other, or (a broken plural: "الطوابع" ~ "طابعا") the same consonants."""
    bare = {bare_word(w) for w in focus}
    word = bare_word(norm)
    if stem(norm) in {stem(w) for w in focus} or word in bare or any(len(b) >= 4 and b in norm for b in bare):
        return True
    skeleton = _skeleton(word)
    return len(skeleton) >= 3 and any(_skeleton(b) == skeleton for b in bare)


def _skeleton(word: str) -> str:
    """An Arabic word's consonants: no article, long vowels or final taa marbuta / tanween alef."""
    if not _ARABIC_LETTERS.fullmatch(word):
        return word
    return _LONG_VOWELS.sub("", _ENDING.sub("", _ARTICLE_ONLY.sub("", word)))


def _is_number(token: Token) -> bool:
    return bool(_DIGITS.search(token.norm)) or token.bare in NUMBER_WORDS or token.norm in NUMBER_WORDS


def _number_spans(toks: Sequence[Token]) -> list[tuple[int, int]]:
    """Numbers with what they count: "نحو 140 كلم", "3.45 مليار سنة", "أكثر من ثلاثة آلاف فرصة"."""
    spans, i = [], 0
    while i < len(toks):
        if not _is_number(toks[i]):
            i += 1
            continue
        first = i
        if first >= 1 and toks[first - 1].norm in _APPROXIMATELY:
            first -= 1
        elif first >= 2 and toks[first - 1].norm in ("من", "than") and toks[first - 2].norm in _APPROXIMATELY:
            first -= 2
        last = i
        while last + 1 < len(toks) and (
            _is_number(toks[last + 1]) or toks[last + 1].bare in _SCALES or toks[last + 1].norm in _SCALES
        ):
            last += 1
        after = toks[last + 1] if last + 1 < len(toks) else None
        if after is not None and (after.bare in MONTHS or after.norm in MONTHS):
            i = last + 2  # a date, not a count
            continue
        before = toks[first - 1].norm if first else ""
        if _YEAR.match(toks[i].norm) and last == i and first == i and (
            before in ("عام", "العام", "سنه", "لعام", "year", "in") or after is None or after.norm in STOPWORDS
        ):
            i += 1  # a year is a date ("عام 2015"); "1250 كيلومترا" is a count
            continue
        if after is not None and after.norm not in STOPWORDS and not _DIGITS.search(after.norm):
            last += 1  # what it counts: "42 طابعا", "140 كلم"
        spans.append((first, last))
        i = last + 1
    return spans


def _is_date_word(token: Token) -> bool:
    norm, bare = token.norm, token.bare
    return (
        bare in MONTHS or norm in MONTHS or norm in _WEEKDAYS or bare in _WEEKDAYS or norm in _RELATIVE_DAYS
        or bare in _CENTURY_WORDS or bool(_YEAR.match(norm))
    )  # fmt: skip


def _date_spans(toks: Sequence[Token]) -> list[tuple[int, int]]:
    """Dates: "29 أغسطس", "الثاني عشر من سبتمبر", "الخميس المقبل", "عام 2015", "القرن التاسع عشر"."""
    spans, i = [], 0
    while i < len(toks):
        if not _is_date_word(toks[i]):
            i += 1
            continue
        first = last = i
        while first > 0 and (
            toks[first - 1].norm in _ORDINALS or toks[first - 1].norm.isdigit() or toks[first - 1].norm in _WEEKDAYS
            or (toks[first - 1].norm in ("من", "of") and first > 1 and toks[first - 2].norm in _ORDINALS)
        ):  # fmt: skip
            first -= 1
        while last + 1 < len(toks) and (
            toks[last + 1].norm.isdigit() or _is_date_word(toks[last + 1]) or toks[last + 1].norm in _ORDINALS
            or toks[last + 1].norm in ("م", "هـ", "ه", "الجاري", "المقبل", "الماضي", "القادم", "المقبله", "الماضيه")
        ):  # fmt: skip
            last += 1
        spans.append((first, last))
        i = last + 1
    return spans


def _name_like(token: Token, first: bool) -> bool:
    given, family, common, _ = _lexicon()
    norm = token.norm
    if norm in STOPWORDS or _DIGITS.search(norm) or len(norm) < 2 or norm in TITLES:
        return False
    if norm in given:
        return True
    if _ARTICLE.match(norm):  # a family name ("الجهني") after a given name; not an ordinary word
        return not first and norm.endswith("ي") and (norm in family or norm not in common) and len(norm) >= 5
    if _POSSESSIVE.search(norm):  # "ترنيمته", "رئيسها": a noun with its pronoun, not a name
        return False
    return norm not in common and token.bare not in common


def _name_spans(toks: Sequence[Token], sentence: str, kind: str, focus: tuple[str, ...]) -> list[tuple[int, int]]:
    """Names: a run of name-like words (two or more, or one after a title or the class noun the question
    named: "الدكتور حامد بن أحمد النفيعي", "مدينة بوغوتا", "شركة بيمبيت"), and capitalised English names."""
    classes = {bare_word(w) for w in focus} | set(focus)
    spans, i = [], 0
    while i < len(toks):
        j = i
        after_class = i > 0 and (toks[i - 1].bare in classes or toks[i - 1].norm in classes)
        while j < len(toks) and (
            _name_like(toks[j], j == i and not after_class)
            or (j > i and j + 1 < len(toks) and (toks[j].norm in _NAME_LINKS or _is_initial(toks[j], sentence)))
        ):
            j += 1
        while j > i and toks[j - 1].norm in _NAME_LINKS:
            j -= 1
        if j > i:
            before = toks[i - 1] if i else None
            introduced = before is not None and (
                before.norm in TITLES or before.bare in classes or before.norm in classes
            )
            if j - i >= 2 or introduced or (kind in (PLACE, NAME) and _is_name_alone(toks[i])):
                spans.append((i, j - 1))
            i = j
        elif kind == PLACE and _is_place(toks[i]):
            spans.append((i, i))  # "القريات", "والطائف": a place's name, article and all
            i += 1
        else:
            i += 1
    for match in _ENGLISH_NAME.finditer(sentence):  # English sentences: capitalised words
        if match.start() == 0 and " " not in match.group(0):
            continue
        first = next((n for n, t in enumerate(toks) if t.start >= match.start()), None)
        last = max((n for n, t in enumerate(toks) if t.end <= match.end()), default=None)
        if first is not None and last is not None and first <= last and (first, last) not in spans:
            spans.append((first, last))
    return spans


def _is_initial(token: Token, sentence: str) -> bool:
    """A letter or a letter's name and a full stop inside a name: "جون سي. ميسنجر", "John C. Messenger"."""
    return len(token.norm) <= 3 and sentence[token.end : token.end + 1] == "."


def _is_place(token: Token) -> bool:
    """A place's name from the lexicon, with its conjunction or preposition ("والقريات", "بالطائف")."""
    places = _lexicon()[3]
    norm = token.norm
    variants = {norm, norm[1:], norm[2:]} if norm[:1] in ("و", "ف", "ب", "ل", "ك") else {norm}
    variants |= {"ال" + v[2:] for v in variants if v.startswith("لل")}
    return any(len(v) >= 3 and v in places for v in variants)


def _is_name_alone(token: Token) -> bool:
    """One word that is no ordinary word of Arabic news: a place or an organisation's name ("بوغوتا")."""
    common = _lexicon()[2]
    return bool(common) and len(token.norm) >= 4 and not _DIGITS.search(token.norm) and token.norm not in common
