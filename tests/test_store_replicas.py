"""The store's side of running several replicas: outbox leases, the shared send slot, shared question
budgets, atomic push claims, and both backends ending with the same schema. Each test taking `store` runs
on SQLite and on PostgreSQL; the concurrent ones open several stores on one PostgreSQL database, as
replicas do.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from bot.core.interests import Subscription
from bot.store import Store

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def everyone(new_ids: list[str], subscriptions: list[Subscription]) -> list[tuple[int, str, str]]:
    return [(sub.chat_id, article_id, sub.label) for article_id in new_ids for sub in subscriptions]


async def queue_alerts(store: Store, chats: int, articles: int = 1) -> None:
    for chat_id in range(1, chats + 1):
        await store.touch_chat(chat_id, "private", None, now=T0)
        await store.subscribe(chat_id, "topic", "all", "All", now=T0)
    await store.ingest_articles(["old"], everyone, now=T0)  # the silent first load
    await store.ingest_articles([f"a{i}" for i in range(articles)], everyone, now=T0)


async def test_claimed_rows_belong_to_their_owner_until_the_lease_ends(store: Store) -> None:
    await queue_alerts(store, chats=3, articles=2)
    mine = await store.claim_alerts("a", LEASE, now=T0)
    assert sorted(mine) == [1, 2, 3] and all(len(items) == 2 for items in mine.values())
    assert await store.claim_alerts("b", LEASE, now=T0 + timedelta(seconds=29)) == {}
    again = await store.claim_alerts("a", LEASE, now=T0 + timedelta(seconds=1))
    assert sorted(again) == [1, 2, 3]  # its own rows stay its own (a restarted SQLite bot is "a" again)
    taken = await store.claim_alerts("b", LEASE, now=T0 + timedelta(seconds=61))
    assert sorted(taken) == [1, 2, 3]  # a's lease ended: b takes over
    ids = [item.id for item in taken[1]]
    assert not await store.renew_alerts("a", ids, LEASE, now=T0 + timedelta(seconds=62))
    assert await store.renew_alerts("b", ids, LEASE, now=T0 + timedelta(seconds=62))


async def test_a_chat_held_by_one_owner_is_left_to_it(store: Store) -> None:
    await queue_alerts(store, chats=2, articles=3)
    first = await store.claim_alerts("a", LEASE, now=T0, limit=1)  # one row of chat 1 only
    assert list(first) == [1] and len(first[1]) == 1
    second = await store.claim_alerts("b", LEASE, now=T0)
    assert list(second) == [2]  # chat 1's other rows wait for "a", which holds the chat
    assert len(second[2]) == 3


async def test_settled_and_released_rows_lose_their_lease(store: Store) -> None:
    await queue_alerts(store, chats=2)
    claimed = await store.claim_alerts("a", LEASE, now=T0)
    sent = claimed[1][0]
    await store.mark_sent([sent.id], message_id=7)
    assert await store.release_alerts("a") == 1  # chat 2's row
    assert list(await store.claim_alerts("b", LEASE, now=T0)) == [2]
    assert not await store.renew_alerts("b", [sent.id], LEASE)  # delivered already: nothing to send


async def test_question_budget_allows_a_burst_then_says_slow_down_once(store: Store) -> None:
    verdicts = [await store.take_budget(5, "questions", interval=3600, burst=3) for _ in range(6)]
    assert verdicts == ["answer", "answer", "answer", "slow_down", "ignore", "ignore"]
    assert await store.take_budget(6, "questions", interval=3600, burst=3) == "answer"  # per user
    assert await store.take_budget(5, "inline", interval=3600, burst=1) == "answer"  # per kind
    assert await store.refuse_budget(7, "questions") == "slow_down"
    assert await store.refuse_budget(7, "questions") == "ignore"


async def test_push_claims_keep_the_cooldown_and_the_hourly_cap(store: Store) -> None:
    async def claim(topic: str, article: str, minutes: int) -> bool:
        at = T0 + timedelta(minutes=minutes)
        return await store.claim_push(
            1, topic, [article], cooldown=timedelta(minutes=30), max_per_hour=2, now=at
        )

    assert await claim("openai", "a", 0)
    assert not await claim("openai", "b", 5)
    assert await claim("sora", "c", 6)
    assert not await claim("mcp", "d", 7)  # 2 an hour
    assert await store.recently_pushed_articles(1, timedelta(hours=1), now=T0 + timedelta(minutes=8)) == {
        "a",
        "c",
    }


# -- several stores on one PostgreSQL database, as replicas ------------------------------------------------


async def test_replicas_claiming_at_once_take_every_row_exactly_once(postgres_dsn: str) -> None:
    stores = [await Store.open(postgres_dsn) for _ in range(3)]
    try:
        await queue_alerts(stores[0], chats=300)
        taken: dict[str, list[int]] = {"a": [], "b": [], "c": []}

        async def drain(store: Store, owner: str) -> None:
            while True:
                claimed = await store.claim_alerts(owner, LEASE, limit=7)
                if not claimed:
                    return
                for items in claimed.values():
                    taken[owner].extend(item.id for item in items)
                    await store.mark_sent([item.id for item in items], message_id=1)

        await asyncio.gather(*(drain(store, owner) for store, owner in zip(stores, taken, strict=True)))
        every = [alert for ids in taken.values() for alert in ids]
        assert len(every) == len(set(every)) == 300
        assert all(taken.values())  # each replica got a share
    finally:
        for store in stores:
            await store.close()


async def test_the_shared_send_slot_spaces_every_replicas_sends(postgres_dsn: str) -> None:
    stores = [await Store.open(postgres_dsn) for _ in range(3)]
    try:
        gap = 10.0  # long, so the bookings below all land in one run of consecutive slots
        waits = await asyncio.gather(*(stores[i % 3].reserve_send_slot("alerts", gap) for i in range(30)))
        ordered = sorted(waits)
        steps = [later - earlier for earlier, later in itertools.pairwise(ordered)]
        # After an idle spell the first booking counts as a little late (its slot is one gap back), so
        # the first two go at once: never more than rate + 1 in any second, as in one process.
        assert ordered[0] == ordered[1] == 0.0
        assert all(gap * 0.9 < step < gap * 1.1 for step in steps[1:]), steps
        await stores[0].pause_sends("alerts", 1000.0)
        assert await stores[1].reserve_send_slot("alerts", gap) > 900
    finally:
        for store in stores:
            await store.close()


async def test_a_users_budget_holds_across_replicas(postgres_dsn: str) -> None:
    stores = [await Store.open(postgres_dsn) for _ in range(3)]
    try:
        verdicts = await asyncio.gather(
            *(stores[i % 3].take_budget(9, "questions", interval=3600, burst=3) for i in range(12))
        )
        assert sorted(verdicts).count("answer") == 3
        assert verdicts.count("slow_down") == 1
    finally:
        for store in stores:
            await store.close()


async def test_both_backends_end_with_the_same_tables_and_columns(tmp_path: Path, postgres_dsn: str) -> None:
    path = tmp_path / "bot.sqlite3"
    async with await Store.open(path) as lite, await Store.open(postgres_dsn) as pg:
        assert lite.schema_version == pg.schema_version
    with sqlite3.connect(path) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        on_sqlite = {(table, row[1]) for table in tables for row in db.execute(f"PRAGMA table_info({table})")}
    connection = await asyncpg.connect(postgres_dsn)
    try:
        rows = await connection.fetch(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name <> 'newsbot_schema'"
        )
    finally:
        await connection.close()
    on_postgres = {(row[0], row[1]) for row in rows}
    assert on_sqlite == on_postgres


async def test_a_live_owner_keeps_its_claim_and_a_dead_ones_runs_out(store: Store) -> None:
    await queue_alerts(store, chats=2)
    assert sorted(await store.claim_alerts("a", LEASE, now=T0)) == [1, 2]
    # "a" lives: its heartbeat renews the claim, so "b" finds nothing past the first lease.
    assert await store.extend_leases("a", LEASE, now=T0 + timedelta(seconds=20)) == 2
    assert await store.claim_alerts("b", LEASE, now=T0 + timedelta(seconds=40)) == {}
    held_until = await store.next_claimable_at("b")
    assert held_until == T0 + timedelta(seconds=50)  # when "a"'s claim would run out
    assert await store.next_claimable_at("a") == T0  # its own rows are due for it now
    # "a" dies: no more renewals; after its lease "b" takes the rows, and "a" cannot revive its claim.
    assert sorted(await store.claim_alerts("b", LEASE, now=T0 + timedelta(seconds=51))) == [1, 2]
    assert await store.extend_leases("a", LEASE, now=T0 + timedelta(seconds=52)) == 0


async def test_chat_types_are_read_in_one_go(store: Store) -> None:
    await store.touch_chat(1, "private", "Ann", now=T0)
    await store.touch_chat(-100, "supergroup", "Desk", now=T0)
    assert await store.chat_types([1, -100, 7]) == {1: "private", -100: "supergroup"}


async def test_a_send_is_booked_only_for_the_owner_of_its_rows(postgres_dsn: str) -> None:
    async with await Store.open(postgres_dsn) as store:
        await queue_alerts(store, chats=1)
        [items] = (await store.claim_alerts("a", LEASE)).values()
        ids = [item.id for item in items]
        assert await store.book_send("b", ids, LEASE, "alerts", 0.5) is None  # "a" holds them
        waits = [await store.book_send("a", ids, LEASE, "alerts", 0.5) for _ in range(3)]
        # After an idle spell the first two go at once (see the send slot test), then one gap apart.
        assert waits[0] == waits[1] == 0.0
        assert waits[2] is not None and 0.4 < waits[2] <= 0.5
