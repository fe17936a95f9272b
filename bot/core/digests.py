"""What a digest shows: its stories ranked the way a reader wants them, each with its best sentence.

`digest_order` puts the stories most outlets carried first (they are the period's news), then the newest;
`best_sentence` picks the sentence of an article that holds most of what the subscription asked for (its
labels' words), falling back to the article's opening when none holds any. Returns data, never markup.
Pure and synchronous: must not import telegram, aiosqlite, asyncio or pydantic.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from bot.core.models import Article, Snippet
from bot.core.snippets import make_snippet
from bot.core.text import terms

SENTENCE_CHARS = 220  # one sentence of news prose, as a digest line can carry it

_UNDATED = datetime.min.replace(tzinfo=UTC)


def digest_order(articles: Sequence[Article], sources: Sequence[int]) -> list[int]:
    """Indexes of `articles` in digest order: more sources (each article's story size) first, then the
    newest, then as given."""
    if len(articles) != len(sources):
        raise ValueError("one source count per article")

    def key(index: int) -> tuple[int, float, int]:
        published = articles[index].published
        moment = published if published is not None else _UNDATED
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return (-sources[index], -moment.timestamp(), index)

    return sorted(range(len(articles)), key=key)


def best_sentence(article: Article, labels: Sequence[str]) -> Snippet | None:
    """The article's sentence that best holds the words of the subscriptions it matched (`labels`: a
    topic's name or a keyword query), highlighted; its opening when none holds any; None without a body."""
    if not article.body.strip():
        return None
    wanted = terms(" ".join(labels))
    return make_snippet(article.body, wanted, max_chars=SENTENCE_CHARS)
