"""What a question asks for: the kind of answer (a number, a date, a name) and, for a number, what it
measures (money, a share, a duration, a distance, an age, a weight)."""

from __future__ import annotations

import pytest

from bot.core.questions import AnswerKind, Measure, answer_kind, answer_measure, counted_terms


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many people work there?", AnswerKind.NUMBER),
        ("When did the bank raise rates?", AnswerKind.DATE),
        ("Who leads the retrial?", AnswerKind.NAME),
        ("Which company bought the chain?", AnswerKind.NAME),
        ("When the bank held rates, how fast was debt growing?", AnswerKind.NUMBER),
        ("Why did the talks fail?", None),
    ],
)
def test_the_kind_of_answer_comes_from_the_main_wh_phrase(question: str, kind: AnswerKind | None) -> None:
    assert answer_kind(question) == kind


@pytest.mark.parametrize(
    ("question", "measure"),
    [
        ("How much would the new bridge over the river cost?", Measure.MONEY),
        ("What was the average price of a home in London?", Measure.MONEY),
        ("How much did the club pay for the striker?", Measure.MONEY),
        ("How high did the oil price go?", Measure.MONEY),
        ("By how much did exports grow in 2004?", Measure.SHARE),
        ("What share of listeners are in Spain?", Measure.SHARE),
        ("How far had asking prices dropped since the summer?", Measure.SHARE),
        ("How long is the manager's contract?", Measure.DURATION),
        ("How many minutes did the match last?", Measure.DURATION),
        ("From how far out did he kick the penalty?", Measure.DISTANCE),
        ("How old was the coach when he died?", Measure.AGE),
        ("How much does the laptop weigh?", Measure.WEIGHT),
        ("How many people work there?", None),  # a count: any number
        ("Who paid for the bridge?", None),  # not a number at all
    ],
)
def test_a_number_asked_for_carries_the_unit_of_what_it_measures(
    question: str, measure: Measure | None
) -> None:
    assert answer_measure(question) == measure


@pytest.mark.parametrize(
    "question",
    [
        "What pay rise ended the port strike?",  # a change, not a sum
        "How far over its limit was the lorry?",  # an excess, in any unit
        "How much did the film make at the box office?",  # (an everyday verb: no unit is certain)
    ],
)
def test_a_question_unclear_about_its_unit_names_none(question: str) -> None:
    assert answer_measure(question) is None


def test_how_much_of_asks_for_a_share() -> None:
    assert answer_measure("How much of the phone's processing power do the games take up?") is Measure.SHARE


@pytest.mark.parametrize(
    ("question", "counted"),
    [
        ("How many mobiles did passengers leave behind?", {"mobil"}),
        ("Roughly how many Commons seats would go?", {"common", "seat"}),
        ("How many of them had it caught?", set()),  # no noun follows
        ("How many were killed in the blast?", set()),
        ("How many years has he presented it?", set()),  # a duration, in years
        ("What did the firm buy?", set()),  # not a count
    ],
)
def test_a_count_names_what_it_counts(question: str, counted: set[str]) -> None:
    assert counted_terms(question) == counted
