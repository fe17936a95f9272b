"""A small news website on 127.0.0.1 for the fetcher's tests: feeds and article pages written here, any
response a test wants (304s, 429s, redirects, endless bodies), and a record of every request.

Real HTTP over a real socket (aiohttp.web); nothing of the fetcher is replaced. The feeds are built from
Story values by rss(), atom() and json_feed(), in the formats real sites publish.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape
from typing import Any

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Story:
    """One story as a site would publish it: a teaser in the feed, the whole text on its page."""

    guid: str
    title: str
    teaser: str
    paragraphs: tuple[str, ...] = ()  # the page's text; the feed carries it whole when full_in_feed
    link: str = ""  # a path on the site, or an absolute URL
    published: datetime = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    author: str = "Tamsin Reeve"
    full_in_feed: bool = False

    @property
    def body_html(self) -> str:
        return "".join(f"<p>{escape(p)}</p>" for p in self.paragraphs)


@dataclass
class Recorded:
    """One request the site received."""

    path: str
    query: str
    headers: dict[str, str]


@dataclass
class Website:
    """The site: routes by path (each a handler), and every request in order."""

    routes: dict[str, Handler] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    runner: web.AppRunner | None = None
    port: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    @property
    def endpoint(self) -> str:
        """This site as an "ip:port" exception to the private-address rule."""
        return f"127.0.0.1:{self.port}"

    def hits(self, path: str) -> list[Recorded]:
        return [request for request in self.requests if request.path == path]

    def serve(self, path: str, handler: Handler) -> None:
        self.routes[path] = handler

    def static(
        self,
        path: str,
        body: bytes | str,
        *,
        content_type: str = "application/rss+xml",
        headers: dict[str, str] | None = None,
        status: int = 200,
    ) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body

        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(
                body=data, status=status, headers={"Content-Type": content_type, **(headers or {})}
            )

        self.routes[path] = handler

    def feed(self, path: str, body: str, *, etag: str | None = None, modified: str | None = None) -> None:
        """A feed answering conditional requests with 304 when the validators match."""
        data = body.encode("utf-8")

        async def handler(request: web.Request) -> web.StreamResponse:
            if etag is not None and request.headers.get("If-None-Match") == etag:
                return web.Response(status=304, headers={"ETag": etag})
            if modified is not None and etag is None and request.headers.get("If-Modified-Since") == modified:
                return web.Response(status=304)
            headers = {"Content-Type": "application/rss+xml; charset=utf-8"}
            if etag is not None:
                headers["ETag"] = etag
            if modified is not None:
                headers["Last-Modified"] = modified
            return web.Response(body=data, headers=headers)

        self.routes[path] = handler

    def pages(self, stories: Sequence[Story], *, site: str = "The Harbour Gazette") -> None:
        for story in stories:
            if story.link.startswith("/"):
                self.static(
                    story.link.split("?", 1)[0],
                    article_page(story, site=site),
                    content_type="text/html; charset=utf-8",
                )

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(Recorded(request.path, request.query_string, dict(request.headers)))
        handler = self.routes.get(request.path)
        if handler is None:
            return web.Response(status=404, text="not here")
        return await handler(request)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self.runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self.runner.addresses[0][1])

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


def rss(
    stories: Sequence[Story], *, base: str, title: str = "The Harbour Gazette", version: str = "2.0"
) -> str:
    """An RSS feed of the stories (the teaser as description; the whole text as content:encoded when
    the story says so)."""
    items = []
    for story in stories:
        link = story.link if story.link.startswith("http") else base + story.link
        content = (
            f"<content:encoded><![CDATA[{story.body_html}]]></content:encoded>" if story.full_in_feed else ""
        )
        guid = f'<guid isPermaLink="false">{escape(story.guid)}</guid>' if story.guid else ""
        items.append(
            f"<item><title>{escape(story.title)}</title><link>{escape(link)}</link>{guid}"
            f"<pubDate>{format_datetime(story.published)}</pubDate>"
            f"<author>{escape(story.author)}</author>"
            f"<description>{escape(story.teaser)}</description>{content}</item>"
        )
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="{version}" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>{escape(title)}</title><link>{base}/</link><description>Local news</description>"
        + "".join(items)
        + "</channel></rss>"
    )


def atom(stories: Sequence[Story], *, base: str, title: str = "Fjord Valley Times") -> str:
    entries = []
    for story in stories:
        link = story.link if story.link.startswith("http") else base + story.link
        entries.append(
            f"<entry><id>{escape(story.guid)}</id><title>{escape(story.title)}</title>"
            f'<link rel="alternate" href="{escape(link)}"/>'
            f"<updated>{story.published.isoformat()}</updated>"
            f"<author><name>{escape(story.author)}</name></author>"
            f"<summary>{escape(story.teaser)}</summary></entry>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title><id>{base}/</id><updated>2026-03-02T10:00:00Z</updated>"
        + "".join(entries)
        + "</feed>"
    )


def json_feed(stories: Sequence[Story], *, base: str, title: str = "Moorland Wire") -> str:
    items: list[dict[str, Any]] = []
    for story in stories:
        link = story.link if story.link.startswith("http") else base + story.link
        item: dict[str, Any] = {
            "id": story.guid,
            "url": link,
            "title": story.title,
            "summary": story.teaser,
            "date_published": story.published.isoformat(),
            "authors": [{"name": story.author}],
        }
        if story.full_in_feed:
            item["content_html"] = story.body_html
        else:
            item["content_text"] = story.teaser
        items.append(item)
    return json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": title,
            "home_page_url": base + "/",
            "items": items,
        }
    )


def article_page(story: Story, *, site: str = "The Harbour Gazette") -> str:
    """The story's page, dressed like a news site: navigation, a cookie banner, a byline, the article,
    a most-read box, a newsletter form and a footer."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{escape(story.title)} | {escape(site)}</title>
<meta name="author" content="{escape(story.author)}">
<meta property="article:published_time" content="{story.published.isoformat()}">
</head><body>
<header><a href="/">{escape(site)}</a><nav><a href="/news">News</a> <a href="/sport">Sport</a>
<a href="/weather">Weather</a> <a href="/letters">Letters</a></nav></header>
<div class="consent">We use cookies to remember your settings. <button>Accept</button></div>
<main><article>
<h1>{escape(story.title)}</h1>
<p class="byline">By {escape(story.author)}</p>
{story.body_html}
</article>
<aside><h2>Most read</h2><ul><li><a href="/a">Parking fees to rise at the marina</a></li>
<li><a href="/b">School choir wins regional prize</a></li>
<li><a href="/c">Tide tables for March</a></li></ul></aside>
<section class="newsletter"><h2>Get the morning briefing</h2>
<form><input placeholder="Email"><button>Sign up</button></form></section>
</main>
<footer>© 2026 {escape(site)}. All rights reserved. <a href="/privacy">Privacy</a></footer>
</body></html>"""


async def endless(request: web.Request, *, chunk: int = 1 << 20, total: int = 50 << 20) -> web.StreamResponse:
    """A response that would go on for `total` bytes (50 MB), sent a megabyte at a time."""
    response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
    await response.prepare(request)
    block = b"<!-- " + b"x" * (chunk - 9) + b" -->\n"
    sent = 0
    try:
        while sent < total:
            await response.write(block)
            sent += len(block)
    except (ConnectionError, asyncio.CancelledError):
        pass
    return response
