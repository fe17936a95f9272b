"""BotApiStandIn: the stand-in's parts put together and served over HTTP on 127.0.0.1, speaking the Bot
API wire protocol.

It composes the world (state and events), the scenario (the users' actions), the update queue and the
Bot API methods, and adds long-polling getUpdates (with Telegram's 409 on a second poller, and while a
webhook is set), webhook delivery (webhook.py: updates POSTed to setWebhook's URL), a request log,
injected faults (429, 401, 403, migration, 5xx, a proxy's HTML 404 page, dropped connections,
timeouts), a token that can be revoked and restored, and awaitable expectations. Must not import
telegram; aiohttp and asyncio are its transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import Any

from aiohttp import web

from bot.standin.methods import BotApi
from bot.standin.protocol import ApiError, JsonDict, Params, bad_request, forbidden
from bot.standin.scenario import Scenario
from bot.standin.updates import UpdateQueue
from bot.standin.webhook import Delivery, WebhookDelivery
from bot.standin.world import Event, EventKind, World

_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)
_WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
_NOT_FOUND_PAGE = (
    "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
    "<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n"
)
_BAD_GATEWAY_PAGE = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n"
)


class FaultKind(StrEnum):
    """Failures inject_fault can make a method answer with."""

    RETRY_AFTER = "retry_after"  # 429 Too Many Requests, parameters.retry_after
    UNAUTHORIZED = "unauthorized"  # 401 Unauthorized: the token was revoked
    NOT_FOUND_PAGE = "not_found_page"  # 404 with a proxy's HTML page instead of Telegram's JSON
    BLOCKED = "blocked"  # 403 bot was blocked by the user
    KICKED = "kicked"  # 403 bot was kicked from the group chat
    DEACTIVATED = "deactivated"  # 403 user is deactivated
    CHAT_NOT_FOUND = "chat_not_found"  # 400 chat not found
    MIGRATE = "migrate"  # 400 group chat was upgraded, parameters.migrate_to_chat_id
    CANT_PARSE = "cant_parse"  # 400 can't parse entities
    SERVER_ERROR = "server_error"  # 500 with a JSON body
    BAD_GATEWAY = "bad_gateway"  # 502 with nginx's HTML page
    RESET = "reset"  # connection closed without a response
    TIMEOUT = "timeout"  # no answer for `delay` seconds, then the connection is closed


@dataclass(slots=True)
class Fault:
    """An injected failure; `remaining` counts down (None: until clear_faults), `hits` counts up."""

    method: str
    kind: FaultKind
    remaining: int | None
    chat_id: int | None
    retry_after: int
    migrate_to_chat_id: int | None
    delay: float
    deliver: bool
    polling_too: bool = False
    hits: int = 0

    def matches(self, method: str, params: Params) -> bool:
        """Whether this fault applies to a call."""
        name = method.lower()
        # "*" leaves getUpdates alone unless asked: a fault meant for sends should not also stall polling.
        wanted = self.method == name or (self.method == "*" and (self.polling_too or name != "getupdates"))
        if self.remaining == 0 or not wanted:
            return False
        if self.chat_id is None:
            return True
        try:
            return params.chat_id() == self.chat_id
        except ApiError:
            return False

    def error(self) -> tuple[int, JsonDict | str]:
        """The status and body this fault answers with."""
        match self.kind:
            case FaultKind.RETRY_AFTER:
                error = ApiError(
                    429,
                    f"Too Many Requests: retry after {self.retry_after}",
                    {"retry_after": self.retry_after},
                )
            case FaultKind.UNAUTHORIZED:
                error = ApiError(401, "Unauthorized")
            case FaultKind.NOT_FOUND_PAGE:
                return 404, _NOT_FOUND_PAGE
            case FaultKind.BLOCKED:
                error = forbidden("bot was blocked by the user")
            case FaultKind.KICKED:
                error = forbidden("bot was kicked from the group chat")
            case FaultKind.DEACTIVATED:
                error = forbidden("user is deactivated")
            case FaultKind.CHAT_NOT_FOUND:
                error = bad_request("chat not found")
            case FaultKind.MIGRATE:
                error = bad_request(
                    "group chat was upgraded to a supergroup chat",
                    {"migrate_to_chat_id": self.migrate_to_chat_id},
                )
            case FaultKind.CANT_PARSE:
                error = bad_request(
                    "can't parse entities: Can't find end tag corresponding to start tag \"b\""
                )
            case FaultKind.BAD_GATEWAY:
                return 502, _BAD_GATEWAY_PAGE
            case _:
                error = ApiError(500, "Internal Server Error")
        return error.code, error.body()


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One HTTP call the bot made: arrival time (stand-in clock), parameters as sent, outcome.

    status is the HTTP status, or 0 when the connection was dropped (reset/timeout faults).
    """

    seq: int
    method: str
    params: JsonDict
    at: float
    status: int
    description: str | None


