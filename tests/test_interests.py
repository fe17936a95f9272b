"""Interests: keyword queries through the analyzer, and matching new articles to chats' subscriptions."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from bot.core.interests import (
    MAX_KEYWORDS_CHARS,
    KeywordError,
    Subscription,
    SubscriptionKind,
    keyword_preview,
    match_interests,
    parse_keywords,
)
from bot.core.library import Library
from bot.core.models import Article
from bot.core.text import terms


def test_keywords_words_phrases_and_exclusions() -> None:
    query = parse_keywords('Sora "robot world model" -Anthropic')
    assert query.required == (("sora",), tuple(terms("robot world model")))
    assert query.excluded == (tuple(terms("Anthropic")),)
    assert query.text == 'Sora "robot world model" -Anthropic'


def test_keywords_match_through_the_analyzer() -> None:
    query = parse_keywords('losses "world model"')
    text_terms = terms("The team lost money and moved to the robot world model field")
    assert query.matches(text_terms)  # "lost" and "losses" are one term
    assert not query.matches(terms("a model of the world"))  # the phrase must be contiguous


def test_excluded_word_blocks_a_match() -> None:
    query = parse_keywords("OpenAI -military")
    assert query.matches(terms("OpenAI ships a browser"))
    assert not query.matches(terms("OpenAI signs a military deal"))


@pytest.mark.parametrize("text", ["", "the of and", "-openai", '""', "x" * (MAX_KEYWORDS_CHARS + 1)])
def test_unusable_keywords_are_refused(text: str) -> None:
    with pytest.raises(KeywordError):
        parse_keywords(text)


def test_the_country_us_is_asked_for_in_capitals() -> None:
    assert parse_keywords("US").matches(terms("US sanctions on Iran"))
    assert parse_keywords("America").matches(terms("US sanctions on Iran"))
    assert not parse_keywords("US").matches(terms("Let us know what you think"))
    with pytest.raises(KeywordError, match='For the country, write "US"'):
        parse_keywords("us")
    with pytest.raises(KeywordError) as refused:
        parse_keywords("the of and")
    assert "US" not in str(refused.value)


def test_too_many_terms_refused() -> None:
    with pytest.raises(KeywordError):
        parse_keywords(" ".join(f"word{n}" for n in range(30)))


def _subscription(number: int, kind: SubscriptionKind, value: str, label: str) -> Subscription:
    return Subscription(number, number, kind, value, label, datetime(2026, 1, 1, tzinfo=UTC))


def test_match_interests_by_topic_and_keywords() -> None:
    articles = (
        Article(id="a", title="OpenAI closes Sora", body="The video app loses money."),
        Article(id="b", title="MIIT standards", body="A protocol for models."),
    )
    subscriptions = [
        _subscription(1, SubscriptionKind.TOPIC, "openai", "OpenAI"),
        _subscription(2, SubscriptionKind.KEYWORDS, "sora -anthropic", "sora -anthropic"),
        _subscription(3, SubscriptionKind.KEYWORDS, '"model context"', '"model context"'),
        _subscription(4, SubscriptionKind.TOPIC, "ai-standards", "AI standards"),
    ]
    found = match_interests(articles, (("openai",), ("ai-standards",)), subscriptions)
    assert sorted(found) == [(1, "a", "OpenAI"), (2, "a", "sora -anthropic"), (4, "b", "AI standards")]


def test_keyword_preview_is_the_newest_matches_first(bundled_library: Library) -> None:
    loose = keyword_preview(bundled_library, parse_keywords('Sora "world model"'))
    assert [article.id for article in loose] == ["openai-sora-shutdown"]
    assert keyword_preview(bundled_library, parse_keywords('Sora "world model" -Anthropic')) == []
    openai = keyword_preview(bundled_library, parse_keywords("OpenAI"), limit=5)
    positions = [bundled_library.position(article.id) for article in openai]
    assert len(openai) == 3 and None not in positions
    ranks = [int(bundled_library.recency_rank[p]) for p in positions if p is not None]
    assert ranks == sorted(ranks)  # newest first


def test_keyword_matching_is_the_same_whichever_word_keys_a_query() -> None:
    """Queries are looked up by their rarest word when document frequencies are given: the alerts (and
    their order) are those of checking every subscription against every article."""
    rng = random.Random(4)
    vocabulary = ["harbour", "crane", "tide", "ferry", "orchid", "tram", "bakery", "night", "rye", "quay"]
    articles = [
        Article(
            id=f"a{i}",
            title=" ".join(rng.sample(vocabulary, 2)),
            body=" ".join(rng.choices(vocabulary, k=12)),
        )
        for i in range(40)
    ]
    values = []
    for _ in range(60):
        words = rng.sample(vocabulary, rng.randint(1, 3))
        if rng.random() < 0.3:
            words.append(f'"{rng.choice(vocabulary)} {rng.choice(vocabulary)}"')
        if rng.random() < 0.3:
            words.append(f"-{rng.choice(vocabulary)}")
        values.append(" ".join(words))
    subscriptions = [
        _subscription(i, SubscriptionKind.KEYWORDS, value, value) for i, value in enumerate(values)
    ]
    counts = {word: rng.randint(0, 50) for word in terms(" ".join(vocabulary))}
    topics = [()] * len(articles)
    expected = [
        (subscription.chat_id, article.id, subscription.label)
        for article in articles
        for subscription in subscriptions
        if parse_keywords(subscription.value).matches(terms(f"{article.title}\n\n{article.body}"))
    ]
    assert expected  # the check below compares real matches
    assert match_interests(articles, topics, subscriptions) == expected
    assert match_interests(articles, topics, subscriptions, doc_freq=lambda t: counts.get(t, 0)) == expected
