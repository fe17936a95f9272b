"""Duplicate articles: the first per id and per normalised title and text is kept, the rest become Problems.

Pure and synchronous. Must not import telegram, aiosqlite, asyncio, pydantic or any HTTP client.
"""

from __future__ import annotations

from bot.core.corpus.fields import text_key
from bot.core.models import Article, Problem


def drop_duplicates(articles: list[Article], problems: list[Problem]) -> list[Article]:
    """Keep the first article per id and per normalised content (sorted path order), reporting the rest."""
    by_id: dict[str, Article] = {}
    by_content: dict[str, Article] = {}
    kept: list[Article] = []
    for article in articles:
        first = by_id.get(article.id)
        if first is not None:
            where = first.path if first.line is None else f"{first.path}:{first.line}"
            problems.append(
                Problem(article.path, article.line, f"duplicate id {article.id!r}, first used in {where}")
            )
            continue
        key = text_key(f"{article.title}\n{article.body}")
        twin = by_content.get(key)
        if twin is not None:
            problems.append(
                Problem(
                    article.path, article.line, f"same title and text as article {twin.id!r}; kept that one"
                )
            )
            continue
        by_id[article.id] = article
        by_content[key] = article
        kept.append(article)
    return kept
