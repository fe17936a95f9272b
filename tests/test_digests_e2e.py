"""Digest schedules end to end against the Bot API stand-in: /timezone, /subscribe … daily HH:MM holds
alerts until the digest is due (in the chat's zone); a digest missed while the bot was down is one message
at start-up, and not again after another restart; an admin's /digest now sends the chat's waiting digest
at once, and its scheduled time does not send it again."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.core.interests import AlertStatus
from bot.core.schedules import parse_schedule, zone
from bot.standin import BotApiStandIn, EventKind
from bot.store import OutboxItem
from tests.harness import ADMIN, USER, BotUnderTest, running_bot
from tests.test_alerts_e2e import outbox, until_no_alert_pending, write_article


def _let_time_pass(database: Path) -> None:
    """While the bot is down its digest falls due: move the queued digest's time into the past."""
    past = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    with sqlite3.connect(database) as db:
        db.execute(
            "UPDATE outbox SET next_attempt_at = ?, digest_due = ? WHERE digest_due IS NOT NULL", (past, past)
        )


async def test_a_daily_digest_waits_for_its_time_and_a_missed_one_is_sent_once(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    async with running_bot(tmp_path, standin) as bot:
        [shown] = await bot.ask(USER, USER, "/timezone")
        assert "UTC" in shown["text"]
        [refused] = await bot.ask(USER, USER, "/timezone Mars/Olympus")
        assert "not a time zone" in refused["text"]
        [changed] = await bot.ask(USER, USER, "/timezone europe/berlin")
        assert "Europe/Berlin" in changed["text"]
        [confirmed] = await bot.ask(USER, USER, "/subscribe openai daily 07:30")
        assert "daily 07:30 (Europe/Berlin time" in confirmed["text"]
        [bad] = await bot.ask(USER, USER, "/subscribe openai daily 25:00")
        assert "not a time of day" in bad["text"]
        mark = standin.world.mark()
        write_article(bot.corpus, "openai-digest-1", "OpenAI digest story one", "First.")
        write_article(bot.corpus, "openai-digest-2", "OpenAI digest story two", "Second.")
        await bot.ask(ADMIN, ADMIN, "/reload")
        rows = await outbox(bot, USER)
        expected = parse_schedule("daily 07:30").next_due(datetime.now(UTC), zone("Europe/Berlin"))
        assert [(r.status, r.digest_due) for r in rows] == [(AlertStatus.PENDING, expected)] * 2
        assert standin.world.events(EventKind.SENT, chat_id=USER, after=mark) == []
    _let_time_pass(tmp_path / "db" / "newsbot.sqlite3")
    async with running_bot(tmp_path, standin) as bot:
        [digest] = await standin.wait_for(chat_id=USER, after=mark, timeout=10)
        assert "OpenAI digest story one" in (digest.text or "") and "OpenAI digest story two" in (
            digest.text or ""
        )
        await until_no_alert_pending(bot)
    async with running_bot(tmp_path, standin) as bot:
        await until_no_alert_pending(bot)
        assert [r.status for r in await outbox(bot, USER)] == [AlertStatus.SENT] * 2
    assert len(standin.world.events(EventKind.SENT, chat_id=USER, after=mark)) == 1


async def _until_sent(bot: BotUnderTest, chat_id: int) -> list[OutboxItem]:
    """A chat's rows once none is pending (marked sent just after Telegram accepted the message)."""
    for _ in range(200):
        rows = await outbox(bot, chat_id)
        if all(row.status is not AlertStatus.PENDING for row in rows):
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"chat {chat_id} still has pending alerts")


async def test_digest_now_sends_a_waiting_digest_once_and_only_for_admins(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    async with running_bot(tmp_path, standin) as bot:
        [usage] = await bot.ask(ADMIN, ADMIN, "/digest")
        assert usage["text"].startswith("Usage: /digest now")
        [nothing] = await bot.ask(ADMIN, ADMIN, "/digest now")
        assert nothing["text"].startswith("No digest is waiting in this chat")
        await bot.ask(ADMIN, ADMIN, "/subscribe openai daily 07:30")
        await bot.ask(USER, USER, "/subscribe openai daily 07:30")
        write_article(bot.corpus, "openai-digest-1", "OpenAI digest story one", "First.")
        write_article(bot.corpus, "openai-digest-2", "OpenAI digest story two", "Second.")
        await bot.ask(ADMIN, ADMIN, "/reload")
        due = parse_schedule("daily 07:30").next_due(datetime.now(UTC), zone("UTC"))
        waiting = [(AlertStatus.PENDING, due)] * 2

        mark = standin.world.mark()
        [refused] = await bot.ask(USER, USER, "/digest now")
        assert refused["text"] == "This command is for admins."
        await bot.settled()
        assert [e.message_id for e in standin.world.events(EventKind.SENT, after=mark)] == [
            refused["message_id"]
        ]
        for chat in (USER, ADMIN):
            assert [(r.status, r.digest_due) for r in await outbox(bot, chat)] == waiting

        mark = standin.world.mark()
        [confirmed] = await bot.ask(ADMIN, ADMIN, "/digest now")
        assert confirmed["text"].startswith("Sending 1 digest now (2 articles)")
        assert "07:30 (UTC time)" in confirmed["text"]
        [_, digest] = await standin.wait_for(chat_id=ADMIN, after=mark, count=2, timeout=10)
        assert "OpenAI digest story one" in (digest.text or "")
        assert "OpenAI digest story two" in (digest.text or "")
        rows = await _until_sent(bot, ADMIN)
        assert [(r.status, r.digest_due, r.message_id) for r in rows] == [
            (AlertStatus.SENT, due, digest.message_id)
        ] * 2
        # The reader's digest keeps its time: /digest now is about the chat it is sent in.
        assert [(r.status, r.digest_due) for r in await outbox(bot, USER)] == waiting
        [again] = await bot.ask(ADMIN, ADMIN, "/digest now")
        assert again["text"].startswith("No digest is waiting in this chat")
        # A story arriving now waits for the scheduled time of the digest just sent.
        write_article(bot.corpus, "openai-digest-3", "OpenAI digest story three", "Third.")
        await bot.ask(ADMIN, ADMIN, "/reload")
        assert [r.digest_due for r in await outbox(bot, ADMIN)] == [due] * 3
    _let_time_pass(tmp_path / "db" / "newsbot.sqlite3")
    mark = standin.world.mark()
    async with running_bot(tmp_path, standin) as bot:
        await until_no_alert_pending(bot)
    # The scheduled time sends what arrived since, not again what /digest now sent.
    [scheduled] = standin.world.events(EventKind.SENT, chat_id=ADMIN, after=mark)
    assert "OpenAI digest story three" in (scheduled.text or "")
    assert "story one" not in (scheduled.text or "") and "story two" not in (scheduled.text or "")
    [reader] = standin.world.events(EventKind.SENT, chat_id=USER, after=mark)
    assert all(f"OpenAI digest story {n}" in (reader.text or "") for n in ("one", "two", "three"))
