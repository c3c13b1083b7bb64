"""The answer quotes whole sentences: initials inside names do not end a sentence."""

from __future__ import annotations

import pytest

from rag_qa import RagQA, build_index
from rag_qa.sentences import sentence_spans

HYMN = (
    "كتب لوثر ترنيمته باللغة الألمانية عام 1529 وانتشرت بسرعة في الكنائس. "
    "وتعرف في الإنجليزية عادةً بترجمة جون سي. ميسنجر التي نشرت في لندن. "
    "وقد غنيت الترنيمة على لحن قديم في القرن السادس عشر."
)


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        # a Latin initial spelled in Arabic letters, or a lone letter, inside a name
        (HYMN, 3),
        ("كتبها ميشيل إ. مان و رايموند إس. برادلي عام 1999. ثم نشرت.", 2),
        ("The graph by Michael E. Mann was cited. It was then redrawn.", 2),
        ("قال م. ثيو كيرني إن الحي قديم. وغادر.", 2),
        ("بدأ رئيس البلدية و. هايدون بيرنز مشاريع جديدة. ثم غادر.", 2),
        # a number before the letter: the era letter closes the sentence
        ("ولد عام 1990 م. انتقل بعدها إلى القاهرة.", 2),
        # a spelled letter after a word with the article names a thing (hypothesis H): the sentence ends
        ("هذه حالات خاصة لفرضية شينزل الواسعة اتش. يقول تخمين بروكارد إن ذلك صحيح.", 2),
        # an acronym ends the sentence when a function word opens the next one
        ("كذلك الذي سبق أن قدمته بي سكاي بي. وقد وافقت الشركتان.", 2),
        ("He took vitamin D. The doctor agreed with John F. Kennedy. Then he left.", 3),
        # an ordinary word of two letters still ends one
        ("وصل الوفد إلى هنا. ثم غادر إلى لندن؟ نعم.", 3),
        # a title right after another sentence's end opens the next sentence, it is not one of its own
        ("ومؤلف كتاب «كيف نفهم الغضب؟» د. عثمان العصفور إن المرء يغضب. وقال أ. محمد شيئا.", 3),
        ("The panel agreed. Dr. Smith said so. هل وافق؟ لا. ثم غادر.", 5),
        ("line one\nline two", 2),
    ],
)
def test_sentence_spans(text, sentences):
    spans = sentence_spans(text)
    assert len(spans) == sentences
    assert all(text[start:end] == text[start:end].strip() and text[start:end] for start, end in spans)


def test_answer_quotes_a_name_with_a_spelled_initial_whole(tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "hymn.txt").write_text("ترنيمة لوثر\n\n" + HYMN, encoding="utf-8")
    build_index([folder], tmp_path / "index", model="none")
    answer = RagQA.load(tmp_path / "index").ask("من هو مترجم الترنيمة إلى الإنجليزية؟")
    assert answer.found
    assert "جون سي. ميسنجر" in answer.text
