"""Snippets: the densest window, cut at sentence or word ends, "…" only where cut, spans on matches."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.models import Snippet
from bot.core.snippets import ELLIPSIS, MIN_CHARS, make_snippet
from bot.core.text import analyze, terms

FILLER = (
    "The weather in the north stayed mild for most of the week. "
    "Local councils reported few problems on the roads. "
    "Shoppers returned to the high street after a quiet month. "
)
TARGET = "OpenAI lost money on its chip deal with Nvidia, the company said. "


def highlighted(snippet: Snippet) -> list[str]:
    return [snippet.text[s:e] for s, e in snippet.spans]


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


def test_window_holds_the_densest_cluster() -> None:
    # one early lone mention of "money", then the sentence that has every query term
    text = "Money talks. " + FILLER * 3 + TARGET + FILLER * 3
    query = set(terms("How much money did OpenAI lose on the Nvidia chip deal?"))
    snippet = make_snippet(text, query, max_chars=200)
    assert_valid(snippet, query, 200)
    assert highlighted(snippet) == ["OpenAI", "lost", "money", "chip", "deal", "Nvidia"]
    assert snippet.text.startswith(ELLIPSIS + "OpenAI lost money")  # starts at the sentence start
    assert snippet.text.endswith(ELLIPSIS)


def test_ellipsis_only_where_cut() -> None:
    query = set(terms("OpenAI Nvidia"))
    at_start = make_snippet(TARGET + FILLER * 4, query, max_chars=150)
    assert not at_start.text.startswith(ELLIPSIS) and at_start.text.endswith(ELLIPSIS)
    at_end = make_snippet(FILLER * 4 + TARGET.strip(), query, max_chars=150)
    assert at_end.text.startswith(ELLIPSIS) and not at_end.text.endswith(ELLIPSIS)
    assert at_end.text.endswith("the company said.")
    middle = make_snippet(FILLER * 4 + TARGET + FILLER * 4, query, max_chars=150)
    assert middle.text.startswith(ELLIPSIS) and middle.text.endswith(ELLIPSIS)
    assert middle.text.count(ELLIPSIS) == 2
    for snippet in (at_start, at_end, middle):
        assert len(snippet.text) <= 150
        assert highlighted(snippet) == ["OpenAI", "Nvidia"]


def test_cuts_fall_on_sentence_ends_when_they_fit() -> None:
    text = FILLER * 3 + TARGET + FILLER * 3
    snippet = make_snippet(text, set(terms("chip deal")), max_chars=180)
    body = snippet.text.removeprefix(ELLIPSIS).removesuffix(ELLIPSIS)
    assert body.startswith("OpenAI lost money")
    assert body.endswith(".")  # a whole sentence (or several) and nothing half-cut
    assert body in re.sub(r"\s+", " ", text)


def test_cuts_fall_on_word_boundaries_without_sentences() -> None:
    words = [f"word{i}" for i in range(200)]
    words[100] = "target"
    text = " ".join(words)
    snippet = make_snippet(text, {"target"}, max_chars=80)
    assert len(snippet.text) <= 80
    body = snippet.text.removeprefix(ELLIPSIS).removesuffix(ELLIPSIS)
    assert snippet.text.startswith(ELLIPSIS) and snippet.text.endswith(ELLIPSIS)
    pieces = body.split(" ")
    assert all(piece in words for piece in pieces)  # no word cut in half
    assert "target" in pieces and highlighted(snippet) == ["target"]


def test_no_match_gives_the_leading_window_without_spans() -> None:
    text = FILLER * 5
    snippet = make_snippet(text, set(terms("volcano")), max_chars=120)
    assert snippet.spans == ()
    assert snippet.text.startswith("The weather in the north")
    assert snippet.text.endswith(ELLIPSIS) and len(snippet.text) <= 120
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


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["OpenAI", "lost", "money", "the", "deal.", "Nvidia's", "chips!", "said", "\n\n", "a-b", "２９５"]
        ),
        max_size=120,
    ),
    st.integers(min_value=12, max_value=200),
    st.sets(st.sampled_from(["openai", "lose", "money", "nvidia", "chip", "295", "deal"])),
)
def test_snippets_are_always_well_formed(words: list[str], max_chars: int, query: set[str]) -> None:
    text = " ".join(words)
    snippet = make_snippet(text, query, max_chars=max_chars)
    assert_valid(snippet, query, max_chars)
    flat = re.sub(r"\s+", " ", text).strip()
    body = snippet.text.removeprefix(ELLIPSIS).removesuffix(ELLIPSIS)
    assert body in flat
    if len(flat) <= max_chars:
        assert snippet.text == flat
    if not snippet.text.startswith(ELLIPSIS):
        assert flat.startswith(body)
    if not snippet.text.endswith(ELLIPSIS):
        assert flat.endswith(body)
    if any(token.term in query for token in analyze(flat)):
        assert snippet.spans  # a window always holds at least one match


def test_max_chars_below_the_minimum_is_refused() -> None:
    with pytest.raises(ValueError):
        make_snippet("OpenAI lost money", {"openai"}, max_chars=MIN_CHARS - 1)
    assert len(make_snippet(FILLER, {"weather"}, max_chars=MIN_CHARS).text) <= MIN_CHARS
