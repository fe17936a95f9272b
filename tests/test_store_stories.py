"""Stories in the store: one alert per (chat, story), later reports flag the alert for an update within
the edit window, story records come back in ingest order. On each backend: a real SQLite file in tmp_path,
then a real PostgreSQL database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.interests import AlertStatus, Subscription
from bot.core.stories import Reason, StoryRecord
from bot.store import Store, StoryAssigner
from tests.test_store import prefix_matcher, subscribed_chats

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
# Articles tech-a1, tech-a2, tech-a3 report story "tech-a1"; tech-b1 is a story of its own.
STORY = {"tech-a1": "tech-a1", "tech-a2": "tech-a1", "tech-a3": "tech-a1", "tech-b1": "tech-b1"}


def assigner(seen: list[str]) -> StoryAssigner:
    def assign(ids: list[str]) -> Iterable[StoryRecord]:
        seen.extend(ids)
        return [
            StoryRecord(
                article_id=i,
                story_id=STORY.get(i, i),
                reason=Reason.NEW if STORY.get(i, i) == i else Reason.COPY,
                source=f"Source {i[-1]}",
                published=T0,
                chars=100,
                added_at=None,
            )
            for i in ids
        ]

    return assign


@pytest.fixture
async def store(database: str | Path) -> AsyncIterator[Store]:
    async with await Store.open(database) as opened:
        await subscribed_chats(opened)
        await opened.ingest_articles(["seed"], prefix_matcher, now=T0)  # the silent first load
        yield opened


async def test_one_alert_per_chat_and_story_even_in_one_batch(store: Store) -> None:
    seen: list[str] = []
    result = await store.ingest_articles(
        ["tech-a1", "tech-a2", "tech-b1"],
        prefix_matcher,
        now=T0,
        assign=assigner(seen),
    )
    assert seen == ["tech-a1", "tech-a2", "tech-b1"]
    due = await store.due_alerts(now=T0)
    # Chat 1 (topic) and chat 2 (keywords) each get tech-a1 for the story, and tech-b1.
    assert sorted((a.chat_id, a.article_id, a.story_id) for a in due) == [
        (1, "tech-a1", "tech-a1"),
        (1, "tech-b1", "tech-b1"),
        (2, "tech-a1", "tech-a1"),
        (2, "tech-b1", "tech-b1"),
    ]
    assert result.alerts_created == 4
    # The pending alerts of the story are flagged: the message will count both reports when sent.
    assert {a.article_id for a in due if a.edit_due} == {"tech-a1"}


async def test_a_later_report_flags_sent_alerts_inside_the_window_only(store: Store) -> None:
    assign = assigner([])
    await store.ingest_articles(["tech-a1"], prefix_matcher, now=T0, assign=assign)
    alerts = {a.chat_id: a for a in await store.due_alerts(now=T0)}
    await store.mark_sent([alerts[1].id], 11, now=T0, shown={alerts[1].id: 1})
    await store.mark_sent([alerts[2].id], 22, now=T0 - timedelta(hours=30), shown={alerts[2].id: 1})
    later = T0 + timedelta(hours=1)
    result = await store.ingest_articles(
        ["tech-a2"],
        prefix_matcher,
        now=later,
        assign=assign,
        edit_within=timedelta(hours=24),
    )
    assert (result.alerts_created, result.edits_due) == (0, 1)  # no new alert; chat 2's is too old
    [edit] = await store.due_edits(timedelta(hours=24), now=later)
    assert (edit.chat_id, edit.message_id, edit.shown_members) == (1, 11, 1)
    assert [a.id for a in await store.message_alerts(1, 11)] == [edit.id]
    assert await store.mark_edited(edit.id, 2)
    assert await store.due_edits(timedelta(hours=24), now=later) == []
    # Too late to edit by the time the worker looks: the flag is dropped, the alert left as it is.
    await store.ingest_articles(["tech-a3"], prefix_matcher, now=later, assign=assign)
    assert await store.due_edits(timedelta(hours=24), now=T0 + timedelta(days=2)) == []
    rows = await store.chat_alerts(1)
    assert [(r.article_id, r.status, r.shown_members, r.edit_due) for r in rows] == [
        ("tech-a1", AlertStatus.SENT, 2, False)
    ]


async def test_story_records_come_back_in_ingest_order_once(store: Store) -> None:
    assign = assigner([])
    await store.ingest_articles(["tech-b1", "tech-a1"], prefix_matcher, now=T0, assign=assign)
    await store.ingest_articles(["tech-a1", "tech-a2"], prefix_matcher, now=T0, assign=assign)
    records = await store.story_records()
    assert [(r.article_id, r.story_id, r.reason) for r in records] == [
        ("tech-b1", "tech-b1", Reason.NEW),
        ("tech-a1", "tech-a1", Reason.NEW),
        ("tech-a2", "tech-a1", Reason.COPY),
    ]
    assert records[0].added_at == T0 and records[0].published == T0


async def test_a_failing_assigner_writes_nothing(store: Store) -> None:
    def broken(ids: list[str]) -> list[StoryRecord]:
        raise RuntimeError("boom")

    def match(ids: list[str], subs: list[Subscription]) -> list[tuple[int, str, str]]:
        return prefix_matcher(ids, subs)

    with pytest.raises(RuntimeError):
        await store.ingest_articles(["tech-a1"], match, now=T0, assign=broken)
    assert await store.due_alerts(now=T0) == [] and await store.story_records() == []
    again = await store.ingest_articles(["tech-a1"], match, now=T0, assign=assigner([]))
    assert again.alerts_created == 2


async def test_a_report_recorded_while_an_edit_was_on_its_way_keeps_the_flag(store: Store) -> None:
    assign = assigner([])
    await store.ingest_articles(["tech-a1"], prefix_matcher, now=T0, assign=assign)
    alerts = {a.chat_id: a for a in await store.due_alerts(now=T0)}
    await store.mark_sent([alerts[1].id], 11, now=T0, shown={alerts[1].id: 1})
    await store.ingest_articles(["tech-a2"], prefix_matcher, now=T0, assign=assign)
    [edit] = await store.due_edits(timedelta(hours=24), now=T0)
    # The worker renders the message with two reports and sends the edit; a third report is recorded
    # before it marks the row (the flag was already up, so that ingest changed nothing on the row).
    await store.ingest_articles(["tech-a3"], prefix_matcher, now=T0, assign=assign)
    await store.mark_edited(edit.id, 2)
    [again] = await store.due_edits(timedelta(hours=24), now=T0)
    assert (again.id, again.shown_members) == (edit.id, 2)  # the third report still to show
    await store.mark_edited(again.id, 3)
    assert await store.due_edits(timedelta(hours=24), now=T0) == []


async def test_an_alert_left_as_it_is_drops_its_flag_whatever_the_story_holds(store: Store) -> None:
    assign = assigner([])
    await store.ingest_articles(["tech-a1"], prefix_matcher, now=T0, assign=assign)
    alerts = {a.chat_id: a for a in await store.due_alerts(now=T0)}
    await store.mark_sent([alerts[1].id], 11, now=T0, shown={alerts[1].id: 1})
    await store.ingest_articles(["tech-a2", "tech-a3"], prefix_matcher, now=T0, assign=assign)
    [edit] = await store.due_edits(timedelta(hours=24), now=T0)
    assert await store.mark_edited(edit.id, 1, final=True)  # e.g. Telegram can no longer edit it
    assert await store.due_edits(timedelta(hours=24), now=T0) == []


async def test_sending_with_the_whole_story_shown_needs_no_edit_later(store: Store) -> None:
    assign = assigner([])
    await store.ingest_articles(["tech-a1", "tech-a2"], prefix_matcher, now=T0, assign=assign)
    first, second = sorted(await store.due_alerts(now=T0), key=lambda a: a.chat_id)
    assert first.edit_due and second.edit_due  # flagged while pending: the story grew in the batch
    await store.mark_sent([first.id], 11, now=T0, shown={first.id: 2})  # both reports shown
    await store.mark_sent([second.id], 22, now=T0, shown={second.id: 1})  # rendered before the second
    assert [a.chat_id for a in await store.due_edits(timedelta(hours=24), now=T0)] == [2]
