"""Related-story pushes: when a message mentions a tracked topic, reply with that topic's best stories.

Helpful, never spammy: per chat at most one push per topic per cooldown, never the same article twice
within the repeat window, at most N pushes an hour, and an off switch (/related off). All that state is in
the database, so a restart does not reset it. Never triggered by bots, edits or commands. Cheap to
refuse: a user whose messages come faster than NEWSBOT_QUESTIONS_PER_MINUTE is refused before anything is
analysed, and only a message's start is read (bot.core.related.MESSAGE_CHARS). The pusher
lives in the typed context (bot.tg.context.BotData); the text handler calls it after answering.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Collection
from datetime import timedelta
from functools import partial

from telegram import Bot, Message

from bot.core.related import message_topics, related_to_message
from bot.render import messages
from bot.runtime import Runtime
from bot.tg.ratelimit import QuestionLimiter, Verdict
from bot.tg.sending import send_html, thread_of
from bot.tg.work import FairWorker, OverBudget

log = logging.getLogger(__name__)

PUSH_SIZE = 3


class ChatLocks:
    """One lock per chat, kept only while someone holds or awaits it, so the map never outgrows the
    chats being handled right now."""

    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}  # chat → (lock, holders and waiters)

    def __len__(self) -> int:
        return len(self._locks)

    @contextlib.asynccontextmanager
    async def hold(self, chat_id: int) -> AsyncIterator[None]:
        """Hold the chat's lock for the body of an `async with`."""
        lock, users = self._locks.get(chat_id) or (asyncio.Lock(), 0)
        self._locks[chat_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[chat_id]
            if users > 1:
                self._locks[chat_id] = (lock, users - 1)
            else:
                del self._locks[chat_id]


class RelatedPusher:
    """Decides whether a message earns a push, and sends it."""

    def __init__(self, runtime: Runtime, work: FairWorker) -> None:
        self.runtime = runtime
        self.work = work
        # Messages analysed for pushes, per user: a flood of long messages is refused before analysis.
        self.analysed = QuestionLimiter(runtime.settings.questions_per_minute)
        # Checking the limits and recording a push are two statements; one lock per chat keeps two
        # messages handled concurrently from both passing the check.
        self.locks = ChatLocks()

    async def maybe_push(self, message: Message, bot: Bot, *, shown: Collection[str] = ()) -> Message | None:
        """Reply with related stories for the first topic the message mentions, if every limit allows."""
        sender = message.from_user
        text = message.text or ""
        if sender is None or sender.is_bot or not text or text.startswith("/"):
            return None
        if self.analysed.check(sender.id) != Verdict.ANSWER:
            return None
        settings, store = self.runtime.settings, self.runtime.store
        chat_id = message.chat_id
        library = self.runtime.library
        mentioned = message_topics(library, text)
        if not mentioned:
            return None
        if not await store.related_enabled(chat_id, default=settings.push_default):
            return None
        async with self.locks.hold(chat_id):
            # The limits first: a topic on cooldown, or a chat that had its pushes this hour, needs no
            # analysis at all (a group flooded with topic names costs a few reads per message).
            allowed = [
                topic
                for topic in mentioned
                if await store.push_allowed(
                    chat_id,
                    topic.slug,
                    cooldown=timedelta(minutes=settings.push_cooldown_minutes),
                    max_per_hour=settings.push_max_per_hour,
                )
            ]
            if not allowed:
                return None
            recent = await store.recently_pushed_articles(
                chat_id, within=timedelta(hours=settings.push_repeat_hours)
            )
            try:
                candidates = await self.work.run(
                    sender.id,
                    partial(
                        related_to_message,
                        library,
                        text,
                        limit=PUSH_SIZE,
                        exclude=set(shown) | recent,
                        topics=allowed,
                    ),
                )
            except OverBudget:
                return None  # this user's share of the work is spent: no push, and no word about it
            for item in candidates:
                if not item.hits:
                    continue
                articles = [hit.article for hit in item.hits]
                if store.shared and not await store.claim_push(
                    chat_id,
                    item.topic.slug,
                    [article.id for article in articles],
                    cooldown=timedelta(minutes=settings.push_cooldown_minutes),
                    max_per_hour=settings.push_max_per_hour,
                ):
                    # Another replica pushed to this chat meanwhile (its messages reach several of us).
                    return None
                sent = await send_html(
                    bot,
                    chat_id,
                    messages.topic_push(item.topic.name, articles),
                    reply_to=message.message_id,
                    thread_id=thread_of(message),
                )
                if not store.shared:  # (on PostgreSQL claim_push recorded it before the send)
                    await store.record_push(chat_id, item.topic.slug, [article.id for article in articles])
                log.info("pushed %d %s stories to chat %s", len(articles), item.topic.slug, chat_id)
                return sent[-1] if sent else None
        return None
