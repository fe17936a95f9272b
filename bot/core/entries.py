"""Feeds fetched from the web → entries: RSS 0.9x/1.0/2.0 and Atom (through feedparser) and JSON Feed, with
the keys that recognise an entry seen before (its feed id, its canonical URL, a fingerprint of its text).

Pure and synchronous: bytes in, a FeedDocument or FeedError out. An XML document that declares entities is
refused before any parser sees it (entity expansion and external entities are the classic XML attacks);
documents and entries past the caps are cut and said so. Must not import telegram, aiosqlite, asyncio,
pydantic or any HTTP client.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from bot.core.corpus.feeds import feed_body, feed_date, feed_text, html_paragraphs
from bot.core.corpus.fields import Invalid, plain_paragraphs
from bot.core.models import Article

MAX_ENTRIES = 1000  # per document: a feed is a list of recent entries, not an archive
MAX_TEXT_CHARS = 200_000  # per entry, after markup is stripped
MAX_TITLE_CHARS = 300
DERIVED_TITLE_WORDS = 14  # an entry without a title is named by the start of its text
ID_PREFIX = "feed-"  # fetched article ids: never a corpus path, and a corpus id using it is dropped

# Query parameters that say who sent a reader, not what the page is.
TRACKING_PARAMETERS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "ref_src",
        "ref_url",
        "cmpid",
        "ocid",
        "ncid",
        "s_cid",
        "sr_share",
        "guccounter",
        "at_medium",
        "at_campaign",
        "spm",
        "__twitter_impression",
    }
)
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_ENTITY_DECLARATION = re.compile(rb"<!\s*ENTITY", re.IGNORECASE)
_WIDE_ENTITY = tuple(
    pattern.encode(codec) for pattern in ("<!ENTITY", "<!entity") for codec in ("utf-16-le", "utf-16-be")
)
_NOT_WORD = re.compile(r"[\W_]+")


class FeedError(Exception):
    """A document that is not a usable feed; the reason is one line for the admin."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One entry of a fetched feed, as plain text, with the key that identifies it within its feed."""

    key: str  # the feed's id (guid) for it, else its canonical link, else a hash of its title and text
    title: str
    text: str  # plain text, paragraphs separated by a blank line; may be only a teaser
    url: str | None = None  # an absolute http(s) link to its page
    published: datetime | None = None  # timezone-aware
    author: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FeedDocument:
    """What one fetched feed holds: its title and format, its entries, and what had to be left out."""

    title: str | None
    format: str  # feedparser's version ("rss20", "atom10" …) or "json1"
    entries: tuple[FeedEntry, ...]
    problems: tuple[str, ...] = ()


def parse_feed_document(data: bytes, *, url: str = "", content_type: str | None = None) -> FeedDocument:
    """A fetched RSS, Atom or JSON Feed document as entries (relative links resolved against `url`);
    FeedError when it is not a feed at all, or declares XML entities."""
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if (content_type is not None and "json" in content_type.lower()) or head.startswith(b"{"):
        return _json_feed(data, url)
    return _xml_feed(data, url)


def is_teaser(entry: FeedEntry, below_chars: int) -> bool:
    """Whether the feed gave only a teaser: text shorter than `below_chars`, or nothing past the title."""
    text = " ".join(entry.text.split())
    return len(text) < below_chars or _normal(text) == _normal(entry.title)


def canonical_url(url: str) -> str:
    """The URL without what does not change the page: case of scheme and host, default port, fragment,
    tracking parameters (utm_*, fbclid …); remaining parameters sorted."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    query = sorted(
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key.lower() not in TRACKING_PARAMETERS and not key.lower().startswith(_TRACKING_PREFIXES)
    )
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query), ""))


def fingerprint(title: str, text: str) -> str:
    """A hash of an entry's words (case, accents of form, punctuation and spacing aside): equal for copies."""
    normal = _normal(title) + "\n" + _normal(text)
    return hashlib.blake2b(normal.encode("utf-8"), digest_size=16).hexdigest()


def fetched_article_id(source_url: str, key: str) -> str:
    """The stable article id of a feed's entry: the same for the same feed and entry key, forever."""
    digest = hashlib.blake2b(f"{source_url}\n{key}".encode(), digest_size=10).hexdigest()
    return ID_PREFIX + digest


def entry_article(
    entry: FeedEntry,
    *,
    article_id: str,
    source_name: str | None,
    topics: tuple[str, ...] = (),
    path: str = "",
) -> Article:
    """An entry as an archive Article: the source's topics join the entry's own tags."""
    return Article(
        id=article_id,
        title=entry.title,
        body=entry.text,
        published=entry.published,
        source=source_name,
        url=entry.url,
        tags=tuple(dict.fromkeys((*topics, *entry.tags))),
        path=path,
    )


# --------------------------------------------------------------------------- XML feeds


