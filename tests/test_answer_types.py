"""Questions that ask for a number, a date, a person or a place prefer sentences that hold one."""

from __future__ import annotations

import pytest

from rag_qa.answer_spans import supplies
from rag_qa.answer_types import DATE, NUMBER, PERSON, PLACE, asked_type


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("كم عدد النقاط التي سجلها الفريق؟", NUMBER),
        ("How many points did the Panthers defense surrender?", NUMBER),
        ("متى بدأ التحقيق؟", DATE),
        ("إلى متى استمر الطاعون؟", DATE),
        ("In which year was the university founded?", DATE),
        ("من قاد الجانب الأمريكي في الاجتماع؟", PERSON),
        ("Who led the US side?", PERSON),
        ("أين عقد الاجتماع؟", PLACE),
        ("Where did the negotiators meet?", PLACE),
        ("لماذا ارتفعت الأسعار؟", None),
        ("What did the report say about prices?", None),
    ],
)
def test_question_types(question, kind):
    assert asked_type(question) == kind


def test_a_sentence_supplies_what_the_question_lacks():
    assert supplies(NUMBER, "سجل الفريق 308 نقاط هذا الموسم.", "كم نقطة سجل الفريق؟")
    assert supplies(NUMBER, "قتل ثلاثة أشخاص في الحادث.", "كم عدد القتلى؟")
    assert not supplies(NUMBER, "سجل الفريق نقاطا كثيرة.", "كم نقطة سجل الفريق؟")
    assert supplies(DATE, "تأسست الجامعة عام 1908 في القاهرة.", "متى تأسست الجامعة؟")
    assert supplies(DATE, "وصل الوفد في مارس الماضي.", "متى وصل الوفد؟")
    assert not supplies(DATE, "In 2015 the team scored 308 points.", "How many points in 2015?")  # 2015 is asked
    assert supplies(PERSON, "The delegation was led by Jake Sullivan.", "Who led the delegation?")
    assert not supplies(PERSON, "The delegation was led by the adviser.", "Who led the delegation?")
    assert not supplies(None, "Anything at all 2015.", "Why?")


def test_number_words_carry_clitics_and_dates_may_be_centuries():
    assert supplies(NUMBER, "وسجل المهاجم بأربعة أهداف.", "كم هدفا سجل المهاجم؟")  # bi- + arbaʿa
    assert supplies(NUMBER, "قاد الفريق للمرة والعشرين.", "كم مرة قاد الفريق؟")  # wa- + al- + ʿishrīn
    assert supplies(NUMBER, "يمثل الأمازون أكثر من نصف الغابات.", "ما نسبة الغابات؟")
    assert not supplies(NUMBER, "وسجل المهاجم أهدافا كثيرة.", "كم هدفا سجل المهاجم؟")
    assert supplies(NUMBER, "وفاز الفريق بستة أهداف.", "كم هدفا سجل الفريق؟")
    assert not supplies(NUMBER, "قال المدرب: لست متأكدا من النتيجة.", "كم هدفا سجل الفريق؟")  # "I am not", not "six"
    assert supplies(DATE, "ظل الطاعون حتى القرن التاسع عشر.", "إلى متى استمر الطاعون؟")
