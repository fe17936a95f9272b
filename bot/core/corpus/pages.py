"""Scraped text pages → one Article: the first real line is the title; each paragraph is kept once, site
chrome ("Home", "Comments (0)", "0/500" …) and the trailing block of teasers ("Related article" …) dropped.

Pure and synchronous (text in, Article or Invalid out). Must not import telegram, aiosqlite, asyncio,
pydantic or any HTTP client, and does no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.core.corpus.fields import Invalid, build_article, text_key
from bot.core.models import Article

_CHROME_LINES = frozenset(
    {
        "home",
        "menu",
        "search",
        "share",
        "share this",
        "share this article",
        "advertisement",
        "advertisements",
        "sponsored",
        "comments",
        "comment",
        "post comment",
        "print",
        "email",
        "facebook",
        "twitter",
        "linkedin",
        "whatsapp",
        "weibo",
        "wechat",
        "copy link",
        "link copied",
        "subscribe",
        "sign in",
        "log in",
        "login",
        "sign up",
        "register",
        "back to top",
        "skip to content",
        "skip to main content",
        "follow us",
        "newsletter",
        "read more",
        "show more",
        "load more",
        "loading...",
        "all rights reserved",
        "all rights reserved.",
    }
)
_CHROME_PATTERNS = (
    re.compile(r"comments?\s*\(\d+\)"),  # Comments (0)
    re.compile(r"\d+\s+comments?"),
    re.compile(r"\d+\s*/\s*\d+"),  # a comment box's character counter, 0/500
    re.compile(r"(?:share|follow us)\s+(?:on|via)\s+\S+"),
    re.compile(r"page\s+\d+\s+of\s+\d+"),
    re.compile(r"\d+\s+min(?:ute)?s?\s+read"),
    re.compile(r"(?:©|copyright\s+©|copyright\s+\d{4}\b).{0,100}"),
)
_TEASER_MARKERS = frozenset(
    {
        "you may also like",
        "you might also like",
        "more stories",
        "recommended for you",
        "recommended stories",
        "further reading",
        "most read",
        "most popular",
    }
)
_RELATED = re.compile(r"related\b")


def parse_page(text: str, rel: str) -> Article:
    """One article from a scraped text page; raises Invalid when the page has no text."""
    lines = [joined for raw in text.split("\n") if (joined := " ".join(raw.split()))]
    # A scrape may open with navigation ("Home"): the title is the first line that is not chrome.
    start = next(
        (i for i, line in enumerate(lines) if not _is_chrome(line) and not _is_teaser_marker(line)), None
    )
    if start is None:
        raise Invalid("missing title: the file has no text")
    title = lines[start]
    return build_article(
        {}, title, "\n\n".join(_clean_page(lines[start + 1 :], title)), rel=rel, line=None, default_id=rel
    )


def _clean_page(lines: Iterable[str], title: str) -> list[str]:
    """Each line is a paragraph; keep each once, drop site chrome and the trailing block of teasers."""
    seen = {text_key(title)}
    kept: list[str] = []
    for line in lines:
        if _is_teaser_marker(line):
            if kept:
                break  # everything after "Related article" is other stories, or this one repeated
            continue
        if _is_chrome(line):
            continue
        key = text_key(line)
        if key not in seen:
            seen.add(key)
            kept.append(line)
    return kept


def _is_chrome(line: str) -> bool:
    folded = line.casefold()
    return folded in _CHROME_LINES or any(pattern.fullmatch(folded) for pattern in _CHROME_PATTERNS)


def _is_teaser_marker(line: str) -> bool:
    folded = line.casefold().rstrip(" :")
    if len(folded.split()) > 6 or folded.endswith((".", "!", "?")) or ":" in folded:
        return False
    return folded in _TEASER_MARKERS or _RELATED.match(folded) is not None
