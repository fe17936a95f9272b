"""Tests for bot/store against real SQLite files in tmp_path and real PostgreSQL databases (each test that
takes `store` runs on both): migrations, locking, every table's flows."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.interests import (
    MAX_SUBSCRIPTIONS,
    AlertStatus,
    SubscribeOutcome,
    Subscription,
    SubscriptionKind,
)
from bot.store import IngestResult, OutboxItem, Store, StoreError, StoreLockedError
from bot.store import schema as schema_module
from bot.store.schema import MIGRATIONS

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
HOSTILE = "'); DROP TABLE chats; --"


def user_version(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("PRAGMA user_version").fetchone()[0])


def table_names(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def prefix_matcher(new_ids: list[str], subscriptions: list[Subscription]) -> list[tuple[int, str, str]]:
    """A stand-in for topic matching: a subscription value `tech` matches article ids starting `tech-`."""
    return [
        (sub.chat_id, article_id, sub.label)
        for article_id in new_ids
        for sub in subscriptions
        if article_id.startswith(sub.value + "-")
    ]


async def subscribed_chats(store: Store) -> None:
    await store.touch_chat(1, "private", None, now=T0)
    await store.touch_chat(2, "group", "Sports fans", now=T0)
    await store.subscribe(1, "topic", "tech", "Technology", now=T0)
    await store.subscribe(2, "topic", "sport", "Sport", now=T0)
    await store.subscribe(2, "keywords", "tech", "tech news", now=T0)


# -- opening and migrations ---------------------------------------------------------------------------------


async def test_empty_database_is_migrated_to_the_latest_version(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    async with await Store.open(path) as store:
        assert store.schema_version == len(MIGRATIONS) >= 3
    assert user_version(path) == len(MIGRATIONS)
    assert {"chats", "question_log", "saved_queries", "seen_articles", "meta"} <= table_names(path)
    assert {"subscriptions", "push_log", "outbox"} <= table_names(path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_reopening_keeps_data_and_does_not_rerun_migrations(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    async with await Store.open(path) as store:
        await store.touch_chat(7, "private", None, now=T0)
        await store.subscribe(7, "topic", "tech", "Technology", now=T0)
    # A re-run of migration 1 would fail on CREATE TABLE chats; reopening must simply succeed.
    async with await Store.open(path) as store:
        assert store.schema_version == len(MIGRATIONS)
        chat = await store.get_chat(7)
        assert chat is not None and chat.first_seen == T0
        assert [s.value for s in await store.subscriptions(7)] == ["tech"]
    assert user_version(path) == len(MIGRATIONS)


async def test_failing_migration_rolls_back_entirely(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "bot.sqlite3"
    async with await Store.open(path) as store:
        await store.touch_chat(7, "private", None, now=T0)
    broken = (
        "BEGIN; CREATE TABLE extra (x); INSERT INTO no_such_table VALUES (1); "
        f"PRAGMA user_version = {len(MIGRATIONS) + 1}; COMMIT;"
    )
    monkeypatch.setattr(schema_module, "MIGRATIONS", (*MIGRATIONS, broken))
    with pytest.raises(StoreError) as caught:
        await Store.open(path)
    assert f"migration {len(MIGRATIONS) + 1}" in str(caught.value) and str(path) in str(caught.value)
    assert "no_such_table" in str(caught.value)
    assert user_version(path) == len(MIGRATIONS)
    assert "extra" not in table_names(path)
    monkeypatch.setattr(schema_module, "MIGRATIONS", MIGRATIONS)
    async with await Store.open(path) as store:
        assert await store.get_chat(7) is not None


async def test_migration_that_forgets_user_version_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bot.sqlite3"
    monkeypatch.setattr(schema_module, "MIGRATIONS", ("BEGIN; CREATE TABLE t (x); COMMIT;",))
    with pytest.raises(StoreError, match="PRAGMA user_version = 1"):
        await Store.open(path)


async def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(StoreError) as caught:
        await Store.open(path)
    assert str(path) in str(caught.value) and "newer" in str(caught.value)
    assert user_version(path) == len(MIGRATIONS) + 1


async def test_junk_file_is_reported_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    path.write_bytes(b"this is not sqlite at all\x00\xff" * 200)
    with pytest.raises(StoreError) as caught:
        await Store.open(path)
    assert str(path) in str(caught.value) and "not a SQLite database" in str(caught.value)


async def test_damaged_schema_is_reported_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    async with await Store.open(path):
        pass
    data = bytearray(path.read_bytes())
    # Page 1 holds sqlite_master after the 100-byte file header; scribble over its b-tree.
    data[100:400] = b"\xa5" * 300
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError) as caught:
        await Store.open(path)
    assert str(path) in str(caught.value)


async def test_parent_that_is_a_file_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    path = blocker / "bot.sqlite3"
    with pytest.raises(StoreError) as caught:
        await Store.open(path)
    assert str(path) in str(caught.value)
    assert "NEWSBOT_DATABASE" in str(caught.value)  # the setting to change


async def test_a_lock_file_that_cannot_be_created_names_the_setting(tmp_path: Path) -> None:
    """/proc/self exists but takes no new files: the message names the file and NEWSBOT_DATABASE."""
    with pytest.raises(StoreError) as caught:
        await Store.open(Path("/proc/self/newsbot.sqlite3"), lock=True)
    message = str(caught.value)
    assert "/proc/self/newsbot.sqlite3.lock" in message and "NEWSBOT_DATABASE" in message


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores directory permissions")
async def test_unwritable_directory_is_reported(tmp_path: Path) -> None:
    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(StoreError) as caught:
            await Store.open(locked / "bot.sqlite3")
        assert str(locked / "bot.sqlite3") in str(caught.value)
    finally:
        locked.chmod(0o700)


async def test_missing_parent_directories_are_created(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "bot.sqlite3"
    async with await Store.open(path) as store:
        await store.touch_chat(1, "private", None)
    assert path.is_file()


async def test_instance_lock_refuses_a_second_bot_until_closed(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    first = await Store.open(path, lock=True)
    try:
        with pytest.raises(StoreLockedError) as caught:
            await Store.open(path, lock=True)
        assert str(path) in str(caught.value)
        # Tools that do not ask for the lock (backups, admin commands) may still open the file.
        async with await Store.open(path) as reader:
            assert await reader.count_chats() == 0
    finally:
        await first.close()
    async with await Store.open(path, lock=True) as second:
        assert second.schema_version == len(MIGRATIONS)


async def test_closed_store_refuses_calls(tmp_path: Path) -> None:
    opened = await Store.open(tmp_path / "bot.sqlite3")
    await opened.close()
    await opened.close()
    with pytest.raises(StoreError, match="closed"):
        await opened.count_chats()


async def test_naive_datetimes_are_rejected(store: Store) -> None:
    with pytest.raises(ValueError, match="naive"):
        await store.touch_chat(1, "private", None, now=datetime(2024, 5, 1, 12, 0))


# -- chats and settings -------------------------------------------------------------------------------------


async def test_touch_chat_inserts_then_updates(store: Store) -> None:
    first = await store.touch_chat(-100, "group", "Old title", now=T0)
    assert (first.type, first.title, first.active, first.first_seen) == ("group", "Old title", True, T0)
    later = T0 + timedelta(hours=3)
    second = await store.touch_chat(-100, "supergroup", "New title", now=later)
    assert (second.type, second.title, second.first_seen, second.last_seen) == (
        "supergroup",
        "New title",
        T0,
        later,
    )
    assert await store.get_chat(12345) is None


async def test_deactivate_and_count_chats(store: Store) -> None:
    await store.touch_chat(1, "private", None, now=T0)
    await store.touch_chat(2, "private", None, now=T0)
    assert await store.deactivate_chat(2, "blocked by user")
    assert not await store.deactivate_chat(99, "never seen")
    chat = await store.get_chat(2)
    assert chat is not None and not chat.active and chat.inactive_reason == "blocked by user"
    assert await store.count_chats() == 2
    assert await store.count_chats(active_only=True) == 1
    back = await store.touch_chat(2, "private", None, now=T0 + timedelta(days=1))
    assert back.active and back.inactive_reason is None
    assert await store.count_chats(active_only=True) == 2


async def test_related_setting_falls_back_to_default(store: Store) -> None:
    assert await store.related_enabled(5, default=True) is True
    await store.touch_chat(5, "group", "G", now=T0)
    assert await store.related_enabled(5, default=False) is False
    await store.set_related(5, False)
    assert await store.related_enabled(5, default=True) is False
    await store.set_related(5, True)
    assert await store.related_enabled(5, default=False) is True
    await store.set_related(5, None)
    assert await store.related_enabled(5, default=False) is False
    # Setting a chat the bot has not seen yet creates its row rather than failing.
    await store.set_related(6, True)
    assert await store.related_enabled(6, default=False) is True


# -- questions and pagination --------------------------------------------------------------------------------


async def test_question_stats_count_the_last_day(store: Store) -> None:
    assert (await store.question_stats(now=T0)).total == 0
    await store.log_question(1, 3, 10.0, now=T0 - timedelta(hours=30))
    await store.log_question(1, 0, 20.0, now=T0 - timedelta(hours=2))
    await store.log_question(2, 5, 40.0, "who won the cup?", now=T0 - timedelta(minutes=5))
    stats = await store.question_stats(now=T0)
    assert (stats.last_24h, stats.total, stats.avg_duration_ms) == (2, 3, 30.0)
    empty_day = await store.question_stats(now=T0 + timedelta(days=3))
    assert (empty_day.last_24h, empty_day.total, empty_day.avg_duration_ms) == (0, 3, None)


async def test_the_admin_overview_is_one_consistent_read(store: Store) -> None:
    for chat in (1, 2, 3):
        await store.touch_chat(chat, "private", None, now=T0)
        await store.subscribe(chat, "topic", "tech", "Technology", now=T0)
    await store.subscribe(1, "topic", "sport", "Sport", now=T0)
    await store.subscribe(2, "keywords", "rates", "rates", now=T0)
    await store.deactivate_chat(3, "blocked")
    await store.log_question(1, 3, 12.0, now=T0 - timedelta(hours=1))
    await store.ingest_articles(["seed"], prefix_matcher, now=T0)
    await store.ingest_articles(["tech-1"], prefix_matcher, now=T0)
    overview = await store.stats(now=T0)
    assert (overview.chats_total, overview.chats_active, overview.subscriptions) == (3, 2, 5)
    assert overview.subscriptions_by_topic == {"sport": 1, "tech": 2}  # the blocked chat's is not counted
    assert (overview.questions.last_24h, overview.questions.total) == (1, 1)
    assert overview.alerts == await store.alert_counts() and overview.alerts["pending"] == 2
    assert overview.database_bytes == await store.database_size_bytes() > 0


async def test_question_text_is_kept_only_when_given(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    async with await Store.open(path) as store:
        await store.log_question(1, 2, 5.0, now=T0)
        await store.log_question(1, 2, 5.0, "budget vote", now=T0)
    with sqlite3.connect(path) as db:
        assert [row[0] for row in db.execute("SELECT question FROM question_log ORDER BY id")] == [
            None,
            "budget vote",
        ]


async def test_saved_queries_belong_to_their_chat_and_expire(store: Store) -> None:
    token = await store.save_query(10, "interest rates", ttl=timedelta(hours=1), now=T0)
    assert 0 < len(token) <= 12
    assert token.replace("-", "").replace("_", "").isalnum()
    assert await store.load_query(token, 10, now=T0 + timedelta(minutes=59)) == "interest rates"
    assert await store.load_query(token, 11, now=T0) is None
    assert await store.load_query("nope", 10, now=T0) is None
    assert await store.load_query(token, 10, now=T0 + timedelta(hours=1)) is None
    other = await store.save_query(10, "elections", now=T0)
    assert other != token
    assert await store.purge_expired(now=T0 + timedelta(hours=2)) == 1
    assert await store.load_query(other, 10, now=T0 + timedelta(hours=2)) == "elections"


# -- subscriptions -------------------------------------------------------------------------------------------


async def test_subscribe_dedupes_and_enforces_the_limit(store: Store) -> None:
    await store.touch_chat(1, "private", None, now=T0)
    assert await store.subscribe(1, "topic", "tech", "Technology", limit=2) is SubscribeOutcome.ADDED
    assert await store.subscribe(1, "topic", "tech", "Technology", limit=2) is SubscribeOutcome.ALREADY
    assert await store.subscribe(1, "keywords", "tech", "tech", limit=2) is SubscribeOutcome.ADDED
    assert await store.subscribe(1, "topic", "sport", "Sport", limit=2) is SubscribeOutcome.LIMIT_REACHED
    # An existing subscription is reported as such even at the limit.
    assert await store.subscribe(1, "topic", "tech", "Technology", limit=2) is SubscribeOutcome.ALREADY
    assert await store.subscribe(2, "topic", "sport", "Sport", limit=2) is SubscribeOutcome.ADDED
    subs = await store.subscriptions(1)
    assert [(s.kind, s.value, s.label) for s in subs] == [
        (SubscriptionKind.TOPIC, "tech", "Technology"),
        (SubscriptionKind.KEYWORDS, "tech", "tech"),
    ]
    with pytest.raises(ValueError):
        await store.subscribe(1, "people", "x", "x")


async def test_a_chat_holds_at_most_max_subscriptions_by_default(store: Store) -> None:
    for number in range(MAX_SUBSCRIPTIONS):
        assert await store.subscribe(1, "keywords", f"w{number}", f"w{number}") is SubscribeOutcome.ADDED
    assert await store.subscribe(1, "keywords", "one more", "one more") is SubscribeOutcome.LIMIT_REACHED
    assert len(await store.subscriptions(1)) == MAX_SUBSCRIPTIONS


async def test_unsubscribe_variants(store: Store) -> None:
    await store.subscribe(1, "topic", "tech", "Technology")
    await store.subscribe(1, "topic", "sport", "Sport")
    await store.subscribe(1, "keywords", "rates", "rates")
    await store.subscribe(2, "topic", "tech", "Technology")
    assert await store.unsubscribe(1, "topic", "sport")
    assert not await store.unsubscribe(1, "topic", "sport")
    other_chats_sub = (await store.subscriptions(2))[0]
    assert not await store.unsubscribe_by_id(1, other_chats_sub.id)
    assert [s.value for s in await store.subscriptions(2)] == ["tech"]
    own = (await store.subscriptions(1))[0]
    assert await store.unsubscribe_by_id(1, own.id)
    assert await store.unsubscribe_all(1) == 1
    assert await store.subscriptions(1) == []
    assert len(await store.subscriptions(2)) == 1


async def test_all_subscriptions_and_topic_counts_skip_inactive_chats(store: Store) -> None:
    await subscribed_chats(store)
    await store.touch_chat(3, "private", None, now=T0)
    await store.subscribe(3, "topic", "tech", "Technology")
    assert await store.subscription_counts_by_topic() == {"sport": 1, "tech": 2}
    await store.deactivate_chat(3, "kicked")
    assert {s.chat_id for s in await store.all_subscriptions()} == {1, 2}
    assert {s.chat_id for s in await store.all_subscriptions(active_chats_only=False)} == {1, 2, 3}
    assert await store.subscription_counts_by_topic() == {"sport": 1, "tech": 1}


async def test_hostile_strings_are_stored_as_data(store: Store) -> None:
    await store.touch_chat(1, HOSTILE, HOSTILE, now=T0)
    assert await store.subscribe(1, "keywords", HOSTILE, HOSTILE) is SubscribeOutcome.ADDED
    token = await store.save_query(1, HOSTILE, now=T0)
    await store.log_question(1, 0, 1.0, HOSTILE, now=T0)
    await store.set_meta(HOSTILE, HOSTILE)
    [sub] = await store.subscriptions(1)
    assert (sub.value, sub.label) == (HOSTILE, HOSTILE)
    chat = await store.get_chat(1)
    assert chat is not None and (chat.type, chat.title) == (HOSTILE, HOSTILE)
    assert await store.load_query(token, 1, now=T0) == HOSTILE
    assert await store.get_meta(HOSTILE) == HOSTILE
    assert await store.unsubscribe(1, "keywords", HOSTILE)
    assert await store.count_chats() == 1


# -- related-story pushes ------------------------------------------------------------------------------------


async def test_push_cooldown_per_topic(store: Store) -> None:
    await store.touch_chat(1, "group", "G", now=T0)

    async def allowed(chat_id: int, topic: str, minutes: int) -> bool:
        return await store.push_allowed(
            chat_id,
            topic,
            cooldown=timedelta(minutes=30),
            max_per_hour=10,
            now=T0 + timedelta(minutes=minutes),
        )

    assert await allowed(1, "tech", 0)
    await store.record_push(1, "tech", ["a1", "a2"], now=T0)
    assert not await allowed(1, "tech", 29)
    assert await allowed(1, "sport", 1)
    assert await allowed(2, "tech", 1)
    assert await allowed(1, "tech", 30)


async def test_push_hourly_cap_counts_events_not_articles(store: Store) -> None:
    await store.touch_chat(1, "group", "G", now=T0)

    async def allowed(topic: str, minutes: int) -> bool:
        return await store.push_allowed(
            1, topic, cooldown=timedelta(minutes=1), max_per_hour=2, now=T0 + timedelta(minutes=minutes)
        )

    await store.record_push(1, "tech", ["a1", "a2", "a3"], now=T0)
    # Three articles were one push: a second topic is still allowed.
    assert await allowed("sport", 5)
    await store.record_push(1, "sport", ["b1"], now=T0 + timedelta(minutes=5))
    assert not await allowed("science", 10)
    assert await allowed("science", 61)


async def test_recently_pushed_articles_window(store: Store) -> None:
    await store.record_push(1, "tech", ["a1", "a2"], now=T0)
    await store.record_push(1, "sport", ["b1"], now=T0 + timedelta(hours=5))
    await store.record_push(2, "tech", ["c1"], now=T0 + timedelta(hours=5))
    now = T0 + timedelta(hours=6)
    assert await store.recently_pushed_articles(1, timedelta(hours=2), now=now) == {"b1"}
    assert await store.recently_pushed_articles(1, timedelta(days=1), now=now) == {"a1", "a2", "b1"}
    assert await store.purge_expired(now=T0 + timedelta(days=7, hours=1)) == 2
    assert await store.recently_pushed_articles(1, timedelta(days=30), now=now) == {"b1"}


# -- ingest --------------------------------------------------------------------------------------------------


async def test_first_load_is_silent_then_new_articles_alert_matching_chats(store: Store) -> None:
    await subscribed_chats(store)
    first = await store.ingest_articles(["tech-1", "sport-1"], prefix_matcher, now=T0)
    assert first == IngestResult(new_ids=["tech-1", "sport-1"], alerts_created=0, first_load=True)
    assert await store.due_alerts(now=T0 + timedelta(days=1)) == []

    later = T0 + timedelta(hours=1)
    second = await store.ingest_articles(
        ["tech-1", "sport-1", "tech-2", "world-1"], prefix_matcher, now=later
    )
    assert second.new_ids == ["tech-2", "world-1"] and not second.first_load
    assert second.alerts_created == 2
    due = await store.due_alerts(now=later)
    assert sorted((a.chat_id, a.article_id, a.reason) for a in due) == [
        (1, "tech-2", "Technology"),
        (2, "tech-2", "tech news"),
    ]
    assert all(a.status is AlertStatus.PENDING and a.attempts == 0 for a in due)


async def test_advanced_digests_fall_due_now_keeping_their_digest_time(store: Store) -> None:
    await subscribed_chats(store)
    await store.subscribe(1, "topic", "tech", "Technology", now=T0, schedule="daily 08:00")
    await store.subscribe(2, "topic", "sport", "Sport", now=T0, schedule="daily 08:00")
    await store.ingest_articles(["seed"], prefix_matcher, now=T0)
    await store.ingest_articles(["tech-1", "tech-2", "sport-1"], prefix_matcher, now=T0)
    digest_time = datetime(2024, 5, 2, 8, 0, tzinfo=UTC)
    later = T0 + timedelta(minutes=5)
    assert [(a.chat_id, a.article_id) for a in await store.due_alerts(now=later)] == [
        (2, "tech-1"),
        (2, "tech-2"),
    ]

    moved = await store.advance_digests(1, now=later)
    assert [(a.article_id, a.digest_due) for a in moved] == [("tech-1", digest_time), ("tech-2", digest_time)]
    due = await store.due_alerts(now=later)
    assert sorted((a.chat_id, a.article_id, a.digest_due) for a in due) == [
        (1, "tech-1", digest_time),
        (1, "tech-2", digest_time),
        (2, "tech-1", None),
        (2, "tech-2", None),
    ]  # chat 2's digest of sport-1 keeps its time; its keyword alerts come as they come anyway
    assert await store.advance_digests(1, now=later) == []  # nothing left waiting
    await store.mark_sent([a.id for a in due if a.chat_id == 1], message_id=7, now=later)
    assert [a.chat_id for a in await store.due_alerts(now=digest_time + timedelta(minutes=1))] == [2, 2, 2]


async def test_reingest_and_readded_articles_create_nothing(store: Store) -> None:
    await subscribed_chats(store)
    await store.ingest_articles(["world-1"], prefix_matcher, now=T0)
    await store.ingest_articles(["world-1", "tech-2"], prefix_matcher, now=T0)
    again = await store.ingest_articles(["world-1", "tech-2"], prefix_matcher, now=T0)
    assert again == IngestResult(new_ids=[], alerts_created=0, first_load=False)
    removed = await store.ingest_articles(["world-1"], prefix_matcher, now=T0)
    readded = await store.ingest_articles(["world-1", "tech-2"], prefix_matcher, now=T0)
    assert removed.alerts_created == readded.alerts_created == 0
    assert len(await store.due_alerts(now=T0)) == 2


async def test_empty_corpus_first_load_still_counts(store: Store) -> None:
    await subscribed_chats(store)
    assert (await store.ingest_articles([], prefix_matcher, now=T0)).first_load
    later = await store.ingest_articles(["tech-1"], prefix_matcher, now=T0)
    assert not later.first_load and later.alerts_created == 2


async def test_one_alert_per_chat_and_article_with_every_reason(store: Store) -> None:
    await store.touch_chat(1, "private", None, now=T0)
    await store.ingest_articles(["old"], prefix_matcher, now=T0)

    def double_match(new_ids: list[str], subs: list[Subscription]) -> list[tuple[int, str, str]]:
        return [(1, "tech-1", "Technology"), (1, "tech-1", "AI"), (1, "tech-1", "AI"), (1, "old", "stale")]

    result = await store.ingest_articles(["tech-1"], double_match, now=T0)
    assert result.alerts_created == 1
    [alert] = await store.due_alerts(now=T0)
    assert (alert.article_id, alert.reason) == ("tech-1", "Technology, AI")


async def test_inactive_or_unknown_chats_get_no_alerts(store: Store) -> None:
    await subscribed_chats(store)
    await store.ingest_articles(["x"], prefix_matcher, now=T0)
    await store.deactivate_chat(2, "blocked")

    def everyone(new_ids: list[str], subs: list[Subscription]) -> list[tuple[int, str, str]]:
        return [(chat, article, "all") for article in new_ids for chat in (1, 2, 999)]

    result = await store.ingest_articles(["tech-9"], everyone, now=T0)
    assert result.alerts_created == 1
    assert [(a.chat_id, a.article_id) for a in await store.due_alerts(now=T0)] == [(1, "tech-9")]


async def test_failing_matcher_rolls_back_the_whole_ingest(store: Store) -> None:
    await subscribed_chats(store)
    await store.ingest_articles(["x"], prefix_matcher, now=T0)

    def broken(new_ids: list[str], subs: list[Subscription]) -> list[tuple[int, str, str]]:
        raise RuntimeError("matcher bug")

    with pytest.raises(RuntimeError, match="matcher bug"):
        await store.ingest_articles(["tech-1"], broken, now=T0)
    retry = await store.ingest_articles(["tech-1"], prefix_matcher, now=T0)
    assert retry.new_ids == ["tech-1"] and retry.alerts_created == 2


async def test_matching_runs_off_the_event_loop_and_outside_any_transaction(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    seen: dict[str, int] = {}

    def match(new_ids: list[str], subs: list[Subscription]) -> list[tuple[int, str, str]]:
        seen["thread"] = threading.get_ident()
        # Another connection writes at once (no busy wait): the store holds no lock while matching runs.
        with contextlib.closing(sqlite3.connect(path, timeout=0, isolation_level=None)) as other:
            other.execute("INSERT INTO meta (key, value) VALUES ('written while matching', 'yes')")
        return prefix_matcher(new_ids, subs)

    async with await Store.open(path) as store:
        await subscribed_chats(store)
        await store.ingest_articles(["seed"], prefix_matcher, now=T0)
        result = await store.ingest_articles(["tech-1"], match, now=T0)
        assert result.alerts_created == 2
        assert await store.get_meta("written while matching") == "yes"
    assert seen["thread"] != threading.get_ident()


async def test_concurrent_ingests_on_one_file_create_each_alert_once(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    async with await Store.open(path) as setup:
        await subscribed_chats(setup)
        await setup.ingest_articles(["seed"], prefix_matcher, now=T0)
    ids = [f"tech-{n}" for n in range(50)] + [f"sport-{n}" for n in range(50)]
    first, second = await Store.open(path), await Store.open(path)
    try:
        results = await asyncio.gather(
            first.ingest_articles(ids, prefix_matcher, now=T0),
            second.ingest_articles(list(reversed(ids)), prefix_matcher, now=T0),
        )
        assert sum(r.alerts_created for r in results) == 150
        assert sorted(results[0].new_ids + results[1].new_ids) == sorted(ids)
        due = await first.due_alerts(now=T0, limit=1000)
        assert len(due) == len({(a.chat_id, a.article_id) for a in due}) == 150
    finally:
        await first.close()
        await second.close()


# -- outbox --------------------------------------------------------------------------------------------------


async def queued(store: Store, *article_ids: str) -> list[int]:
    """Subscribe chat 1 to `tech`, ingest the given ids after a silent first load; return the alert ids."""
    await store.touch_chat(1, "private", None, now=T0)
    await store.subscribe(1, "topic", "tech", "Technology", now=T0)
    await store.ingest_articles(["seed"], prefix_matcher, now=T0)
    for article_id in article_ids:
        await store.ingest_articles([article_id], prefix_matcher, now=T0)
    return [a.id for a in await store.due_alerts(now=T0)]


async def test_mark_sent_records_delivery(store: Store) -> None:
    ids = await queued(store, "tech-1", "tech-2", "tech-3")
    assert await store.last_delivery_at() is None
    sent_at = T0 + timedelta(minutes=1)
    assert await store.mark_sent(ids[:2], 555, now=sent_at) == 2
    assert await store.mark_sent(ids[:2], 556, now=sent_at) == 0
    [left] = await store.due_alerts(now=sent_at)
    assert left.article_id == "tech-3"
    sent = await store.get_alert(ids[0])
    assert sent is not None
    assert (sent.status, sent.message_id, sent.sent_at) == (AlertStatus.SENT, 555, sent_at)
    assert await store.alert_counts() == {"pending": 1, "sent": 2, "failed": 0, "parked": 0}
    assert await store.last_delivery_at() == sent_at
    assert await store.chat_last_alert_at(1) == sent_at


async def test_retry_postpones_and_failure_is_final(store: Store) -> None:
    first, second = await queued(store, "tech-1", "tech-2")
    assert await store.next_due_at() == T0
    retry_at = T0 + timedelta(minutes=5)
    assert await store.mark_retry(first, "429 Too Many Requests", retry_at)
    assert [a.id for a in await store.due_alerts(now=T0 + timedelta(minutes=4))] == [second]
    assert await store.mark_failed(second, "400 chat not found")
    assert await store.next_due_at() == retry_at
    [again] = await store.due_alerts(now=retry_at)
    assert (again.id, again.attempts, again.last_error) == (first, 1, "429 Too Many Requests")
    failed = await store.get_alert(second)
    assert failed is not None and failed.status is AlertStatus.FAILED and failed.attempts == 1
    assert not await store.mark_retry(second, "late", retry_at)
    assert (await store.alert_counts())["failed"] == 1


async def test_a_batch_of_due_alerts_holds_each_chat_whole(store: Store) -> None:
    # Rows are queued article by article (tech-1 for both chats, then tech-2 …): a batch cut by row
    # count alone would hand each chat's digest out in pieces, one message per piece.
    await subscribed_chats(store)
    await store.ingest_articles(["seed"], prefix_matcher, now=T0)
    await store.ingest_articles(["tech-1", "tech-2", "tech-3"], prefix_matcher, now=T0)
    whole = {1: ["tech-1", "tech-2", "tech-3"], 2: ["tech-1", "tech-2", "tech-3"]}

    def ids(batch: dict[int, list[OutboxItem]]) -> dict[int, list[str]]:
        return {chat: [item.article_id for item in items] for chat, items in batch.items()}

    assert ids(await store.due_alerts_by_chat(now=T0, limit=6)) == whole
    assert ids(await store.due_alerts_by_chat(now=T0, limit=5)) == {1: whole[1]}  # chat 2 next time
    assert list(await store.due_alerts_by_chat(now=T0, limit=5)) == [1]
    # A chat with more due than a batch holds gets the oldest `limit` (the rest in the next batch).
    assert ids(await store.due_alerts_by_chat(now=T0, limit=2)) == {1: ["tech-1", "tech-2"]}


async def test_park_and_unpark_follow_the_chat(store: Store) -> None:
    ids = await queued(store, "tech-1", "tech-2")
    assert await store.park_chat_alerts(1) == 2
    await store.deactivate_chat(1, "Forbidden: bot was blocked by the user")
    assert await store.due_alerts(now=T0) == []
    assert await store.next_due_at() is None
    assert await store.unpark_chat(1) == 2
    assert [a.id for a in await store.due_alerts(now=T0)] == ids
    chat = await store.get_chat(1)
    assert chat is not None and chat.active


async def test_deactivate_parks_and_touch_revives(store: Store) -> None:
    ids = await queued(store, "tech-1")
    await store.deactivate_chat(1, "kicked")
    assert (await store.alert_counts())["parked"] == 1
    # While the chat is gone, new articles queue nothing for it.
    assert (await store.ingest_articles(["tech-2"], prefix_matcher, now=T0)).alerts_created == 0
    await store.touch_chat(1, "private", None, now=T0 + timedelta(days=2))
    assert [a.id for a in await store.due_alerts(now=T0 + timedelta(days=2))] == ids


async def test_migrate_chat_moves_everything_and_dedupes(store: Store) -> None:
    old, new = -100, -1001234
    await store.touch_chat(old, "group", "Club", now=T0)
    await store.set_related(old, False)
    await store.subscribe(old, "topic", "tech", "Technology", now=T0)
    await store.subscribe(old, "topic", "sport", "Sport", now=T0)
    await store.touch_chat(new, "supergroup", "Club", now=T0)
    await store.subscribe(new, "topic", "tech", "Technology", now=T0)
    await store.ingest_articles(["seed"], prefix_matcher, now=T0)
    await store.ingest_articles(["tech-1", "sport-1"], prefix_matcher, now=T0)
    await store.record_push(old, "tech", ["a1"], now=T0)
    token = await store.save_query(old, "rates", now=T0)

    assert await store.migrate_chat(old, new, now=T0)
    assert await store.get_chat(old) is None
    assert sorted((s.kind, s.value) for s in await store.subscriptions(new)) == [
        ("topic", "sport"),
        ("topic", "tech"),
    ]
    assert sorted(a.article_id for a in await store.chat_alerts(new)) == ["sport-1", "tech-1"]
    assert await store.chat_alerts(old) == []
    assert await store.related_enabled(new, default=True) is False
    assert await store.recently_pushed_articles(new, timedelta(hours=1), now=T0) == {"a1"}
    assert await store.load_query(token, new, now=T0) == "rates"
    assert not await store.migrate_chat(old, new)


async def test_migrate_chat_to_a_new_id_keeps_settings(store: Store) -> None:
    await store.touch_chat(-5, "group", "Club", now=T0)
    await store.set_related(-5, True)
    await store.subscribe(-5, "keywords", "rates", "rates", now=T0)
    assert await store.migrate_chat(-5, -1005, now=T0)
    chat = await store.get_chat(-1005)
    assert chat is not None and chat.type == "supergroup" and chat.related_enabled is True
    assert [s.value for s in await store.subscriptions(-1005)] == ["rates"]


# -- maintenance ---------------------------------------------------------------------------------------------


async def test_integrity_size_and_stats(store: Store) -> None:
    await queued(store, "tech-1")
    await store.log_question(1, 2, 12.0, now=T0)
    assert await store.integrity_check() == "ok"
    assert await store.database_size_bytes() > 0
    stats = await store.stats(now=T0)
    assert (stats.chats_total, stats.chats_active, stats.subscriptions) == (1, 1, 1)
    assert stats.questions.last_24h == 1 and stats.alerts["pending"] == 1
    assert stats.database_bytes > 0 and stats.last_delivery_at is None


async def test_noting_a_chat_in_passing_writes_at_most_once_a_minute_unless_it_was_deactivated(
    store: Store,
) -> None:
    """Every message marks its chat alive; a flood must not cost a write per message, but a chat that
    blocked the bot and writes again is active again at once."""
    assert await store.note_chat(1, "private", "Ann") is True
    assert await store.note_chat(1, "private", "Ann") is False  # within the minute: no write
    await store.deactivate_chat(1, "bot was blocked by the user")
    assert await store.note_chat(1, "private", "Ann") is True
    chat = await store.get_chat(1)
    assert chat is not None and chat.active
