"""Every notification rule has its words in every language of the one catalogue, so a new
rule cannot reach an official as a bare key."""

from __future__ import annotations

import pytest

from services.notifier.rules import UNIT_RULES, Rule
from shared.domain.progress import Status
from shared.wording import VOCABULARIES, Vocabulary


@pytest.mark.parametrize("words", VOCABULARIES.values(), ids=VOCABULARIES.keys())
def test_every_rule_and_status_has_its_words(words: Vocabulary) -> None:
    assert set(words.statuses) == set(Status)
    assert set(words.rules) == {str(rule) for rule in Rule}
    assert set(words.subjects) == {str(rule) for rule in Rule}
    assert {str(rule) for rule in UNIT_RULES} <= set(words.sentences)


def test_numbers_shares_and_days_follow_the_language() -> None:
    vi, en = VOCABULARIES["vi"], VOCABULARIES["en"]
    assert (vi.number(13_500), en.number(13_500)) == ("13.500", "13,500")
    assert (vi.percent(0.674), en.percent(0.674)) == ("67,4 %", "67.4%")
    assert (vi.share(0.8), vi.share(0.667)) == ("80 %", "66,7 %")
    assert [vi.days_left(n) for n in (0, 1, 19)] == [
        "hôm nay là ngày cuối",
        "còn 1 ngày",
        "còn 19 ngày",
    ]
