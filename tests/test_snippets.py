"""Snippets: the sentences that answer the question, chosen from the whole text, cut only at sentence or
clause ends, "…" only where text was really cut, spans on every shown match."""

from __future__ import annotations

import re
from collections.abc import Container

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bot.core.snippets as snippets_module
from bot.core.models import Snippet
from bot.core.questions import AnswerKind, Measure
from bot.core.snippets import (
    ELLIPSIS,
    GAP,
    MIN_CHARS,
    SNIPPET_CHARS,
    SNIPPET_SCAN_CHARS,
    make_snippet,
    states_measure,
)
from bot.core.text import analyze, first_span, spans, terms

FILLER = (
    "The weather in the north stayed mild for most of the week. "
    "Local councils reported few problems on the roads. "
    "Shoppers returned to the high street after a quiet month. "
)
TARGET = "OpenAI lost money on its chip deal with Nvidia, the company said. "


def highlighted(snippet: Snippet) -> list[str]:
    return [snippet.text[s:e] for s, e in snippet.spans]


def pieces(snippet: Snippet) -> list[str]:
    """The shown runs of text, without the marks between and around them."""
    return [part.removeprefix(ELLIPSIS).removesuffix(ELLIPSIS) for part in snippet.text.split(GAP)]


def assert_valid(snippet: Snippet, match_terms: set[str], max_chars: int) -> None:
    assert len(snippet.text) <= max_chars
    previous = 0
    for start, end in snippet.spans:
        assert previous <= start < end <= len(snippet.text)
        previous = end
        assert [t.term for t in analyze(snippet.text[start:end])] != []
        assert {t.term for t in analyze(snippet.text[start:end])} <= match_terms
    assert "  " not in snippet.text and "\n" not in snippet.text


def test_short_text_is_returned_whole_with_every_match() -> None:
    snippet = make_snippet("OpenAI lost money. Nvidia gained.", set(terms("openai nvidia")))
    assert snippet.text == "OpenAI lost money. Nvidia gained."
    assert highlighted(snippet) == ["OpenAI", "Nvidia"]


def test_the_sentence_holding_the_question_is_shown_whole() -> None:
    # one early lone mention of "money", then the sentence that has every query term
    text = "Money talks. " + FILLER * 3 + TARGET + FILLER * 3
    query = set(terms("How much money did OpenAI lose on the Nvidia chip deal?"))
    snippet = make_snippet(text, query, max_chars=200)
    assert_valid(snippet, query, 200)
    assert snippet.text.startswith("OpenAI lost money on its chip deal with Nvidia, the company said.")
    assert highlighted(snippet)[:6] == ["OpenAI", "lost", "money", "chip", "deal", "Nvidia"]
    assert not snippet.text.startswith(ELLIPSIS)  # it starts where a sentence starts: nothing was cut


def test_the_sentence_after_the_match_joins_it() -> None:
    text = (
        FILLER * 3
        + "Investors asked who would lead the retrial of the former Tyco chief. "
        + "The judge named Michael Obus, who also presided over the first trial. "
        + FILLER * 3
    )
    snippet = make_snippet(text, set(terms("Who leads the Tyco retrial?")), max_chars=200)
    assert "Michael Obus" in snippet.text
    assert snippet.text.startswith("Investors asked who would lead the retrial")


def test_initials_titles_and_abbreviations_do_not_end_a_sentence() -> None:
    sentence = (
        "The U.S. Department of Defense said Mr. Smith and John F. Kennedy Jr attended with the world "
        "No. 1 as guests on Monday."
    )
    text = FILLER * 3 + sentence + " " + FILLER * 3
    snippet = make_snippet(
        text, set(terms("Which guests did the US defense department name?")), max_chars=200
    )
    assert snippet.text.startswith(sentence)  # whole: not cut after "U.S.", "Mr.", "F." or "No."
    assert highlighted(snippet)[:3] == ["U.S.", "Department", "Defense"]


def test_a_sentence_with_a_value_of_the_asked_kind_wins_a_tie() -> None:
    text = (
        "The council said the new bridge would cost more than planned. "
        + FILLER * 3
        + "The new bridge will cost £48m, the council said. "
        + FILLER * 3
    )
    question = "How much will the new bridge cost?"
    number = make_snippet(
        text, set(terms(question)), max_chars=70, wants=AnswerKind.NUMBER, question=question
    )
    assert "£48m" in number.text
    plain = make_snippet(text, set(terms(question)), max_chars=70)
    assert "£48m" not in plain.text  # without the kind, the earlier sentence ties and wins