@dataclass(slots=True)
class _Poll:
    ready: asyncio.Event
    conflicted: bool = False


class BotApiStandIn:
    """A Telegram Bot API server on 127.0.0.1 for python-telegram-bot to talk to.

    Give PTB `base_url(standin.base_url)`. Set the scene and play the users with `standin.scenario`
    (add_private_chat, add_group, send_user_message, click, inline_query …), inspect `standin.world`
    (sent_messages, events, mark …) or `await standin.wait_for(...)`; `standin.updates` is the queue
    getUpdates serves. Use it from the event loop that runs it.
    """

    def __init__(
        self,
        token: str = "123456789:STAND-IN-token",
        *,
        bot_username: str = "newsbot_test_bot",
        bot_id: int | None = None,
        bot_first_name: str = "Newsbot",
        privacy_mode: bool = False,
        can_join_groups: bool = True,
        supports_inline_queries: bool = True,
        strict_html: bool = True,
        clock: Callable[[], float] = time.monotonic,
        request_log_size: int = 10_000,
    ) -> None:
        prefix = token.partition(":")[0]
        self.world = World(
            bot_id=bot_id if bot_id is not None else (int(prefix) if prefix.isdigit() else 123456789),
            bot_username=bot_username,
            bot_first_name=bot_first_name,
            privacy_mode=privacy_mode,
            can_join_groups=can_join_groups,
            supports_inline_queries=supports_inline_queries,
            strict_html=strict_html,
            clock=clock,
        )
        self.updates = UpdateQueue()
        self.scenario = Scenario(self.world, self.updates)
        self.api = BotApi(self.world, self.updates)
        self.webhook = WebhookDelivery(self.world, self.updates, clock, on_delivery=self._wake_waiters)
        self._webhook_task: asyncio.Task[None] | None = None
        self.token = token
        self.token_revoked = False  # revoke_token(): every call answers 401 until restore_token()
        self.clock = clock
        self._faults: list[Fault] = []
        self._requests: deque[RequestRecord] = deque(maxlen=request_log_size)
        self._request_seq = 0
        self._poll: _Poll | None = None
        self._waiters: set[asyncio.Event] = set()
        self._runner: web.AppRunner | None = None
        self._stopping = asyncio.Event()
        self._port: int | None = None
        self._host = "127.0.0.1"
        self.world.subscribe(self._wake_waiters)
        self.updates.on_queued(self._updates_changed)

    # ----------------------------------------------------------------- lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on host:port (port 0: a free one); base_url is valid afterwards."""
        if self._runner is not None:
            raise RuntimeError("the stand-in is already running")
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._stopping = asyncio.Event()
        self._runner = runner
        self._host = host
        self._port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        """Answer pending long polls and held requests, then close the server."""
        if self._runner is None:
            return
        self._stopping.set()
        if self._poll is not None:
            self._poll.ready.set()
        if self._webhook_task is not None:
            await self._webhook_task
            self._webhook_task = None
        runner, self._runner = self._runner, None
        await runner.cleanup()

    async def __aenter__(self) -> BotApiStandIn:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The TCP port the stand-in listens on."""
        if self._port is None:
            raise RuntimeError("start() the stand-in first")
        return self._port

    @property
    def base_url(self) -> str:
        """What to give python-telegram-bot's ApplicationBuilder.base_url (it appends the token)."""
        return f"http://{self._host}:{self.port}/bot"

    @property
    def api_url(self) -> str:
        """The URL prefix of this bot's methods: api_url + "/sendMessage"."""
        return f"{self.base_url}{self.token}"

    @property
    def webhook_deliveries(self) -> list[Delivery]:
        """Every POST of an update to a webhook so far, in order (failed ones included)."""
        return list(self.webhook.deliveries)

    @property
    def is_polling(self) -> bool:
        """Whether a getUpdates long poll is waiting right now."""
        return self._poll is not None

    # ----------------------------------------------------------------- faults and the request log

    def inject_fault(
        self,
        method: str,
        kind: FaultKind | str,
        *,
        times: int | None = 1,
        chat_id: int | None = None,
        retry_after: int = 1,
        migrate_to_chat_id: int | None = None,
        delay: float | None = None,
        deliver: bool = False,
        polling_too: bool = False,
    ) -> Fault:
        """Make the next `times` calls of method fail with `kind` (times=None: until clear_faults()).

        method "*" means any method except getUpdates (name getUpdates to fault polling), or every
        method, getUpdates included, with polling_too=True.

        chat_id restricts the fault to calls addressing that chat. delay holds the answer (default 0,
        30 s for timeout). deliver=True lets the call take effect although the client sees the fault
        (a message sent but answered with 502, reset or timeout). A migrate fault on a registered
        basic group also creates its supergroup (migrate_to_chat_id, or derived from the group id).
        """
        fault_kind = FaultKind(kind)
        if fault_kind is FaultKind.MIGRATE:
            migrate_to_chat_id = self._migration_target(chat_id, migrate_to_chat_id)
        if delay is None:
            delay = 30.0 if fault_kind is FaultKind.TIMEOUT else 0.0
        fault = Fault(
            method=method.lower(),
            kind=fault_kind,
            remaining=times,
            chat_id=chat_id,
            retry_after=retry_after,
            migrate_to_chat_id=migrate_to_chat_id,
            delay=delay,
            deliver=deliver,
            polling_too=polling_too,
        )
        self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        self._faults.clear()

    def revoke_token(self) -> None:
        """Answer every call with 401 Unauthorized, as Telegram does once @BotFather revoked the token."""
        self.token_revoked = True
        if self._poll is not None:
            self._poll.ready.set()  # the open long poll ends (and its next one is refused)

    def restore_token(self) -> None:
        """Accept the token again (the operator put the right one back)."""
        self.token_revoked = False

    def _migration_target(self, chat_id: int | None, migrate_to_chat_id: int | None) -> int:
        chat = self.world.chats.get(chat_id) if chat_id is not None else None
        if chat is not None and chat.type == "group":
            return self.scenario.supergroup_for(chat, migrate_to_chat_id)
        if migrate_to_chat_id is None:
            raise ValueError(
                "a migrate fault needs the chat_id of a registered group or a migrate_to_chat_id"
            )
        return migrate_to_chat_id

    def requests(self, method: str | None = None) -> list[RequestRecord]:
        """The HTTP calls received (all, or of one method, case-insensitive) in the order they were
        answered; `at` is when each arrived, so a long poll is listed after calls it overlapped."""
        wanted = method.lower() if method is not None else None
        return [r for r in self._requests if wanted is None or r.method.lower() == wanted]

    # ----------------------------------------------------------------- expectations

    async def wait_for(
        self,
        predicate: Callable[[Event], bool] | None = None,
        *,
        kind: EventKind | None = EventKind.SENT,
        chat_id: int | None = None,
        count: int = 1,
        after: int = 0,
        timeout: float = 5.0,  # noqa: ASYNC109 - a plain deadline keeps test call sites short
    ) -> list[Event]:
        """Wait until `count` events match (kind, chat, predicate, seq > after); returns the first `count`.

        The default kind is SENT; pass kind=None for any. Raises TimeoutError listing what did happen.
        """

        def matching() -> list[Event]:
            found = self.world.events(kind, chat_id=chat_id, after=after)
            return [event for event in found if predicate is None or predicate(event)]

        def explain() -> str:
            recent = [(e.kind.value, e.chat_id, e.text) for e in self.world.events(after=after)[-10:]]
            return (
                f"waited {timeout}s for {count} {kind or 'any'} event(s) in chat {chat_id}; "
                f"{len(matching())} matched; latest events: {recent}"
            )

        await self._until(lambda: len(matching()) >= count, timeout, explain)
        return matching()[:count]

    async def wait_until_polling(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - as in wait_for
        """Wait until the bot has a getUpdates long poll open, i.e. it is ready for updates."""
        await self._until(
            lambda: self.is_polling, timeout, lambda: f"no getUpdates long poll within {timeout}s"
        )

    async def wait_until_receiving(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - as in wait_for
        """Wait until the bot long-polls or has set a webhook: either way, ready for updates."""
        await self._until(
            lambda: self.is_polling or bool(self.world.webhook_url),
            timeout,
            lambda: f"no getUpdates long poll and no webhook within {timeout}s",
        )

    async def wait_until_delivered(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - as in wait_for
        """Wait until the bot has confirmed every queued update (its next getUpdates moved past them)."""
        await self._until(
            lambda: not self.updates.pending(),
            timeout,
            lambda: f"updates still unconfirmed after {timeout}s: {len(self.updates.pending())}",
        )

    async def _until(self, condition: Callable[[], bool], limit: float, explain: Callable[[], str]) -> None:
        """Re-check condition after every event (and poll start) until it holds or `limit` seconds pass."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        signal = asyncio.Event()
        self._waiters.add(signal)
        try:
            while not condition():
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise TimeoutError(explain())
                signal.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(signal.wait(), remaining)
        finally:
            self._waiters.discard(signal)

    async def ask(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - as in wait_for
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> list[JsonDict]:
        """Send a user message and wait for the bot's next `count` messages in that chat."""
        mark = self.world.mark()
        self.scenario.send_user_message(chat_id, user_id, text, reply_to=reply_to, thread_id=thread_id)
        events = await self.wait_for(chat_id=chat_id, count=count, after=mark, timeout=timeout)
        return [copy.deepcopy(event.data) for event in events]

    def _wake_waiters(self, event: Event | None = None) -> None:
        for signal in self._waiters:
            signal.set()

    # ----------------------------------------------------------------- HTTP

    async def _not_found(self, request: web.Request) -> web.Response:
        return web.json_response(ApiError(404, "Not Found").body(), status=404)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        at = self.clock()
        if request.match_info["token"] != self.token or self.token_revoked:
            self._log(method, {}, at, 401, "Unauthorized")
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        try:
            params = await self._read_params(request)
        except ApiError as error:
            self._log(method, {}, at, error.code, error.description)
            return web.json_response(error.body(), status=error.code)
        fault = next((f for f in self._faults if f.matches(method, params)), None)
        body: JsonDict | str
        if fault is None:
            status, body = await self._execute(method, params)
        else:
            fault.hits += 1
            if fault.remaining is not None:
                fault.remaining -= 1
            if fault.deliver:
                await self._execute(method, params)
            await self._pause(fault.delay)
            if fault.kind in (FaultKind.RESET, FaultKind.TIMEOUT):
                self._log(method, params.raw(), at, 0, fault.kind.value)
                if request.transport is not None:
                    request.transport.abort()
                return web.Response()
            status, body = fault.error()
        description: str | None = body.get("description") if isinstance(body, dict) else body[:60]
        self._log(method, params.raw(), at, status, None if status == 200 else description)
        if isinstance(body, str):
            return web.Response(text=body, status=status, content_type="text/html")
        return web.json_response(body, status=status)

    async def _execute(self, method: str, params: Params) -> tuple[int, JsonDict]:
        try:
            if method.lower() == "getupdates":
                result: Any = await self._get_updates(params)
            else:
                result = self.api.call(method, params)
        except ApiError as error:
            return error.code, error.body()
        if method.lower() in ("setwebhook", "deletewebhook"):
            self._webhook_changed()
        return 200, {"ok": True, "result": result}

    @staticmethod
    async def _read_params(request: web.Request) -> Params:
        values: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise bad_request("can't parse JSON object") from None
                if not isinstance(body, dict):
                    raise bad_request("can't parse JSON object")
                values.update(body)
            elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for key, value in form.items():
                    values[key] = (
                        value if isinstance(value, str) else f"<file {getattr(value, 'filename', '')}>"
                    )
        return Params(values)

    def _log(self, method: str, params: JsonDict, at: float, status: int, description: str | None) -> None:
        self._request_seq += 1
        self._requests.append(RequestRecord(self._request_seq, method, params, at, status, description))

    async def _pause(self, seconds: float) -> None:
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), seconds)

    # ----------------------------------------------------------------- getUpdates

    async def _get_updates(self, params: Params) -> list[JsonDict]:
        if self.world.webhook_url:
            raise ApiError(409, _WEBHOOK_ACTIVE)
        limit = min(max(params.get_int("limit") or 100, 1), 100)
        timeout = max(params.get_float("timeout") or 0.0, 0.0)
        allowed = params.get_json("allowed_updates")
        if allowed is not None and not (
            isinstance(allowed, list) and all(isinstance(a, str) for a in allowed)
        ):
            raise bad_request("can't parse allowed_updates JSON object")
        poll = _Poll(asyncio.Event())
        if self._poll is not None:
            # Telegram keeps the newest poller and tells the older one to go away.
            self._poll.conflicted = True
            self._poll.ready.set()
        self._poll = poll
        self._wake_waiters()
        try:
            self.updates.confirm(params.get_int("offset"))
            self.updates.set_allowed(allowed)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while True:
                if poll.conflicted:
                    raise ApiError(409, _CONFLICT)
                if self.token_revoked:
                    raise ApiError(401, "Unauthorized")
                updates = self.updates.deliverable(limit)
                remaining = deadline - loop.time()
                if updates or remaining <= 0 or self._stopping.is_set():
                    self.updates.handed_out(updates, self.clock())
                    return updates
                poll.ready.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(poll.ready.wait(), remaining)
        finally:
            if self._poll is poll:
                self._poll = None

    def _updates_changed(self) -> None:
        if self._poll is not None:
            self._poll.ready.set()
        self.webhook.wake.set()

    def _webhook_changed(self) -> None:
        self.webhook.wake.set()
        self._wake_waiters()
        running = self._webhook_task is not None and not self._webhook_task.done()
        if self.world.webhook_url and not running and not self._stopping.is_set():
            self._webhook_task = asyncio.create_task(self.webhook.run(self._stopping), name="standin-webhook")
