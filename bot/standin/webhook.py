"""The stand-in's webhook delivery: while a webhook is set, queued updates are POSTed to it one at a time,
in order, as JSON with the secret token header, like Telegram does; a failed POST is retried after a pause
that grows, and recorded for getWebhookInfo's last_error_message.

A plain HTTP/1.1 POST over asyncio streams to a 127.0.0.1 address (the bot under test): no HTTP client
library (only bot.sources is a client of the web). Must not import telegram.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.standin.updates import UpdateQueue
from bot.standin.world import World

_log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
RETRY_FIRST = 0.2  # seconds after the first failed POST in a row (Telegram waits longer), then doubled…
RETRY_MAX = 2.0  # …up to this
POST_TIMEOUT = 10.0  # one POST, connect to answer


@dataclass(frozen=True, slots=True)
class Delivery:
    """One POST of an update to the webhook: the update, when it went (stand-in clock), the HTTP status
    (0: no answer: refused, reset, timed out) and, for a failure, what went wrong."""

    update_id: int
    at: float
    status: int
    error: str | None


async def post_json(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:  # noqa: ASYNC109
    """POST body to an http:// URL and return the answer's status code; OSError or TimeoutError if there
    is none. (https is not spoken: the stand-in delivers to a bot on this machine.)"""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise OSError(f"the stand-in delivers only to http:// addresses, not {url}")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Connection: close",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
        try:
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
            await writer.drain()
            status_line = await reader.readline()
            await reader.read()  # the rest of the answer, until the server closes
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
    fields = status_line.decode("latin-1").split()
    if len(fields) < 2 or not fields[1].isdigit():
        raise OSError(f"not an HTTP answer: {status_line[:60]!r}")
    return int(fields[1])


class WebhookDelivery:
    """Delivers the update queue to world.webhook_url while it is set (run as one task by the server)."""

    def __init__(
        self,
        world: World,
        updates: UpdateQueue,
        clock: Callable[[], float],
        on_delivery: Callable[[], None] = lambda: None,
    ) -> None:
        self.world = world
        self.on_delivery = on_delivery  # after every POST, whatever its outcome
        self.updates = updates
        self.clock = clock
        self.deliveries: list[Delivery] = []
        self.wake = asyncio.Event()
        self.retry_first = RETRY_FIRST

    async def run(self, stopping: asyncio.Event) -> None:
        """POST queued updates one by one until the webhook is deleted or the stand-in stops."""
        failures = 0
        while self.world.webhook_url and not stopping.is_set():
            self.wake.clear()
            pending = self.updates.deliverable(1)
            if not pending:
                await _wait(self.wake, stopping, None)
                continue
            update = pending[0]
            url, secret = self.world.webhook_url, self.world.webhook_secret
            headers = {SECRET_HEADER: secret} if secret else {}
            at = self.clock()
            try:
                status = await post_json(url, json.dumps(update).encode(), headers, POST_TIMEOUT)
                error = None if 200 <= status < 300 else f"Wrong response from the webhook: {status}"
            except (OSError, TimeoutError) as failure:
                status, error = 0, f"Connection refused or lost: {type(failure).__name__}"
            self.deliveries.append(Delivery(update["update_id"], at, status, error))
            if error is None:
                failures = 0
                if url == self.world.webhook_url:  # not replaced while the POST was under way
                    self.updates.confirm(update["update_id"] + 1)
                    self.updates.handed_out([update], at)
                self.on_delivery()
                continue
            self.on_delivery()
            failures += 1
            self.world.webhook_error = (int(time.time()), error)
            pause = min(RETRY_MAX, self.retry_first * 2 ** (failures - 1))
            _log.debug("webhook delivery of update %s failed (%s); retrying in %.1f s", update, error, pause)
            await _wait(self.wake, stopping, pause)


async def _wait(wake: asyncio.Event, stopping: asyncio.Event, seconds: float | None) -> None:
    """Until woken (a new update, a changed webhook), stopping, or `seconds` (None: no limit)."""
    waits = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stopping.wait())]
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
