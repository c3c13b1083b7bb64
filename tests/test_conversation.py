"""rag_qa.conversation: which chat questions are read together with the previous one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag_qa.conversation import context_for, is_follow_up

DATA = Path(__file__).parent / "data"
SET = json.loads((DATA / "follow_ups.json").read_text(encoding="utf-8"))
MAX_STANDALONE_MERGED = 0.05
MIN_FOLLOW_UPS_MERGED = 0.90


def test_the_measurement_set_is_what_it_claims() -> None:
    standalone, follow_ups = SET["standalone"], SET["follow_up"]
    assert len(standalone) >= 50 and len(follow_ups) >= 25
    assert not [q for q in standalone if len(q.split()) > 7], "standalone questions must be short (≤ 7 words)"
    assert not set(standalone) & set(follow_ups)
    for questions in (standalone, follow_ups):
        arabic = sum(1 for q in questions if any("\u0600" <= c <= "\u06ff" for c in q))
        assert 0.35 <= arabic / len(questions) <= 0.65, "about half Arabic, half English"


def test_measurement_few_standalone_questions_merged_most_follow_ups_merged() -> None:
    wrongly_merged = [q for q in SET["standalone"] if is_follow_up(q)]
    missed = [q for q in SET["follow_up"] if not is_follow_up(q)]
    standalone_share = len(wrongly_merged) / len(SET["standalone"])
    follow_up_share = 1 - len(missed) / len(SET["follow_up"])
    print(
        f"\nstandalone merged: {standalone_share:.1%} ({len(wrongly_merged)}/{len(SET['standalone'])}) {wrongly_merged}"
        f"\nfollow-ups merged: {follow_up_share:.1%} ({len(SET['follow_up']) - len(missed)}/{len(SET['follow_up'])}),"
        f" missed {missed}"
    )
    assert standalone_share <= MAX_STANDALONE_MERGED, f"standalone questions read as follow-ups: {wrongly_merged}"
    assert follow_up_share >= MIN_FOLLOW_UPS_MERGED, f"follow-ups read as standalone: {missed}"


@pytest.mark.parametrize(
    "question",
    [
        "ما عاصمة أستراليا؟",
        "ماذا قال نتنياهو عن رفح؟",
        "who led the US side?",
        "وزير الخارجية السعودي من هو؟",
        "من هو رئيس وزراء بريطانيا؟",
        "Is it true that Saudi Arabia hosted the summit?",
        "Is there a ceasefire in Gaza?",
        "",
    ],
)
def test_standalone(question: str) -> None:
    assert not is_follow_up(question)


@pytest.mark.parametrize(
    "question",
    ["والجانب الإسرائيلي؟", "and the Israeli side?", "و ماذا عن غزة؟", "فمن قاده؟", "Who was there?", "متى؟"],
)
def test_follow_up(question: str) -> None:
    assert is_follow_up(question)


def test_context_for_a_follow_up_of_a_follow_up_carries_back_to_the_last_standalone_question() -> None:
    earlier = ["ما عاصمة أستراليا؟", "من قاد الجانب الأمريكي في الاجتماع؟", "والجانب الإسرائيلي؟"]
    assert context_for("ومتى؟", earlier) == "من قاد الجانب الأمريكي في الاجتماع؟ والجانب الإسرائيلي؟"
    assert context_for("and the Israeli side?", ["Who led the US side?"]) == "Who led the US side?"


def test_context_for_a_standalone_question_or_no_earlier_question_is_none() -> None:
    assert context_for("ما عاصمة أستراليا؟", ["من قاد الجانب الأمريكي في الاجتماع؟"]) is None
    assert context_for("who led the US side?", ["When was the meeting held?"]) is None
    assert context_for("والجانب الإسرائيلي؟", []) is None
    assert context_for("and the Israeli side?", ["", "  "]) is None


def test_context_for_when_every_earlier_question_is_a_follow_up_keeps_them_all() -> None:
    assert context_for("why?", ["and then?", "when?"]) == "and then? when?"
