"""The archive that answers questions: the corpus folder's library plus the articles fetched from sources.

extend_library is the one step "new articles in → new library view out". Today it rebuilds the whole
index (exact, simple, slow at 100k articles; see README, "Sources" figures); an index of segments with
incremental ingest can replace it without its callers noticing. Pure and synchronous: must not import
telegram, aiosqlite, asyncio, pydantic or any HTTP client.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

from bot.core.library import Library, build_library
from bot.core.models import Article, Corpus, Problem


def extend_library(base: Library, articles: Sequence[Article]) -> Library:
    """A new library holding base's articles and these (an id base already has is left out, with a
    Problem when it is a fetched article clashing with a corpus one). Base is not changed."""
    if not articles:
        return base
    started = time.perf_counter()
    have = {article.id for article in base.articles}
    added: list[Article] = []
    problems: list[Problem] = []
    for article in articles:
        if article.id in have:
            clash = base.article(article.id)
            if clash is not None and clash.path != article.path:
                problems.append(
                    Problem(
                        article.path, None, f"article id {article.id!r} is taken by {clash.path}; left out"
                    )
                )
            continue
        have.add(article.id)
        added.append(article)
    if not added and not problems:
        return base
    library = build_library(
        Corpus(articles=(*base.articles, *added), problems=()),
        base.topics,
        extra_problems=(*base.problems, *problems),
        fingerprint=base.fingerprint,
    )
    return replace(library, min_relevance=base.min_relevance, build_seconds=time.perf_counter() - started)
