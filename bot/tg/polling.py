"""Long polling that never silently ends: getUpdates into the application's update queue, retried with
backoff on every failure, watched by a watchdog that restarts a poller which stopped or stalled.

python-telegram-bot's Updater ends its polling loop for good on InvalidToken, which it raises for a 401
(the token was revoked) and a 404 alike (a proxy's error page), leaving the bot running but deaf; this
module replaces it. After InvalidToken, getMe decides: a 401 from Telegram means the token is rejected and
the bot stops with one clear line; anything else is retried. A 409 Conflict within the first moments
means another instance was polling first: this one stops. Until polling has run that long without a
409, this instance is on probation (bot.tg.context.SoleInstance) and handlers that would confirm a
change hold it back. A webhook left from webhook mode (Telegram's 409 names it) is deleted, keeping
the updates Telegram holds. Called only by the composition root; uses PTB's Bot, never its Updater.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, TelegramError, TimedOut

from bot.tg.context import BotData, NewsbotApp

log = logging.getLogger(__name__)

ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY, Update.MY_CHAT_MEMBER]
TOKEN_REJECTED = (
    "the bot token was rejected by Telegram (401 Unauthorized); check NEWSBOT_TELEGRAM_TOKEN "
    "(@BotFather shows your bot's current token)"
)
CONFLICT_MESSAGE = (
    "Telegram answered 409 Conflict: another instance is polling with this bot token. "
    "Stop the other instance (or use a different token); this one is shutting down."
)
# Telegram ends the older of two getUpdates calls with 409, so the instance already running hears of a
# newcomer first. If it stopped, its parting getUpdates would end the newcomer's poll too and both would
# go. So an instance polling for longer than this keeps going; its next poll ends the newcomer's, which is
# still inside this window and refuses. Longer than the longest pause between retries (BACKOFF_MAX).
CONFLICT_GRACE_SECONDS = 60.0
# A healthy instance already polling re-polls within a second or two of hearing of a newcomer (PTB's
# Updater too), and that poll ends the newcomer's with 409. Until this long has passed without one, a
# starting instance does not confirm changes (subscriptions, settings) that would leave with it. (One that
# is itself failing and pausing between retries may take longer; the newcomer still refuses within
# CONFLICT_GRACE_SECONDS, but a change confirmed in between would be lost.)
PROBATION_SECONDS = 10.0
BACKOFF_FIRST = 1.0  # seconds after the first failure in a row, then ×1.5 per failure…
BACKOFF_FACTOR = 1.5
BACKOFF_MAX = 30.0  # …up to this (Telegram's own advice for retrying getUpdates)
# getUpdates waits `poll_timeout` seconds at Telegram; the answer may take this much longer to arrive.
READ_MARGIN = 5.0
# A poll that shows no sign of life (no request started or finished, no retry pause begun) for this long
# beyond the longest a request may take is stuck: the watchdog cuts it and starts polling afresh.
STALL_MARGIN = 60.0
RESTART_LIMIT = 5  # watchdog restarts within RESTART_WINDOW before the bot gives up and exits loudly
RESTART_WINDOW = 600.0


def is_unauthorized(error: BaseException) -> bool:
    """Whether Telegram itself said 401 Unauthorized (its JSON answer), not a page from a proxy.

    PTB's Bot.initialize replaces the message (quoting the token) and keeps the original as the cause."""
    seen: BaseException | None = error
    while seen is not None:
        text = str(seen).lower()
        if "unauthorized" in text and "parsing the server response" not in text:
            return True
        seen = seen.__cause__
    return False


async def token_rejected(bot: Bot) -> bool:
    """Ask getMe whether Telegram still accepts the token: True only for a 401 answer from Telegram.

    PTB raises InvalidToken for 401 and 404 alike; a proxy's 404 page on one call says nothing about
    the token, so only a second, independent 401 counts.
    """
    try:
        await bot.get_me()
    except InvalidToken as error:
        return is_unauthorized(error)
    except TelegramError as error:
        log.warning("could not check the bot token with getMe: %s", error)
        return False
    return False


def stop_for_rejected_token(data: BotData) -> None:
    """Stop the bot because Telegram rejected its token (once; the first reason given wins)."""
    if data.exit_reason is None:
        log.error(TOKEN_REJECTED)
        data.exit_reason = TOKEN_REJECTED
    data.stop.set()


