"""Housekeeping: what one pass removes (database rows, idle per-user windows, stale admin answers), the
retention it keeps, and that the running bot schedules it."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from telegram import Bot

from bot.core.interests import Subscription
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


def sql(path: Path, statement: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        return list(db.execute(statement))


async def test_one_pass_applies_every_retention_and_keeps_what_was_asked_for(
    store: Store, standin: BotApiStandIn, bundled_library: Library
) -> None:
    """Question log, delivered alerts and chats nobody needs any more go after their retention; alerts
    still owed, chats with subscriptions or a /related choice stay whatever their age; /stats still
    counts every question ever asked."""
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=400), now - timedelta(hours=1)
    settings = Settings(corpus_dir=CORPUS, question_log_days=30, alert_history_days=30, idle_chat_days=180)
    data = BotData()
    data.attach(Runtime(settings=settings, store=store, library=bundled_library))
    for chat in (1, 2, 3, 4, 5):
        await store.touch_chat(chat, "private", None, now=old)
    await store.touch_chat(6, "private", None, now=recent)
    await store.subscribe(2, "topic", "openai", "OpenAI", now=old)  # a subscriber who went quiet
    await store.set_related(3, False, now=old)  # a choice the chat made
    await store.log_question(1, 3, 5.0, "a question from long ago", now=old)
    await store.log_question(6, 3, 5.0, now=recent)

    def match(new: list[str], subscriptions: list[Subscription]) -> list[tuple[int, str, str]]:
        return [(4, "delivered-long-ago", "Tides"), (5, "still-owed", "Tides")]

    await store.ingest_articles(["archive"], lambda ids, subs: ())  # the silent first load
    await store.ingest_articles(["delivered-long-ago", "still-owed"], match, now=old)
    [delivered] = await store.chat_alerts(4)
    await store.mark_sent([delivered.id], 77, now=old)
    before = await store.question_stats()

    await tidy(data)

    assert sorted(int(str(row[0])) for row in sql(store.path, "SELECT id FROM chats")) == [2, 3, 5, 6]
    assert sql(store.path, "SELECT chat_id, question FROM question_log") == [(6, None)]
    assert sql(store.path, "SELECT article_id, status FROM outbox") == [("still-owed", "pending")]
    after = await store.question_stats()
    assert after.total == before.total == 2
    assert [s.value for s in await store.subscriptions(2)] == ["openai"]
    assert await store.related_enabled(3, default=True) is False


async def test_housekeeping_checkpoints_the_write_ahead_log_so_the_file_stops_growing(
    store: Store, standin: BotApiStandIn, bundled_library: Library
) -> None:
    data = BotData()
    data.attach(Runtime(settings=Settings(corpus_dir=CORPUS), store=store, library=bundled_library))
    wal = store.path.with_name(store.path.name + "-wal")
    for number in range(3000):
        await store.log_question(number % 50, 3, 5.0, "what happened at the harbour today " * 3)
    grown = wal.stat().st_size
    await tidy(data)
    assert grown > 1_000_000
    assert wal.stat().st_size == 0  # checkpointed and truncated


async def test_question_text_is_kept_only_for_more_results_and_only_as_long_as_configured(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    """With NEWSBOT_LOG_QUESTIONS off, a question's text is stored only when its answer has a "More
    results" button, for NEWSBOT_MORE_RESULTS_HOURS, and the next housekeeping pass after that deletes it."""
    async with running_bot(tmp_path, standin, min_relevance=0, more_results_hours=2) as bot:
        [few] = await bot.ask(USER, USER, "Department of Defense deal")
        [many] = await bot.ask(USER, USER, "OpenAI standards Sora Codex")
        await bot.settled()  # the question log is written after the answer went out
        database = bot.database
        saved = sql(database, "SELECT query, created_at, expires_at FROM saved_queries")
        logged = sql(database, "SELECT question FROM question_log")
        query_id = [b["callback_data"] for row in many["reply_markup"]["inline_keyboard"] for b in row][-1]
        assert "more:" not in str(few.get("reply_markup"))
        await bot.services.store.purge_expired(now=datetime.now(UTC) + timedelta(hours=2, seconds=1))
        left = sql(database, "SELECT COUNT(*) FROM saved_queries")
    assert query_id.startswith("more:")
    [(text, created, expires)] = saved
    assert text == "OpenAI standards Sora Codex"
    assert datetime.fromisoformat(str(expires)) - datetime.fromisoformat(str(created)) == timedelta(hours=2)
    assert logged == [(None,), (None,)]
    assert left == [(0,)]
