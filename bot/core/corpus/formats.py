"""Which files hold articles, and which parser reads each: bytes of one file → its articles and problems.

Pure and synchronous: the one seam between reading files (scan.py) and parsing them (one module per
format). Must not import telegram, aiosqlite, asyncio, pydantic or any HTTP client, and does no I/O.
"""

from __future__ import annotations

import codecs

from bot.core.corpus.feeds import parse_feed
from bot.core.corpus.fields import Invalid, failed
from bot.core.corpus.jsonl import parse_jsonl
from bot.core.corpus.markdown import parse_markdown
from bot.core.corpus.pages import parse_page
from bot.core.models import Corpus

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
JSONL_SUFFIXES = frozenset({".jsonl"})
TEXT_SUFFIXES = frozenset({".txt"})
FEED_SUFFIXES = frozenset({".xml", ".rss", ".atom"})
ARTICLE_SUFFIXES: frozenset[str] = MARKDOWN_SUFFIXES | JSONL_SUFFIXES | TEXT_SUFFIXES | FEED_SUFFIXES


def is_article_file(name: str) -> bool:
    """Whether a file name has an article suffix (README files are documentation, not articles)."""
    stem, dot, suffix = name.rpartition(".")
    return bool(dot) and f".{suffix.lower()}" in ARTICLE_SUFFIXES and stem.casefold() != "readme"


def parse_file(rel: str, suffix: str, data: bytes) -> Corpus:
    """The articles and problems in one file's bytes (`rel` names the file, `suffix` picks the parser)."""
    suffix = suffix.lower()
    if suffix in FEED_SUFFIXES:
        # Feeds declare their own encoding (even UTF-16, which contains NUL bytes): feedparser decides.
        return parse_feed(data, rel)
    if b"\0" in data:
        return failed(rel, None, "binary file (contains NUL bytes), not text")
    if suffix in JSONL_SUFFIXES:
        return parse_jsonl(data, rel)
    try:
        text = decode_text(data)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return failed(rel, line, f"invalid UTF-8 (byte {exc.start}); save the file as UTF-8")
    parse = parse_markdown if suffix in MARKDOWN_SUFFIXES else parse_page
    try:
        article = parse(text, rel)
    except Invalid as exc:
        return failed(rel, exc.line, exc.reason)
    except Exception as exc:  # hostile input meeting a case no parser foresaw: one problem, not a crash
        return failed(rel, None, f"cannot read this file: {type(exc).__name__}: {exc}")
    return Corpus(articles=(article,), problems=())


def decode_text(data: bytes) -> str:
    """UTF-8 text without a byte-order mark, with every line ending made "\\n"."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
