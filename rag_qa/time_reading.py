"""Time in a question: "yesterday", "this week", "on 25 July", "في 25 يوليو 2015", "آخر", "latest".

A news archive is read against its own newest article, not the clock: over SaudiNewsNet (July–August
2015) "today" is the day of its newest article. Explicit dates and "today / yesterday / this week /
last week / this month" become an inclusive date range; "latest / recent / آخر / أحدث / مؤخرا" sets no
bound but makes retrieval prefer recent articles (retrieval.py). The phrase is taken out of the
question that is searched (its words are not in the articles), and the answer says how it was read.
"""

from __future__ import annotations

import calendar
import datetime
import re
from dataclasses import dataclass
from typing import Any

# One character for one (so a match's offsets hold in the question): hamza forms, alef maqsura, taa
# marbuta and Arabic-Indic digits folded; harakat and tatweel become a joiner that no word pattern spans.
_FOLD = str.maketrans(
    {**dict.fromkeys("أإآٱ", "ا"), "ى": "ي", "ة": "ه",
     **{chr(0x0660 + d): str(d) for d in range(10)}, **{chr(0x06F0 + d): str(d) for d in range(10)},
     **{chr(c): "\u200c" for c in [*range(0x064B, 0x0660), 0x0670, 0x0640]}}
)  # fmt: skip


def normalise(text: str) -> str:
    return text.translate(_FOLD).replace("\u200c", "")


MONTHS = {
    **{name.lower(): i for i, name in enumerate(calendar.month_name) if name},
    **{name.lower(): i for i, name in enumerate(calendar.month_abbr) if name},
    "sept": 9,
    # Egyptian / Gulf names, and the Levantine ones, normalised as textnorm.normalise writes them
    **{normalise(n): i for i, n in enumerate(
        ["", "يناير", "فبراير", "مارس", "ابريل", "مايو", "يونيو", "يوليو", "اغسطس", "سبتمبر", "اكتوبر", "نوفمبر",
         "ديسمبر"]
    ) if n},
    **{normalise(n): i for i, n in enumerate(
        ["", "كانون الثاني", "شباط", "اذار", "نيسان", "ايار", "حزيران", "تموز", "اب", "ايلول", "تشرين الاول",
         "تشرين الثاني", "كانون الاول"]
    ) if n},
}  # fmt: skip
AMBIGUOUS_MONTHS = {"may", "march", "mar", "jun", "jul", "aug", "sep", "oct", "nov", "dec", "jan", "feb", "apr",
                    "sept", "اب", "مارس"}  # fmt: skip
_MONTH = "|".join(sorted((re.escape(m) for m in MONTHS), key=len, reverse=True))
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"((?:19|20)\d\d)"
_ON = r"(?:(?:on|in|of|في|يوم|بتاريخ|خلال)\s+)?"
# "اليوم" is also "the day" of a named day ("اليوم الوطني", "اليوم الثاني من المهرجان"), and a newspaper
_NOT_TODAY = ("الوطني|العالمي|الدولي|الاول|الثاني|الثالث|الرابع|الخامس|الاخير|التالي|السابق|المفتوح|نفسه|ذاته"
              "|الذي|المحدد|الموعود")  # fmt: skip
# (pattern, kind): kinds read in ``_range``; the first match wins, so the most specific come first
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"{_ON}\b{_YEAR}-(\d{{1,2}})-(\d{{1,2}})\b"), "iso"),
    (re.compile(rf"{_ON}(?<!\w){_DAY}\s+(?:of\s+)?(?:شهر\s+)?({_MONTH})(?:\s*,?\s*{_YEAR})?(?!\w)", re.I), "day-month"),
    (re.compile(rf"{_ON}(?<!\w)({_MONTH})\s+{_DAY}(?:\s*,?\s*{_YEAR})?(?!\w)", re.I), "month-day"),
    (re.compile(rf"{_ON}(?<!\w)(?:شهر\s+)?({_MONTH})(?:\s+{_YEAR})?(?!\w)", re.I), "month"),
    (re.compile(r"(?<!\w)(?:(?:on\s+)?yesterday|(?:يوم\s+)?امس|البارحه)(?!\w)", re.I), "yesterday"),
    (re.compile(r"(?<!\w)(?:today|(?<!صحيفه\s)(?<!جريده\s)(?<!عين\s)(?<!ذلك\s)اليوم"
                r"(?!\s+(?:" + _NOT_TODAY + r")(?!\w)))(?!\w)", re.I), "today"),  # fmt: skip
    (re.compile(r"(?<!\w)(?:(?:in|during)\s+)?(?:last|the past|the previous) week(?!\w)|الاسبوع الماضي", re.I),
     "last-week"),  # fmt: skip
    (re.compile(r"(?<!\w)(?:(?:in|during)\s+)?this week(?!\w)|(?:هذا|خلال هذا) الاسبوع"
                r"|الاسبوع (?:الحالي|الجاري)", re.I), "this-week"),  # fmt: skip
    (re.compile(r"(?<!\w)(?:(?:in|during)\s+)?last month(?!\w)|الشهر الماضي", re.I), "last-month"),
    (re.compile(r"(?<!\w)(?:(?:in|during)\s+)?this month(?!\w)|(?:هذا|خلال هذا) الشهر"
                r"|الشهر (?:الحالي|الجاري)", re.I), "this-month"),  # fmt: skip
    (re.compile(r"(?<!\w)(?:(?:the\s+)?(?:latest|most recent|newest)|recent(?:ly)?)(?!\w)"
                r"|(?<!\w)(?:احدث|مؤخرا|اخر(?=\s+(?:ال|ما\b|اخبار|مستجدات|تطورات)))", re.I), "latest"),  # fmt: skip
]


