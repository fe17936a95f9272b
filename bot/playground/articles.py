"""The "Add article" form's back end: one Markdown file with YAML front matter, written into the corpus.

The file is what a person would write by hand, so the ordinary loader picks it up on /reload or when
the watcher notices it. Must not import telegram or aiohttp.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from bot.core.topics import SLUG_PATTERN

SUBDIRECTORY = "playground"
MAX_TITLE = 200
MAX_BODY = 20_000
MAX_TOPICS = 10


class ArticleError(ValueError):
    """The form's input cannot make an article; the message says which field and why."""


@dataclass(frozen=True, slots=True)
class NewArticle:
    """What the form asks for."""

    title: str
    body: str
    topics: tuple[str, ...] = ()
    source: str = "Playground"


def parse_topics(text: str) -> tuple[str, ...]:
    """Topic slugs from a comma- or space-separated field, lower-cased; raises ArticleError on a bad slug."""
    slugs = tuple(dict.fromkeys(part.lower() for part in re.split(r"[,\s]+", text) if part))
    for slug in slugs:
        if not SLUG_PATTERN.match(slug):
            raise ArticleError(f"topics: {slug!r} is not a topic slug (letters, digits and dashes)")
    if len(slugs) > MAX_TOPICS:
        raise ArticleError(f"topics: at most {MAX_TOPICS}")
    return slugs


def check(article: NewArticle) -> NewArticle:
    """The article with surrounding blanks removed; raises ArticleError when a field is empty or too long."""
    title = " ".join(article.title.split())
    body = article.body.strip()
    source = " ".join(article.source.split()) or "Playground"
    if not title:
        raise ArticleError("title: please give the article a title")
    if len(title) > MAX_TITLE:
        raise ArticleError(f"title: at most {MAX_TITLE} characters")
    if not body:
        raise ArticleError("body: please write a few sentences")
    if len(body) > MAX_BODY:
        raise ArticleError(f"body: at most {MAX_BODY} characters")
    return NewArticle(title, body, article.topics, source[:MAX_TITLE])


def slugify(title: str) -> str:
    """A file-name-safe slug of a title: ASCII letters and digits joined by dashes, at most 60 long."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    return slug[:60].rstrip("-") or "article"


def write_article(corpus_dir: Path, article: NewArticle, now: datetime | None = None) -> tuple[Path, str]:
    """Write the article under <corpus>/playground/; returns the file's path and the article id."""
    article = check(article)
    folder = corpus_dir / SUBDIRECTORY
    folder.mkdir(parents=True, exist_ok=True)
    stem = slugify(article.title)
    path = folder / f"{stem}.md"
    number = 1
    while path.exists():
        number += 1
        path = folder / f"{stem}-{number}.md"
    article_id = f"playground-{path.stem}"
    published = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    fields: dict[str, object] = {
        "id": article_id,
        "title": article.title,
        "published": published.isoformat(),
        "source": article.source,
    }
    if article.topics:
        fields["topics"] = list(article.topics)
    front = yaml.safe_dump(fields, sort_keys=False, allow_unicode=True, width=1000)
    # Written whole under a temporary name and renamed, so the watcher never reads half a file.
    partial = folder / f".{path.name}.partial"
    partial.write_text(f"---\n{front}---\n\n{article.body}\n", encoding="utf-8")
    partial.replace(path)
    return path, article_id


def topics_from_form(value: object) -> tuple[str, ...]:
    """The form's topics field, given as text or as a list of slugs."""
    if value is None:
        return ()
    if isinstance(value, str):
        return parse_topics(value)
    if isinstance(value, Sequence) and all(isinstance(item, str) for item in value):
        return parse_topics(",".join(value))
    raise ArticleError("topics: a list of topic slugs")