def test_rare_terms_outweigh_common_ones() -> None:
    text = (
        "Shares rose in London on Monday. " * 4
        + FILLER
        + "Burren Energy paid £13.8m for the stake in the Indian explorer. "
        + FILLER
    )
    weights = {"share": 0.2, "london": 0.2, "burren": 5.0, "stake": 2.0}
    snippet = make_snippet(text, weights, max_chars=90)
    assert snippet.text.startswith("Burren Energy paid £13.8m")


def test_sentences_far_apart_are_joined_by_a_marked_gap() -> None:
    text = (
        "Sony will cut the price of the PlayStation in Europe. "
        + FILLER * 3
        + "Analysts expect Nintendo to answer within weeks. "
        + FILLER * 3
    )
    snippet = make_snippet(text, set(terms("PlayStation Nintendo")), max_chars=200)
    assert GAP in snippet.text
    assert highlighted(snippet) == ["PlayStation", "Nintendo"]
    flat = " ".join(text.split())
    assert all(piece in flat for piece in pieces(snippet))


def test_ellipsis_only_where_a_sentence_was_cut() -> None:
    query = set(terms("OpenAI Nvidia"))
    whole_sentences = make_snippet(FILLER * 4 + TARGET + FILLER * 4, query, max_chars=150)
    assert ELLIPSIS not in whole_sentences.text  # it starts and ends on sentence bounds
    assert whole_sentences.text.startswith("OpenAI lost money")
    assert whole_sentences.text.rstrip().endswith(".")
    long_sentence = (
        "After a long day of talks in the capital, during which several delegations walked out and came "
        "back, OpenAI lost money on its chip deal with Nvidia, the company said in a statement that was "
        "released late in the evening to reporters waiting outside the building. "
    )
    cut = make_snippet(FILLER * 2 + long_sentence + FILLER * 2, query, max_chars=120)
    assert cut.text.startswith(ELLIPSIS) and cut.text.endswith(ELLIPSIS)
    assert highlighted(cut) == ["OpenAI", "Nvidia"]
    assert len(cut.text) <= 120


def test_cuts_inside_a_sentence_fall_on_clause_or_word_ends() -> None:
    words = [f"word{i}" for i in range(200)]
    words[100] = "target"
    text = " ".join(words)
    snippet = make_snippet(text, {"target"}, max_chars=80)
    assert len(snippet.text) <= 80
    assert snippet.text.startswith(ELLIPSIS) and snippet.text.endswith(ELLIPSIS)
    shown = pieces(snippet)[0].split(" ")
    assert all(piece in words for piece in shown)  # no word cut in half
    assert "target" in shown and highlighted(snippet) == ["target"]


def test_no_match_gives_the_opening_sentences_without_spans() -> None:
    text = FILLER * 5
    snippet = make_snippet(text, set(terms("volcano")), max_chars=120)
    assert snippet.spans == ()
    assert snippet.text.startswith("The weather in the north")
    assert snippet.text.endswith(".") and len(snippet.text) <= 120
    assert make_snippet("", {"x"}) == Snippet("", ())


def test_whitespace_is_collapsed_and_spans_follow() -> None:
    text = "  OpenAI \n\n  lost\tmoney  on\u00a0chips.  "
    snippet = make_snippet(text, set(terms("money chips")))
    assert snippet.text == "OpenAI lost money on chips."
    assert highlighted(snippet) == ["money", "chips"]


def test_spans_cover_normalised_and_possessive_words() -> None:
    snippet = make_snippet(
        "The ﬁnance arm of OpenAI's parent grew ２９５%.", set(terms("finance OpenAI 295"))
    )
    assert highlighted(snippet) == ["ﬁnance", "OpenAI", "２９５"]


