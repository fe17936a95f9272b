"""The fetcher's HTTP client: aiohttp with a guard on where it connects, and limits on everything else.

Only http and https. Private, loopback, link-local and other non-public addresses are refused unless
NEWSBOT_FETCH_PRIVATE_ADDRESSES: an IP in the URL is checked before connecting, a host name on the
addresses it resolves to (the resolver hands aiohttp only the allowed ones, so the address checked is the
address used), and again at every redirect, which is followed by hand (at most MAX_REDIRECTS). Responses
are read up to a size cap (after gzip/deflate decoding, which aiohttp does in bounded steps), within a
timeout for the whole exchange; conditional GET validators go out, a descriptive User-Agent too, and no
cookies are kept. Every failure is a FetchError with a one-line reason, never a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Self
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from bot.core.polling import retry_after

MAX_REDIRECTS = 5
CHUNK = 64 * 1024
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
USER_AGENT = (
    "Newsbot/0.1 (a Telegram news assistant's feed reader; polls politely with conditional requests "
    "and honours Retry-After)"
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class FetchError(Exception):
    """A fetch that gave no usable response; `reason` is one line for the admin."""

    def __init__(self, reason: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after  # seconds the server asked us to wait (429/503 Retry-After)


class BlockedAddress(OSError):
    """The host resolves only to addresses the fetcher may not connect to."""


@dataclass(frozen=True, slots=True)
class Fetched:
    """A response worth reading: 2xx with its body, or 304 Not Modified."""

    url: str  # after redirects
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names

    @property
    def not_modified(self) -> bool:
        """Whether the server said the feed is unchanged since the validators we sent."""
        return self.status == 304

    @property
    def content_type(self) -> str | None:
        """The media type, without parameters."""
        value = self.headers.get("content-type")
        return value.split(";", 1)[0].strip().lower() if value else None

    @property
    def charset(self) -> str | None:
        """The charset parameter of Content-Type, if any."""
        for part in (self.headers.get("content-type") or "").split(";")[1:]:
            name, _, value = part.partition("=")
            if name.strip().lower() == "charset" and value.strip():
                return value.strip().strip("\"'").lower()
        return None


def address_allowed(address: str, allow_private: bool) -> bool:
    """Whether the fetcher may connect to this IP address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if allow_private:
        return True
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved)


class GuardedResolver(AbstractResolver):
    """Resolves with the system resolver and keeps only the addresses the fetcher may use."""

    def __init__(self, allow_private: bool, exceptions: frozenset[str] = frozenset()) -> None:
        self._resolver = aiohttp.ThreadedResolver()
        self._allow_private = allow_private
        self._exceptions = exceptions

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The host's addresses that may be used; BlockedAddress when none may."""
        results = await self._resolver.resolve(host, port, family)
        allowed = [
            result
            for result in results
            if address_allowed(result["host"], self._allow_private)
            or f"{result['host']}:{result['port']}" in self._exceptions
        ]
        if not allowed:
            shown = ", ".join(sorted({result["host"] for result in results})) or "nothing"
            raise BlockedAddress(
                f"{host} resolves to {shown}: a private, loopback or link-local address, which is refused "
                "(NEWSBOT_FETCH_PRIVATE_ADDRESSES=true allows it)"
            )
        return allowed

    async def close(self) -> None:
        """Close the underlying resolver."""
        await self._resolver.close()