def _xml_feed(data: bytes, url: str) -> FeedDocument:
    if _ENTITY_DECLARATION.search(data) or any(pattern in data for pattern in _WIDE_ENTITY):
        raise FeedError(
            "the document declares XML entities (<!ENTITY …>); refused: entity expansion and external "
            "entities are how XML documents attack their readers, and feeds do not need them"
        )
    # Imported on first use: feeds are parsed in worker processes, whose forkserver imports feedparser
    # ahead (bot.sources.workers.PRELOAD); the bot's own process need not pay for it at start-up.
    import feedparser

    try:
        # Always a stream: feedparser treats bytes or str as a file name or URL to open if it can.
        parsed = feedparser.parse(io.BytesIO(data), resolve_relative_uris=False, sanitize_html=True)
    except Exception as error:  # hostile bytes inside a third-party parser: report, never crash
        raise FeedError(f"cannot parse the feed: {type(error).__name__}: {error}") from None
    version = str(parsed.get("version") or "")
    raw_entries = parsed.get("entries") or []
    if not version and not raw_entries:
        cause = parsed.get("bozo_exception")
        raise FeedError("not an RSS, Atom or JSON feed" + (f" ({cause})" if cause else ""))
    info = parsed.get("feed") or {}
    title = feed_text(info.get("title"), info.get("title_detail"))
    problems: list[str] = []
    entries: list[FeedEntry] = []
    for number, raw in enumerate(raw_entries[:MAX_ENTRIES], start=1):
        try:
            entries.append(_xml_entry(raw, url))
        except Invalid as error:
            problems.append(f"entry {number}: {error.reason}")
    if len(raw_entries) > MAX_ENTRIES:
        problems.append(f"{len(raw_entries) - MAX_ENTRIES} entries past the first {MAX_ENTRIES} left out")
    return FeedDocument(title, version or "xml", tuple(entries), tuple(problems))


def _xml_entry(raw: Mapping[str, object], base: str) -> FeedEntry:
    link = _link(raw.get("link"), base)
    text = _cap(feed_body(raw))
    title = feed_text(raw.get("title"), raw.get("title_detail")) or ""
    try:
        published = feed_date(raw)
    except Invalid:
        published = None  # a feed's broken date is not worth losing the entry over
    author = _string(raw.get("author"))
    tags = tuple(
        term
        for tag in _items(raw.get("tags"))
        if isinstance(tag, dict) and (term := _string(tag.get("term")) or _string(tag.get("label")))
    )
    return _entry(_string(raw.get("id")), title, text, link, published, author, tags)


# --------------------------------------------------------------------------- JSON Feed


def _json_feed(data: bytes, url: str) -> FeedDocument:
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        raise FeedError(f"the JSON feed is not valid UTF-8 ({error.reason} at byte {error.start})") from None
    except (ValueError, RecursionError) as error:
        raise FeedError(f"not valid JSON ({type(error).__name__}: {str(error)[:200]})") from None
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        raise FeedError("not a JSON Feed (no `items` list)")
    version = document.get("version")
    if not isinstance(version, str) or "jsonfeed.org" not in version:
        raise FeedError("not a JSON Feed (no jsonfeed.org `version`)")
    title = _string(document.get("title"))
    home = _string(document.get("home_page_url")) or url
    raw_items: list[object] = document["items"]
    problems: list[str] = []
    entries: list[FeedEntry] = []
    for number, item in enumerate(raw_items[:MAX_ENTRIES], start=1):
        try:
            if not isinstance(item, dict):
                raise Invalid("not an object")
            entries.append(_json_entry(item, url or home))
        except Invalid as error:
            problems.append(f"item {number}: {error.reason}")
    if len(raw_items) > MAX_ENTRIES:
        problems.append(f"{len(raw_items) - MAX_ENTRIES} items past the first {MAX_ENTRIES} left out")
    return FeedDocument(title, "json1", tuple(entries), tuple(problems))


def _json_entry(item: Mapping[str, object], base: str) -> FeedEntry:
    raw_id = item.get("id")
    key = str(raw_id).strip() if isinstance(raw_id, str | int) and not isinstance(raw_id, bool) else None
    link = _link(item.get("url"), base) or _link(item.get("external_url"), base)
    html = _string(item.get("content_html"))
    plain = _string(item.get("content_text"))
    summary = _string(item.get("summary"))
    if html and len(html) > len(plain or ""):
        paragraphs = html_paragraphs(html)
    else:
        paragraphs = plain_paragraphs(plain or summary or "")
    text = _cap("\n\n".join(paragraphs))
    published = _json_date(item.get("date_published")) or _json_date(item.get("date_modified"))
    authors = item.get("authors")
    first_author = authors[0] if isinstance(authors, list) and authors else item.get("author")
    author = _string(first_author.get("name")) if isinstance(first_author, dict) else None
    tags = tuple(tag.strip() for tag in _items(item.get("tags")) if isinstance(tag, str) and tag.strip())
    title = " ".join((_string(item.get("title")) or "").split())
    return _entry(key, title, text, link, published, author, tags)


def _json_date(value: object) -> datetime | None:
    text = _string(value)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


# --------------------------------------------------------------------------- shared


def _entry(
    key: str | None,
    title: str,
    text: str,
    link: str | None,
    published: datetime | None,
    author: str | None,
    tags: tuple[str, ...],
) -> FeedEntry:
    if not title and not text:
        raise Invalid("no title and no text")
    if not title:
        words = text.split()
        title = " ".join(words[:DERIVED_TITLE_WORDS]) + ("…" if len(words) > DERIVED_TITLE_WORDS else "")
    title = title[:MAX_TITLE_CHARS]
    if not text:
        text = title  # a headline-only entry: its page may give the text (full_text)
    if not key:
        key = canonical_url(link) if link else "text:" + fingerprint(title, text)
    return FeedEntry(key[:1000], title, text, link, published, (author or "")[:200] or None, tags[:20])


def _link(value: object, base: str) -> str | None:
    text = _string(value)
    if text is None:
        return None
    try:
        absolute = urljoin(base, text) if base else text
        scheme = urlsplit(absolute).scheme.lower()
    except ValueError:
        return None
    return absolute if scheme in ("http", "https") else None


def _cap(text: str) -> str:
    return text if len(text) <= MAX_TEXT_CHARS else text[:MAX_TEXT_CHARS].rsplit(" ", 1)[0] + " …"


def _normal(text: str) -> str:
    return " ".join(_NOT_WORD.sub(" ", unicodedata.normalize("NFKC", text).casefold()).split())


def _items(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []


def _string(value: object) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None
