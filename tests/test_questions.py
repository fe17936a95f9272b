"""What a question asks for: the kind of answer (a number, a date, a name) and, for a number, what it
measures (money, a share, a duration, a distance, an age, a weight)."""

from __future__ import annotations

import pytest

from bot.core.questions import (
    AnswerKind,
    Measure,
    answer_kind,
    answer_measure,
    asks_for_year,
    counted_terms,
    named_terms,
)


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
        ("How far did Phillips Idowu jump to win the triple jump?", Measure.DISTANCE),  # not a change
        ("How far did she manage to throw the javelin?", Measure.DISTANCE),
        ("How far did shares jump after the results?", Measure.SHARE),  # a change, as before
        ("What was the winning time in the New York marathon?", Measure.DURATION),
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
        "What time does the shop open on Sundays?",  # the clock, perhaps "at 9am": no duration
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


@pytest.mark.parametrize(
    ("question", "year"),
    [
        ("In which year did shops last have a worse Christmas?", True),
        ("What year did the band form?", True),
        ("When did the band form?", False),  # a day or a month may answer it
        ("Which month did sales fall?", False),
        ("How many years did he serve?", False),  # a duration
    ],
)
def test_a_question_asking_for_a_year_says_so(question: str, year: bool) -> None:
    assert asks_for_year(question) is year


@pytest.mark.parametrize(
    ("question", "names"),
    [
        ("how much is one Bitcoin worth today?", {"bitcoin"}),
        ("iPhone price in the UK?", {"iphon", "uk"}),  # (mixed case names even an opening word)
        ("Did eBay buy Skype? And what did Google do?", {"ebay", "skype", "googl"}),  # not "And"
        ("What happened on Tuesday in March?", set()),  # days and months are everyday words
        ("What did Mr Zorblax say?", {"zorblax"}),  # a title before a name is no name itself
        ("price of ethereum", set()),  # typed in lower case: nothing to tell by
        ("What Is The Price Of Bitcoin", set()),  # title case: the case says nothing
        ("WHO WON THE CUP IN QATAR", set()),
        ("Nokia phones", set()),  # one opening word: a capital there is the sentence's
        ("Did OpenAI buy Zorblax?", {"openai", "zorblax"}),  # two names of three words: no title case
        ("What do I know about the US and Zorblax?", {"us", "zorblax"}),  # "I", "US": no title case
        ("Bitcoin Price Today", set()),  # every word capitalised
    ],
)
def test_a_question_writes_names_in_capitals_where_no_sentence_opens(question: str, names: set[str]) -> None:
    assert named_terms(question) == names