def test_overlong_single_word_is_cut_hard() -> None:
    text = "x" * 500 + " target " + "y" * 500
    snippet = make_snippet(text, {"target"}, max_chars=50)
    assert len(snippet.text) <= 50
    assert highlighted(snippet) == ["target"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "OpenAI",
                "lost",
                "money",
                "the",
                "deal.",
                "Nvidia's",
                "chips!",
                "said",
                "\n\n",
                "a-b",
                "２９５",
                "£4m,",
            ]
        ),
        max_size=120,
    ),
    st.integers(min_value=MIN_CHARS, max_value=400),
    st.sets(st.sampled_from(["openai", "lose", "money", "nvidia", "chip", "295", "deal"])),
    st.sampled_from([None, *AnswerKind]),
)
def test_snippets_are_always_well_formed(
    words: list[str], max_chars: int, query: set[str], wants: AnswerKind | None
) -> None:
    text = " ".join(words)
    snippet = make_snippet(text, query, max_chars=max_chars, wants=wants, question="how much money")
    assert_valid(snippet, query, max_chars)
    flat = re.sub(r"\s+", " ", text).strip()
    if len(flat) <= max_chars:
        assert snippet.text == flat
        return
    shown = pieces(snippet)
    assert all(piece in flat for piece in shown)
    positions = [flat.index(piece) for piece in shown]
    assert positions == sorted(positions)  # in text order
    # A run that is not marked as cut starts where the text or a sentence starts.
    if not snippet.text.startswith(ELLIPSIS) and shown[0]:
        at = flat.index(shown[0])
        assert at == 0 or flat[at - 2 : at - 1] in {".", "!", "?", "…", '"', "'", "”", "’", ")", "]"}
    if any(token.term in query for token in analyze(flat)) and max_chars >= 40:
        assert snippet.spans  # a snippet always holds at least one match when one exists


def test_max_chars_below_the_minimum_is_refused() -> None:
    with pytest.raises(ValueError):
        make_snippet("OpenAI lost money", {"openai"}, max_chars=MIN_CHARS - 1)
    assert len(make_snippet(FILLER, {"weather"}, max_chars=MIN_CHARS).text) <= MIN_CHARS


