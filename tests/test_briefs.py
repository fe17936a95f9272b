"""Briefings quote, never write: every item is a sentence of its article's body, taken once, from the
period asked for; stories many sources carry come first; an empty period gives an empty brief."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.briefs import brief, briefing, parse_period, parse_request, period_word, sentence_spans
from bot.core.library import build_library
from bot.core.models import Article, Corpus, Topic
from bot.core.stories import StoryIndex

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _article(id_: str, title: str, body: str, *, hours_ago: float, source: str | None = "Desk") -> Article:
    return Article(id=id_, title=title, body=body, source=source, published=NOW - timedelta(hours=hours_ago))


BRIDGE = (
    "The Tarn bridge reopened to traffic on Monday after eight months of repairs. "
    "Engineers replaced the rusted steel cables that had forced the closure in September. "
    "Drivers had faced a detour of twelve miles while the Tarn bridge was shut.\n\n"
    "The county said the repairs cost £6m, a third more than planned."
)
BRIDGE_AGAIN = (  # another outlet's edit of the same report: a copy, as far as grouping goes
    "The Tarn bridge reopened to traffic on Monday after eight months of repairs. "
    "Engineers replaced the rusted steel cables that had forced the closure in September. "
    "The county said the repairs cost £6m, a third more than planned.\n\n"
    "Commuters welcomed the end of a detour that added twenty minutes to their journeys."
)
OTHER_NEWS = [
    _article(f"other-{n}", title, body, hours_ago=6 + n)
    for n, (title, body) in enumerate(
        [
            (
                "Library opens late",
                "The town library will stay open until nine on Fridays from May, staff said.",
            ),
            (
                "Bus fares frozen",
                "Bus fares in the county will not rise this year, the transport board said.",
            ),
            (
                "New head for Hill School",
                "Hill School has named Ada Brook as its new head teacher from September.",
            ),
            ("Storm closes coast road", "High winds closed the coast road for six hours on Sunday night."),
            ("Market moves", "The Saturday market will move to the square while the hall is repainted."),
        ]
    )
]
TUNNEL = (
    "Work on the Tarn tunnel will start in June, the county council has said. "
    "The tunnel is meant to take lorries away from the bridge and the town centre. "
    "Residents asked for a public meeting about noise during the works."
)


def test_every_item_is_a_verbatim_sentence_and_the_widest_story_leads() -> None:
    articles = [
        _article("bridge", "Tarn bridge reopens", BRIDGE, hours_ago=5),
        _article("bridge-2", "Tarn bridge open again", BRIDGE_AGAIN, hours_ago=4, source="Gazette"),
        _article("tunnel", "Tarn tunnel work to start", TUNNEL, hours_ago=3),
        *OTHER_NEWS,
    ]
    result = brief(articles, "Tarn", now=NOW, period=DAY)
    assert [s.story_id for s in result.stories] == ["bridge", "tunnel"]
    assert result.stories[0].sources == ("Desk", "Gazette")
    for item in result.items:
        assert item.article.body[item.start : item.end] == item.sentence
    quoted = [item.sentence for item in result.items]
    assert len(set(quoted)) == len(quoted)
    # The sentence both bridge reports carry is the story's centre, quoted once.
    assert quoted.count("The county said the repairs cost £6m, a third more than planned.") == 1
    assert result.items[0].story_id == "bridge"


def test_the_period_filters_and_an_empty_period_gives_an_empty_brief() -> None:
    articles = [
        _article("bridge", "Tarn bridge reopens", BRIDGE, hours_ago=30),
        _article("tunnel", "Tarn tunnel work to start", TUNNEL, hours_ago=3),
    ]
    day = brief(articles, "Tarn", now=NOW, period=DAY)
    assert {item.article.id for item in day.items} == {"tunnel"}
    week = brief(articles, "Tarn", now=NOW, period=7 * DAY)
    assert {item.article.id for item in week.items} == {"bridge", "tunnel"}
    empty = brief(articles, "Tarn", now=NOW - 10 * DAY, period=DAY)
    assert empty.empty and empty.stories == () and empty.items == ()
    assert brief(articles, "volcano", now=NOW, period=DAY).empty
    undated = [Article(id="u", title="Tarn bridge", body=BRIDGE)]
    assert brief(undated, "Tarn", now=NOW, period=DAY).empty


def test_a_kept_story_index_groups_the_brief() -> None:
    articles = [
        _article("bridge", "Tarn bridge reopens", BRIDGE, hours_ago=5),
        _article("bridge-2", "Tarn bridge open again", BRIDGE_AGAIN, hours_ago=4, source="Gazette"),
    ]
    index = StoryIndex()
    index.add_all([*OTHER_NEWS, *articles])
    result = brief(articles, "Tarn bridge", now=NOW, period=DAY, stories=index, per_story=3)
    assert [s.story_id for s in result.stories] == [index.story_of("bridge")]
    assert len(result.items) == 3


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["openai"], ("openai", DAY)),
        (["OpenAI", "7d"], ("OpenAI", 7 * DAY)),
        (["tarn", "bridge", "week"], ("tarn bridge", 7 * DAY)),
        (["tarn", "24H"], ("tarn", DAY)),
        (["world", "cup", "2026"], ("world cup 2026", DAY)),  # a year is a word, not a period
        (["tarn", "30d"], None),  # a period, just not one offered
        (["tarn", "48h"], None),
        (["7d"], None),
        ([], None),
        (["  "], None),
    ],
)
def test_a_request_is_a_subject_and_an_offered_period(
    words: list[str], expected: tuple[str, timedelta] | None
) -> None:
    assert parse_request(words) == expected
    if expected is not None:
        assert parse_period(period_word(expected[1])) == expected[1]


TOPICS = [Topic("tarn", "Tarn", ("Tarn", "county council")), Topic("buses", "Buses", ("bus fares", "buses"))]


def test_a_briefing_of_the_archive_by_topic_or_words() -> None:
    articles = [
        _article("bridge", "Tarn bridge reopens", BRIDGE, hours_ago=5),
        _article("bridge-2", "Tarn bridge open again", BRIDGE_AGAIN, hours_ago=4, source="Gazette"),
        _article("tunnel", "Tarn tunnel work to start", TUNNEL, hours_ago=30),
        *OTHER_NEWS,
    ]
    library = build_library(Corpus(tuple(articles), ()), TOPICS)
    by_topic = briefing(library, "TARN", now=NOW, period=7 * DAY)
    assert by_topic.topic == TOPICS[0] and by_topic.subject == "Tarn" and by_topic.period == 7 * DAY
    # The whole period informs the grouping: both bridge reports are one story.
    assert [(s.story_id, s.sources) for s in by_topic.brief.stories] == [
        ("bridge", ("Desk", "Gazette")),
        ("tunnel", ("Desk",)),
    ]
    assert by_topic.wider is None and by_topic.newest == NOW - timedelta(hours=4)
    # Only the topic's articles count, however little of its words they hold.
    assert {i.article.id for i in briefing(library, "buses", now=NOW, period=DAY).brief.items} == {"other-1"}
    by_words = briefing(library, "  tunnel   works ", now=NOW, period=7 * DAY)
    assert by_words.topic is None and by_words.subject == "tunnel works"
    assert [s.story_id for s in by_words.brief.stories] == ["tunnel"]


def test_an_empty_day_brings_the_week_along_and_the_archive_age() -> None:
    articles = [_article("tunnel", "Tarn tunnel work to start", TUNNEL, hours_ago=30), *OTHER_NEWS]
    library = build_library(Corpus(tuple(articles), ()), TOPICS)
    day = briefing(library, "tunnel", now=NOW, period=DAY)
    assert day.brief.empty and day.wider is not None and [s.story_id for s in day.wider.stories] == ["tunnel"]
    later = briefing(library, "tarn", now=NOW + 30 * DAY, period=DAY)
    assert later.brief.empty and later.wider is not None and later.wider.empty
    assert later.newest == NOW - timedelta(hours=6)
    week = briefing(library, "volcano", now=NOW, period=7 * DAY)
    assert week.brief.empty and week.wider is None
    undated = build_library(Corpus((Article(id="u", title="Tarn", body=TUNNEL),), ()), TOPICS)
    assert briefing(undated, "tarn", now=NOW, period=DAY).newest is None


def test_sentence_spans_cover_sentences_without_their_spaces() -> None:
    body = "First one here. Second one, with £5 and 3.5 per cent.\n\nThird?  Fourth line"
    assert [body[s:e] for s, e in sentence_spans(body)] == [
        "First one here.",
        "Second one, with £5 and 3.5 per cent.",
        "Third?",
        "Fourth line",
    ]


WORDS = ["tarn", "bridge", "council", "repairs", "traffic", "river", "mayor", "budget", "school", "rail"]
sentence = st.lists(st.sampled_from(WORDS), min_size=5, max_size=14).map(
    lambda words: (
        " ".join(words).capitalize() + st.sampled_from([".", "!", "?"]).example()
        if False
        else " ".join(words).capitalize() + "."
    )
)


@st.composite
def corpora(draw: st.DrawFn) -> list[Article]:
    count = draw(st.integers(min_value=0, max_value=8))
    articles = []
    for n in range(count):
        paragraphs = draw(st.lists(st.lists(sentence, min_size=1, max_size=4), min_size=1, max_size=3))
        body = "\n\n".join(" ".join(p) for p in paragraphs)
        hours = draw(st.floats(min_value=-10, max_value=100))
        source = draw(st.sampled_from(["Desk", "Gazette", "Wire", None]))
        articles.append(_article(f"a{n}", draw(sentence), body, hours_ago=hours, source=source))
    return articles


@settings(max_examples=60, deadline=None)
@given(corpora(), st.lists(st.sampled_from(WORDS), min_size=1, max_size=3), st.integers(1, 72))
def test_property_items_are_verbatim_unique_and_in_period(
    articles: list[Article], query: list[str], hours: int
) -> None:
    period = timedelta(hours=hours)
    result = brief(articles, " ".join(query), now=NOW, period=period)
    story_ids = {s.story_id for s in result.stories}
    seen: set[tuple[str, int]] = set()
    for item in result.items:
        assert item.sentence == item.article.body[item.start : item.end] and item.sentence
        assert item.article in articles
        assert item.article.published is not None and NOW - period < item.article.published <= NOW
        assert item.story_id in story_ids
        assert (item.article.id, item.start) not in seen
        seen.add((item.article.id, item.start))
    assert len({item.sentence for item in result.items}) == len(result.items)
