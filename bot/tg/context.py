"""The typed context every handler and job receives, instead of string keys in bot_data.

python-telegram-bot's CallbackContext with a BotData of our own (ContextTypes with a custom context class,
as in python-telegram-bot's contexttypesbot.py example): the runtime, plus the Telegram side's own state —
per-user question limits, the chat-administrator cache, the related-story pusher, the fair worker for
CPU-heavy work, the stop signal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeAlias

from telegram import Chat
from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot, JobQueue

from bot.ops.metrics import Metrics
from bot.runtime import Runtime
from bot.sources import Poller
from bot.tg.handlers.pushes import RelatedPusher
from bot.tg.permissions import ChatAdmins
from bot.tg.ratelimit import QuestionLimiter
from bot.tg.work import FairWorker

# Telegram sends an inline query per keystroke or so: inline mode gets a looser limit of its own.
INLINE_RATE_FACTOR = 5
INLINE_BURST = 10


class SoleInstance:
    """Whether this instance is known to be the only one polling with its token (bot.tg.polling decides).

    Handlers that would confirm a lasting change wait for the verdict: a starting instance that turns out
    to be a second one stops, and what it confirmed meanwhile would live only in its own database.
    """

    def __init__(self) -> None:
        self._decided = asyncio.Event()
        self.confirmed = False

    @property
    def decided(self) -> bool:
        """Whether the verdict is in."""
        return self._decided.is_set()

    def confirm(self) -> None:
        """Polling ran long enough without a 409 Conflict: this is the only instance."""
        if not self.decided:
            self.confirmed = True
            self._decided.set()

    def refuse(self) -> None:
        """Another instance was polling first: this one is stopping."""
        if not self.decided:
            self._decided.set()

    async def wait(self) -> bool:
        """Wait for the verdict; True when this instance may confirm changes."""
        await self._decided.wait()
        return self.confirmed


class BotData:
    """What every handler and job of one application shares.

    python-telegram-bot creates it while building the application (ContextTypes calls BotData());
    bot.tg.app.build_application attaches the runtime before the first update can arrive.
    """

    runtime: Runtime
    questions: QuestionLimiter  # questions per user, in chats
    inline_questions: QuestionLimiter  # inline queries per user
    pusher: RelatedPusher
    sources: Poller | None = None  # the sources' poller, for /sources (set by the composition root)
    work: FairWorker  # searches and message analysis, off the event loop, users taking turns

    def __init__(self) -> None:
        self.stop = asyncio.Event()  # set to shut down: a signal, a 409 Conflict, or whoever runs the bot
        self.exit_reason: str | None = None  # why the bot stopped early, for the operator
        self.bot_username = ""  # from getMe at start-up
        self.answers_in_flight = 0  # answers being sent right now: alerts wait for them
        self.chat_admins = ChatAdmins()
        self.sole_instance = SoleInstance()
        self.metrics = Metrics()  # what /metrics shows (bot.ops), counted by the handlers
        # Whether this replica does the once-for-all work (housekeeping's database pass): always with
        # SQLite; with several replicas on PostgreSQL, the leader only (set by the composition root).
        self.leads: Callable[[], bool] = lambda: True

    def attach(self, runtime: Runtime) -> None:
        """Give the handlers the running bot's runtime, and the limits its settings ask for."""
        self.runtime = runtime
        per_minute = runtime.settings.questions_per_minute
        self.questions = QuestionLimiter(per_minute)
        self.inline_questions = QuestionLimiter(per_minute * INLINE_RATE_FACTOR, burst=INLINE_BURST)
        if runtime.store.shared:  # replicas: a user's limits hold whichever replica gets the message
            self.questions.share(runtime.store, "questions")
            self.inline_questions.share(runtime.store, "inline")
        self.work = FairWorker()
        self.pusher = RelatedPusher(runtime, self.work)


class NewsbotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    """The context of every handler and job: `context.runtime` is the running bot's shared state."""

    @property
    def runtime(self) -> Runtime:
        """Settings, store, the current library snapshot and reloads."""
        return self.bot_data.runtime

    async def remember_chat(self, chat: Chat) -> None:
        """Record that a chat is alive (first/last seen, type, title); a chat coming back is active again."""
        await self.runtime.store.touch_chat(chat.id, str(chat.type), chat.title or chat.full_name)


NewsbotApp: TypeAlias = Application[
    ExtBot[None], NewsbotContext, dict[Any, Any], dict[Any, Any], BotData, JobQueue[NewsbotContext]
]


def context_types() -> ContextTypes[NewsbotContext, dict[Any, Any], dict[Any, Any], BotData]:
    """What ApplicationBuilder.context_types needs to hand every callback a NewsbotContext."""
    return ContextTypes(context=NewsbotContext, bot_data=BotData)