def test_snippet_work_is_bounded_however_long_the_article(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 4.9 MB article costs a snippet no more than its first SNIPPET_SCAN_CHARS characters: the
    analysis never sees more, so an answer citing it cannot hold up everyone else."""
    analysed: list[int] = []
    real_terms = terms

    def counting_terms(text: str) -> list[str]:
        analysed.append(len(text))
        return real_terms(text)

    def counting_spans(text: str, wanted: Container[str]) -> list[tuple[int, int]]:
        analysed.append(len(text))
        return spans(text, wanted)

    def counting_first_span(text: str, wanted: Container[str]) -> tuple[int, int] | None:
        analysed.append(len(text))
        return first_span(text, wanted)

    monkeypatch.setattr(snippets_module, "terms", counting_terms)
    monkeypatch.setattr(snippets_module, "spans", counting_spans)
    monkeypatch.setattr(snippets_module, "first_span", counting_first_span)
    sentence = "The harbour crane lifted a record load on Monday, officials said. "
    long_text = sentence * (4_900_000 // len(sentence))
    snippet = make_snippet(long_text, {"crane": 1.0, "record": 1.0})
    assert set(highlighted(snippet)) == {"crane", "record"}
    assert sum(analysed) <= SNIPPET_SCAN_CHARS + len(snippet.text)  # every sentence, then what is shown
    late = "Nothing here. " * 10_000 + "The tide table moved."  # the match lies past the scanned part
    assert highlighted(make_snippet(late, {"tide": 1.0})) == []


def test_whitespace_of_every_kind_collapses_to_one_space() -> None:
    text = "Storm\u2028surge\x1chit\u00a0the  coast\t\r\nat dawn.\u3000"
    assert make_snippet(text, {"surge"}).text == "Storm surge hit the coast at dawn."
    for code in range(0x110000):  # the split above and a regex's \s agree on every character
        assert chr(code).isspace() == bool(re.fullmatch(r"\s", chr(code)))


WORDS = [
    "OpenAI's",
    "lost",
    "$1m",
    "on",
    "chips,",
    "said",
    "Mr",
    "Smith.",
    "The",
    "café",
    "naïve",
    "£5",
    "«quoted»",
    "Nvidia",
    "2004",
    "don't",
    "—",
    "ﬁnance",
]
WORDS += ["x" * 70, "e\u0301t\u00e9", "Straße"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=400),
    st.sets(st.sampled_from(["openai", "lose", "nvidia", "cafe", "finance", "strasse", "2004", "smith"])),
)
def test_a_sentence_analysed_at_once_matches_where_windows_do(words: list[str], held: set[str]) -> None:
    """The first match of a long sentence is where the growing windows find it (without matches: text
    that does not fold by character), and where the matches found once for the whole text (find_terms)
    put it when there are."""
    flat = " ".join(words)
    by_windows = snippets_module._first_match(flat, 0, len(flat), held, None)
    assert by_windows == (first_span(flat, held) or (0, 0))
    matches = snippets_module._Matches.of(flat, held)
    if matches is not None:
        assert snippets_module._first_match(flat, 0, len(flat), held, matches) == by_windows


def test_the_sentence_after_the_best_one_comes_first_when_it_holds_the_asked_value() -> None:
    """The best sentence restates the question without the figure; the next one has it. It joins before
    a sentence with more of the question's words can take its room."""
    text = (
        FILLER * 2
        + "Campaigners fighting the extra runway at the Essex airport say it is the most opposed plan. "
        + "Opponents say the £2bn bill for the new runway could not be met. "
        + FILLER
        + "The case will be heard in the High Court, where the council will also speak about costs. "
        + FILLER
    )
    question = (
        "How much would the extra runway at the Essex airport that campaigners are fighting in court cost?"
    )
    snippet = make_snippet(
        text, set(terms(question)), max_chars=200, wants=AnswerKind.NUMBER, question=question
    )
    assert snippet.text.startswith("Campaigners fighting the extra runway at the Essex airport")
    assert "£2bn" in snippet.text


def test_a_measured_answer_in_a_sentence_without_the_questions_words_is_shown() -> None:
    """ "How long" asks for a duration; the sentences holding the question's words hold none. The
    nearest sentence that does joins the snippet, though it shares no word with the question."""
    text = (
        FILLER * 2
        + "Hewitt beat Roddick in four sets to reach the Melbourne final. "
        + "The home crowd cheered every point of the fourth set. "
        + "I started getting ready for this event nine months ago, he said. "
        + FILLER
        + "Roddick said Hewitt deserved his place in the Melbourne final after a fine semi. "
        + FILLER
    )
    question = "How long had Hewitt been preparing for the Melbourne final when he beat Roddick?"
    wants = AnswerKind.NUMBER
    snippet = make_snippet(text, set(terms(question)), max_chars=200, wants=wants, question=question)
    assert "nine months ago" in snippet.text
    assert "Hewitt beat Roddick in four sets" in snippet.text  # the best sentence stays
    # With no duration anywhere, the snippet is the sentences holding the question's words.
    plain = text.replace("nine months ago", "at last")
    snippet = make_snippet(plain, set(terms(question)), max_chars=200, wants=wants, question=question)
    assert "at last" not in snippet.text and "Hewitt beat Roddick in four sets" in snippet.text


def test_of_the_sentences_holding_a_measured_value_the_one_sharing_the_question_s_words_joins() -> None:
    """When no chosen sentence holds the asked measure, the sentence that joins is the one holding a
    value and some of the question's words ("to win in two hours …" for "the winning time"), before a
    nearer one that holds a value of that kind but none of the question's words ("11 weeks")."""
    text = (
        "Radcliffe sprinted clear in the final mile to win in two hours, 23 minutes and 10 seconds. "
        + FILLER
        + "She had been away for 11 weeks. "
        + "The world record holder led the field for the whole race in New York. "
        + "It was a bounce back from her Athens disappointment. "
        + FILLER
    )
    question = (
        "What was the winning time when the world record holder bounced back from her Athens "
        "disappointment to win in New York?"
    )
    wants = AnswerKind.NUMBER
    snippet = make_snippet(text, set(terms(question)), max_chars=170, wants=wants, question=question)
    assert "The world record holder led the field" in snippet.text  # the best sentence stays
    assert "two hours, 23 minutes and 10 seconds" in snippet.text
    assert "11 weeks" not in snippet.text
    # Without the winning sentence's words, the nearest duration joins, as before.
    nearest = text.replace("to win in", "in")
    snippet = make_snippet(nearest, set(terms(question)), max_chars=170, wants=wants, question=question)
    assert "11 weeks" in snippet.text


def test_a_name_in_the_best_sentence_s_follower_does_not_take_the_room_of_the_answer() -> None:
    """ "Which backbencher proposed …" asks for a name, and nearly every sentence of a story holds one
    ("Black Watch", "Iraq"): the follower of the best sentence does not join ahead of the rest for
    that, so the sentence naming the proposer keeps its room. (A number asked for still pulls the
    follower in: see the runway test above.)"""
    text = (
        FILLER
        + "The proposals to merge the six regiments into one plan sparked an outcry among Labour "
        + "backbenchers. "
        + "Soldiers of the Black Watch were serving in Iraq when the news came through to their families. "
        + FILLER
        + "An alternative came from Labour MP Eric Joyce, who wanted only two of them joined. "
        + FILLER
    )
    question = "Which Labour backbencher proposed an alternative plan to merge just two of the regiments?"
    snippet = make_snippet(
        text, set(terms(question)), max_chars=220, wants=AnswerKind.NAME, question=question
    )
    assert "Eric Joyce" in snippet.text
    assert "Black Watch" not in snippet.text


def test_a_year_asked_for_is_answered_by_a_year_not_a_month() -> None:
    """ "In which year" is not answered by "in November": of two sentences holding as much of the
    question, the one with a year the question does not name wins."""
    text = (
        FILLER
        + "Shops had their worst Christmas in November terms, the retail figures said. "
        + FILLER
        + "By the official retail figures it was the worst Christmas since 1981 for shops. "
        + FILLER
    )
    question = "In which year did shops last have a worse Christmas than 2004, by the retail figures?"
    snippet = make_snippet(text, set(terms(question)), max_chars=90, wants=AnswerKind.DATE, question=question)
    assert "1981" in snippet.text


def test_a_name_asked_for_is_shown_where_the_best_sentence_refers_back_to_it() -> None:
    """The best sentence holds the question's words but calls the band "the band": the sentence before,
    which names it, joins the snippet."""
    text = (
        FILLER * 2
        + "Black Sabbath have topped a list of the best British records. "
        + "The band once fronted by Ozzy Osbourne led a poll of magazine readers with their 1970 debut. "
        + FILLER * 2
    )
    question = "Which band's 1970 debut led a poll of magazine readers?"
    wants = AnswerKind.NAME
    snippet = make_snippet(text, set(terms(question)), max_chars=200, wants=wants, question=question)
    assert "Black Sabbath" in snippet.text and "1970 debut" in snippet.text
    # A best sentence that names its subject itself needs nothing before it.
    named = text.replace("The band once fronted", "Sabbath, once fronted")
    snippet = make_snippet(named, set(terms(question)), max_chars=200, wants=wants, question=question)
    assert "Black Sabbath have topped" not in snippet.text


@pytest.mark.parametrize(
    ("bare", "answer", "question", "max_chars", "shown"),
    [
        # "How far" asks for a distance: of two sentences holding the same words, the one with metres
        # wins over the one with a count.
        (
            "His penalty kick in Cardiff was his 12th of the season. ",
            "His penalty kick in Cardiff came from 44 metres out. ",
            "From how far out did he kick the penalty in Cardiff?",
            60,
            "44 metres",
        ),
        # "How many mobiles" asks for a count of mobiles: of two sentences holding as much of the
        # question, the one with "63,000 mobile phones" wins over one with another number.
        (
            "Taxi drivers found phones left behind seven times as often as laptops. ",
            "Over half a year 63,000 mobile phones were handed in. ",
            "How many mobiles did passengers leave in London taxis?",
            90,
            "63,000 mobile",
        ),
    ],
)
def test_a_value_in_the_unit_or_of_the_thing_asked_for_beats_a_bare_number_even_later(
    bare: str, answer: str, question: str, max_chars: int, shown: str
) -> None:
    text = FILLER + bare + FILLER + answer + FILLER
    snippet = make_snippet(
        text, set(terms(question)), max_chars=max_chars, wants=AnswerKind.NUMBER, question=question
    )
    assert shown in snippet.text


@pytest.mark.parametrize(
    ("measure", "stated", "not_stated"),
    [
        (Measure.MONEY, "It cost £2bn, or 5000 yen each.", "It cost a great deal, 12 times over."),
        (Measure.SHARE, "Sales rose 8.2% in a year.", "Sales rose for the 3rd year."),
        (Measure.DURATION, "He signed a six-month contract.", "He signed 2 contracts."),
        (Measure.DISTANCE, "He kicked it from 44 metres out.", "He kicked it 3 times."),
        (Measure.DISTANCE, "Idowu won with 17.30m in Sheffield.", "The deal was worth £17.30m to him."),
        (Measure.AGE, "He died aged 77.", "He died in 2005."),
        (Measure.WEIGHT, "The plane was 320kg over its limit.", "The plane was 3 hours late."),
    ],
)
def test_a_measure_is_stated_only_by_a_value_in_its_unit(
    measure: Measure, stated: str, not_stated: str
) -> None:
    assert states_measure(stated, measure)
    assert not states_measure(not_stated, measure)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([*WORDS, "Smith,", "cost:", "-", "1,500", "O'Neill's", "vying"]), max_size=300),
    st.sets(st.sampled_from(["openai", "lose", "nvidia", "cafe", "smith", "2004", "1500", "oneil", "vie"])),
    st.sampled_from([None, AnswerKind.NUMBER, AnswerKind.NAME]),
    st.integers(min_value=MIN_CHARS, max_value=400),
)
def test_snippets_from_the_matches_found_once_equal_those_analysing_each_piece(
    words: list[str], held: set[str], wants: AnswerKind | None, max_chars: int
) -> None:
    """The matches found once for the whole text (find_terms) choose, cut and mark exactly what
    analysing every sentence and every shown piece does, mid-word cuts included."""
    text = " ".join(words)
    weights = {term: 1.0 + len(term) / 4 for term in held}
    fast = make_snippet(text, weights, max_chars=max_chars, wants=wants, question="how much")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(snippets_module._Matches, "of", classmethod(lambda cls, flat, wanted: None))
        slow = make_snippet(text, weights, max_chars=max_chars, wants=wants, question="how much")
    assert fast == slow


