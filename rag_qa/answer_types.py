"""What a question asks for (a number, a date, a person, a place) and whether a sentence can supply one.

Cues, not a tagger: question words in Arabic and English, and in a sentence digits, number words,
years and month names, or (English) capitalised names. Text is compared in normalised form
(see textnorm.normalise), so "متى" is written "متي" and "أين" "اين" here.
"""

from __future__ import annotations

import re

from .textnorm import normalise, words

NUMBER, DATE, PERSON, PLACE = "number", "date", "person", "place"

_QUESTION_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        DATE,
        re.compile(
            r"^((الي|حتي) )?(متي|when)\b|\b(في )?(اي|اية|ايه) (عام|سنه|سنة|يوم|شهر|تاريخ|قرن)\b"
            r"|\b(ما|ماهو) (هو )?تاريخ\b"
            r"|\bwhat (year|date|day|month|century)\b|\bin which (year|month|century)\b"
        ),
    ),
    (
        NUMBER,
        re.compile(
            r"^(كم|بكم)\b|\b(ما|ماهو) (هو |هي )?(عدد|نسبه|مقدار|حجم|طول|مساحه|ارتفاع|عمر)\b"
            r"|\bhow (many|much|long|old|far|tall|large|big)\b|\bwhat (percentage|number|amount)\b"
        ),
    ),
    (
        PLACE,
        re.compile(r"^(اين|where)\b|\b(في )?(اي|ايه) (مدينه|دوله|بلد|مكان|منطقه)\b|\bwhich (city|country|state)\b"),
    ),
    (PERSON, re.compile(r"^(من|who|whom|whose)\b")),
)

_MONTHS = (
    "يناير فبراير مارس ابريل مايو يونيو يوليو اغسطس سبتمبر اكتوبر نوفمبر ديسمبر كانون شباط اذار نيسان ايار "
    "حزيران تموز ايلول تشرين january february march april may june july august september october november "
    "december"
).split()
_NUMBER_WORDS = frozenset(
    (
        "واحد واحده اثنان اثنين اثنتان اثنتين ثلاث ثلاثه اربع اربعه خمس خمسه ست سته سبع سبعه ثمان ثماني ثمانيه "
        "تسع تسعه عشر عشره عشرون عشرين ثلاثون ثلاثين اربعون اربعين خمسون خمسين ستون ستين سبعون سبعين ثمانون "
        "ثمانين تسعون تسعين مائه مئه مئتان مئتين مائتان مائتين مئات الف الفان الفين الاف مليون مليونان ملايين "
        "مليار مليارات نصف ربع ثلث بالمئه بالمائه "
        "one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty sixty seventy "
        "eighty ninety hundred hundreds thousand thousands million millions billion half quarter percent"
    ).split()
)
_CENTURY_WORDS = frozenset(("قرن", "century", "centuries"))
# Clitics a number word may carry: "وأربعة", "بسبعة", "للثلاثة", "والعشرين".
_PROCLITIC = re.compile("^(و|ف)?(ب|ل|ك)?(ال|ل)?")
_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")
_DIGITS = re.compile(r"\d")
_ENGLISH_NAME = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*")


def asked_type(question: str) -> str | None:
    """NUMBER, DATE, PERSON or PLACE when the question clearly asks for one; else None."""
    text = " ".join(words(question))
    return next((kind for kind, cue in _QUESTION_CUES if cue.search(text)), None)


def _bare(token: str) -> str:
    """``token`` without its proclitics ("وأربعة" → "اربعه"). At least three letters must remain, so that
    "لست" ("I am not") is not read as "ست" (six)."""
    if token in _NUMBER_WORDS or token in _MONTHS:
        return token
    bare = _PROCLITIC.sub("", token, count=1)
    return bare if len(bare) >= 3 else token


def supplies(kind: str | None, sentence: str, question: str) -> bool:
    """Whether ``sentence`` holds something of ``kind`` that the question does not already contain."""
    if kind is None:
        return False
    tokens = set(words(sentence)) - set(words(question))
    if kind == DATE:
        return bool(_YEAR.search(" ".join(tokens))) or any(
            _bare(t) in _MONTHS or _bare(t) in _CENTURY_WORDS for t in tokens
        )
    if kind == NUMBER:
        return any(_DIGITS.search(t) or _bare(t) in _NUMBER_WORDS for t in tokens)
    if kind in (PERSON, PLACE):  # capitalised names: English only (Arabic script has no capitals)
        asked = set(normalise(question).split())
        return any(m.group(0).lower() not in asked for m in _ENGLISH_NAME.finditer(sentence))
    return False
