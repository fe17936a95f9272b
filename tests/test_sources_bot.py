"""Sources end to end: the real bot (python-telegram-bot against the Bot API stand-in) polling feeds from a
local site: new stories reach answers and alerts exactly once, admins manage sources with /sources and its
buttons, and a failing source is paused with one message to each admin.

A source is polled at most every five seconds, and a new one first somewhere in its first interval; these
tests do not wait for that schedule (tests.test_sources_core and tests.test_fetch cover it): their feeds are
listed due at once before the bot starts, and a later poll is asked for as an admin's Resume or `newsbot
fetch --once` would ask for it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bench.story_delivery import list_sources_due_now
from bot.standin import BotApiStandIn, EventKind
from bot.store import PollStatus
from tests.harness import ADMIN, OTHER, USER, BotUnderTest, make_settings, running_bot
from tests.test_fetch import LIGHTHOUSE
from tests.website import Story, Website, rss

ORCHIDS = Story(
    guid="gazette-orchids",
    title="Glasshouse orchids bloom a month early",
    teaser="The orchids in the botanic glasshouse have flowered early.",
    paragraphs=(
        "The slipper orchids in the botanic garden's glasshouse opened a month earlier than usual, which the "
        "head gardener puts down to a new heating loop fed by the town's wastewater plant.",
        "Visitors queued along the gravel path on Sunday to see them. The gardener, Oluwaseun Hartwell, said "
        "the warmer nights had also brought out a moth the staff had not recorded since 1998: a pale "
        "kerrisdale hawkmoth.",
        "The glasshouse is open daily from ten until four; entry is free for residents of the parish, and "
        "the garden asks visitors not to touch the plants.",
    ),
    link="/news/orchids",
)


@pytest.fixture
async def site() -> AsyncIterator[Website]:
    website = Website()
    await website.start()
    try:
        yield website
    finally:
        await website.stop()


def sources_file(tmp_path: Path, *urls: str, every: int = 5) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n" + "".join(f"  - url: {u}\n    every: {every}\n" for u in urls), "utf-8")
    return path


async def listed_due_now(tmp_path: Path, standin: BotApiStandIn, sources: Path) -> None:
    """The sources file's feeds listed in the database of the bot about to start, each due at once."""
    settings, _ = make_settings(tmp_path, standin)
    await list_sources_due_now(settings.database, sources, settings.fetch_every_seconds)


async def poll_again_now(bot: BotUnderTest, url: str) -> None:
    """Have the running bot's poller fetch a polled source again now, not one interval later: paused and
    resumed in its store (failures cleared, due at once), then woken, as the admin's Resume button does."""
    sources = bot.services.store.sources
    source = await sources.by_url(url)
    assert source is not None and source.failures == 0 and not source.paused
    assert await sources.pause(source.id, "a test asks for the next poll now")
    assert await sources.resume(source.id)
    bot.services.sources.wake()


