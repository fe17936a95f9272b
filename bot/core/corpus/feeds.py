"""RSS and Atom feeds → one Article per entry (guid, title, link, date, summary or content as plain text).

Pure and synchronous (bytes in, Corpus out): feedparser reads from an in-memory stream, never a URL.
Must not import telegram, aiosqlite, asyncio, pydantic or any HTTP client.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import UTC, datetime
from html.parser import HTMLParser

from bot.core.corpus.fields import Invalid, build_article, failed, plain_paragraphs
from bot.core.models import Article, Corpus, Problem


def parse_feed(data: bytes, rel: str) -> Corpus:
    """Every entry of an RSS or Atom feed as an article, and a Problem for each entry that is not one."""
    # Imported on first use: most corpora hold no feed file, and every start and CLI command would
    # otherwise pay feedparser's import (about 0.05 s).
    import feedparser

    try:
        # Always a stream: feedparser treats bytes or str as a file name or URL to open if it can.
        parsed = feedparser.parse(io.BytesIO(data), resolve_relative_uris=False, sanitize_html=True)
    except Exception as exc:  # hostile bytes inside a third-party parser: report, never stop the load
        return failed(rel, None, f"cannot parse feed: {exc}")
    entries = parsed.get("entries") or []
    if not entries:
        if parsed.get("version"):
            return failed(rel, None, "feed has no entries")
        cause = parsed.get("bozo_exception")
        return failed(rel, None, "not an RSS or Atom feed" + (f" ({cause})" if cause else ""))
    feed_info = parsed.get("feed") or {}
    feed_title = feed_text(feed_info.get("title"), feed_info.get("title_detail"))
    articles: list[Article] = []
    problems: list[Problem] = []
    for number, entry in enumerate(entries, start=1):
        try:
            articles.append(_feed_article(entry, number, feed_title, rel))
        except Invalid as exc:
            problems.append(Problem(rel, None, f"feed entry {number}: {exc.reason}"))
    return Corpus(articles=tuple(articles), problems=tuple(problems))


def _feed_article(entry: Mapping[str, object], number: int, feed_title: str | None, rel: str) -> Article:
    title = feed_text(entry.get("title"), entry.get("title_detail"))
    link = _string(entry.get("link"))
    source_info = entry.get("source")
    source = feed_text(source_info.get("title"), None) if isinstance(source_info, dict) else None
    tags = [
        term
        for tag in _items(entry.get("tags"))
        if isinstance(tag, dict) and (term := _string(tag.get("term")) or _string(tag.get("label")))
    ]
    fields: dict[str, object] = {
        "id": _string(entry.get("id")) or link,
        "url": link,
        "source": source or feed_title,
        "tags": tags,
        "published": feed_date(entry),
    }
    return build_article(
        fields, title or "", feed_body(entry), rel=rel, line=None, default_id=f"{rel}#{number}"
    )


def feed_date(entry: Mapping[str, object]) -> datetime | None:
    """A feedparser entry's published (else updated) date in UTC; Invalid for a date it could not read."""
    for name in ("published", "updated"):
        if entry.get(name) is None:
            continue
        parsed = entry.get(f"{name}_parsed")
        if not isinstance(parsed, tuple) or len(parsed) < 6:
            raise Invalid(f"invalid date {entry.get(name)!r} in <{name}>")
        year, month, day, hour, minute, second = (int(part) for part in parsed[:6])
        try:
            # feedparser has already converted to UTC; leap seconds (60) do not fit a datetime.
            return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
        except ValueError:
            raise Invalid(f"invalid date {entry.get(name)!r} in <{name}>") from None
    return None


def feed_body(entry: Mapping[str, object]) -> str:
    """A feedparser entry's longest content (else its summary) as plain-text paragraphs."""
    best: tuple[str, object] = ("", None)
    for content in _items(entry.get("content")):
        if isinstance(content, dict) and len(value := _string(content.get("value")) or "") > len(best[0]):
            best = (value, content)
    if not best[0]:
        best = (_string(entry.get("summary")) or "", entry.get("summary_detail"))
    return feed_text(best[0], best[1], paragraphs=True) or ""


def feed_text(value: object, detail: object, *, paragraphs: bool = False) -> str | None:
    """A feed field as plain text (HTML stripped when its detail says HTML); None when empty."""
    text = _string(value)
    if text is None:
        return None
    kind = detail.get("type") if isinstance(detail, dict) else "text/html"
    chunks = html_paragraphs(text) if isinstance(kind, str) and "html" in kind else plain_paragraphs(text)
    return ("\n\n" if paragraphs else " ").join(chunks) or None


def _items(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []


def _string(value: object) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


class _HtmlText(HTMLParser):
    """Collects the text of an HTML fragment, with a paragraph break at every block element."""

    _BLOCKS = frozenset({"p", "div", "br", "li", "dt", "dd", "blockquote", "pre", "tr", "hr", "figcaption"})
    _SECTIONS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "header", "footer"})
    _HIDDEN = frozenset({"script", "style", "template", "head"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden += 1
        elif tag in self._BLOCKS or tag in self._SECTIONS:
            self.chunks.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self._BLOCKS or tag in self._SECTIONS:
            self.chunks.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.chunks.append(data)


def html_paragraphs(markup: str) -> list[str]:
    """The text of an HTML fragment, one string per paragraph."""
    parser = _HtmlText()
    parser.feed(markup)
    parser.close()
    return plain_paragraphs("".join(parser.chunks))
