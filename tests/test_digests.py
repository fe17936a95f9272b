"""What a digest shows (bot.core.digests): the stories most outlets carried first, then the newest, and
for each the sentence that holds what the subscription asked for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.core.digests import best_sentence, digest_order
from bot.core.models import Article

BODY = (
    "The harbour board met on Monday to discuss the new season. Members approved the budget for the "
    "coming year after a short debate. The ferry operator Tidewell said it would add two night crossings "
    "to the island from April. Tickets for the new crossings go on sale next week."
)


def article(number: int, hours_ago: float | None, body: str = BODY) -> Article:
    published = (
        None if hours_ago is None else datetime(2026, 3, 1, 12, tzinfo=UTC) - timedelta(hours=hours_ago)
    )
    return Article(id=f"a{number}", title=f"Story {number}", body=body, published=published)


def test_stories_carried_by_more_outlets_come_first_then_the_newest() -> None:
    articles = [article(1, 5), article(2, 1), article(3, 3), article(4, None), article(5, 2)]
    sources = [1, 1, 3, 1, 3]
    # Three outlets: a5 (newer) before a3; then one outlet, newest first; the undated one last.
    assert [articles[i].id for i in digest_order(articles, sources)] == ["a5", "a3", "a2", "a1", "a4"]


def test_time_zones_are_compared_as_moments() -> None:
    early_east = Article(
        id="east",
        title="E",
        body="x",
        published=datetime(2026, 3, 1, 10, tzinfo=timezone(timedelta(hours=5))),
    )
    late_utc = Article(id="utc", title="U", body="x", published=datetime(2026, 3, 1, 6, tzinfo=UTC))
    assert digest_order([early_east, late_utc], [1, 1]) == [1, 0]  # 05:00 UTC is before 06:00 UTC


def test_a_source_count_is_needed_for_every_article() -> None:
    with pytest.raises(ValueError):
        digest_order([article(1, 1)], [])


def test_the_best_sentence_holds_the_subscriptions_words() -> None:
    sentence = best_sentence(article(1, 1), ["ferry crossings"])
    assert sentence is not None
    assert "Tidewell said it would add two night crossings" in sentence.text
    assert "harbour board met" not in sentence.text
    shown = {sentence.text[start:end].casefold() for start, end in sentence.spans}
    assert {"ferry", "crossings"} <= shown


def test_without_the_words_the_opening_stands_and_an_empty_body_gives_none() -> None:
    opening = best_sentence(article(1, 1), ["volcano"])
    assert opening is not None and opening.text.startswith("The harbour board met on Monday")
    assert best_sentence(article(2, 1, body="  "), ["ferry"]) is None
