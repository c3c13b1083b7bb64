"""What a question asks for: the *kind* of answer (a number, a date, a person, a place, another name)
and its *focus*, the attribute it names ("عدد الطوابع", "the depth", "المتحدث", "which company").

``analyse`` reads both from question words in Arabic and English; a measuring question's focus also
names the units its answer is counted in ("ما طول …" → كيلومتر, متر). Where a sentence holds such an
answer is answer_spans.py's part. Text is compared in normalised form (textnorm.normalise): "متى" is
written "متي" and "أين" "اين" here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .textnorm import STOPWORDS, normalise, stem, words

NUMBER, DATE, PERSON, PLACE, NAME = "number", "date", "person", "place", "name"

# Classes a question can name after "أي" / "which": where the answer is a place, an organisation or a person.
_PLACE_CLASSES = frozenset(
    normalise(w)
    for w in (
        "مدينة دولة بلد مكان منطقة محافظة قرية حي ميقات موقع ملعب استاد مستشفى متنزه حديقة مركز جامعة مدرسة شارع "
        "طريق مطار ميناء منفذ سجن فندق ولاية جزيرة بحيرة مسجد هجرة مقبرة عاصمة إقليم مخيم معسكر قارة محطة سوق "
        "city country town village region province governorate state area place site post stadium hospital park "
        "mall centre center university school street road airport port prison hotel island lake mosque capital "
        "camp grounds venue district neighbourhood neighborhood continent station market"
    ).split()
)
_PERSON_CLASSES = frozenset(
    normalise(w)
    for w in (
        "official surgeon doctor daughter son man woman player coach minister president officer spokesman "
        "spokeswoman ambassador patient king prince princess author artist writer director manager chairman "
        "head leader researcher scientist singer actor actress footballer judge lawyer employee person"
    ).split()
)
_ATTRIBUTES = (
    "عدد|نسبه|مقدار|حجم|طول|مساحه|ارتفاع|عمر|عمق|كميه|قيمه|تكلفه|مده|سعر|سعه|مسافه|حصيله|اجمالي|معدل|"
    "رصيد|ميزانيه|عدد سكان|سن"
)
_QUESTION_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        DATE,
        re.compile(
            r"^((الي|حتي) )?(متي)\b|\b(في |حتي |منذ )?(اي|اية|ايه) (عام|سنه|سنة|يوم|شهر|تاريخ|قرن|موعد)\b"
            r"|\b(ما|ماهو) (هو |هي )?(ال)?(تاريخ|موعد|يوم)\b"
            r"|^(until |since |by )?when\b|\bwhat (new )?(year|date|day|month|century|time)\b"
            r"|\b(in|on|until|by|since) (which|what) (year|date|day|month|century)\b"
        ),
    ),
    (
        NUMBER,
        re.compile(
            r"^(كم|بكم)\b|\b(اصل|بعد|منذ|ب) كم\b|\bكم (عدد|مره|شخصا|نسبه)\b"
            rf"|\b(ما|ماهو) (هو |هي )?(اقصي |ادني |اعلي |(ال)?حد (ال)?(ادني|اقصي) (ل|ل)?)?(ال)?({_ATTRIBUTES})"
            r"|\b(ما|ماهو) (هو |هي )?(ال)?حد (ال)?(ادني|اقصي)\b|\b(اي|ايه) (سعه|نسبه|عدد|مبلغ)\b"
            r"|\bhow (many|much|long|old|far|tall|large|big|deep|high|wide|often)\b"
            r"|\bwhat (is |was |were |will be |are )?(the )?(total |maximum |minimum |average |new )?"
            r"(percentage|number|amount|total|cost|price|size|depth|length|capacity|population|age|share|value"
            r"|sum|figure|height|area|distance|rate|toll)\b|\bwhat (age|percentage|number|amount)\b"
            r"|^what did .+ (cost)\b"
        ),
    ),
    (PLACE, re.compile(r"^(اين|where)\b|\b(الي|من) اين\b")),
    (
        PERSON,
        re.compile(
            r"^(من) (?!(اي|ايه|اصل|كم|بين|خلال)\b)|^من$"
            r"|\b(ما|ماهو) (هو |هي )?(اسم|اسما|اسماء)\b(?! (ال)?(شركه|مصرف|بنك))"
            r"|^(who|whom|whose)\b|\bwhat (is |was |were |are )?the names? of (the )?(?!(company|firm|bank|group|film))"
        ),
    ),
)
_WHICH = re.compile(r"\b(?:[لبو])?(اي|ايه|اية|which|what)\s+(\w+)")
_ATTRIBUTE_WORD = re.compile(
    r"\b(ال)?(نسبه|مقدار|حجم|طول|مساحه|ارتفاع|عمر|عمق|كميه|قيمه|تكلفه|مده|سعر|سعه|مسافه|حصيله|موعد|تاريخ)\b"
    r"|\b(percentage|amount|cost|price|size|depth|length|capacity|population|age|share|value|height|area|distance"
    r"|rate|toll|far|long|old|deep|high|tall|wide)\b"
)
# "ما الشركة التي …", "ما اسم المهرجان …": a named thing (not "ما هو المصطلح …", which asks for a definition)
_NAMED_CLASSES = (
    "شركه|مصرف|بنك|جهه|مؤسسه|منظمه|هيئه|نادي|فريق|منتخب|عمله|فيلم|مهرجان|صحيفه|قناه|حزب|جامعه|مدينه|دوله|"
    "منطقه|محافظه|مستشفي|ملعب|فاكهه|رواية|روايه|كتاب|برنامج|مشروع|جائزه|بطوله|مسلسل|اغنيه|سياره|طائره"
)
_WHAT_CLASS = re.compile(rf"^(ما|ماهو|ماهي) (هو |هي )?(ال)?({_NAMED_CLASSES}|نوع|اسم)\b")
_QUESTION_WORDS = frozenset(
    normalise(w)
    for w in (
        "كم بكم ما ماذا متى أين من هو هي أي أية اسم اسما عدد نوع كمية which what who whom whose when where how "
        "many much name names number kind type is was were are the of did does do will be بلغ تبلغ بلغت يبلغ سيبلغ "
        "المقرر"
    ).split()
)
_MODIFIERS = frozenset(normalise(w) for w in "أقصى أدنى أعلى الحد الأدنى الأقصى إجمالي total maximum minimum".split())

MONTHS = frozenset(
    (
        "يناير فبراير مارس ابريل مايو يونيو يوليو اغسطس سبتمبر اكتوبر نوفمبر ديسمبر كانون شباط اذار نيسان ايار "
        "حزيران تموز ايلول تشرين محرم صفر ربيع جمادي رجب شعبان رمضان شوال القعده الحجه "
        "january february march april may june july august september october november december"
    ).split()
)
NUMBER_WORDS = frozenset(
    (
        "واحد واحده اثنان اثنين اثنتان اثنتين ثلاث ثلاثه اربع اربعه خمس خمسه ست سته سبع سبعه ثمان ثماني ثمانيه "
        "تسع تسعه عشر عشره عشرون عشرين ثلاثون ثلاثين اربعون اربعين خمسون خمسين ستون ستين سبعون سبعين ثمانون "
        "ثمانين تسعون تسعين مائه مئه مئتان مئتين مائتان مائتين مئات الف الفان الفين الاف مليون مليونان ملايين "
        "مليار مليارات نصف ربع ثلث بالمئه بالمائه "
        "one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty sixty seventy "
        "eighty ninety hundred hundreds thousand thousands million millions billion half quarter percent"
    ).split()
)
# Clitics a number word may carry: "وأربعة", "بسبعة", "للثلاثة", "والعشرين".
_PROCLITIC = re.compile("^(و|ف)?(ب|ل|ك)?(ال|ل)?")
# What a measured attribute is counted in: "ما طول الخط؟" is answered by "1250 كيلومترا", "what did it
# cost?" by "450 مليون ريال", whatever the sentence's own words for length or cost.
_DISTANCE = (
    "متر مترا امتار كيلومتر كيلومترا كيلومترات كلم كم ميل اميال "
    "meter meters metre metres km kilometer kilometers kilometre kilometres mile miles"
)
_MONEY = (
    "ريال ريالا ريالات دولار دولارا دولارات يورو جنيه جنيها درهم درهما دينار دينارا "
    "riyal riyals dollar dollars euro euros pound pounds"
)
_TIME = (
    "يوم يوما ايام اسبوع اسابيع شهر اشهر شهور سنه سنوات عام عاما اعوام ساعه ساعات دقيقه دقائق "
    "day days week weeks month months year years hour hours minute minutes"
)
_MEASURES = (
    ("طول مسافه عمق ارتفاع عرض يبعد تبعد length distance depth height far long deep high tall wide", _DISTANCE),
    ("تكلفه التكلفه كلفه قيمه القيمه سعر السعر مبلغ ميزانيه cost price value worth budget", _MONEY),
    ("مده المده عمر العمر age old duration long", _TIME),
    ("مساحه المساحه area", "متر كيلومتر هكتار دونم meter kilometer hectare"),
    ("نسبه النسبه percentage share rate", "% بالمئه بالمائه المئه المائه percent"),
)
_UNIT_OF: dict[str, str] = {}
for _attributes, _units in _MEASURES:
    for _attribute in _attributes.split():
        _UNIT_OF[_attribute] = f"{_UNIT_OF.get(_attribute, '')} {_units}".strip()  # "long": a length or a time
# The Arabic word an English question's measured attribute is written with, so that its place in an Arabic
# sentence is found ("How deep …?" → "وعمقه يصل إلى 26 مترا").
ARABIC_ATTRIBUTE = {
    "deep": "عمق", "depth": "عمق", "long": "طول", "length": "طول", "far": "يبعد", "distance": "مسافه",
    "cost": "تكلفه", "price": "سعر", "wide": "عرض", "width": "عرض", "high": "ارتفاع", "tall": "ارتفاع",
    "height": "ارتفاع", "area": "مساحه", "old": "عمر", "age": "عمر",
}  # fmt: skip


@dataclass(frozen=True)
class Asked:
    """What a question asks for: the answer's ``kind`` (None: any), the ``focus`` words (normalised) that
    name the asked attribute, and the focus as written (``focus_text``), to match across languages."""

    kind: str | None
    focus: tuple[str, ...] = ()
    focus_text: str = ""

    @property
    def focus_terms(self) -> frozenset[str]:
        return frozenset(stem(w) for w in self.focus)

    @property
    def units(self) -> frozenset[str]:
        """The units an answer to a measuring question is counted in (see _UNIT_OF); empty otherwise."""
        if self.kind != NUMBER:
            return frozenset()
        return frozenset(u for w in self.focus for u in _UNIT_OF.get(w, "").split())


def asked_type(question: str) -> str | None:
    """NUMBER, DATE, PERSON, PLACE or NAME when the question clearly asks for one; else None."""
    return analyse(question).kind


@lru_cache(maxsize=4096)
def analyse(question: str) -> Asked:
    """The kind of answer ``question`` asks for and its focus (see the module's docstring)."""
    text = " ".join(words(question))
    kind, end = None, 0
    for name, cue in _QUESTION_CUES:
        found = cue.search(text)
        if found:
            kind, end = name, found.end()
            break
    which = _WHICH.search(text)
    if which and (kind is None or (kind == PERSON and which.start() < 4)):
        noun = bare_word(which.group(2))
        if which.group(1) == "what" and noun in _QUESTION_WORDS:
            which = None
        else:
            kind, end = _class_kind(noun, which.group(2)), which.start(2)
    if kind is None:
        found = _WHAT_CLASS.search(text)
        if found:
            kind, end = NAME, found.start(4)
    attribute = _ATTRIBUTE_WORD.search(text[:end]) if kind else None
    if attribute and kind in (NUMBER, DATE):  # "ما أقصى عمق …", "what is the total cost of …": the attribute
        end = attribute.start()
    focus = tuple(
        w for w in text[end:].split() if w not in STOPWORDS and w not in _QUESTION_WORDS and len(w) > 1
    )
    focus = tuple(w for w in focus if w not in _MODIFIERS)[:2] if kind else ()
    if kind == PERSON and focus and re.fullmatch(f"(ال)?({_NAMED_CLASSES})", bare_word(focus[0])):
        kind = NAME  # "ما اسم المهرجان …" asks for a festival's name, not a person's
    return Asked(kind, focus, " ".join(focus))


def _class_kind(noun: str, written: str) -> str:
    if noun in _PLACE_CLASSES or written in _PLACE_CLASSES:
        return PLACE
    if written in _PERSON_CLASSES:
        return PERSON
    if noun in ("سعه", "نسبه", "عدد", "مبلغ"):
        return NUMBER
    return NAME


@lru_cache(maxsize=65536)
def bare_word(token: str) -> str:
    """``token`` without its proclitics ("وأربعة" → "اربعه"). At least three letters must remain, so that
    "لست" ("I am not") is not read as "ست" (six)."""
    if token in NUMBER_WORDS or token in MONTHS:
        return token
    bare = _PROCLITIC.sub("", token, count=1)
    return bare if len(bare) >= 3 else token


