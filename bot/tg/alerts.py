"""Alert delivery: due outbox rows become paced Telegram messages (one per alert, or a digest per chat),
and alerts whose story gained reports since are edited ("+2 sources: …") under the same pacing.

Failures are sorted by whom they concern. About one chat (blocked, kicked, chat not found, refused
message): that chat's rows are parked or failed. About the bot as a whole (the token rejected, Telegram
unreachable): rows stay pending; a rejected token ends the pass and is reported (on_token_error), and a
row that keeps failing in transit is given up only once something else was delivered meanwhile, so an
outage never fails the queue.

Crash window: a row is marked sent, in its own transaction, only after Telegram accepted the message, so
a crash between the two (or an answer lost to a timeout or reset after delivery) repeats that one message.
Paced by a global rate, a per-chat interval, a per-group cap and the bot-wide 429 pause.

Several replicas on one PostgreSQL database (a `lease`): each pass claims its rows (whole chats) for the
lease, a heartbeat renews the claim while the replica lives, and each send first checks the rows are still
its own; a replica that dies leaves its claimed rows to the others once the lease runs out (within the
lease, plus up to SHARED_PASS_SECONDS until a busy replica claims again; a kill repeats at most the one
message it was sending). The global rate and the 429 pause are booked in the
database (one slot shared by every replica); the edit pass runs where `edits_here` says (the leader).
Uses asyncio and PTB; every SQL statement stays in bot.store and every piece of HTML in bot.render.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import warnings
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from telegram import Bot, Message
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.warnings import PTBDeprecationWarning

from bot.core.digests import best_sentence, digest_order
from bot.core.interests import AlertStatus
from bot.core.library import article_token
from bot.core.models import Article
from bot.core.stories import Story
from bot.logs import REDACTED
from bot.render import messages
from bot.render.buttons import Keyboard
from bot.render.html import MESSAGE_LIMIT, visible_length
from bot.store import OutboxItem, Store
from bot.tg.sending import edit_html, send_html

log = logging.getLogger(__name__)

GROUP_TYPES = frozenset({"group", "supergroup", "channel"})
DUE_BATCH = 500  # rows read per pass; a fuller outbox just takes another pass
SHARED_BATCH = 100  # rows one replica claims per pass (smaller, so a fan-out spreads over the replicas)
SHARED_RATE = "alerts"  # the send slot every replica books from
# A replica's pass ends after this long (what it claimed and did not send yet stays its own and is
# claimed again at once), so rows of a replica that died go out at most this long after its lease ends.
SHARED_PASS_SECONDS = 2.0
DIGEST_MAX = 20  # articles in one digest; more due for one chat become several digests
BUSY_POLL = 0.05  # seconds between looks at answers_busy()
IDLE_MAX = 60.0  # longest sleep of run() with nothing due (a missed wake() costs at most this)
IDLE_MIN = 0.05  # shortest, so a row that stays due for a reason we did not foresee cannot spin the loop
ERROR_PAUSE = 5.0  # after a pass failed unexpectedly (e.g. the database was busy)
TOKEN_PAUSE = 30.0  # after Telegram refused the token: no alert is tried again for this long

Sleep = Callable[[float], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class _Job:
    """One message to send: a single alert, or several of one chat as a digest."""

    chat_id: int
    items: tuple[OutboxItem, ...]


@dataclass(frozen=True, slots=True)
class _Message:
    """A job rendered: the alerts it carries, its HTML and buttons, and what did not fit."""

    items: tuple[OutboxItem, ...]
    html: str
    keyboard: Keyboard | None
    rest: _Job | None
    shown: dict[int, int]  # alert id → members of its story the message counts


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What one attempt means for the rest of the pass."""

    sent: int = 0
    requeue: tuple[_Job, ...] = ()  # back to the front of their chat's queue
    drop_chat: bool = False  # the chat is unreachable: skip what else it had queued
    moved_to: int | None = None  # the chat migrated: what else it had queued follows it
    halt: bool = False  # the bot itself cannot send (its token was refused): end the pass


