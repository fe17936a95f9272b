"""A corpus folder changed file by file while the bot runs (the corpus watcher on, real python-telegram-bot
against the local Bot API stand-in): each new article is answerable and alerted once, a removed file's
articles leave the answers, and the view grows by segments rather than rebuilds."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.core.interests import SubscriptionKind
from bot.core.segments import SegmentedIndex
from bot.standin import BotApiStandIn, EventKind
from tests import reliability
from tests.harness import ADMIN, USER, running_bot, subscribe_in_store
from tests.test_alerts_e2e import outbox, until_no_alert_pending, write_article
from tests.test_process import STARTUP_TIMEOUT, bot_env, start_bot

STORIES = [
    ("harbour-cranes", "OpenAI robots run harbour cranes", "Quay seven now loads ships with robotic cranes."),
    ("glasshouse-orchids", "OpenAI helps grow glasshouse orchids", "Growers time the orchid bloom by model."),
    ("tram-timetable", "OpenAI rewrites the tram timetable", "Night trams now leave every twelve minutes."),
    ("lighthouse-keeper", "OpenAI and the last lighthouse keeper", "The keeper retires after forty winters."),
    ("bakery-ovens", "OpenAI schedules bakery ovens", "Rye loaves bake first, before the baguettes."),
]


async def answer_to(bot_ask, question: str) -> str:  # type: ignore[no-untyped-def]
    [reply] = await bot_ask(USER, USER, question)
    return str(reply["text"])


async def test_files_added_one_by_one_are_answered_and_alerted_once_and_a_removed_one_leaves(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    async with running_bot(tmp_path, standin, corpus_poll_seconds=0.2, questions_per_minute=1_000) as bot:
        await bot.ask(USER, USER, "/subscribe openai")
        runtime = bot.services.runtime
        for slug, title, body in STORIES:
            mark = standin.world.mark()
            write_article(bot.corpus, slug, title, body)
            [alert] = await standin.wait_for(chat_id=USER, after=mark, timeout=15)
            assert title in (alert.text or "")
            question = " ".join(body.split()[:4])
            assert title in await answer_to(bot.ask, question)
        index = runtime.library.index
        assert isinstance(index, SegmentedIndex)  # the watcher added segments; nothing was rebuilt
        await until_no_alert_pending(bot)
        rows = await outbox(bot, USER)
        alerted = sorted(row.article_id for row in rows)
        assert alerted == sorted(slug for slug, _, _ in STORIES)  # each story once, none twice

        # A removed file: the watcher takes its article out of the answers.
        (bot.corpus / "tram-timetable.md").unlink()
        for _ in range(100):
            if runtime.library.article("tram-timetable") is None:
                break
            await asyncio.sleep(0.1)
        assert runtime.library.article("tram-timetable") is None
        assert "OpenAI rewrites the tram timetable" not in await answer_to(bot.ask, "night trams timetable")
        # An edited file: its new text answers, its old one no longer does.
        write_article(
            bot.corpus, "bakery-ovens", "OpenAI schedules bakery ovens", "Sourdough now bakes at dawn."
        )
        for _ in range(100):
            article = runtime.library.article("bakery-ovens")
            if article is not None and "Sourdough" in article.body:
                break
            await asyncio.sleep(0.1)
        assert "OpenAI schedules bakery ovens" in await answer_to(bot.ask, "sourdough dawn")
        mark = standin.world.mark()
        [report] = await bot.ask(ADMIN, ADMIN, "/reload")
        assert "No articles added, changed or removed" in report["text"]
        await until_no_alert_pending(bot)
        # The edit is the same story: no second alert.
        assert standin.world.events(EventKind.SENT, chat_id=USER, after=mark) == []
        assert sorted(row.article_id for row in await outbox(bot, USER)) == alerted


async def test_sigkill_while_segments_are_added_and_merged_loses_and_doubles_no_alert(
    tmp_path: Path, standin: BotApiStandIn, request: pytest.FixtureRequest
) -> None:
    """`newsbot run` as a process: files arrive one by one, each /reload adds a segment, and at the tenth
    the small segments are merged, each change saved as segments on disk. Killed (SIGKILL) around the
    merges and restarted: the restart resumes the saved segments, every article answers, every alert
    arrives, at most one repeat per kill (the alerts were recorded, in the store's transaction, before a
    merge or a save began)."""
    env = bot_env(standin, tmp_path, NEWSBOT_SEND_RATE="30", NEWSBOT_SNAPSHOT_DIR=str(tmp_path / "snapshots"))
    corpus = Path(env["NEWSBOT_CORPUS_DIR"])
    # Filler under the bundled articles: a kill can land before the view's last save, and a restart
    # resumes the saved view only while at most half the corpus files changed since (bot.core.snapshot).
    # With 40 files saved, the up to 12 a life adds stay under half whatever the saves' lag on a busy machine.
    for number in range(36):
        write_article(corpus, f"filler-{number:02d}", f"Harbour tide table {number:02d}", "High water.", "[]")
    # A first run makes the silent first load and, stopping cleanly, saves its view: the lives resume it.
    process = await start_bot(env, tmp_path)
    try:
        await process.wait_polling(standin, STARTUP_TIMEOUT)
    finally:
        await process.stop(timeout=30)
    database = Path(env["NEWSBOT_DATABASE"])
    await subscribe_in_store(database, [USER], SubscriptionKind.TOPIC, "openai", "OpenAI")  # (not via chat)
    mark = standin.world.mark()
    titles: list[str] = []
    kills = 0
    for life in range(reliability.scaled(request.config, 1, 3)):
        process = await start_bot(env, tmp_path)
        await standin.ask(ADMIN, ADMIN, "/help", timeout=STARTUP_TIMEOUT)  # this one polls
        for number in range(11):
            # Numbered across lives: a story matching rule wants numbers to agree, so bulletins numbered
            # alike in two lives would join one story and be edited into one alert, not sent anew.
            slug = f"life{life}-{life * 11 + number:02d}"
            title = f"OpenAI bulletin {slug}"
            write_article(corpus, slug, title, f"Bulletin {slug} of the harbour series.")
            titles.append(title)
            await standin.ask(ADMIN, ADMIN, "/reload", timeout=30)
        standin.scenario.send_user_message(ADMIN, ADMIN, "/reload")
        await standin.wait_until_delivered()
        process.kill()
        await process.wait()
        kills += 1
    process = await start_bot(env, tmp_path)
    try:
        await process.wait_polling(standin, STARTUP_TIMEOUT)
        # (asked in another chat than the alerts', so the reply is the answer)
        [reply] = await standin.ask(ADMIN, ADMIN, f"bulletin {titles[-1].split()[-1]}", timeout=20)
        assert titles[-1] in str(reply["text"])
        for _ in range(600):  # up to 30 s
            sent = standin.world.events(EventKind.SENT, chat_id=USER, after=mark)
            arrived = {title for event in sent for title in titles if title in (event.text or "")}
            if arrived == set(titles):
                break
            await asyncio.sleep(0.05)
    finally:
        await process.stop(timeout=30)
    assert "resumed the saved view" in process.output()  # (read once it stopped: its log is flushed)
    delivered: dict[str, int] = {}
    for event in standin.world.events(EventKind.SENT, chat_id=USER, after=mark):
        for title in titles:
            if title in (event.text or ""):
                delivered[title] = delivered.get(title, 0) + 1
    reliability.fault("sigkill during segment merges", kills)
    assert set(delivered) == set(titles)
    assert sum(n - 1 for n in delivered.values()) <= kills
