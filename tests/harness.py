"""End-to-end harness: the real bot polling the local Bot API stand-in on 127.0.0.1 (bot.localbot runs it).

Fakes only at the outer edge: the stand-in plays Telegram; the database is real SQLite in tmp_path.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.compose import Services
from bot.core.interests import SubscriptionKind
from bot.localbot import LocalBot, local_bot
from bot.settings import Settings
from bot.standin import BotApiStandIn, EventKind
from bot.store import Store
from tests.conftest import CORPUS

TOKEN = "987654321:TEST-secret-token-AAAAAAAAAAAA"
USER = 1001  # an ordinary user in a private chat
OTHER = 1002  # a second ordinary user
ADMIN = 42  # listed in NEWSBOT_ADMIN_IDS
GROUP = -100500  # a forum supergroup with USER, OTHER and ADMIN as members
BOT_USERNAME = "newsbot_test_bot"


def sqlite_file(settings: Settings) -> Path:
    """The SQLite file NEWSBOT_DATABASE names (the test's bot runs on SQLite)."""
    assert isinstance(settings.database, Path), "this bot runs on PostgreSQL"
    return settings.database


@dataclass
class BotUnderTest:
    """A running bot (bot.localbot, the same helper the playground and the benchmark use) with its
    stand-in, settings and corpus copy."""

    local: LocalBot
    corpus: Path

    @property
    def standin(self) -> BotApiStandIn:
        """The Bot API stand-in the bot polls."""
        return self.local.standin

    @property
    def settings(self) -> Settings:
        """The bot's settings."""
        return self.local.settings

    @property
    def database(self) -> Path:
        """The bot's SQLite file (these bots run on SQLite)."""
        return sqlite_file(self.settings)

    @property
    def services(self) -> Services:
        """What compose() built: store, runtime, application, workers."""
        return self.local.services

    async def ask(self, chat_id: int, user_id: int, text: str, **kwargs: Any) -> list[dict[str, Any]]:
        """Send a user message and return the bot's next reply message(s)."""
        return await self.standin.ask(chat_id, user_id, text, **kwargs)

    async def click(
        self, chat_id: int, user_id: int, message: dict[str, Any], data: str, count: int = 1
    ) -> list[Any]:
        """Press a button (or forge callback data) and wait for what the bot sends back."""
        mark = self.standin.world.mark()
        self.standin.scenario.click(chat_id, user_id, message["message_id"], data)
        answers = await self.standin.wait_for(kind=EventKind.CALLBACK_ANSWER, after=mark)
        if count:
            await self.standin.wait_for(chat_id=chat_id, after=mark, count=count)
        return answers

    async def settled(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109 - a plain deadline
        """Wait until the bot has handled every update queued so far (see LocalBot.settled)."""
        await self.local.settled(timeout)

    def replies(self, chat_id: int) -> list[dict[str, Any]]:
        """Every message the bot sent to a chat, in order."""
        return self.standin.world.sent_messages(chat_id)


def make_settings(tmp_path: Path, standin: BotApiStandIn, **overrides: Any) -> tuple[Settings, Path]:
    """Settings pointing at a private copy of the bundled corpus and a fresh database."""
    corpus = tmp_path / "corpus"
    if not corpus.exists():
        shutil.copytree(CORPUS, corpus)
    values: dict[str, Any] = {
        "telegram_token": TOKEN,
        "telegram_base_url": standin.base_url,
        "admin_ids": [ADMIN],
        "corpus_dir": corpus,
        "database": tmp_path / "db" / "newsbot.sqlite3",
        "log_level": "DEBUG",
        "snapshot_dir": tmp_path / "snapshots",
        "typing_after_seconds": 0,  # always show "typing…", so tests can see it
    }
    values.update(overrides)
    return Settings(**values), corpus


async def subscribe_in_store(
    database: Path | str, chats: Iterable[int], kind: SubscriptionKind, value: str, label: str
) -> None:
    """Private chats subscribed as /subscribe leaves them, written straight into the database (a path, or
    a PostgreSQL DSN): asked for in chat, a bot process just started would hold each back for its
    probation (10 s, bot.tg.polling), which tests about something else need not wait out."""
    async with await Store.open(database) as store:
        for chat in chats:
            await store.touch_chat(chat, "private", None)
            await store.subscribe(chat, kind, value, label)


def populate(standin: BotApiStandIn) -> None:
    """The chats every end-to-end test can use."""
    standin.scenario.add_private_chat(USER, "Ursula", username="ursula")
    standin.scenario.add_private_chat(OTHER, "Otto", username="otto")
    standin.scenario.add_private_chat(ADMIN, "Ada", username="ada_admin")
    standin.scenario.add_group(
        GROUP, "Newsroom", supergroup=True, forum=True, admins=(ADMIN,), members=(USER, OTHER)
    )


@contextlib.asynccontextmanager
async def running_bot(
    tmp_path: Path, standin: BotApiStandIn, **overrides: Any
) -> AsyncIterator[BotUnderTest]:
    """Start the bot in this event loop, wait until it polls, and stop it cleanly afterwards."""
    settings, corpus = make_settings(tmp_path, standin, **overrides)
    async with local_bot(settings, standin) as local:
        yield BotUnderTest(local, corpus)