class WebClient:
    """One aiohttp session for all fetches, with the guard and the limits; use `async with`."""

    def __init__(
        self,
        *,
        timeout: float = 20.0,
        max_bytes: int = 5 * 1024 * 1024,
        allow_private: bool = False,
        concurrency: int = 4,
        user_agent: str = USER_AGENT,
        exceptions: frozenset[str] = frozenset(),
    ) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.allow_private = allow_private
        # "ip:port" endpoints allowed although private: the one feed server a test runs on 127.0.0.1,
        # so that a redirect from it to another local port can be seen refused.
        self.exceptions = exceptions
        self.user_agent = user_agent
        self._concurrency = concurrency
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        connector = aiohttp.TCPConnector(
            resolver=GuardedResolver(self.allow_private, self.exceptions),
            limit=max(self._concurrency * 2, 4),
            limit_per_host=2,  # polite: never more than two requests at once to one server
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=self.timeout, sock_connect=min(self.timeout, 10.0)),
            headers={"User-Agent": self.user_agent},
            trust_env=False,
        )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session and its connections."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = FEED_ACCEPT,
        max_bytes: int | None = None,
    ) -> Fetched:
        """GET a URL (following redirects under the guard); FetchError for anything but 2xx or 304."""
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        limit = self.max_bytes if max_bytes is None else max_bytes
        try:
            async with asyncio.timeout(self.timeout):
                return await self._follow(url, headers, limit)
        except FetchError:
            raise
        except TimeoutError:
            raise FetchError(f"no complete answer within {self.timeout:g} s") from None
        except aiohttp.ClientConnectorError as error:
            cause = error.os_error
            if isinstance(cause, BlockedAddress):
                raise FetchError(str(cause)) from None
            raise FetchError(f"cannot connect to {error.host}: {cause.strerror or cause}") from None
        except aiohttp.ClientResponseError as error:
            raise FetchError(f"bad HTTP response: {error.message}", status=error.status or None) from None
        except aiohttp.ClientPayloadError as error:
            raise FetchError(f"the response body is broken: {error}") from None
        except aiohttp.ClientError as error:
            raise FetchError(f"HTTP error: {type(error).__name__}: {error}") from None
        except (OSError, ValueError, UnicodeError) as error:
            raise FetchError(f"cannot fetch: {type(error).__name__}: {error}") from None

    async def _follow(self, url: str, headers: dict[str, str], limit: int) -> Fetched:
        session = self._session
        if session is None:
            raise RuntimeError("WebClient used outside `async with`")
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            self._check(current)
            async with session.get(
                current, headers=headers, allow_redirects=False, max_line_size=16384, max_field_size=16384
            ) as response:
                status = response.status
                if status in _REDIRECTS:
                    location = response.headers.get("Location")
                    if not location:
                        raise FetchError(f"HTTP {status} redirect without a Location", status=status)
                    current = urljoin(current, location)
                    continue
                answer = {name.lower(): value for name, value in response.headers.items()}
                if status == 304:
                    return Fetched(current, 304, b"", answer)
                if not 200 <= status < 300:
                    wait = retry_after(answer.get("retry-after"), datetime.now(UTC))
                    reason = f"HTTP {status} {response.reason or ''}".strip()
                    if wait is not None and status in (429, 503):
                        reason += f"; asked to wait {wait:.0f} s (Retry-After)"
                    raise FetchError(reason, status=status, retry_after=wait)
                body = await _read_capped(response, limit)
                return Fetched(current, status, body, answer)
        raise FetchError(f"more than {MAX_REDIRECTS} redirects")

    def _check(self, url: str) -> None:
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError as error:
            raise FetchError(f"not a URL: {error}") from None
        if parts.scheme.lower() not in ("http", "https"):
            raise FetchError(f"refused {parts.scheme or 'a schemeless'} URL: only http and https are fetched")
        if not host:
            raise FetchError("the URL has no host")
        with contextlib.suppress(ValueError):
            ipaddress.ip_address(host.split("%", 1)[0])
            port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
            if not address_allowed(host, self.allow_private) and f"{host}:{port}" not in self.exceptions:
                raise FetchError(
                    f"{host} is a private, loopback or link-local address, which is refused "
                    "(NEWSBOT_FETCH_PRIVATE_ADDRESSES=true allows it)"
                )


async def _read_capped(response: aiohttp.ClientResponse, limit: int) -> bytes:
    declared = response.content_length
    if declared is not None and declared > limit:
        raise FetchError(f"the response is {declared:,} bytes, over the {limit:,}-byte limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(CHUNK):
        size += len(chunk)
        if size > limit:
            raise FetchError(f"the response grew past the {limit:,}-byte limit; the rest was not read")
        chunks.append(chunk)
    return b"".join(chunks)