_GAP_BEFORE_MARK = re.compile(r"\s+([?؟.!،,])")


@dataclass(frozen=True)
class TimeReading:
    """How a question's time phrase was read: a date range (inclusive ISO dates) or a preference for
    recent articles (``latest``), against the index's newest article date ``newest``."""

    phrase: str
    since: str | None
    until: str | None
    latest: bool
    newest: str
    question: str  # the question without the phrase: what retrieval searches

    def label(self) -> str:
        """"read “this week” as 21–27 July 2015" — shown with the answer."""
        if self.latest:
            return f"read “{self.phrase}” as preferring the newest articles"
        assert self.since and self.until
        return f"read “{self.phrase}” as {_span(self.since, self.until)}"

    def to_dict(self) -> dict[str, Any]:
        return {"phrase": self.phrase, "since": self.since, "until": self.until, "latest": self.latest,
                "newest_article": self.newest, "read_as": self.label()}  # fmt: skip


def read_time(question: str, newest: str | None) -> TimeReading | None:
    """The time ``question`` asks about, read against ``newest`` (ISO date); None when it names none."""
    if not newest:
        return None
    text = question.translate(_FOLD)
    anchor = datetime.date.fromisoformat(newest)
    for pattern, kind in _PATTERNS:
        for found in pattern.finditer(text):
            dates = _range(kind, found, anchor)
            if dates is None:
                continue
            after = question[found.end() :].lstrip("\u064b\u064c\u064d\u064e\u064f\u0650\u0651\u0652\u0640")
            rest = _GAP_BEFORE_MARK.sub(r"\1", " ".join(f"{question[: found.start()]} {after}".split()))
            rest = rest if rest.strip(" ?؟.!،,") else question
            phrase = question[found.start() : found.end()].strip()
            if isinstance(dates, tuple):
                return TimeReading(phrase, dates[0], dates[1], False, newest, rest)
            return TimeReading(phrase, None, None, True, newest, rest)
    return None


def _range(kind: str, found: re.Match[str], anchor: datetime.date) -> tuple[str, str] | str | None:
    """The inclusive ISO range of a match (``"latest"`` for a preference), None when it is no date."""
    groups = found.groups()
    try:
        if kind == "iso":
            day = datetime.date(int(groups[0]), int(groups[1]), int(groups[2]))
            return day.isoformat(), day.isoformat()
        if kind in ("day-month", "month-day"):
            number, month = (groups[0], groups[1]) if kind == "day-month" else (groups[1], groups[0])
            day = _dated(int(groups[2]) if groups[2] else None, MONTHS[_month_key(month)], int(number), anchor)
            return day.isoformat(), day.isoformat()
    except (ValueError, KeyError):
        return None
    if kind == "month":
        month = MONTHS[_month_key(groups[0])]
        if _month_key(groups[0]) in AMBIGUOUS_MONTHS and not groups[1]:
            return None  # "may", "march", "اب" (father) are words too: only with a day or a year
        year = int(groups[1]) if groups[1] else (anchor.year if month <= anchor.month else anchor.year - 1)
        last = calendar.monthrange(year, month)[1]
        return datetime.date(year, month, 1).isoformat(), datetime.date(year, month, last).isoformat()
    days = {"today": (0, 0), "yesterday": (1, 1), "this-week": (6, 0), "last-week": (13, 7)}
    if kind in days:
        back, forward = days[kind]
        return (anchor - datetime.timedelta(back)).isoformat(), (anchor - datetime.timedelta(forward)).isoformat()
    if kind in ("this-month", "last-month"):
        first = anchor.replace(day=1)
        if kind == "last-month":
            first = (first - datetime.timedelta(1)).replace(day=1)
        last = calendar.monthrange(first.year, first.month)[1]
        return first.isoformat(), first.replace(day=last).isoformat()
    return "latest"


def _dated(year: int | None, month: int, day: int, anchor: datetime.date) -> datetime.date:
    """A day and month without a year: the latest such date not after the newest article."""
    if year is not None:
        return datetime.date(year, month, day)
    guess = datetime.date(anchor.year, month, day)
    return guess if guess <= anchor else datetime.date(anchor.year - 1, month, day)


def _month_key(name: str) -> str:
    return name.lower() if name.lower() in MONTHS else normalise(name)


def _day(iso: str) -> str:
    day = datetime.date.fromisoformat(iso)
    return f"{day.day} {calendar.month_name[day.month]} {day.year}"


def _span(since: str, until: str) -> str:
    """"21–27 July 2015", "30 July – 2 August 2015", "25 July 2015"."""
    a, b = datetime.date.fromisoformat(since), datetime.date.fromisoformat(until)
    if a == b:
        return _day(since)
    if (a.year, a.month) == (b.year, b.month):
        return f"{a.day}–{b.day} {calendar.month_name[a.month]} {a.year}"
    if a.year == b.year:
        return f"{a.day} {calendar.month_name[a.month]} – {b.day} {calendar.month_name[b.month]} {b.year}"
    return f"{_day(since)} – {_day(until)}"
