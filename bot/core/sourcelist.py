"""The sources file: which feeds to poll, how often, which topics their articles carry, and when to fetch
the full text of an entry's page.

Pure and synchronous apart from load_sources, which reads the file: bad entries become Problems and the
rest is used. A URL is checked for its form only (http or https, a host); where it leads is the
fetcher's business. Must not import telegram, aiosqlite, asyncio, pydantic or any HTTP client.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from bot.core.models import Problem
from bot.core.topics import SLUG_PATTERN

MIN_EVERY_SECONDS = 5.0
MAX_URL_CHARS = 2000
MAX_NAME_CHARS = 100
MAX_SOURCE_TOPICS = 10


class FullText(StrEnum):
    """When to fetch an entry's page for its full text."""

    AUTO = "auto"  # when the feed gives only a teaser (shorter than NEWSBOT_FULL_TEXT_BELOW_CHARS)
    ALWAYS = "always"
    NEVER = "never"


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """One feed as configured: its URL, a display name, topics for its articles, interval, full text."""

    url: str
    name: str | None = None
    topics: tuple[str, ...] = ()
    every: float | None = None  # seconds between polls; None: NEWSBOT_FETCH_EVERY_SECONDS
    full_text: FullText = FullText.AUTO


def check_url(text: str) -> str:
    """The URL with surrounding blanks removed; ValueError saying why it cannot be a feed address."""
    url = text.strip()
    if not url:
        raise ValueError("the URL is empty")
    if len(url) > MAX_URL_CHARS:
        raise ValueError(f"the URL is longer than {MAX_URL_CHARS} characters")
    if any(character.isspace() or ord(character) < 32 for character in url):
        raise ValueError("the URL contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a port that is not a number or out of range
    except ValueError as error:
        raise ValueError(f"not a URL ({error})") from None
    del port
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError(f"only http and https URLs can be fetched (got {parts.scheme or 'no'} scheme)")
    if not parts.hostname:
        raise ValueError("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("the URL carries a user name or password; give it without")
    return url


def parse_sources(
    text: str, shown: str = "sources.yaml"
) -> tuple[tuple[SourceSpec, ...], tuple[Problem, ...]]:
    """The sources a file's text lists (a `sources:` list, or a bare list), and a Problem per bad entry."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        return (), (Problem(shown, line, f"not valid YAML: {getattr(error, 'problem', error)}"),)
    if raw is None:
        return (), ()
    entries = raw.get("sources") if isinstance(raw, dict) else raw
    if entries is None:
        return (), ()
    if not isinstance(entries, list):
        return (), (Problem(shown, None, "the file must hold a `sources:` list"),)
    specs: list[SourceSpec] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        try:
            spec = parse_source(entry)
        except ValueError as error:
            problems.append(Problem(shown, None, f"source #{number}: {error}"))
            continue
        if spec.url in seen:
            problems.append(Problem(shown, None, f"source #{number}: {spec.url} is listed twice"))
            continue
        seen.add(spec.url)
        specs.append(spec)
    return tuple(specs), tuple(problems)


def parse_source(entry: object) -> SourceSpec:
    """One entry of the sources file (a mapping, or a bare URL); ValueError naming what is wrong."""
    if isinstance(entry, str):
        entry = {"url": entry}
    if not isinstance(entry, dict):
        raise ValueError("each source must be a URL or a mapping with a `url`")
    unknown = sorted(str(key) for key in entry if key not in ("url", "name", "topics", "every", "full_text"))
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r} (known: url, name, topics, every, full_text)")
    url = entry.get("url")
    if not isinstance(url, str):
        raise ValueError("`url` is missing or not text")
    url = check_url(url)
    name = entry.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise ValueError("`name` must be text")
    return SourceSpec(
        url=url,
        name=" ".join(name.split())[:MAX_NAME_CHARS] if isinstance(name, str) else None,
        topics=_topics(entry.get("topics")),
        every=_every(entry.get("every")),
        full_text=_full_text(entry.get("full_text")),
    )


def load_sources(path: Path) -> tuple[tuple[SourceSpec, ...], tuple[Problem, ...]]:
    """Read the sources file; a missing file means no sources, an unreadable one is a Problem."""
    shown = path.name
    if not path.exists():
        return (), ()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return (), (Problem(shown, None, f"cannot read the sources file: {error}"),)
    return parse_sources(text, shown)


def _topics(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError("`topics` must be a list of topic slugs")
    slugs = tuple(dict.fromkeys(item.strip().lower() for item in value if item.strip()))
    for slug in slugs:
        if not SLUG_PATTERN.match(slug):
            raise ValueError(f"{slug!r} is not a topic slug (lowercase letters, digits and dashes)")
    if len(slugs) > MAX_SOURCE_TOPICS:
        raise ValueError(f"at most {MAX_SOURCE_TOPICS} topics per source")
    return slugs


def _every(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("`every` must be a number of seconds")
    if not value >= MIN_EVERY_SECONDS:  # also refuses NaN
        raise ValueError(f"`every` must be at least {MIN_EVERY_SECONDS:g} seconds (got {value})")
    return float(min(value, 7 * 86400))


def _full_text(value: object) -> FullText:
    if value is None:
        return FullText.AUTO
    if isinstance(value, bool):  # YAML reads a bare `never`… as text, but `no`/`yes` as booleans
        return FullText.ALWAYS if value else FullText.NEVER
    try:
        return FullText(str(value).strip().lower())
    except ValueError:
        raise ValueError(f"`full_text` must be auto, always or never (got {value!r})") from None
