"""Digest schedules end to end against the Bot API stand-in: /timezone, /subscribe … daily HH:MM holds
alerts until the digest is due (in the chat's zone); a digest missed while the bot was down is one message
at start-up, and not again after another restart."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.core.interests import AlertStatus
from bot.core.schedules import parse_schedule, zone
from bot.standin import BotApiStandIn, EventKind
from tests.harness import ADMIN, USER, running_bot
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
