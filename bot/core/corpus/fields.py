"""Fields shared by every format → one Article (title, id, dates, source, url, tags), and Invalid, which a
parser raises when an article cannot be built (scan.py turns it into a Problem).

Pure and synchronous: data in, Article or Invalid out. Must not import telegram, aiosqlite, asyncio,
pydantic or any HTTP client, and does no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from email.utils import parsedate_to_datetime

from bot.core.models import Article, Corpus, Problem

# Dates must stay a day inside the calendar Python can represent, so that showing them in any zone,
# storing them (snapshots count microseconds from 1970 in UTC) and comparing them cannot overflow.
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC)


class Invalid(Exception):
    """One article cannot be built: the reason (and line, when known) of its Problem."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


def failed(rel: str, line: int | None, reason: str) -> Corpus:
    """A file's whole result when it yields no article: one Problem."""
    return Corpus(articles=(), problems=(Problem(rel, line, reason),))


def build_article(
    fields: Mapping[str, object], title: str, body: str, *, rel: str, line: int | None, default_id: str
) -> Article:
    """An Article from parsed fields; raises Invalid for a missing title, an empty body or a bad field."""
    if not title:
        raise Invalid("missing title")
    article_id = _identifier(fields.get("id")) or default_id
    date_field = "published" if fields.get("published") is not None else "date"  # `date` as in Hugo/Jekyll
    published = _published(fields.get(date_field), date_field)
    source = _optional_text(fields, "source")
    url = _optional_text(fields, "url")
    tags = _tags(fields)
    if not body.strip():
        raise Invalid("empty body: there is no article text")
    return Article(
        id=article_id,
        title=title,
        body=body,
        published=published,
        source=source,
        url=url,
        tags=tags,
        path=rel,
        line=line,
    )


def title_of(fields: Mapping[str, object]) -> str:
    """The `title` field with its whitespace collapsed; "" when absent."""
    return _optional_text(fields, "title") or ""


def _optional_text(fields: Mapping[str, object], name: str) -> str | None:
    value = fields.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid(f"'{name}' must be text, not {kind_of(value)}")
    return " ".join(value.split()) or None


def _identifier(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return str(value)  # numeric ids are common in JSON exports
        except ValueError:  # more digits than Python turns into text
            raise Invalid("'id' is a number too long to use as an id; quote it as text") from None
    if not isinstance(value, str):
        raise Invalid(f"'id' must be text or a whole number, not {kind_of(value)}")
    return value.strip() or None


def _published(value: object, name: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time(), tzinfo=UTC)  # a bare date means UTC midnight
    elif isinstance(value, str):
        moment = _parse_date(value, name)
    else:
        raise Invalid(f"'{name}' must be a date, not {kind_of(value)}")
    moment = moment if moment.utcoffset() is not None else moment.replace(tzinfo=UTC)
    try:
        inside = EARLIEST <= moment.astimezone(UTC) <= LATEST
    except (OverflowError, ValueError):  # in UTC it would be year 0 or 10000
        inside = False
    if not inside:
        raise Invalid(
            f"date {moment.isoformat()} in '{name}' is out of range: dates must fall between "
            f"{EARLIEST.date()} and {LATEST.date()} (UTC)"
        )
    return moment


def _parse_date(text: str, name: str) -> datetime:
    cleaned = text.strip()
    try:
        return datetime.fromisoformat(cleaned)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(cleaned)  # RFC 2822, as in e-mail and RSS
    except (TypeError, ValueError, IndexError, OverflowError):
        hint = "use ISO 8601 such as 2024-05-01 or 2024-05-01T09:30:00+02:00"
        raise Invalid(f"invalid date {cleaned!r} in '{name}'; {hint}") from None


def _tags(fields: Mapping[str, object]) -> tuple[str, ...]:
    tags: list[str] = []
    for name in ("topics", "tags"):
        value = fields.get(name)
        if value is None:
            continue
        if isinstance(value, str):
            items: list[str] = value.split(",")
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            items = [str(item) for item in value]
        else:
            raise Invalid(f"'{name}' must be a list of text or a comma-separated string")
        for item in items:
            tag = " ".join(item.split())
            if tag and tag not in tags:
                tags.append(tag)
    return tuple(tags)


def kind_of(value: object) -> str:
    """What a value is, in words, for the reason of a Problem."""
    match value:
        case bool():
            return "true/false"
        case int() | float():
            return "a number"
        case list() | tuple():
            return "a list"
        case dict():
            return "a mapping"
        case datetime() | date():
            return "a date"
        case str():
            return "text"
        case _:
            return type(value).__name__


def plain_paragraphs(text: str) -> list[str]:
    """Plain text → paragraphs split at blank lines, each on one line with single spaces."""
    chunks = re.split(r"\n[ \t\f\v\r]*\n", text.replace("\r\n", "\n").replace("\r", "\n"))
    return [joined for chunk in chunks if (joined := " ".join(chunk.split()))]


def text_key(text: str) -> str:
    """Text compared without regard to case or whitespace (repeated titles, duplicate articles)."""
    return " ".join(text.casefold().split())
