"""Boilerplate: what a news site wraps around an article, found line by line in its cleaned text.

Scraped news (SaudiNewsNet, saved pages) carries lines and line ends that answer nothing yet match
questions well: the site's link to the story repeats its title ("رابط الخبر بصحيفة الوئام: …"), a tag
list repeats its names ("سمات ريال مدريد كاسياس"), a byline or dateline stands alone ("عين اليوم –
متابعات"). Quoted as an answer they hide the sentence that holds it, so they are taken out before
chunking. Each rule names the shape it removes with an example from SaudiNewsNet
(tests/data/saudinewsnet_boilerplate.json); a line of the article itself never matches one.
"""

from __future__ import annotations

import re

_I = re.IGNORECASE
_WORD = r"[^\s.!?؟،,:؛]+"  # a word without sentence punctuation
_SOCIAL = (
    r"تويتر|فيسبوك|فيس بوك|جوجل بلس|جوجل\+|واتساب|واتس اب|انستقرام|انستغرام|تيليجرام|لينكد إن|يوتيوب"
    r"|twitter|facebook|google\+|google plus|whatsapp|instagram|telegram|linkedin|pinterest|youtube|e-?mail"
)

# Whole lines.
_NOISE_LINE = re.compile(  # ad slots, link buttons, page navigation
    r"^\W*(advertisement|advertisements|sponsored( content)?|إعلان|اعلان|إعلانات|اعلانات|مساحة إعلانية"
    r"|read more|read also|اقرأ أيضا|اقرأ أيضاً|اقرأ ايضا|شاهد أيضا|شاهد أيضاً|share( this)?|شارك|print|طباعة"
    r"|click here|اضغط هنا|المزيد|للمزيد|more|next|previous|next previous|التالي|السابق)\W*$",
    _I,
)
_ADDRESS_LINE = re.compile(r"^\W*(\S+@\S+\.\w+|(https?://|www\.)\S+)\W*$", _I)  # a byline's contact
_HANDLE_LINE = re.compile(rf"^\W*({_SOCIAL})\s*:\s*\S+$", _I)  # "تويتر: Arfaj1"
_SYMBOLS_LINE = re.compile(r"^[\W_]+$")  # "***", "* * *", ">"
_WIRE_MARK = re.compile(r"^/+\s*[^/]{1,20}?\s*/+$")  # the news agency's "// انتهى //", "// يتبع //"
# A byline or dateline alone, where the article opens: "عين اليوم – متابعات", "نايف عبدالله – جدة",
# "الرياضي ـ جدة" (further down the same shape is a fixture, "المغرب - غينيا الاستوائية"; with digits a
# list item, "8 - الخضراوات:").
_DATELINE = re.compile(r"^[^\W\d_]+([ /][^\W\d_]+){0,2} [–ـ-] [^\W\d_]+([ /][^\W\d_]+){0,2}$")
# The carrier block of a columnist's SMS address: "88591 - Stc", "تبدأ بالرمز (76) ثم مسافة ثم نص الرسالة إلى"
_CARRIER_LINE = re.compile(r"^[\d\s,،()\-–]*\d[\d\s,،()\-–]*(stc|mobily|zain|موبايلي|زين|الاتصالات)$", _I)
_SMS_CODE_LINE = re.compile(r"^(تبدأ بالرمز|ثم (نص )?الرسالة|ثم مسافة)")

# From a marker to the end of the line, wherever it starts (its words are the site's own).
_SITE_TAIL = re.compile(
    r"(رابط (الخبر|المقال|الموضوع) (بصحيفة|في صحيفة|على موقع)[^:\n]{0,40}:"  # "رابط الخبر بصحيفة الوئام: <title>"
    r"|(مقالات|كتابات) (أخرى|اخرى) لل?كاتب"  # "مقالات أخرى للكاتب<its other titles, run together>"
    r"|للتواصل\s+(مع الكاتب\s+)?[اأ]رسل\b"  # "…@yahoo.comللتواصل مع الكاتب ارسل رسالة SMS …"
    r").*$",
    _I,
)
# From a marker to the end of the line, at the line's start or right after a sentence ends.
_TAIL = re.compile(
    r"(^|(?<=[.!?؟…\"”»)\]]))\s*"
    r"((أخبار|اخبار|مقالات|مواضيع|موضوعات) (ذات صلة|متعلقة|مشابهة)\s*:?"
    r"|related (articles|stories|posts|news)\b|other articles by\b"
    r"|(/+|-)\s*(انتهى|إنتهى|يتبع)\s*(/+|-)\s*$"  # the agency's end mark after the last sentence
    # a tag list running to the line's end: "سمات ريال مدريد كاسياس", "Tags: oil, OPEC"
    rf"|(سمات|الوسوم|وسوم|كلمات دلالية|الكلمات الدلالية|tags|keywords)\s*:?([\s,،|]+{_WORD}){{1,25}}\s*$"
    r").*$",
    _I,
)
# Before the article on its line: the share bar "شارك من خلال تويتر فيسبوك جوجل بلس اكتب رأيك",
# the gallery's "Next Previous".
_HEAD = re.compile(
    rf"^\s*((شارك|share)(\s+(من خلال|عبر|on|via))?((\s+|\s*,\s*)({_SOCIAL}))+(\s+اكتب رأيك)?"
    r"|next\s+previous|previous\s+next)(?=\W|$)\s*",
    _I,
)

_WHOLE_LINES = (_NOISE_LINE, _ADDRESS_LINE, _HANDLE_LINE, _SYMBOLS_LINE, _WIRE_MARK, _CARRIER_LINE, _SMS_CODE_LINE)


def article_line(line: str, opening: bool = False) -> str:
    """``line`` (spaces already collapsed, stripped) without what the site added before or after the
    article on it; "" when none of it is the article's. ``opening``: no line of the article came before."""
    line = _TAIL.sub("", _SITE_TAIL.sub("", _HEAD.sub("", line))).strip()
    if not line or any(rule.match(line) for rule in _WHOLE_LINES) or (opening and _DATELINE.match(line)):
        return ""
    return line