def test_a_word_cut_by_the_budget_is_marked_only_as_far_as_it_is_shown() -> None:
    """A piece cut inside a word ("…Smith-Nvid…") is analysed on its own: the cut word is no match,
    as when every piece was analysed, and no mark runs past the text."""
    text = (
        "The board met. " * 3
        + "Quietly Smith-Nvidia-Nvidia-Nvidia-Nvidia talked for long. "
        + "They left. " * 5
    )
    weights = {"smith": 1.0, "nvidia": 2.0}
    cut_inside = 0
    for max_chars in range(MIN_CHARS, 40):
        fast = make_snippet(text, weights, max_chars=max_chars)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(snippets_module._Matches, "of", classmethod(lambda cls, flat, wanted: None))
            assert make_snippet(text, weights, max_chars=max_chars) == fast
        assert all(fast.text[a:b].casefold() in {"smith", "nvidia"} for a, b in fast.spans)
        cut_inside += bool(re.search(r"-N[a-z]{0,4}…$", fast.text))
    assert cut_inside >= 5


def test_an_unpunctuated_page_is_cut_around_what_the_question_weighs_most() -> None:
    """A feed item or a transcript may be one "sentence" of thousands of characters: its first match of
    a light word (bins) opens it, the price asked about comes pages later. The piece shown is cut around
    the stretch holding most of the question, from its heaviest word, with the value after it."""
    minutes = " ".join(
        f"the council discussed bins and lights for district {i} while residents asked about parking"
        for i in range(40)
    )
    roads = " ".join(f"more words about roads and trees {i}" for i in range(40))
    text = f"{minutes} and the mayor said the price of the new bins is 40 pounds each {roads}"
    snippet = make_snippet(text, {"price": 3.0, "bin": 2.0}, question="What is the price of the new bins?")
    assert "the price of the new bins is 40 pounds each" in snippet.text
    assert snippet.text.startswith(ELLIPSIS) and snippet.text.endswith(ELLIPSIS)
    assert len(snippet.text) <= SNIPPET_CHARS
    assert {snippet.text[a:b] for a, b in snippet.spans} == {"bins", "price"}