async def check_token(bot: Bot, data: BotData) -> None:
    """After InvalidToken anywhere (a send, a handler): stop the bot if getMe confirms the token is gone."""
    if await token_rejected(bot):
        stop_for_rejected_token(data)


class Poller:
    """getUpdates in a loop (poll), under a watchdog (run) that restarts it if it stops or stalls."""

    def __init__(
        self,
        application: NewsbotApp,
        *,
        poll_timeout: int,
        conflict_grace: float = CONFLICT_GRACE_SECONDS,
        probation: float = PROBATION_SECONDS,
        read_margin: float = READ_MARGIN,
        stall_after: float | None = None,
        backoff_first: float = BACKOFF_FIRST,
    ) -> None:
        self.application = application
        self.poll_timeout = poll_timeout
        self.conflict_grace = conflict_grace
        self.probation = probation
        self.read_margin = read_margin
        self.backoff_first = backoff_first  # the pause after the first failure in a row (tests shorten it)
        # The longest a request may legitimately take (PTB's connect, write and pool timeouts on top of
        # the read), or a retry pause may last, plus a margin.
        longest = max(poll_timeout + read_margin + 11.0, BACKOFF_MAX)
        self.stall_after = stall_after if stall_after is not None else longest + STALL_MARGIN
        self.offset: int | None = None  # the next update_id to ask for: confirms every one below it
        self.task: asyncio.Task[None] | None = None  # the polling loop the watchdog is watching
        self.restarts = 0
        self._alive_at = 0.0  # loop time of the last sign of life
        self._polling_since: float | None = None
        self._failures = 0  # in a row

    # -- the watchdog --------------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set, restarting the loop whenever it ends or stalls; after too many
        restarts, stop the bot with a reason. Confirms the updates fetched before returning."""
        data = self.application.bot_data
        loop = asyncio.get_running_loop()
        restarts: deque[float] = deque()
        self._polling_since = loop.time()
        if self.probation <= 0:
            data.sole_instance.confirm()
        try:
            while not stop.is_set():
                self._alive_at = loop.time()
                self.task = asyncio.create_task(self.poll(stop), name="polling")
                why = await self._watch(self.task, stop)
                if why is None:
                    return
                now = loop.time()
                restarts.append(now)
                while restarts and now - restarts[0] > RESTART_WINDOW:
                    restarts.popleft()
                self.restarts += 1
                if len(restarts) > RESTART_LIMIT:
                    reason = (
                        f"polling for updates kept stopping ({why}); shutting down so that whatever runs "
                        "the bot can start it afresh"
                    )
                    log.error("%s", reason)
                    if data.exit_reason is None:
                        data.exit_reason = reason
                    stop.set()
                    return
                log.error("polling for updates %s; the watchdog restarts it", why)
        finally:
            data.sole_instance.refuse()  # stopping undecided: handlers waiting for the verdict give up
            await self._confirm_fetched()

    async def _watch(self, task: asyncio.Task[None], stop: asyncio.Event) -> str | None:
        """Wait for the polling task to end, the stop event, or a stall; None when stopped as asked, else
        why polling has to start again (the task is over either way)."""
        loop = asyncio.get_running_loop()
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while True:
                quiet = loop.time() - self._alive_at
                wait = max(0.05, min(self.stall_after - quiet, self.stall_after / 4))
                done, _ = await asyncio.wait(
                    {task, stopping}, timeout=wait, return_when=asyncio.FIRST_COMPLETED
                )
                if stop.is_set():
                    await _cancel(task)
                    return None
                if task in done:
                    if task.cancelled():
                        return "was cancelled"
                    error = task.exception()
                    if error is not None:
                        log.error("the polling loop failed", exc_info=error)
                        return f"ended with {type(error).__name__}: {error}"
                    return "ended without being asked to"
                if loop.time() - self._alive_at >= self.stall_after:
                    await _cancel(task)
                    return f"stalled: no sign of life for {self.stall_after:.0f} s"
        finally:
            stopping.cancel()

    # -- the loop ------------------------------------------------------------------------------------------

    async def poll(self, stop: asyncio.Event) -> None:
        """getUpdates until `stop`; every failure is retried after a pause that grows with each failure
        in a row. Returns only when stopped (or when this instance must stop: conflict, token)."""
        bot = self.application.bot
        data = self.application.bot_data
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            self._alive_at = loop.time()
            try:
                updates = await bot.get_updates(
                    offset=self.offset,
                    timeout=self.poll_timeout,
                    allowed_updates=ALLOWED_UPDATES,
                    read_timeout=self.poll_timeout + self.read_margin,
                )
            except Conflict as error:
                if "webhook" in str(error).lower():
                    await self._leave_webhook(stop)
                    continue
                if self._refuse_on_conflict():
                    return
                await self._pause(stop, BACKOFF_FIRST)
                continue
            except InvalidToken as error:
                self._alive_at = loop.time()
                if await token_rejected(bot):
                    stop_for_rejected_token(data)
                    return
                await self._retry(stop, f"Telegram's answer was not one (the token still works): {error}")
                continue
            except TimedOut as error:
                # A long poll that timed out is usually just the network; try again at once, the first time.
                if self._failures == 0:
                    self._failures = 1
                    log.info("getUpdates timed out (%s); polling again", error)
                    continue
                await self._retry(stop, f"timed out: {error}")
                continue
            except TelegramError as error:
                await self._retry(stop, str(error))
                continue
            except Exception as error:  # a reply PTB could not read must not end polling either
                log.exception("unexpected error while polling for updates")
                await self._retry(stop, f"{type(error).__name__}: {error}")
                continue
            self._alive_at = loop.time()
            if self._failures:
                log.info("polling for updates works again")
            self._failures = 0
            self._probation_passed()
            for update in updates:
                await self.application.update_queue.put(update)
            if updates:
                self.offset = updates[-1].update_id + 1
            if data.stop.is_set():
                return

    async def _leave_webhook(self, stop: asyncio.Event) -> None:
        """Telegram will not answer getUpdates while a webhook is set: delete it, keeping pending updates."""
        log.warning(
            "a webhook is set for this bot (webhook mode before?); deleting it to long-poll, keeping the "
            "updates Telegram holds"
        )
        try:
            await self.application.bot.delete_webhook(drop_pending_updates=False)
        except TelegramError as error:
            await self._retry(stop, f"could not delete the webhook: {error}")

    def _refuse_on_conflict(self) -> bool:
        """A 409: True (and the bot is stopping) if this instance is the newcomer, else False."""
        data = self.application.bot_data
        polling_for = asyncio.get_running_loop().time() - (self._polling_since or 0.0)
        if polling_for >= self.conflict_grace:
            log.warning(
                "Telegram answered 409 Conflict: another instance started polling with this bot token. "
                "This one has been polling for %.0f s and keeps going, so the newcomer will be refused; "
                "if this repeats, find and stop the other instance.",
                polling_for,
            )
            return False
        log.error(CONFLICT_MESSAGE)
        data.sole_instance.refuse()
        if data.exit_reason is None:
            data.exit_reason = CONFLICT_MESSAGE
        data.stop.set()
        return True

    def _probation_passed(self) -> None:
        sole = self.application.bot_data.sole_instance
        if sole.decided or self._polling_since is None:
            return
        if asyncio.get_running_loop().time() - self._polling_since >= self.probation:
            sole.confirm()

    async def _retry(self, stop: asyncio.Event, what: str) -> None:
        self._failures += 1
        pause = min(BACKOFF_MAX, self.backoff_first * BACKOFF_FACTOR ** (self._failures - 1))
        log.warning(
            "polling for updates failed (%d in a row), retrying in %.1f s: %s", self._failures, pause, what
        )
        await self._pause(stop, pause)

    async def _pause(self, stop: asyncio.Event, seconds: float) -> None:
        self._alive_at = asyncio.get_running_loop().time()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)
        self._probation_passed()

    async def _confirm_fetched(self) -> None:
        """Tell Telegram which updates were fetched, so the next start does not get them again."""
        if self.offset is None:
            return
        try:
            await self.application.bot.get_updates(
                offset=self.offset, timeout=0, allowed_updates=ALLOWED_UPDATES
            )
        except TelegramError as error:
            log.warning("could not confirm the last updates; the next start may see them again: %s", error)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
