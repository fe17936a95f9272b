"""When to poll a feed next: the interval, the feed's caching headers, Retry-After, backoff after failures,
and a stable offset per feed so that many feeds are not all fetched in the same second.

Pure and synchronous: times in, times out (no clock is read here). Must not import telegram, aiosqlite,
asyncio, pydantic or any HTTP client.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

MAX_BACKOFF_SECONDS = 6 * 3600.0  # a failing feed is still tried at least this often (until paused)
MAX_CACHE_SECONDS = 24 * 3600.0  # a feed's caching headers can push its next poll back at most this far
MAX_RETRY_AFTER_SECONDS = 24 * 3600.0
JITTER = 0.1  # each interval is stretched by up to this share, differently per feed and poll

_MAX_AGE = re.compile(r"(?:^|[,\s])(s-maxage|max-age)\s*=\s*\"?(\d+)", re.IGNORECASE)


def spread(key: str, salt: str = "") -> float:
    """A stable number in [0, 1) for a feed (and, with a salt, one poll of it): where in its interval it
    falls, so that polls of many feeds spread out instead of all starting together."""
    digest = hashlib.blake2b(f"{key}\0{salt}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def first_poll(now: datetime, url: str, every: float) -> datetime:
    """When a feed never polled before is first fetched: somewhere in its first interval (at most a
    minute away, so a new source shows results soon)."""
    return now + timedelta(seconds=spread(url) * min(every, 60.0))


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds a Retry-After header asks us to wait (a number of seconds or an HTTP date), capped."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return min(float(text), MAX_RETRY_AFTER_SECONDS)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return min(max((moment - now).total_seconds(), 0.0), MAX_RETRY_AFTER_SECONDS)


def cache_lifetime(headers: Mapping[str, str], now: datetime) -> float | None:
    """How long the response may be reused by its caching headers (Cache-Control max-age, else Expires),
    in seconds, capped; None when they say nothing (or no-cache/no-store)."""
    control = headers.get("Cache-Control") or headers.get("cache-control") or ""
    if re.search(r"\b(no-cache|no-store)\b", control, re.IGNORECASE):
        return None
    ages = {name.lower(): int(seconds) for name, seconds in _MAX_AGE.findall(control)}
    if ages:
        return min(float(ages.get("s-maxage", ages.get("max-age", 0))), MAX_CACHE_SECONDS)
    expires = headers.get("Expires") or headers.get("expires")
    if not expires:
        return None
    try:
        moment = parsedate_to_datetime(expires)
    except (TypeError, ValueError, IndexError):
        return None  # "0" or "-1" mean already expired
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    date = headers.get("Date") or headers.get("date")
    origin = now
    if date:
        try:
            origin = parsedate_to_datetime(date)
            if origin.tzinfo is None:
                origin = origin.replace(tzinfo=UTC)
        except (TypeError, ValueError, IndexError):
            origin = now
    return min(max((moment - origin).total_seconds(), 0.0), MAX_CACHE_SECONDS)


def next_after_success(
    now: datetime, url: str, every: float, *, cache_seconds: float | None = None
) -> datetime:
    """The next poll after a good fetch (new or not modified): one interval on, never before the feed's
    caching headers allow, stretched by a little jitter."""
    wait = max(every, cache_seconds or 0.0)
    return now + timedelta(seconds=wait * (1.0 + JITTER * spread(url, now.isoformat())))


def backoff_seconds(every: float, failures: int) -> float:
    """The wait after `failures` failures in a row: the interval, doubled per failure past the first,
    capped at MAX_BACKOFF_SECONDS (or the interval itself when that is longer)."""
    doubled = every * 2.0 ** min(max(failures - 1, 0), 32)
    return min(doubled, max(MAX_BACKOFF_SECONDS, every))


def next_after_failure(
    now: datetime, url: str, every: float, failures: int, *, retry_after_seconds: float | None = None
) -> datetime:
    """The next poll after a failure: exponential backoff with jitter, and never before Retry-After."""
    wait = backoff_seconds(every, failures) * (1.0 + JITTER * spread(url, now.isoformat()))
    return now + timedelta(seconds=max(wait, retry_after_seconds or 0.0))
