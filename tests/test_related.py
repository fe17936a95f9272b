"""Related stories for an article and for a chat message."""

from __future__ import annotations

import pytest

import bot.core.library as library_module
from bot.core.library import Library, build_library
from bot.core.models import Article, Corpus, Topic
from bot.core.related import (
    MESSAGE_CHARS,
    MESSAGE_TERMS,
    message_topics,
    related_to_article,
    related_to_message,
)

SORA = "openai-sora-shutdown"
MIIT = "miit-ai-standards-feedback"
DEFENSE = "openai-defense-chatgpt-uninstalls"
SITES = "openai-codex-sites"


def test_related_to_article_never_itself_and_prefers_shared_topics(bundled_library: Library) -> None:
    ids = [hit.article.id for hit in related_to_article(bundled_library, SORA, limit=3)]
    assert SORA not in ids
    assert len(ids) == 3
    # The two other OpenAI stories come before the MIIT story, which shares no topic with Sora's.
    assert set(ids[:2]) == {DEFENSE, SITES}


def test_related_to_unknown_article_is_empty(bundled_library: Library) -> None:
    assert related_to_article(bundled_library, "no-such-id") == []


def test_near_duplicates_are_not_related() -> None:
    body = "The city council approved a new tram line through the old town after a long debate."
    articles = (
        Article(id="orig", title="Tram line approved", body=body),
        Article(id="copy", title="Tram line approved!", body=body + " Updated."),
        Article(
            id="other", title="Bus fares rise", body="The council also raised bus fares in the old town."
        ),
    )
    library = build_library(Corpus(articles, ()), ())
    ids = [hit.article.id for hit in related_to_article(library, "orig", limit=3)]
    assert "copy" not in ids and "orig" not in ids
    assert ids == ["other"]


def test_related_to_message_uses_mentioned_topics(bundled_library: Library) -> None:
    related = related_to_message(bundled_library, "did you see the MCP standard news?", limit=3)
    assert [item.topic.slug for item in related][:1] == ["ai-standards"]
    assert related[0].hits[0].article.id == MIIT


def test_related_to_message_ranks_by_relevance_then_skips_excluded(bundled_library: Library) -> None:
    related = related_to_message(bundled_library, "ChatGPT uninstalls after the military deal", limit=3)
    openai = next(item for item in related if item.topic.slug == "openai")
    assert openai.hits[0].article.id == DEFENSE
    excluded = related_to_message(
        bundled_library, "ChatGPT uninstalls after the military deal", limit=3, exclude={DEFENSE}
    )
    openai = next(item for item in excluded if item.topic.slug == "openai")
    # The other OpenAI stories share only the topic's name with the message: too weak to push.
    assert openai.hits == ()


def test_a_passing_mention_pushes_nothing(bundled_library: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    # Weigh unseen words as an archive of a thousand articles would (four articles have not met
    # "cousin" or "garden", so by default they say little).
    monkeypatch.setattr(library_module, "UNSEEN_TRUST_ARTICLES", 1)
    related = related_to_message(bundled_library, "my cousin tried ChatGPT for her garden plans", limit=3)
    assert [item.topic.slug for item in related] == ["openai"]
    assert all(item.hits == () for item in related)
    asked = related_to_message(bundled_library, "ChatGPT uninstalls after the military deal", limit=3)
    assert [hit.article.id for hit in asked[0].hits] == [DEFENSE]


def test_message_without_topics_has_no_related(bundled_library: Library) -> None:
    assert related_to_message(bundled_library, "lovely weather for a picnic today") == []


def test_whole_words_only_for_message_topics() -> None:
    topics = (Topic("sora", "Sora", ("Sora",)),)
    library = build_library(Corpus((Article(id="s", title="Sora news", body="Sora closes."),), ()), topics)
    assert related_to_message(library, "Soraya is my friend") == []
    assert [i.topic.slug for i in related_to_message(library, "what about SORA?")] == ["sora"]


def test_a_long_message_is_read_only_so_far_and_asks_with_few_terms(
    bundled_library: Library, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 4,096-character message of common words: the push path reads its first MESSAGE_CHARS and asks
    the index with at most MESSAGE_TERMS distinct terms (its rarest), so one message costs a bounded
    amount of work however it is written; a topic named only past that point is not noticed."""
    asked: list[int] = []
    real = Library.top_articles

    def counting(self: Library, query_terms: list[str], count: int) -> object:
        asked.append(len(set(query_terms)))
        return real(self, query_terms, count)

    monkeypatch.setattr(Library, "top_articles", counting)
    filler = " ".join(f"word{number} said people time year day" for number in range(200))
    message = ("OpenAI closing Sora app losses " + filler)[:4096]
    assert [item.topic.slug for item in related_to_message(bundled_library, message)] == ["openai"]
    assert asked and max(asked) <= MESSAGE_TERMS
    assert message_topics(bundled_library, message) == [bundled_library.matcher.get("openai")]
    late = "x " * MESSAGE_CHARS + "OpenAI"
    assert message_topics(bundled_library, late) == []
    assert related_to_message(bundled_library, late) == []