def bot_with(
    tmp_path: Path, standin: BotApiStandIn, **overrides: Any
) -> contextlib.AbstractAsyncContextManager[BotUnderTest]:
    values: dict[str, Any] = {"fetch_private_addresses": True, "fetch_timeout_seconds": 5}
    values.update(overrides)
    return running_bot(tmp_path, standin, **values)


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 20.0) -> None:  # noqa: ASYNC109 - a plain deadline
    """Wait until check() is true, looking every 50 ms."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise TimeoutError("the condition did not come true")
        await asyncio.sleep(0.05)


async def test_a_new_story_reaches_answers_and_alerts_once(
    tmp_path: Path, standin: BotApiStandIn, site: Website
) -> None:
    url = site.url("/feed.xml")
    site.feed("/feed.xml", rss([LIGHTHOUSE], base=site.base), etag='"1"')
    sources = sources_file(tmp_path, url)
    await listed_due_now(tmp_path, standin, sources)
    async with bot_with(tmp_path, standin, sources_file=sources) as bot:
        runtime = bot.services.runtime

        async def backlog_in() -> bool:
            return any(a.title == LIGHTHOUSE.title for a in runtime.library.articles)

        await until(backlog_in)
        await bot.ask(USER, USER, "/subscribe orchids")
        await bot.ask(USER, USER, "/subscribe lighthouse")  # matches the backlog, which must not alert
        await bot.ask(OTHER, OTHER, "/subscribe glasshouse")
        site.pages([ORCHIDS])
        site.feed("/feed.xml", rss([ORCHIDS, LIGHTHOUSE], base=site.base), etag='"2"')
        await poll_again_now(bot, url)
        alerts = await standin.wait_for(
            lambda event: ORCHIDS.title in str(event.data.get("text")), chat_id=USER, timeout=30
        )
        assert "orchid" in alerts[0].data["text"].lower()
        await standin.wait_for(lambda event: ORCHIDS.title in str(event.data.get("text")), chat_id=OTHER)
        [answer] = await bot.ask(USER, USER, "kerrisdale hawkmoth")  # words only the page holds
        assert ORCHIDS.title in answer["text"]
        await bot.settled()
        store = bot.services.store
        alerts_for = {chat: [a.article_id for a in await store.chat_alerts(chat)] for chat in (USER, OTHER)}
        articles, _ = await store.sources.articles()
    orchid = next(a for a in articles if a.title == ORCHIDS.title)
    assert alerts_for == {USER: [orchid.id], OTHER: [orchid.id]}
    assert sorted(a.title for a in articles) == sorted([LIGHTHOUSE.title, ORCHIDS.title])
    alerted = [m["text"] for m in standin.world.sent_messages(USER) if m.get("text", "").startswith("🔔")]
    assert len(alerted) == 1 and ORCHIDS.title in alerted[0]  # the backlog is searchable, not alerted


async def test_admins_manage_sources_in_chat(tmp_path: Path, standin: BotApiStandIn, site: Website) -> None:
    site.static("/gazette.xml", rss([LIGHTHOUSE], base=site.base))
    site.static("/not-a-feed", "<html><body>Welcome to our shop</body></html>", content_type="text/html")
    site.static("/file.xml", rss([], base=site.base, title="From the file"))
    file_url, url = site.url("/file.xml"), site.url("/gazette.xml")
    async with bot_with(tmp_path, standin, sources_file=sources_file(tmp_path, file_url, every=3600)) as bot:
        [refused] = await bot.ask(USER, USER, f"/sources add {url}")
        assert refused["text"] == "This command is for admins."
        [added] = await bot.ask(ADMIN, ADMIN, f"/sources add {url} Harbour Gazette", timeout=15)
        assert "Added" in added["text"] and "Harbour Gazette" in added["text"]
        assert "with 1 entry; 1 stored as its backlog" in added["text"]
        [answer] = await bot.ask(USER, USER, "volunteers repaint lighthouse")  # the backlog is searchable now
        assert LIGHTHOUSE.title in answer["text"]
        [again] = await bot.ask(ADMIN, ADMIN, f"/sources add {url}")
        assert "already a source" in again["text"]
        [not_feed] = await bot.ask(ADMIN, ADMIN, f"/sources add {site.url('/not-a-feed')}", timeout=15)
        assert "Not added" in not_feed["text"] and "not an RSS" in not_feed["text"]
        [bad] = await bot.ask(ADMIN, ADMIN, "/sources add ftp://example.org/feed")
        assert "Not added" in bad["text"] and "only http and https" in bad["text"]
        [listing] = await bot.ask(ADMIN, ADMIN, "/sources")
        assert "sources file" in listing["text"] and "added in chat" in listing["text"]
        buttons = [b["text"] for row in listing["reply_markup"]["inline_keyboard"] for b in row]
        assert buttons == ["Pause 1", "Pause 2", "Remove 2"]  # the file's source is removed from the file
        for label, expected in (("Pause 2", "paused"), ("Resume 2", "resumed"), ("Remove 2", "removed")):
            mark = standin.world.mark()
            standin.scenario.click_button(ADMIN, ADMIN, listing["message_id"], label)
            [toast] = await standin.wait_for(kind=EventKind.CALLBACK_ANSWER, after=mark)
            assert expected in toast.data["text"]
            await standin.wait_for(kind=EventKind.EDITED, chat_id=ADMIN, after=mark)
            listing = standin.world.message_in(standin.world.chats[ADMIN], listing["message_id"])
        assert url not in listing["text"]
        mark = standin.world.mark()
        standin.scenario.click(USER, USER, refused["message_id"], "src:p:1")  # a forged button
        [toast] = await standin.wait_for(kind=EventKind.CALLBACK_ANSWER, after=mark)
        assert toast.data["text"] == "This command is for admins."
        [stats] = await bot.ask(ADMIN, ADMIN, "/stats")
        assert "Sources: 1 (" in stats["text"] and "Fetched articles: 1" in stats["text"]
        source = await bot.services.store.sources.by_url(file_url)
        assert source is not None and not source.paused


async def test_a_failing_source_is_paused_and_each_admin_is_told_once(
    tmp_path: Path, standin: BotApiStandIn, site: Website
) -> None:
    site.static("/down.xml", "maintenance", status=503, content_type="text/plain")
    url = site.url("/down.xml")
    sources = sources_file(tmp_path, url)
    settings = {"sources_file": sources, "fetch_max_failures": 2, "admin_ids": [ADMIN, OTHER]}
    await listed_due_now(tmp_path, standin, sources)
    async with bot_with(tmp_path, standin, **settings) as bot:
        store = bot.services.store

        async def failed_once() -> bool:
            current = await store.sources.by_url(url)
            return current is not None and current.failures == 1

        await until(failed_once)  # the poller's own first poll
        # The second failure without waiting out the back-off (one interval): a poll of every source now,
        # as `newsbot fetch --once` does, by the same poller.
        [report] = await bot.services.sources.poll_all()
        assert report.status == PollStatus.FAILED and report.paused_now
        for admin in (ADMIN, OTHER):
            [notice] = await standin.wait_for(
                lambda event: "Source paused" in str(event.data.get("text")), chat_id=admin, timeout=30
            )
            assert "HTTP 503" in notice.data["text"] and "/sources" in notice.data["text"]
        source = await store.sources.by_url(url)
        assert source is not None and source.paused and source.failures == 2
        assert await store.sources.pending_notices() == []
        assert len(site.hits("/down.xml")) == 2
        [listing] = await bot.ask(ADMIN, ADMIN, "/sources")
        assert "paused" in listing["text"] and "HTTP 503" in listing["text"]
        site.static("/down.xml", rss([LIGHTHOUSE], base=site.base))
        mark = standin.world.mark()
        standin.scenario.click_button(ADMIN, ADMIN, listing["message_id"], "Resume 1")
        await standin.wait_for(kind=EventKind.CALLBACK_ANSWER, after=mark)

        async def recovered() -> bool:
            current = await store.sources.by_url(url)
            return current is not None and current.health == "ok"

        await until(recovered)
        for admin in (ADMIN, OTHER):
            paused = [m for m in standin.world.sent_messages(admin) if "Source paused" in m.get("text", "")]
            assert len(paused) == 1
