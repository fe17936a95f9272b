"""Admin notices: the messages each admin is owed once (today: a source paused after failing), delivered
from the store's queue so that a restart neither loses nor repeats them (a message Telegram accepted just
before a crash aside).

A notice Telegram refuses for good (the admin never opened a chat with the bot, or blocked it) is logged
and dropped; a network error or a 429 leaves it queued for the next pass.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.render import sources as wording
from bot.store import Store, StoreError
from bot.tg.sending import send_html

log = logging.getLogger(__name__)

IDLE_SECONDS = 60.0  # a pass at least this often, in case a wake-up was missed (another process queued)


class NoticeWorker:
    """Sends queued admin notices; wake() after queueing one."""

    def __init__(self, store: Store, bot: Bot) -> None:
        self.store = store
        self.bot = bot
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Send what is queued now."""
        self._wake.set()

    async def send_pending(self) -> int:
        """One pass over the queue; returns how many notices were delivered."""
        delivered = 0
        for notice in await self.store.sources.pending_notices():
            html = wording.source_paused_notice(
                label=notice.source_label, url=notice.source_url, reason=notice.reason
            )
            try:
                await send_html(self.bot, notice.admin_id, html)
            except RetryAfter as error:
                wait = error.retry_after
                log.warning("admin notices: Telegram asks to wait %s s", wait)
                return delivered
            except (Forbidden, BadRequest) as error:  # BadRequest before NetworkError, its base class
                log.warning("admin notice to %s dropped: %s", notice.admin_id, error.message)
            except NetworkError as error:
                log.warning("admin notice to %s not sent yet: %s", notice.admin_id, error.message)
                return delivered
            else:
                delivered += 1
            await self.store.sources.notice_sent(notice.id)
        return delivered

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver notices until `stop` is set."""
        while not stop.is_set():
            self._wake.clear()
            try:
                await self.send_pending()
            except StoreError as error:
                log.warning("admin notices: the database failed, trying again later: %s", error)
            except Exception:  # the worker must outlive any one bad pass
                log.exception("admin notices: a pass failed")
            waker = asyncio.ensure_future(self._wake.wait())
            stopper = asyncio.ensure_future(stop.wait())
            try:
                await asyncio.wait(
                    {waker, stopper}, timeout=IDLE_SECONDS, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                waker.cancel()
                stopper.cancel()
