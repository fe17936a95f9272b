"""The playground's web side: the chat page, a small JSON API that plays the users, and a live event stream.

The page's actions become stand-in scenario calls (a user writes, presses a button, types an inline
query); what the bot does comes back as server-sent events. Everything the page loads is served from
this package, so it works offline. Must not import telegram.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.core.topics import load_topics
from bot.playground.articles import (
    SUBDIRECTORY,
    ArticleError,
    NewArticle,
    topics_from_form,
    write_article,
)
from bot.playground.demofeed import (
    EVENT_TOPIC,
    FOLLOW_SECONDS,
    POLL_SECONDS,
    DemoFeed,
    TwoSourceEvent,
)
from bot.playground.messages import JsonDict, event_view, inline_result_view, message_view
from bot.playground.scene import Chat, Person, Scene
from bot.standin import BotApiStandIn, Entity, Event, EventKind, FormattedText, parse_html
from bot.standin.entities import trim

log = logging.getLogger(__name__)

STATIC_FILES = {
    "index.html": "text/html",
    "app.css": "text/css",
    "app.js": "text/javascript",
    "icon.svg": "image/svg+xml",
}
# The page may load only what this server serves; no inline script, no remote anything.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
MAX_TEXT = 4096
MAX_INLINE_QUERY = 256
INLINE_ANSWER_SECONDS = 10.0
KEEPALIVE_SECONDS = 15.0
CLIENT_BACKLOG = 1000

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class RequestError(Exception):
    """A request the page should not have made; answered with a status and a one-line reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def is_loopback(host: str) -> bool:
    """Whether a host name or address means this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class PlaygroundServer:
    """The chat page and its API over one stand-in and scene."""

    def __init__(
        self,
        standin: BotApiStandIn,
        scene: Scene,
        corpus_dir: Path,
        topics_path: Path,
        *,
        watch_seconds: float = 0.0,
        follow_seconds: float = FOLLOW_SECONDS,
    ) -> None:
        self.standin = standin
        self.scene = scene
        self.corpus_dir = corpus_dir
        self.topics_path = topics_path
        self.watch_seconds = watch_seconds
        self._clients: set[asyncio.Queue[JsonDict | None]] = set()
        self._via_inline: set[tuple[int, int]] = set()
        self._runner: web.AppRunner | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._host = "127.0.0.1"
        self._port = 0
        self.demo = DemoFeed()  # the demo news site the bot polls (demofeed.py)
        # Two more sites, reporting one event follow_seconds apart (counted from the bot's read of the first).
        self.event = TwoSourceEvent(follow_seconds=follow_seconds)
        self._follow_up: asyncio.TimerHandle | None = None

    # ----------------------------------------------------------------- lifecycle

    def application(self) -> web.Application:
        """The aiohttp application: page, static files, API and event stream."""
        app = web.Application(middlewares=[self._guard], client_max_size=256 * 1024)
        app.router.add_get("/", self._page)
        app.router.add_get("/static/{name}", self._static)
        app.router.add_get("/api/state", self._state)
        app.router.add_get("/api/events", self._events)
        app.router.add_post("/api/send", self._send)
        app.router.add_post("/api/click", self._click)
        app.router.add_post("/api/inline", self._inline)
        app.router.add_post("/api/inline/pick", self._inline_pick)
        app.router.add_post("/api/articles", self._add_article)
        for feed in self.demo_feeds:
            app.router.add_get(feed.feed_path, self._feed_handler(feed))
            app.router.add_get(feed.story_path + "{slug}", self._story_handler(feed))
        app.router.add_post("/api/demo/publish", self._demo_publish)
        app.router.add_post("/api/demo/event", self._demo_event)
        return app

    async def start(self, host: str, port: int) -> None:
        """Listen on host:port (0: any free port); raises OSError when the port is taken."""
        runner = web.AppRunner(self.application(), access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        self._host = host
        self._port = int(runner.addresses[0][1])
        self._unsubscribe = self.standin.world.subscribe(self._forward)
        for feed in self.demo_feeds:
            feed.base_url = self.url
            feed.start()

    async def close(self) -> None:
        """End every event stream and stop listening."""
        if self._follow_up is not None:
            self._follow_up.cancel()
            self._follow_up = None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for queue in list(self._clients):
            self._end_stream(queue)
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    @property
    def demo_feeds(self) -> tuple[DemoFeed, ...]:
        """Every demo site the bot polls: the wire, then the two that report one event."""
        return (self.demo, *self.event.feeds)

    @property
    def port(self) -> int:
        """The TCP port the page is served on."""
        return self._port

    @property
    def url(self) -> str:
        """The page's address; a wildcard bind is shown as 127.0.0.1."""
        host = self._host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self._port}/"

    # ----------------------------------------------------------------- safety

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        # A web page elsewhere must not drive this one: DNS-rebound Host names are refused, and
        # writes need a JSON body (a cross-site form cannot send one) from this origin.
        if is_loopback(self._host) and not self._host_allowed(request.host):
            return _error(403, "unknown Host header; open the address the playground printed")
        if request.method == "POST":
            if request.content_type != "application/json":
                return _error(415, "send JSON")
            origin = request.headers.get("Origin")
            if origin is not None and origin.split("://", 1)[-1] != request.host:
                return _error(403, "cross-origin request refused")
        try:
            response = await handler(request)
        except RequestError as error:
            return _error(error.status, error.reason)
        if request.path == "/" or request.path.startswith("/static/"):
            response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
            response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    def _host_allowed(self, host: str) -> bool:
        name, _, port = host.rpartition(":") if not host.endswith("]") else (host, "", "")
        return port == str(self._port) and is_loopback(name)

    # ----------------------------------------------------------------- page

    async def _page(self, request: web.Request) -> web.Response:
        return _asset("index.html")

    async def _static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in STATIC_FILES or name == "index.html":
            raise web.HTTPNotFound()
        return _asset(name)

    async def _state(self, request: web.Request) -> web.Response:
        topics, _ = await asyncio.to_thread(load_topics, self.topics_path)
        return web.json_response(
            {
                "bot": {
                    "id": self.scene.bot_id,
                    "username": self.scene.bot_username,
                    "name": self.scene.bot_name,
                },
                "chats": [self._chat_state(chat) for chat in self.scene.chats],
                "topics": [{"slug": topic.slug, "name": topic.name} for topic in topics],
                "corpus": str(self.corpus_dir),
                "articles_dir": str(self.corpus_dir / SUBDIRECTORY),
                "watch_seconds": self.watch_seconds,
                "demo_feed": self.demo.url,
                "demo_remaining": self.demo.remaining,
                "demo_event": {
                    "sources": [feed.name for feed in self.event.feeds],
                    "ready": self.event.ready,
                    "started": self.event.started,
                },
            }
        )

    def _chat_state(self, chat: Chat) -> JsonDict:
        messages = [
            message_view(
                message,
                via_bot=self.scene.bot_username
                if (chat.id, message["message_id"]) in self._via_inline
                else None,
            )
            for message in self.standin.world.messages(chat.id)
            if "text" in message
        ]
        return {
            "id": chat.id,
            "kind": chat.kind,
            "title": chat.title,
            "purpose": chat.purpose,
            "admin": chat.admin,
            "members": [{"id": p.id, "name": p.name, "username": p.username} for p in chat.members],
            "commands": self._commands(chat),
            "messages": messages,
        }

    def _commands(self, chat: Chat) -> list[JsonDict]:
        # Telegram's lookup order: this chat, then all private (or group) chats, then the default menu.
        broad = "all_private_chats" if chat.kind == "private" else "all_group_chats"
        for scope in ({"type": "chat", "chat_id": chat.id}, {"type": broad}, None):
            commands = self.standin.world.commands(scope)
            if commands:
                return commands
        return []

    # ----------------------------------------------------------------- live events

    def _forward(self, event: Event) -> None:
        view = event_view(event)
        if view is not None:
            self._broadcast(view)

    def _broadcast(self, view: JsonDict) -> None:
        for queue in list(self._clients):
            try:
                queue.put_nowait(view)
            except asyncio.QueueFull:
                # A page that stopped reading is cut off; it reloads the state when it reconnects.
                self._end_stream(queue)

    def _end_stream(self, queue: asyncio.Queue[JsonDict | None]) -> None:
        self._clients.discard(queue)
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(None)

    async def _events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
        )
        await response.prepare(request)
        queue: asyncio.Queue[JsonDict | None] = asyncio.Queue(CLIENT_BACKLOG)
        self._clients.add(queue)
        try:
            await response.write(b"retry: 1000\n\n")
            while True:
                try:
                    view = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if view is None:
                    break
                payload = json.dumps(view, ensure_ascii=False)
                await response.write(f"data: {payload}\n\n".encode())
        except ConnectionError:
            pass  # the page went away
        finally:
            self._clients.discard(queue)
        return response

    # ----------------------------------------------------------------- what users do

    async def _send(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        chat, person = self._speaker(body)
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise RequestError(400, "text: write something")
        if len(text) > MAX_TEXT:
            raise RequestError(400, f"text: at most {MAX_TEXT} characters")
        reply_to = _optional_int(body, "reply_to")
        try:
            message = self.standin.scenario.send_user_message(chat.id, person.id, text, reply_to=reply_to)
        except KeyError:
            raise RequestError(404, "the message you reply to is gone") from None
        view = message_view(message)
        self._broadcast({"type": "message", "message": view})
        return web.json_response({"message": view})

    async def _click(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        chat, person = self._speaker(body)
        message_id = _optional_int(body, "message_id")
        data = body.get("data")
        if message_id is None or not isinstance(data, str):
            raise RequestError(400, "message_id and data are required")
        try:
            self.standin.scenario.click(chat.id, person.id, message_id, data)
        except KeyError:
            raise RequestError(404, "that message is gone") from None
        return web.json_response({"ok": True})

    async def _inline(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        chat, person = self._speaker(body)
        query = body.get("query")
        if not isinstance(query, str) or len(query) > MAX_INLINE_QUERY:
            raise RequestError(400, f"query: text of at most {MAX_INLINE_QUERY} characters")
        # "sender" is Telegram's name for the user's private chat with the inline bot itself.
        chat_type = "sender" if chat.kind == "private" else "supergroup"
        mark = self.standin.world.mark()
        query_id = self.standin.scenario.inline_query(person.id, query, chat_type=chat_type)
        try:
            [answer] = await self.standin.wait_for(
                lambda event: event.data.get("inline_query_id") == query_id,
                kind=EventKind.INLINE_ANSWER,
                after=mark,
                timeout=INLINE_ANSWER_SECONDS,
            )
        except TimeoutError:
            raise RequestError(504, "the bot did not answer the inline query") from None
        results = [
            view for view in map(inline_result_view, answer.data.get("results") or []) if view is not None
        ]
        return web.json_response({"query_id": query_id, "results": results})

    async def _inline_pick(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        chat, person = self._speaker(body)
        query_id, result_id = body.get("query_id"), body.get("result_id")
        answer = next(
            (a for a in self.standin.world.inline_answers() if a.get("inline_query_id") == query_id), None
        )
        result = next((r for r in (answer or {}).get("results") or [] if str(r.get("id")) == result_id), None)
        if result is None:
            raise RequestError(404, "that inline result is gone; type the query again")
        formatted = _result_text(result)
        message = self.standin.scenario.send_user_message(
            chat.id, person.id, formatted.text, entities=formatted.entities
        )
        self._via_inline.add((chat.id, message["message_id"]))
        view = message_view(message, via_bot=self.scene.bot_username)
        self._broadcast({"type": "message", "message": view})
        return web.json_response({"message": view})

    async def _add_article(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        try:
            article = NewArticle(
                title=str(body.get("title") or ""),
                body=str(body.get("body") or ""),
                topics=topics_from_form(body.get("topics")),
                source=str(body.get("source") or ""),
            )
            path, article_id = await asyncio.to_thread(write_article, self.corpus_dir, article)
        except ArticleError as error:
            raise RequestError(400, str(error)) from None
        log.info("playground: wrote %s", path)
        return web.json_response({"path": str(path), "id": article_id})

    # ----------------------------------------------------------------- the demo news sites

    def _feed_handler(self, feed: DemoFeed) -> Handler:
        async def serve(request: web.Request) -> web.Response:
            feed.read_at = datetime.now(UTC)
            if feed is self.event.first and self.event.first_read(feed.read_at) is not None:
                # The bot has the first report now; the second site runs its own a little later.
                self._follow_up = asyncio.get_running_loop().call_later(
                    self.event.follow_seconds, self._follow
                )
            etag = feed.etag()
            if request.headers.get("If-None-Match") == etag:
                return web.Response(status=304, headers={"ETag": etag})
            return web.Response(
                text=feed.rss(), content_type="application/rss+xml", charset="utf-8", headers={"ETag": etag}
            )

        return serve

    def _story_handler(self, feed: DemoFeed) -> Handler:
        async def serve(request: web.Request) -> web.Response:
            story = feed.story(request.match_info["slug"])
            if story is None:
                raise web.HTTPNotFound()
            return web.Response(text=feed.page(story), content_type="text/html", charset="utf-8")

        return serve

    async def _demo_publish(self, request: web.Request) -> web.Response:
        await _json_body(request)
        story = self.demo.publish()
        if story is None:
            raise RequestError(409, "every demo story is published already; restart the playground for more")
        log.info("playground: published %r to the demo feed", story.title)
        return web.json_response(
            {
                "title": story.title,
                "feed": self.demo.url,
                "poll_seconds": POLL_SECONDS,
                "remaining": self.demo.remaining,
            }
        )

    async def _demo_event(self, request: web.Request) -> web.Response:
        await _json_body(request)
        event = self.event
        if event.started:
            raise RequestError(
                409, "the two-source story is out already; restart the playground to run it again"
            )
        if not event.ready:
            # A report in a feed the bot has never read would be that source's backlog: kept, not alerted.
            raise RequestError(409, "the bot has not read the two demo sites yet; try again in a few seconds")
        story = event.publish_first()
        assert story is not None
        log.info("playground: %s reported %r", event.first.name, story.title)
        return web.json_response(
            {
                "title": story.title,
                "first": event.first.name,
                "second": event.second.name,
                "feed": event.first.url,
                "poll_seconds": POLL_SECONDS,
                "follow_seconds": self.event.follow_seconds,
                "topic": EVENT_TOPIC,
            }
        )

    def _follow(self) -> None:
        self._follow_up = None
        story = self.event.publish_second()
        if story is not None:
            log.info("playground: %s reported %r", self.event.second.name, story.title)

    def _speaker(self, body: JsonDict) -> tuple[Chat, Person]:
        chat_id, user_id = _optional_int(body, "chat_id"), _optional_int(body, "user_id")
        chat = self.scene.chat(chat_id) if chat_id is not None else None
        if chat is None:
            raise RequestError(404, "no such chat")
        person = self.scene.member(chat.id, user_id) if user_id is not None else None
        if person is None:
            raise RequestError(403, "that person is not in this chat")
        return chat, person


def _asset(name: str) -> web.Response:
    data = resources.files("bot.playground").joinpath("static", name).read_bytes()
    content_type = STATIC_FILES[name]
    return web.Response(body=data, content_type=content_type, charset="utf-8")


def _error(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)


async def _json_body(request: web.Request) -> JsonDict:
    try:
        body: Any = await request.json()
    except ValueError:
        raise RequestError(400, "the body is not JSON") from None
    if not isinstance(body, dict):
        raise RequestError(400, "the body must be a JSON object")
    return body


def _optional_int(body: JsonDict, name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestError(400, f"{name}: a whole number")
    return value


def _result_text(result: JsonDict) -> FormattedText:
    """The message an inline result puts in the chat, as the user's text with its formatting."""
    content = result.get("input_message_content") or {}
    text = str(content.get("message_text") or "")
    if str(content.get("parse_mode") or "").lower() == "html":
        # The bot's HTML already passed the stand-in's checks when it answered the query.
        return trim(parse_html(text))
    entities: tuple[Entity, ...] = ()
    with contextlib.suppress(KeyError, TypeError, ValueError):
        entities = tuple(Entity.from_dict(item) for item in content.get("entities") or [])
    return trim(FormattedText(text, entities))
