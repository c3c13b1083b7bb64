"""Which chat questions are elliptical follow-ups, to be read together with the previous question.

The chat gives retrieval the previous question as context when a question cannot stand alone ("and the
Israeli side?"). Merging an unrelated short question ("ما عاصمة أستراليا؟", "who led the US side?") makes it
retrieve, and cite, the previous topic's article. So a question is a follow-up only when it leans back:

1. it opens with a continuation: "and", "also", "but", "then", "what about", "so what"…; Arabic و/ف attached
   to a function word ("وماذا عن رفح؟", "فمن قاده؟") or to an article noun ("والجانب الإسرائيلي؟"), not to a
   noun that just begins with و/ف ("وزير", "وكالة", "ولاية", "فرنسا");
2. it has no content word of its own ("why?", "متى؟", "كيف ذلك؟");
3. a pronoun or demonstrative points back and it has at most MAX_CONTENT_WORDS_WITH_POINTER content words
   ("What did he say?", "ماذا قال عنه؟", "ما عاصمتها؟"). Not pointing back: the copula after a question word
   ("من هو رئيس وزراء بريطانيا؟"), existential and dummy subjects ("Is there a ceasefire?", "Is it raining
   in London?"), "this week" / "هذا العام", and pronouns of a topic fronted in the question ("فرنسا من يحكمها؟").

Content words: the project analyser's words (rag_qa.textnorm) less stopwords, question and discourse words.
On tests/data/follow_ups.json, with 2 content words: 0 of 111 standalone questions merged, 69 of 73 follow-ups
(1 also loses "What did they decide about Gaza?"; 3 changes nothing there); its last 30 standalone questions
and 16 follow-ups were written after the rules, as a held-out check: 0 and 16 merged. Missed: follow-ups with nothing
to see ("كم استمر؟", "How many died?", "What happened next?", "من اخترعه؟": a verb's object ه, once
normalised, is spelt like the taa marbuta).
"""

from __future__ import annotations

from collections.abc import Sequence

from .textnorm import STOPWORDS, normalise, words


def _normalised(text: str) -> frozenset[str]:
    return frozenset(normalise(word) for word in text.split())


MAX_CONTENT_WORDS_WITH_POINTER = 2
# "it" is also the dummy subject of weather, time and extraposition ("Is it raining in London?",
# "What time is it in Tokyo?", "Is it safe to travel to Egypt?"): it points back only with less content.
MAX_CONTENT_WORDS_WITH_IT = 1
ENGLISH_CONTINUATION_OPENERS = frozenset({"and", "also", "but", "then", "plus"})
ENGLISH_CONTINUATION_OPENING_PAIRS = frozenset({"what about", "how about", "what else", "who else", "so what"})
# Before هو/هي these make a copula ("ما هي عاصمة فرنسا؟"); هل does not ("هل هو متزوج؟" = is he married?).
ARABIC_COPULA_QUESTION_WORDS = _normalised("ما ماذا من متى أين كيف كم لماذا أي مين شو وين ليش امتى")
QUESTION_WORDS = ARABIC_COPULA_QUESTION_WORDS | _normalised("what which who whom whose when where why how هل ايش")
# Words the analyser keeps (not in STOPWORDS) that carry no topic of their own.
DISCOURSE_WORDS = _normalised(
    "much many else really exactly now still yet ever also may might must shall since until because whether "
    "instead anyway ok okay well الآن إذن بالضبط حقا فعلا كذلك أيضا طيب حسنا"
)
ENGLISH_POINTERS = frozenset(
    "he she they him her them his hers its their theirs it this that these those there".split()
)
ENGLISH_BE_FORMS = frozenset({"is", "are", "was", "were", "be", "been"})
PROXIMAL_DEMONSTRATIVES = _normalised("this these هذا هذه")
TIME_NOUNS_AFTER_THIS = _normalised(
    "year week month morning evening afternoon weekend season summer winter spring autumn days "
    "العام السنة الأسبوع الشهر اليوم الصباح المساء الموسم الصيف الشتاء الليلة الأيام"
)
ARABIC_INDEPENDENT_PRONOUNS = _normalised("هو هي هم هما هن")
ARABIC_POINTERS = (
    ARABIC_INDEPENDENT_PRONOUNS
    | _normalised("هذا هذه ذلك تلك ذاك هناك هنالك هؤلاء أولئك")
    | frozenset(  # a preposition with an attached pronoun: عنه لها منهم فيه إليه عليها به بعدها…
        preposition + suffix
        for preposition in _normalised("عن ل من في مع إلي علي ب بعد قبل عند حول ضد دون بين")
        for suffix in ("ه", "ها", "هم", "هما", "هن")
    )
)
# An attached pronoun on any other word ("عاصمتها", "قادهم"). The bare ه is left out: normalised, it is
# also the taa marbuta of "عاصمة".
ARABIC_ATTACHED_PRONOUNS = ("هما", "هم", "ها")
MIN_LETTERS_BEFORE_ATTACHED_PRONOUN = 3
ARABIC_CONJUNCTIONS = frozenset({"و", "ف"})
ARABIC_PROCLITICS = frozenset("وفبلك")
ARABIC_WORDS_AFTER_CONJUNCTION = ARABIC_POINTERS | _normalised(
    "ما ماذا من متى أين كيف كم هل لماذا أي في عن على إلى مع بعد قبل منذ حول ضد بين عند لكن كذلك أيضا"
)
ARTICLE = "ال"
MIN_LETTERS_AFTER_ARTICLE = 4


