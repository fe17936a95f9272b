"""An article's page → its main text, title, date and author, with trafilatura (see README, "Full text").

Synchronous (lxml work; the poller runs it in a thread) and never raises anything but ExtractionFailed,
whose reason is kept with the article when the feed's teaser has to do. The bytes are decoded here, not
by the extractor, so a page that lies about its encoding is noticed and said so.
"""

from __future__ import annotations

import functools
import re
from configparser import ConfigParser
from dataclasses import dataclass
from datetime import UTC, datetime

import charset_normalizer

from bot.core.corpus.fields import plain_paragraphs

MIN_TEXT_CHARS = 200  # less than this is not an article's text (a consent page, an error page)
MAX_TREE_NODES = 200_000  # trafilatura's own guard against giant pages
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_WORD = re.compile(r"\w{4,}")


@functools.cache
def _config() -> ConfigParser:
    """trafilatura's settings with our limits (read once, on first use)."""
    from trafilatura.settings import use_config  # (see extract_article on why imported here)

    config = use_config()
    config.set("DEFAULT", "MAX_TREE_SIZE", str(MAX_TREE_NODES))
    config.set("DEFAULT", "EXTENSIVE_DATE_SEARCH", "off")  # the page's own metadata, not guesses from text
    return config


class ExtractionFailed(Exception):
    """The page gave no article text; the reason is one line, kept with the article."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class PageArticle:
    """What a page holds: the article's text as paragraphs, and what metadata it states."""

    text: str
    title: str | None = None
    published: datetime | None = None
    author: str | None = None
    note: str | None = None  # something worth knowing that did not stop the extraction (an encoding)


def decode_page(data: bytes, declared: str | None) -> tuple[str, str | None]:
    """The page as text, and a note when it was not in the encoding it declares (header, else meta)."""
    stated = declared or _meta_charset(data)
    if stated:
        try:
            return data.decode(stated), None
        except LookupError:
            stated_note = f"the page names an unknown encoding {stated!r}"
        except UnicodeDecodeError as error:
            stated_note = f"the page says it is {stated} but byte {error.start} is not"
    else:
        try:
            return data.decode("utf-8"), None
        except UnicodeDecodeError:
            stated_note = "the page names no encoding and is not UTF-8"
    # The detector ranks near-equals by chance on short text; where windows-1252 fits at all it wins,
    # as it does in browsers for mislabelled Western pages.
    guesses = [match.encoding for match in charset_normalizer.from_bytes(data[:1_000_000])]
    for guess in sorted(guesses, key=lambda name: name != "cp1252")[:3]:
        try:
            return data.decode(guess), f"{stated_note}; read as {guess}"
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("utf-8", "replace"), f"{stated_note}; unreadable bytes replaced"


def extract_article(data: bytes, *, url: str, charset: str | None = None, teaser: str = "") -> PageArticle:
    """The main text and metadata of an article page; ExtractionFailed when there is none worth keeping.

    With a teaser (the feed's text), a page whose text shares almost none of its words is refused: that
    is a consent, login or error page, not the article.
    """
    if not data.strip():
        raise ExtractionFailed("the page is empty")
    # Imported on first use: pages are read in worker processes, whose forkserver imports trafilatura
    # ahead (bot.sources.workers.PRELOAD); the bot's own process never needs its 0.1 s import.
    import trafilatura

    markup, note = decode_page(data, charset)
    try:
        document = trafilatura.bare_extraction(
            markup,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=False,
            include_images=False,
            date_extraction_params={"extensive_search": False, "outputformat": "%Y-%m-%dT%H:%M:%S%z"},
            config=_config(),
        )
    except Exception as error:  # a hostile page inside a third-party library: a reason, never a crash
        raise ExtractionFailed(f"the extractor failed: {type(error).__name__}: {error}"[:300]) from None
    if document is None or isinstance(document, dict):
        raise ExtractionFailed("no article text found on the page" + (f" ({note})" if note else ""))
    raw_text = str(getattr(document, "text", "") or "")
    title = _clean(getattr(document, "title", None))
    paragraphs = plain_paragraphs(raw_text.replace("\n", "\n\n"))
    if paragraphs and title and " ".join(paragraphs[0].split()) == title:
        paragraphs = paragraphs[1:]  # the headline, repeated as the text's first line
    text = "\n\n".join(paragraphs)
    if len(text) < MIN_TEXT_CHARS:
        raise ExtractionFailed(
            f"the page holds no article text (only {len(text)} characters found)"
            + (f"; {note}" if note else "")
        )
    if teaser and not _shares_words(teaser, text):
        raise ExtractionFailed("the page's text does not match the entry (a consent, login or error page?)")
    return PageArticle(
        text=text,
        title=title,
        published=_date(getattr(document, "date", None)),
        author=_clean(getattr(document, "author", None)),
        note=note,
    )


def _meta_charset(data: bytes) -> str | None:
    match = _META_CHARSET.search(data[:4096])
    return match.group(1).decode("ascii").lower() if match else None


def _clean(value: object) -> str | None:
    return (" ".join(value.split()) or None) if isinstance(value, str) else None


def _date(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _shares_words(teaser: str, text: str) -> bool:
    wanted = {word.casefold() for word in _WORD.findall(teaser)}
    if len(wanted) < 5:
        return True  # too short a teaser to judge by
    found = {word.casefold() for word in _WORD.findall(text)}
    return len(wanted & found) >= 0.3 * len(wanted)
