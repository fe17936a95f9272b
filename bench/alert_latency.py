"""Time from an entry appearing in a local feed to its alert reaching the Bot API stand-in, with 10,000
subscribed chats, on a 10,000- and a 100,000-article archive.

`newsbot run` runs in its own process against the stand-in (127.0.0.1), over the seeded synthetic corpus
of the end-to-end benchmark (bench/e2e_corpus.py, BBC News word frequencies from ../shared/data). Its
one source is a feed served from this process, polled every 5 s (the minimum). 10,000 private chats each
follow one code word by a keyword subscription. One at a time, an entry carrying one chat's code word is
added to the feed (its whole text in the feed: no page fetch) and the clock runs until the stand-in
receives that chat's alert. What the time holds: up to one poll interval of waiting, the fetch, storing,
the new library view (a new segment of each index, bot.core.segments), matching against 10,000
subscriptions, the outbox and delivery.

Run: python -m bench.alert_latency [--sizes 10000,100000] [--trials 20] [--json PATH].
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import Any

from aiohttp import web

from bench.e2e import TOKEN, bot_env
from bench.e2e_corpus import DEFAULT_DATA, CorpusSpec, load_vocabulary, write_corpus
from bot.core.interests import SubscriptionKind
from bot.localbot import BotProcess
from bot.standin import BotApiStandIn, Event, EventKind
from bot.store import Store

RESULTS = Path(__file__).resolve().parent / "results"
CHATS = 10_000
FIRST_CHAT = 5_000_001
POLL_SECONDS = 5


def code_word(chat: int) -> str:
    """The one word chat number `chat` follows."""
    return f"qz{chat}k"


class Feed:
    """The feed the bot polls: entries added one at a time."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    def add(self, number: int, chat: int) -> None:
        title = f"Harbour notice number {number} for readers of {code_word(chat)}"
        text = (
            f"<p>This notice, number {number}, is for readers who follow {code_word(chat)}. "
            "The harbour office posts one whenever the tide tables change, and the ferry timetable with "
            "it. Readers are asked to check the board by the slipway before setting out.</p>" * 3
        )
        self.items.insert(
            0,
            f"<item><title>{escape(title)}</title><guid>notice-{number}</guid>"
            f"<link>http://127.0.0.1/notices/{number}</link><pubDate>{format_datetime(datetime.now(UTC))}</pubDate>"
            f"<description>{escape(text)}</description></item>",
        )

    async def _serve(self, request: web.Request) -> web.Response:
        body = "".join(self.items[:50])
        return web.Response(
            text=f'<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour notices</title>{body}'
            "</channel></rss>",
            content_type="application/rss+xml",
        )

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/feed.xml", self._serve)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/feed.xml"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


async def subscribe_chats(database: Path) -> None:
    async with await Store.open(database) as store:
        for offset in range(CHATS):
            chat = FIRST_CHAT + offset
            await store.touch_chat(chat, "private", f"Reader {offset}")
            await store.subscribe(chat, SubscriptionKind.KEYWORDS, code_word(chat), code_word(chat))


async def first_poll(database: Path, url: str) -> None:
    """Wait until the bot has polled the feed once."""
    for _ in range(6000):
        async with await Store.open(database) as store:
            source = await store.sources.by_url(url)
        if source is not None and source.last_success_at is not None:
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("the bot never polled the feed")


async def measure(articles: int, trials: int, workdir: Path) -> dict[str, Any]:
    write_corpus(workdir / "corpus", CorpusSpec(articles=articles), load_vocabulary(DEFAULT_DATA))
    feed = Feed()
    await feed.start()
    standin = BotApiStandIn(TOKEN)
    await standin.start()
    for offset in range(CHATS):
        standin.scenario.add_private_chat(FIRST_CHAT + offset, f"Reader {offset}")
    arrivals: dict[int, float] = {}

    def on_event(event: Event) -> None:
        if event.kind == EventKind.SENT and event.chat_id is not None and event.chat_id >= FIRST_CHAT:
            arrivals.setdefault(event.chat_id, time.monotonic())

    unsubscribe = standin.world.subscribe(on_event)
    env = bot_env(standin, workdir, send_rate=25)
    (workdir / "sources.yaml").write_text(f"- url: {feed.url}\n  every: {POLL_SECONDS}\n", "utf-8")
    env.update(
        NEWSBOT_SOURCES_FILE=str(workdir / "sources.yaml"),
        NEWSBOT_FETCH_PRIVATE_ADDRESSES="true",
        NEWSBOT_FETCH_EVERY_SECONDS=str(POLL_SECONDS),
    )
    (workdir / "db").mkdir(parents=True, exist_ok=True)
    database = workdir / "db" / "newsbot.sqlite3"
    latencies: list[float] = []
    process = await BotProcess.start(env, workdir, workdir / "bot.log")
    try:
        startup = await process.wait_polling(standin, timeout=900)
        await subscribe_chats(database)  # the bot holds the lock file, not the database: WAL lets us write
        await first_poll(database, feed.url)  # the feed's first (empty) poll is its backlog
        for number in range(trials):
            chat = FIRST_CHAT + (number * 7919) % CHATS
            feed.add(number, chat)
            started = time.monotonic()
            deadline = started + 600
            while chat not in arrivals:
                if time.monotonic() > deadline or process.returncode is not None:
                    raise TimeoutError(f"no alert for entry {number}:\n{process.tail()}")
                await asyncio.sleep(0.01)
            latencies.append(arrivals[chat] - started)
    finally:
        await process.stop(timeout=120)
        unsubscribe()
        await standin.stop()
        await feed.stop()
    ordered = sorted(latencies)
    return {
        "archive_articles": articles,
        "subscribed_chats": CHATS,
        "poll_seconds": POLL_SECONDS,
        "trials": trials,
        "startup_seconds": round(startup, 1),
        "p50_s": round(statistics.median(ordered), 2),
        "p99_s": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 2),
        "min_s": round(ordered[0], 2),
        "max_s": round(ordered[-1], 2),
        "latencies_s": [round(value, 2) for value in latencies],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Feed entry → alert at the stand-in, with 10,000 subscribers."
    )
    parser.add_argument("--sizes", default="10000,100000", help="archive sizes, comma-separated")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    results = []
    for size in (int(part) for part in args.sizes.split(",")):
        workdir = Path(tempfile.mkdtemp(prefix="newsbot-bench-latency-"))
        try:
            result = asyncio.run(measure(size, args.trials, workdir))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        print(json.dumps({k: v for k, v in result.items() if k != "latencies_s"}))
        results.append(result)
    path = args.json or RESULTS / f"alert-latency-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