def _forms(word: str, depth: int = 1) -> list[str]:
    """The word and what remains without up to `depth` Arabic proclitics ("وبذلك" → بذلك, ذلك)."""
    forms = [word]
    while depth and len(forms[-1]) > 2 and forms[-1][0] in ARABIC_PROCLITICS:
        forms.append(forms[-1][1:])
        depth -= 1
    return forms


def _is_function_word(word: str) -> bool:
    return any(form in STOPWORDS or form in QUESTION_WORDS or form in DISCOURSE_WORDS for form in _forms(word))


def _is_pointer_word(word: str) -> bool:
    """A pronoun, demonstrative or preposition+pronoun: it points, and has no content of its own."""
    return word in ENGLISH_POINTERS or any(form in ARABIC_POINTERS for form in _forms(word, depth=2))


def _is_content_word(word: str) -> bool:
    return not _is_function_word(word) and not _is_pointer_word(word) and (len(word) > 1 or word.isdigit())


def _opens_with_continuation(tokens: list[str]) -> bool:
    first = tokens[0]
    if first in ENGLISH_CONTINUATION_OPENERS or " ".join(tokens[:2]) in ENGLISH_CONTINUATION_OPENING_PAIRS:
        return True
    if first == "so" and len(tokens) > 1 and _is_function_word(tokens[1]):
        return True
    if first in ARABIC_CONJUNCTIONS:  # "و ماذا عن…" typed with a space
        rest = tokens[1] if len(tokens) > 1 else ""
    elif first[:1] in ARABIC_CONJUNCTIONS:
        rest = first[1:]
    else:
        return False
    if rest.startswith(ARTICLE):  # "والجانب", not "والد"
        return len(rest) - len(ARTICLE) >= MIN_LETTERS_AFTER_ARTICLE
    return any(form in ARABIC_WORDS_AFTER_CONJUNCTION for form in _forms(rest))


def _points_back(tokens: list[str], position: int) -> bool:
    word = tokens[position]
    before = tokens[position - 1] if position else ""
    after = tokens[position + 1] if position + 1 < len(tokens) else ""
    if word in PROXIMAL_DEMONSTRATIVES and after in TIME_NOUNS_AFTER_THIS:
        return False  # "this week", "هذا العام": the present, not the previous answer
    if word == "there":  # existential in "there is…", "is there a ceasefire?"; not in "who was there?"
        return not (after in ENGLISH_BE_FORMS or (before in ENGLISH_BE_FORMS and after))
    if word in ARABIC_INDEPENDENT_PRONOUNS and any(form in ARABIC_COPULA_QUESTION_WORDS for form in _forms(before)):
        return False  # the copula of "من هو رئيس الوزراء؟" (is_follow_up checks content first: "من هو؟")
    if _is_pointer_word(word):
        return True
    return not any(form.startswith(ARTICLE) for form in _forms(word)) and any(
        word.endswith(suffix) and len(word) - len(suffix) >= MIN_LETTERS_BEFORE_ATTACHED_PRONOUN
        for suffix in ARABIC_ATTACHED_PRONOUNS
    )


def _fronts_a_topic(tokens: list[str]) -> bool:
    """A topic put before the question word is what the pronouns refer to: "فرنسا من يحكمها؟"."""
    asks = [i for i, word in enumerate(tokens) if any(form in QUESTION_WORDS for form in _forms(word))]
    return bool(asks) and asks[0] > 0 and _is_content_word(tokens[0])


def is_follow_up(question: str) -> bool:
    """True when ``question`` only makes sense read together with the previous question."""
    tokens = words(question)
    if not tokens:
        return False
    if _opens_with_continuation(tokens):
        return True
    content = [word for word in tokens if _is_content_word(word)]
    if not content:
        return True
    if len(content) > MAX_CONTENT_WORDS_WITH_POINTER or _fronts_a_topic(tokens):
        return False
    pointers = [word for i, word in enumerate(tokens) if _points_back(tokens, i)]
    return any(word != "it" for word in pointers) or (bool(pointers) and len(content) <= MAX_CONTENT_WORDS_WITH_IT)


def context_for(question: str, earlier: Sequence[str]) -> str | None:
    """The text to read `question` with, or None when it stands alone. `earlier` = the previous user
    questions, oldest first. When question is a follow-up: the previous questions back to (and including)
    the last standalone one, joined with a space (so a follow-up of a follow-up keeps the topic), or None if
    there is no earlier question."""
    previous = [text.strip() for text in earlier if text and text.strip()]
    if not previous or not is_follow_up(question):
        return None
    start = len(previous) - 1
    while start > 0 and is_follow_up(previous[start]):
        start -= 1
    return " ".join(previous[start:])
