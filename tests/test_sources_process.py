"""`newsbot run` and `newsbot fetch` as real subprocesses with sources on a local site: SIGKILL in the middle
of a fetch, and right after a poll was stored, loses no article and queues no alert twice; the CLI's
fetch, sources and ask see what was fetched."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web

from bot.core.interests import SubscriptionKind, parse_keywords
from bot.standin import BotApiStandIn
from bot.store import Store
from tests.conftest import CORPUS, REPO
from tests.harness import USER, subscribe_in_store
from tests.test_fetch import LIGHTHOUSE
from tests.test_process import STARTUP_TIMEOUT, bot_env, start_bot
from tests.test_sources_bot import ORCHIDS
from tests.website import Website, article_page, rss


@pytest.fixture
async def site() -> AsyncIterator[Website]:
    website = Website()
    await website.start()
    try:
        yield website
    finally:
        await website.stop()


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> None:  # noqa: ASYNC109
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise TimeoutError("the condition did not come true")
        await asyncio.sleep(0.02)


async def stored_titles(database: Path) -> list[str]:
    async with await Store.open(database) as store:
        articles, _ = await store.sources.articles()
    return [article.title for article in articles]


async def test_sigkill_mid_fetch_loses_no_article_and_queues_no_duplicate_alert(
    tmp_path: Path, standin: BotApiStandIn, site: Website
) -> None:
    url = site.url("/feed.xml")
    (tmp_path / "sources.yaml").write_text(f"- url: {url}\n  every: 5\n", "utf-8")
    database = tmp_path / "db.sqlite3"
    env = bot_env(
        standin,
        tmp_path,
        NEWSBOT_SOURCES_FILE=str(tmp_path / "sources.yaml"),
        NEWSBOT_FETCH_PRIVATE_ADDRESSES="true",
        NEWSBOT_FETCH_TIMEOUT_SECONDS="60",
    )
    site.feed("/feed.xml", rss([LIGHTHOUSE], base=site.base), etag='"1"')
    orchids = parse_keywords("orchids").text  # (this test is about the kills, not /subscribe)
    await subscribe_in_store(database, [USER], SubscriptionKind.KEYWORDS, orchids, orchids)
    # The backlog, by `newsbot fetch --once` (it polls at once; the bot's first poll of a new source is
    # spread over its interval, its next one an interval later).
    code, _, err = await newsbot("fetch", "--once", env=env)
    assert code == 0, err
    assert await stored_titles(database) == [LIGHTHOUSE.title]
    # Due again now, as an admin's pause and resume buttons make it: the bot polls it as it starts.
    async with await Store.open(database) as store:
        source = await store.sources.by_url(url)
        assert source is not None
        assert await store.sources.pause(source.id, "paused by the test")
        assert await store.sources.resume(source.id)

    # The new story's page hangs: the bot is killed while it waits for it.
    asked, release = asyncio.Event(), asyncio.Event()

    async def slow_page(request: web.Request) -> web.StreamResponse:
        asked.set()
        await release.wait()
        return web.Response(text=article_page(ORCHIDS), content_type="text/html")

    site.serve("/news/orchids", slow_page)
    site.feed("/feed.xml", rss([ORCHIDS, LIGHTHOUSE], base=site.base), etag='"2"')
    first = await start_bot(env, tmp_path)
    try:
        await first.wait_polling(standin, STARTUP_TIMEOUT)  # (or the reason it stopped, with its log)
        await asyncio.wait_for(asked.wait(), STARTUP_TIMEOUT)
    finally:
        first.kill()
        await first.wait()
    release.set()
    assert await stored_titles(database) == [LIGHTHOUSE.title]  # the unfinished poll left nothing behind
    async with await Store.open(database) as store:
        source = await store.sources.by_url(url)
        assert source is not None and source.etag == '"1"'  # so the next poll fetches the feed again whole

    site.pages([ORCHIDS])
    second = await start_bot(env, tmp_path)
    try:
        await second.wait_polling(standin, STARTUP_TIMEOUT)

        async def stored() -> bool:
            return ORCHIDS.title in await stored_titles(database)

        await until(stored)  # killed as soon as the poll is stored: before or after its alert is queued
    finally:
        second.kill()
        await second.wait()
    # The kill can land before the alert is queued, between queueing and sending, or (the path from a
    # stored article to its alert takes well under a second) after Telegram took it but before the
    # outbox recorded that: the one window in which a kill repeats an alert (see bot/tg/alerts.py).
    early = [m for m in standin.world.sent_messages(USER) if ORCHIDS.title in m.get("text", "")]

    async def alert_sent() -> bool:
        async with await Store.open(database) as store:
            return [a.status for a in await store.chat_alerts(USER)] == ["sent"]

    third = await start_bot(env, tmp_path)
    try:
        await third.wait_polling(standin, STARTUP_TIMEOUT)
        await until(alert_sent)
    finally:
        await third.stop(timeout=30)
    async with await Store.open(database) as store:
        articles, _ = await store.sources.articles()
        alerts = await store.chat_alerts(USER)
    assert sorted(a.title for a in articles) == sorted([LIGHTHOUSE.title, ORCHIDS.title])
    orchid = next(a.id for a in articles if a.title == ORCHIDS.title)
    assert [(a.article_id, a.status) for a in alerts] == [(orchid, "sent")]
    delivered = [m for m in standin.world.sent_messages(USER) if ORCHIDS.title in m.get("text", "")]
    # One alert queued, so one message; a second only if the kill landed after the first was sent.
    assert len(delivered) == 1 or (len(early) == 1 and len(delivered) == 2)


async def newsbot(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    return int(process.returncode or 0), out.decode(), err.decode()


async def test_cli_fetch_sources_and_ask(tmp_path: Path, site: Website) -> None:
    site.feed("/feed.xml", rss([ORCHIDS, LIGHTHOUSE], base=site.base), etag='"x"')
    site.pages([ORCHIDS])
    site.static("/gone.xml", "no", status=404, content_type="text/plain")
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        f"sources:\n  - url: {site.url('/feed.xml')}\n    name: Harbour Gazette\n"
        f"  - {site.url('/gone.xml')}\n",
        "utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env.update(
        NEWSBOT_CORPUS_DIR=str(CORPUS),
        NEWSBOT_DATABASE=str(tmp_path / "db.sqlite3"),
        NEWSBOT_SNAPSHOT_DIR=str(tmp_path / "snapshots"),
        NEWSBOT_SOURCES_FILE=str(sources),
        NEWSBOT_FETCH_PRIVATE_ADDRESSES="true",
    )
    code, out, err = await newsbot("fetch", "--once", "--json", env=env)
    assert code == 1, err  # one source failed
    host = f"127.0.0.1:{site.port}"  # a source without a name is called by its host
    payload = json.loads(out)
    assert payload == {
        "sources": [
            {
                "url": site.url("/feed.xml"),
                "name": "Harbour Gazette",
                "status": "new",
                "new": 2,
                "error": None,
            },
            {
                "url": site.url("/gone.xml"),
                "name": host,
                "status": "failed",
                "new": 0,
                "error": "HTTP 404 Not Found",
            },
        ],
        "new": 2,
    }
    code, out, _ = await newsbot("fetch", "--once", env=env)
    assert code == 1 and "not_modified" in out and "0 new articles" in out
    code, out, _ = await newsbot("sources", "--json", env=env)
    listed = json.loads(out)
    assert [(s["name"], s["health"], s["articles"]) for s in listed["sources"]] == [
        ("Harbour Gazette", "ok", 2),
        (host, "failing", 0),
    ]
    assert listed["sources"][1]["last_error"] == "HTTP 404 Not Found" and listed["problems"] == []
    code, out, _ = await newsbot("ask", "kerrisdale hawkmoth", "--json", env=env)
    assert code == 0 and json.loads(out)["results"][0]["title"] == ORCHIDS.title
    code, out, _ = await newsbot("check", "--json", env=env)
    assert json.loads(out)["articles"] == 6  # the four bundled articles and the two fetched
    sources.write_text("sources: [{url: ftp://nope}]\n", "utf-8")
    code, out, _ = await newsbot("check", "--json", env=env)
    assert code == 1 and "only http and https" in json.dumps(json.loads(out)["problems"])