class AlertWorker:
    """Delivers the outbox: run() in the background, wake() after an ingest, deliver_due() for one pass."""

    def __init__(
        self,
        store: Store,
        bot: Bot,
        article: Callable[[str], Article | None],
        *,
        rate_per_second: float = 25.0,
        chat_interval: float = 1.0,
        group_per_minute: int = 20,
        group_window: float = 60.0,
        max_attempts: int = 5,
        backoff_base: float = 2.0,
        backoff_max: float = 300.0,
        digest_threshold: int = 3,
        story: Callable[[str], Story | None] = lambda _: None,
        edit_within: timedelta = timedelta(hours=24),
        answers_busy: Callable[[], bool] = lambda: False,
        on_token_error: Callable[[], object] = lambda: None,
        owner: str = "",
        lease: timedelta | None = None,
        edits_here: Callable[[], bool] = lambda: True,
        catch_up: Callable[[], Awaitable[object]] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive")
        if chat_interval < 0 or group_window < 0 or backoff_base < 0 or backoff_max < 0:
            raise ValueError("intervals and backoff times cannot be negative")
        if group_per_minute < 1 or max_attempts < 1 or digest_threshold < 0:
            raise ValueError("group_per_minute and max_attempts must be at least 1, digest_threshold 0")
        self._store = store
        self._bot = bot
        self._article = article
        self._story = story
        self._edit_within = edit_within
        self._edits_left = False  # the last pass left due edits (held back by a 429 or a stop)
        self._send_gap = 1.0 / rate_per_second
        self._chat_interval = chat_interval
        self._group_cap = group_per_minute
        self._group_window = group_window
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._digest_threshold = digest_threshold
        self._answers_busy = answers_busy
        self._on_token_error = on_token_error
        self._clock = clock
        self._sleep = sleep
        # Pacing state, in clock() seconds. The global gap is a token bucket holding one token: sends are
        # spread evenly, so no one-second window ever holds more than rate + 1 of them.
        self._next_send = -math.inf
        self._paused_until = -math.inf  # a 429 holds every alert send until then
        self._chat_last: dict[int, float] = {}
        self._group_sends: dict[int, deque[float]] = {}
        # Alerts Telegram accepted whose mark_sent failed: never send them again, keep trying to mark them.
        self._unmarked: dict[tuple[int, ...], tuple[int, dict[int, int] | None]] = {}
        # Messages delivered so far, and for each row failing in transit the count when it began to: a
        # row is given up only if others got through meanwhile (else Telegram, not the row, is the trouble).
        self._delivered = 0
        self._delivered_when_failing: dict[int, int] = {}
        # Several replicas (PostgreSQL): this one's name on its claims, and how long a claim lasts.
        self._owner = owner
        self._lease = lease
        self._edits_here = edits_here
        self._catch_up = catch_up  # brings the library up to date (an article another replica added)
        self._wake = asyncio.Event()
        self._stop: asyncio.Event | None = None
        self._one_pass = asyncio.Lock()  # two overlapping passes could both send the same due row

    # -- running ---------------------------------------------------------------------------------------------

    def wake(self) -> None:
        """New rows were ingested: start a pass now instead of at the next due time."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set: what the database holds first, then as rows fall due or on wake().

        Stop with the event rather than by cancelling the task: the event lets a send in flight be recorded.
        """
        self._stop = stop
        log.info("alert worker started")
        heartbeat = asyncio.create_task(self._heartbeat(stop)) if self._lease is not None else None
        try:
            while not stop.is_set():
                self._wake.clear()  # before the pass, so an ingest during it is not missed
                try:
                    sent = await self.deliver_due()
                    delay = await self._idle_seconds()
                except Exception:
                    log.exception("an alert delivery pass failed; trying again in %.0f s", ERROR_PAUSE)
                    sent, delay = 0, ERROR_PAUSE
                if sent:
                    log.info("delivered %d alert message(s)", sent)
                await self._pause(delay, wakeable=True)
        finally:
            self._stop = None
            if heartbeat is not None:
                heartbeat.cancel()
                await asyncio.gather(heartbeat, return_exceptions=True)
                try:  # stopping cleanly: what it claimed is the others' at once, not after the lease
                    await self._store.release_alerts(self._owner)
                except Exception as error:
                    log.warning("could not hand back claimed alerts (they wait for the lease): %s", error)
            log.info("alert worker stopped")

    async def _heartbeat(self, stop: asyncio.Event) -> None:
        """Renew this replica's claims every third of the lease while it runs."""
        assert self._lease is not None
        every = self._lease.total_seconds() / 3
        while not stop.is_set():
            await self._pause(every)
            try:
                await self._store.extend_leases(self._owner, self._lease)
            except Exception as error:  # a claim not renewed only runs out: another replica sends it
                log.warning("could not renew the claim on queued alerts: %s", error)

    async def deliver_due(self) -> int:
        """One pass over the alerts due now, paced; returns how many messages Telegram accepted."""
        async with self._one_pass:
            return await self._pass()

    async def _pass(self) -> int:
        await self._mark_unmarked()
        held = {alert_id for ids in self._unmarked for alert_id in ids}
        self._forget_old_sends()
        queues: dict[int, deque[_Job]] = {}
        if self._lease is not None:
            due = await self._store.claim_alerts(self._owner, self._lease, limit=SHARED_BATCH)
            await self._know_articles(due)
        else:
            due = await self._store.due_alerts_by_chat(limit=DUE_BATCH)
        for chat_id, items in due.items():
            fresh = [item for item in items if item.id not in held]
            if fresh:
                queues[chat_id] = deque(self._plan(chat_id, fresh))
        types = await self._store.chat_types([chat_id for chat_id in queues if chat_id >= 0])
        groups = {chat_id: chat_id < 0 or types.get(chat_id) in GROUP_TYPES for chat_id in queues}
        sent = 0
        # Among replicas a pass is short: the next claim then also takes rows a dead replica left.
        ends = self._clock() + SHARED_PASS_SECONDS if self._lease is not None else math.inf
        while queues and not self._stopping() and self._clock() < ends:
            chat_id = min(queues, key=lambda chat: self._chat_ready_at(chat, groups[chat]))
            if not await self._wait_turn(chat_id, groups[chat_id]):
                break
            later = queues.pop(chat_id)
            outcome = await self._deliver(later.popleft(), groups[chat_id])
            sent += outcome.sent
            if outcome.halt:
                break
            if outcome.drop_chat:
                later.clear()
            target = chat_id
            if outcome.moved_to is not None:
                target = outcome.moved_to
                moved = [await self._follow(job, target) for job in later]
                later = deque(job for job in moved if job is not None)
                self._chat_last[target] = self._chat_last.pop(chat_id, -math.inf)
                groups[target] = await self._is_group(target)
            later.extendleft(reversed(outcome.requeue))
            if later:
                queues[target] = deque([*queues.get(target, ()), *later])
        if not self._stopping() and self._edits_here():
            sent += await self._edit_pass()
        return sent

    async def _know_articles(self, due: dict[int, list[OutboxItem]]) -> None:
        """Another replica may have queued alerts of articles this one has not loaded yet: catch up
        (once per pass) before any is taken for gone."""
        if self._catch_up is None:
            return
        if any(self._article(item.article_id) is None for items in due.values() for item in items):
            try:
                await self._catch_up()
            except Exception:
                log.exception("could not bring the library up to date before sending alerts")

    def _stopping(self) -> bool:
        return self._stop is not None and self._stop.is_set()

    async def _idle_seconds(self) -> float:
        """How long run() may sleep: until the earliest pending row falls due, within bounds (a row another
        replica holds: when its claim would run out)."""
        if self._lease is not None:
            due = await self._store.next_claimable_at(self._owner)
        else:
            due = await self._store.next_due_at()
        if self._edits_left:
            return IDLE_MIN + max(0.0, self._paused_until - self._clock())
        if due is None:
            return IDLE_MAX
        return min(IDLE_MAX, max(IDLE_MIN, (due - datetime.now(UTC)).total_seconds()))

    async def _pause(self, seconds: float, *, wakeable: bool = False) -> None:
        """Sleep, cut short by the stop event (and, if wakeable, by wake())."""
        interrupts = [event for event in (self._stop, self._wake if wakeable else None) if event is not None]
        if not interrupts:
            await self._sleep(seconds)
            return
        if any(event.is_set() for event in interrupts):
            return
        waiters = [asyncio.ensure_future(self._sleep(seconds))]
        waiters += [asyncio.ensure_future(event.wait()) for event in interrupts]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    # -- pacing ----------------------------------------------------------------------------------------------

    async def _is_group(self, chat_id: int) -> bool:
        if chat_id < 0:
            return True
        chat = await self._store.get_chat(chat_id)
        return chat is not None and chat.type in GROUP_TYPES

    def _chat_ready_at(self, chat_id: int, group: bool) -> float:
        """The earliest clock() at which this chat may get its next message."""
        ready = self._chat_last.get(chat_id, -math.inf) + self._chat_interval
        sends = self._group_sends.get(chat_id)
        if group and sends is not None and len(sends) >= self._group_cap:
            ready = max(ready, sends[len(sends) - self._group_cap] + self._group_window)
        return ready

    async def _wait_turn(self, chat_id: int, group: bool) -> bool:
        """Wait until every limit allows a send to this chat and no answer is being sent; False if stopped."""
        while not self._stopping():
            now = self._clock()
            ready = max(self._paused_until, self._chat_ready_at(chat_id, group))
            if self._lease is None:
                ready = max(ready, self._next_send)
            if ready > now:
                await self._pause(ready - now)
            elif self._answers_busy():
                await self._pause(BUSY_POLL)
            else:
                return True
        return False

    def _claim(self, chat_id: int, group: bool) -> None:
        """Book the send about to happen against every limit."""
        now = self._clock()
        # Keep to the schedule: a send a little late (preparing the message, a database read) still
        # books the next slot from its own slot, or small delays would add up to a rate below the cap.
        behind = now - self._next_send
        base = self._next_send if 0 <= behind < self._send_gap else max(now, self._next_send)
        self._next_send = base + self._send_gap
        self._chat_last[chat_id] = now
        if group:
            self._group_sends.setdefault(chat_id, deque()).append(now)

    def _forget_old_sends(self) -> None:
        """Drop pacing history that can no longer hold anything back, so the maps do not grow forever."""
        now = self._clock()
        self._chat_last = {c: t for c, t in self._chat_last.items() if t + self._chat_interval > now}
        for chat_id in list(self._group_sends):
            sends = self._group_sends[chat_id]
            while sends and sends[0] + self._group_window <= now:
                sends.popleft()
            if not sends:
                del self._group_sends[chat_id]

    # -- one message -----------------------------------------------------------------------------------------

    def _plan(self, chat_id: int, items: Sequence[OutboxItem]) -> list[_Job]:
        """A chat's due alerts as messages: a scheduled digest is one message (split only where
        Telegram's length limit requires); the rest one each, or digests when more than the threshold
        are due."""
        scheduled: dict[datetime, list[OutboxItem]] = {}
        flowing: list[OutboxItem] = []
        for item in items:
            if item.digest_due is not None:
                scheduled.setdefault(item.digest_due, []).append(item)
            else:
                flowing.append(item)
        jobs = [_Job(chat_id, tuple(group)) for _, group in sorted(scheduled.items())]
        if len(flowing) <= self._digest_threshold:
            return jobs + [_Job(chat_id, (item,)) for item in flowing]
        return jobs + [
            _Job(chat_id, tuple(flowing[i : i + DIGEST_MAX])) for i in range(0, len(flowing), DIGEST_MAX)
        ]

    async def _deliver(self, job: _Job, group: bool) -> _Outcome:
        """Render and send one job, then record what Telegram said; never raises for Telegram's answers."""
        try:
            message = await self._compose(job)
        except Exception as error:
            log.exception("could not prepare alerts for chat %d", job.chat_id)
            await self._retry_later(job.items, error)
            return _Outcome()
        if message is None:
            return _Outcome()
        rest = (message.rest,) if message.rest is not None else ()
        if self._lease is not None:
            # The rows must still be this replica's, and the global rate is every replica's together:
            # both are booked in the database, in one transaction.
            wait = await self._store.book_send(
                self._owner, [item.id for item in message.items], self._lease, SHARED_RATE, self._send_gap
            )
            if wait is None:  # its claim ran out and another replica took the rows, or they were settled
                log.info("alerts for chat %d went to another replica; not sending them here", job.chat_id)
                return _Outcome(drop_chat=True)
            if wait > 0:
                await self._pause(wait)
            if self._stopping():  # (its claim is handed back as the worker stops)
                return _Outcome(requeue=(job,))
        self._claim(job.chat_id, group)
        try:
            replies = await self._send(job.chat_id, message)
        except RetryAfter as error:
            seconds = _retry_seconds(error)
            self._paused_until = max(self._paused_until, self._clock() + seconds)
            log.warning("Telegram flood control: pausing every alert for %.1f s", seconds)
            if self._lease is not None:
                await self._store.pause_sends(SHARED_RATE, seconds)  # every replica holds back
            return _Outcome(requeue=(job,))
        except InvalidToken as error:
            # PTB says InvalidToken for a 401 (the token was revoked) and a 404 page alike; either way no
            # alert can go out now and none is to blame. The rows stay as they are; the bot checks the token.
            self._paused_until = max(self._paused_until, self._clock() + TOKEN_PAUSE)
            log.error(
                "Telegram refused the bot's token or address while sending alerts (%s); every alert stays "
                "pending and none is tried for %.0f s",
                self._describe(error)[:300],
                TOKEN_PAUSE,
            )
            self._on_token_error()
            return _Outcome(halt=True)
        except ChatMigrated as error:
            new_id = int(error.new_chat_id)
            log.info("chat %d became supergroup %d; its alerts follow it", job.chat_id, new_id)
            await self._store.migrate_chat(job.chat_id, new_id)
            moved = await self._follow(job, new_id)
            return _Outcome(requeue=(moved,) if moved is not None else (), moved_to=new_id)
        except Forbidden as error:
            log.info("chat %d is unreachable (%s); parking its alerts", job.chat_id, error.message)
            await self._store.deactivate_chat(job.chat_id, self._clean(error.message))
            return _Outcome(drop_chat=True)
        except BadRequest as error:  # before NetworkError, which PTB makes its base class
            log.warning("Telegram refused alerts for chat %d: %s", job.chat_id, error.message)
            for item in message.items:
                await self._store.mark_failed(item.id, self._describe(error))
            return _Outcome(requeue=rest)
        except NetworkError as error:  # also TimedOut and 5xx answers
            log.warning("sending alerts to chat %d failed: %s", job.chat_id, self._describe(error)[:300])
            await self._retry_later(message.items, error, in_transit=True)
            return _Outcome(requeue=rest)
        except Exception as error:
            log.exception("unexpected error sending alerts to chat %d", job.chat_id)
            await self._retry_later(message.items, error)
            return _Outcome(requeue=rest)
        await self._record_sent(message.items, replies[0].message_id, message.shown)
        return _Outcome(sent=1, requeue=rest)

    async def _send(self, chat_id: int, message: _Message) -> list[Message]:
        try:
            return await send_html(self._bot, chat_id, message.html, keyboard=message.keyboard)
        finally:
            # The chat's interval also runs from the answer, so a request slow to reach Telegram cannot
            # land closer than that to the next one.
            self._chat_last[chat_id] = self._clock()

    async def _compose(self, job: _Job) -> _Message | None:
        """The job's message; alerts whose article left the library are failed here, None if none remain."""
        found: list[tuple[OutboxItem, Article]] = []
        for item in job.items:
            article = self._article(item.article_id)
            if article is None:
                log.warning("alert %d: article %r is no longer in the library", item.id, item.article_id)
                await self._store.mark_failed(
                    item.id, f"article {item.article_id!r} is no longer in the library"
                )
            else:
                found.append((item, article))
        if not found:
            return None
        return await self._render(job.chat_id, found, fit=True)

    async def _render(
        self, chat_id: int, found: Sequence[tuple[OutboxItem, Article]], *, fit: bool
    ) -> _Message | None:
        """One alert, or a digest of several, with each story's other sources as they stand now. With
        `fit`, a digest too long for one message carries what fits and leaves the rest; without, None."""
        subscriptions = await self._store.subscriptions(chat_id)
        labels = {subscription.label: subscription.id for subscription in subscriptions}
        if len(found) > 1:
            # A digest puts its biggest stories first (most sources, then the newest), as it is read.
            sizes = [len(story.members) if (story := self._story(a.id)) is not None else 1 for _, a in found]
            found = [found[i] for i in digest_order([a for _, a in found], sizes)]
        entries = [(article, _reasons(item.reason, labels)) for item, article in found]
        stories = [self._story(article.id) for _, article in found]
        coverage = [_coverage(story, article.id) for story, (_, article) in zip(stories, found, strict=True)]
        shown = {
            item.id: len(story.members) if story is not None else 1
            for story, (item, _) in zip(stories, found, strict=True)
        }
        count = len(entries)
        sentences = [best_sentence(article, reasons) for article, reasons in entries] if count > 1 else []
        html = messages.digest(entries, coverage, sentences) if count > 1 else ""
        while count > 1 and visible_length(html) > MESSAGE_LIMIT:
            if not fit:
                return None
            count -= 1
            html = messages.digest(entries[:count], coverage[:count], sentences[:count])
        rest = _Job(chat_id, tuple(item for item, _ in found[count:])) if count < len(found) else None
        carried = tuple(item for item, _ in found[:count])
        counts = {item.id: shown[item.id] for item in carried}
        if count > 1:
            return _Message(carried, html, None, rest, counts)
        article, reasons = entries[0]
        unsubscribe = f"unsub:{labels[reasons[0]]}" if reasons and reasons[0] in labels else None
        keyboard = messages.alert_keyboard(f"rel:{article_token(article.id)}", unsubscribe)
        html = messages.alert(article, None, reasons, coverage[0])
        if not fit and visible_length(html) > MESSAGE_LIMIT:
            return None
        return _Message(carried, html, keyboard, rest, counts)

    # -- edits -----------------------------------------------------------------------------------------------

    async def _edit_pass(self) -> int:
        """Update the messages of alerts whose story gained reports; returns how many were edited. Each
        message is rendered again whole (a digest's other stories too) and edited once, however many
        reports arrived meanwhile; one that would not change is only marked."""
        self._edits_left = False
        due = await self._store.due_edits(self._edit_within, limit=DUE_BATCH)
        targets: dict[tuple[int, int], list[OutboxItem]] = {}
        for item in due:
            if item.message_id is not None:
                targets.setdefault((item.chat_id, item.message_id), []).append(item)
        edited = 0
        for (chat_id, message_id), flagged in targets.items():
            if self._stopping():
                self._edits_left = True
                break
            rows = await self._store.message_alerts(chat_id, message_id) or flagged
            found = [(row, a) for row in rows if (a := self._article(row.article_id)) is not None]
            message = await self._render(chat_id, found, fit=False) if found else None
            if message is None or all(message.shown[row.id] <= row.shown_members for row in message.items):
                for row in flagged:
                    await self._store.mark_edited(row.id, row.shown_members, final=True)
                continue
            group = await self._is_group(chat_id)
            if not await self._wait_turn(chat_id, group):
                self._edits_left = True
                break
            self._claim(chat_id, group)
            final = False  # a report recorded while the edit is on its way keeps the flag (mark_edited)
            try:
                await edit_html(self._bot, chat_id, message_id, message.html, keyboard=message.keyboard)
            except RetryAfter as error:
                seconds = _retry_seconds(error)
                self._paused_until = max(self._paused_until, self._clock() + seconds)
                log.warning("Telegram flood control while editing alerts: pausing for %.1f s", seconds)
                self._edits_left = True
                break
            except InvalidToken:
                self._paused_until = max(self._paused_until, self._clock() + TOKEN_PAUSE)
                self._on_token_error()
                break
            except Forbidden as error:
                log.info("chat %d is unreachable (%s); parking its alerts", chat_id, error.message)
                await self._store.deactivate_chat(chat_id, self._clean(error.message))
                continue
            except BadRequest as error:  # not modified, too old to edit, deleted: leave it as it is
                log.info(
                    "alert message %d in chat %d was not updated: %s", message_id, chat_id, error.message
                )
                final = True
            except NetworkError as error:  # the flag stays: the next pass tries again
                log.warning("updating an alert in chat %d failed: %s", chat_id, self._describe(error)[:300])
                continue
            else:
                edited += 1
            finally:
                self._chat_last[chat_id] = self._clock()
            for row in message.items:
                await self._store.mark_edited(row.id, message.shown[row.id], final=final)
            # A report recorded while this edit was on its way left the row's flag up (mark_edited) but
            # woke no one: its ingest found the flag already up. Come back at once, not after IDLE_MAX.
            self._edits_left = self._edits_left or not final
        return edited

    async def _follow(self, job: _Job, new_id: int) -> _Job | None:
        """The job's alerts as they stand after a migration (moved, or merged away into a duplicate)."""
        moved = []
        for item in job.items:
            current = await self._store.get_alert(item.id)
            if current is not None and current.chat_id == new_id and current.status is AlertStatus.PENDING:
                moved.append(current)
        return _Job(new_id, tuple(moved)) if moved else None

    async def _record_sent(
        self, items: Sequence[OutboxItem], message_id: int, shown: dict[int, int] | None = None
    ) -> None:
        ids = tuple(item.id for item in items)
        self._delivered += 1
        for alert_id in ids:
            self._delivered_when_failing.pop(alert_id, None)
        try:
            await self._store.mark_sent(ids, message_id, shown=shown)
        except Exception:
            # Sending again would duplicate the message; hold the ids back and retry the bookkeeping.
            self._unmarked[ids] = (message_id, shown)
            log.exception(
                "alerts %s were delivered as message %d but could not be marked sent", ids, message_id
            )

    async def _mark_unmarked(self) -> None:
        for ids, (message_id, shown) in list(self._unmarked.items()):
            await self._store.mark_sent(ids, message_id, shown=shown)
            del self._unmarked[ids]

    async def _retry_later(
        self, items: Sequence[OutboxItem], error: BaseException, *, in_transit: bool = False
    ) -> None:
        """Count a failed attempt: back off exponentially, or give up after max_attempts (a failure in
        transit only when other messages were delivered since this row began failing)."""
        text = self._describe(error)
        if len(self._delivered_when_failing) > DUE_BATCH * 20:
            self._delivered_when_failing.clear()  # rows that left by other ways; a baseline is cheap to redo
        for item in items:
            attempt = item.attempts + 1
            since = self._delivered_when_failing.setdefault(item.id, self._delivered)
            blamed = not in_transit or self._delivered > since
            if attempt >= self._max_attempts and blamed:
                self._delivered_when_failing.pop(item.id, None)
                log.warning("alert %d failed for good after %d attempts: %s", item.id, attempt, text)
                await self._store.mark_failed(item.id, text)
                continue
            delay = min(self._backoff_max, self._backoff_base * 2 ** min(item.attempts, 32))
            await self._store.mark_retry(item.id, text, datetime.now(UTC) + timedelta(seconds=delay))

    def _describe(self, error: BaseException) -> str:
        # One line: PTB quotes whole HTML error pages (a 502 from a proxy) in its messages.
        return self._clean(" ".join(f"{type(error).__name__}: {error}".split()))

    def _clean(self, text: str) -> str:
        # Errors are stored for the admin to read; a transport error could quote a URL holding the token.
        return text.replace(self._bot.token, REDACTED) if self._bot.token else text


def _coverage(story: Story | None, article_id: str) -> messages.Coverage:
    """A story's other named sources and other reports, seen from one of its articles."""
    if story is None:
        return ((), 0)
    return (story.others(article_id), len(story.members) - 1)


def _retry_seconds(error: RetryAfter) -> float:
    """retry_after in seconds, whether this PTB hands out an int or a timedelta (PTB_TIMEDELTA)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _reasons(reason: str, labels: Collection[str]) -> list[str]:
    """An outbox reason (labels joined with ", ") split back into labels; known labels may hold ", "."""
    parts = reason.split(", ")
    found: list[str] = []
    start = 0
    while start < len(parts):
        end = next(
            (e for e in range(len(parts), start + 1, -1) if ", ".join(parts[start:e]) in labels), start + 1
        )
        found.append(", ".join(parts[start:end]))
        start = end
    return [label for label in found if label.strip()]
