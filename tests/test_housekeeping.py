"""Housekeeping: what one pass removes (database rows, idle per-user windows, stale admin answers), the
retention it keeps, and that the running bot schedules it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from telegram import Bot

from bot.core.library import Library
from bot.runtime import Runtime
from bot.settings import Settings
from bot.standin import BotApiStandIn
from bot.store import Store
from bot.tg.context import BotData
from bot.tg.housekeeping import push_log_retention, tidy
from bot.tg.permissions import ChatAdmins
from bot.tg.ratelimit import QuestionLimiter
from tests.conftest import CORPUS
from tests.harness import ADMIN, GROUP, TOKEN, USER, running_bot


def test_push_history_is_kept_at_least_as_long_as_the_push_limits_look_back() -> None:
    assert push_log_retention(Settings(push_log_days=7)) == timedelta(days=7)
    assert push_log_retention(Settings(push_log_days=0.5, push_repeat_hours=48)) == timedelta(hours=48)
    short = Settings(push_log_days=0.001, push_repeat_hours=0, push_cooldown_minutes=0)
    assert push_log_retention(short) == timedelta(hours=1)  # the per-hour cap counts back an hour


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "newsbot.sqlite3")
    yield opened
    await opened.close()


async def test_one_pass_removes_what_expired_and_keeps_the_rest(
    store: Store, standin: BotApiStandIn, bundled_library: Library
) -> None:
    now = datetime.now(UTC)
    clock = [1_000.0]
    data = BotData()
    data.attach(Runtime(settings=Settings(corpus_dir=CORPUS), store=store, library=bundled_library))
    data.questions = QuestionLimiter(3, clock=lambda: clock[0])
    data.chat_admins = ChatAdmins(clock=lambda: clock[0])
    expired = await store.save_query(USER, "old question", now=now - timedelta(days=2))
    fresh = await store.save_query(USER, "new question", now=now)
    await store.record_push(GROUP, "openai", ["old-story"], now=now - timedelta(days=8))
    await store.record_push(GROUP, "openai", ["new-story"], now=now - timedelta(hours=1))
    data.questions.check(USER)
    async with Bot(TOKEN, base_url=standin.base_url) as bot:
        assert await data.chat_admins.may_manage(bot, GROUP, "supergroup", ADMIN)
    assert (len(data.questions), len(data.chat_admins)) == (1, 1)

    assert (await tidy(data)).rows == 2  # the expired question and the eight-day-old push
    clock[0] += 61  # a minute on: the window is idle and the admin answer stale
    done = await tidy(data)

    assert (done.rows, done.idle_users, done.admin_answers) == (0, 1, 1)
    assert (len(data.questions), len(data.chat_admins)) == (0, 0)
    assert await store.load_query(expired, USER) is None
    assert await store.load_query(fresh, USER) == "new question"
    assert await store.recently_pushed_articles(GROUP, timedelta(days=30)) == {"new-story"}


async def test_the_running_bot_tidies_on_its_schedule(tmp_path: Path, standin: BotApiStandIn) -> None:
    async with (
        running_bot(tmp_path, standin, housekeeping_minutes=0.01) as bot,  # every 0.6 s
        await Store.open(bot.settings.database) as store,  # a second connection to the bot's database
    ):
        old = datetime.now(UTC) - timedelta(days=30)
        await store.record_push(GROUP, "openai", ["a-month-old-story"], now=old)
        query = await store.save_query(USER, "long expired", now=old)
        for _ in range(100):  # up to 10 s: the job runs every 0.6 s
            if await store.load_query(query, USER, now=old) is None:
                break
            await asyncio.sleep(0.1)
        assert await store.load_query(query, USER, now=old) is None  # deleted, not just expired
        assert await store.recently_pushed_articles(GROUP, timedelta(days=365)) == set()
