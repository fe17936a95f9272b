"""Fetch throughput: 200 local feeds × 50 entries, each entry a teaser whose page is fetched and read with
trafilatura, into the store, the index and the outbox.

A news site runs in a child process on 127.0.0.1 (so it does not share the fetcher's interpreter): 200
RSS feeds, 10,000 article pages in the classic news layout, with seeded generated text. The fetcher
polls every feed once while they are empty (their first poll is the backlog, which is never alerted),
then the site publishes all 50 entries of every feed and one timed `poll_all` fetches 200 feeds and
10,000 pages, extracts them and stores them (one transaction per feed). Then the new articles join the
archive (bot.core.archive.extend_library over the bundled corpus: the full rebuild the runtime does
today) and are matched against 1,000 chats' keyword subscriptions into the outbox (Store.ingest_articles).

Run: python -m bench.fetch [--feeds 200] [--entries 50] [--concurrency 4] [--json PATH]. No network but
127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import random
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import Any

from bot.core.archive import extend_library
from bot.core.interests import Subscription, SubscriptionKind, match_interests
from bot.core.library import load_library
from bot.settings import Settings
from bot.sources import Poller
from bot.store import Store

RESULTS = Path(__file__).resolve().parent / "results"
CORPUS = Path(__file__).resolve().parents[1] / "corpus"
CHATS = 1_000
_WORD_TEXT = (
    "council harbour school river market station bridge garden museum library festival weather road "
    "railway hospital farm village town island coast valley forest park square church castle theatre "
    "workers residents visitors teachers pupils drivers farmers fishermen volunteers officials "
    "engineers opened closed announced approved rejected repaired planned delayed funded built "
    "painted restored new old small large first last early late busy quiet local regional national "
    "public private morning evening weekend summer winter spring autumn year month week day night "
    "hour minute plan budget report survey vote meeting decision project scheme service route ticket "
    "price fee said told asked added warned hoped expected agreed claimed explained described "
    "confirmed"
)
_WORDS = tuple(_WORD_TEXT.split())


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(9, 22))]
    return " ".join(words).capitalize() + "."


def code_word(chat: int) -> str:
    """The word only the stories meant for one chat contain (that chat subscribes to it)."""
    return f"zq{chat % CHATS}x"


def _story(feed: int, entry: int) -> tuple[str, str, list[str]]:
    rng = random.Random(feed * 1_000 + entry)
    title = " ".join(rng.choice(_WORDS) for _ in range(6)).capitalize() + f" {feed}-{entry}"
    paragraphs = [
        " ".join(_sentence(rng) for _ in range(rng.randint(3, 6))) for _ in range(rng.randint(4, 7))
    ]
    paragraphs.append(f"Filed under {code_word(feed * 1_000 + entry)}.")  # each story interests one chat
    teaser = paragraphs[0].split(".")[0] + "."
    return title, teaser, paragraphs


def _site(port_queue: Any, feeds: int, entries: int) -> None:
    """The child process: the news site, until the parent terminates it."""
    from aiohttp import web

    published = {"on": False}
    moment = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    pages: dict[str, bytes] = {}
    items: dict[int, str] = {}
    for feed in range(feeds):
        rows = []
        for entry in range(entries):
            title, teaser, paragraphs = _story(feed, entry)
            path = f"/f{feed}/story-{entry}"
            body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
            when = moment + timedelta(minutes=entry)
            pages[path] = (
                f'<!doctype html><html><head><meta charset="utf-8">'
                f"<title>{escape(title)} | Site {feed}</title>"
                f'<meta property="article:published_time" content="{when.isoformat()}">'
                f"</head><body><header><a href='/'>Site {feed}</a><nav><a href='/n'>News</a> "
                f"<a href='/s'>Sport</a></nav></header><main><article><h1>{escape(title)}</h1>"
                f"{body}</article>"
                "<aside><h2>Most read</h2><ul><li>Parking fees to rise</li><li>Choir wins a prize</li></ul>"
                "</aside></main><footer>© 2026 A local site</footer></body></html>"
            ).encode()
            rows.append(
                f"<item><title>{escape(title)}</title><link>http://127.0.0.1:{{port}}{path}</link>"
                f"<guid>f{feed}-e{entry}</guid><pubDate>{format_datetime(when)}</pubDate>"
                f"<description>{escape(teaser)}</description></item>"
            )
        items[feed] = "".join(rows)

    async def feed_handler(request: web.Request) -> web.Response:
        number = int(request.match_info["n"])
        port = request.url.port
        body = items[number].replace("{port}", str(port)) if published["on"] else ""
        text = (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>Site {number}</title>{body}'
            "</channel></rss>"
        )
        return web.Response(text=text, content_type="application/rss+xml")

    async def page_handler(request: web.Request) -> web.Response:
        data = pages.get(request.path)
        if data is None:
            raise web.HTTPNotFound()
        return web.Response(body=data, content_type="text/html", charset="utf-8")

    async def publish(request: web.Request) -> web.Response:
        published["on"] = True
        return web.Response(text="ok")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/feed/{n}.xml", feed_handler)
        app.router.add_post("/publish", publish)
        app.router.add_get("/f{feed}/{story}", page_handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port_queue.put(int(runner.addresses[0][1]))
        await asyncio.Event().wait()

    asyncio.run(main())


async def measure(feeds: int, entries: int, concurrency: int, workdir: Path, port: int) -> dict[str, Any]:
    import aiohttp

    base = f"http://127.0.0.1:{port}"
    sources = workdir / "sources.yaml"
    sources.write_text("".join(f"- {base}/feed/{n}.xml\n" for n in range(feeds)), "utf-8")
    settings = Settings(
        corpus_dir=CORPUS,
        database=workdir / "db.sqlite3",
        sources_file=sources,
        fetch_private_addresses=True,
        fetch_concurrency=concurrency,
        log_level="WARNING",
    )
    async with await Store.open(settings.database) as store:
        poller = Poller(settings, store)
        await poller.workers.start()
        await poller.poll_all()  # empty feeds: each source's first poll (the backlog) is done
        async with aiohttp.ClientSession() as http, http.post(f"{base}/publish") as response:
            response.raise_for_status()
        started = time.perf_counter()
        reports = await poller.poll_all()
        fetch_seconds = time.perf_counter() - started
        poller.close()
        failed = [r for r in reports if r.error]
        articles, _ = await store.sources.articles()
        pages_read = sum(1 for a in articles if len(a.body) > 400)
        base_library = load_library(CORPUS, CORPUS / "topics.yaml")
        started = time.perf_counter()
        library = extend_library(base_library, articles)
        index_seconds = time.perf_counter() - started
        for chat in range(CHATS):
            await store.touch_chat(chat + 1, "private", f"Reader {chat}")
            await store.subscribe(chat + 1, SubscriptionKind.KEYWORDS, code_word(chat), "code word")
        ids = [a.id for a in articles]

        def match(new_ids: list[str], subscriptions: list[Subscription]) -> list[tuple[int, str, str]]:
            positions = [p for p in (library.position(i) for i in new_ids) if p is not None]
            return match_interests(
                [library.articles[p] for p in positions],
                [library.article_topics[p] for p in positions],
                subscriptions,
            )

        # As the bot does at start-up: the corpus's first load is recorded (and alerts nothing). The fetched
        # articles came after their sources' backlog polls, so each of them is new here.
        await store.ingest_articles([a.id for a in base_library.articles], lambda new, subs: [])
        started = time.perf_counter()
        ingested = await store.ingest_articles(ids, match)
        outbox_seconds = time.perf_counter() - started
    stored = len(articles)
    return {
        "feeds": feeds,
        "entries_per_feed": entries,
        "concurrency": concurrency,
        "stored": stored,
        "pages_extracted": pages_read,
        "failed_feeds": len(failed),
        "fetch_store_seconds": round(fetch_seconds, 2),
        "store_articles_per_s": round(stored / fetch_seconds, 1),
        "index_seconds": round(index_seconds, 2),
        "index_articles": library.article_count,
        "index_articles_per_s": round(stored / index_seconds, 1),
        "outbox_seconds": round(outbox_seconds, 2),
        "outbox_articles_per_s": round(stored / outbox_seconds, 1),
        "alerts_queued": ingested.alerts_created,
        "subscriptions": CHATS,
        "end_to_end_articles_per_s": round(stored / (fetch_seconds + index_seconds + outbox_seconds), 1),
    }


def run(feeds: int, entries: int, concurrency: int) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    ports = context.Queue()
    child = context.Process(target=_site, args=(ports, feeds, entries), daemon=True)
    child.start()
    try:
        port = int(ports.get(timeout=120))
        with tempfile.TemporaryDirectory(prefix="newsbot-bench-fetch-") as scratch:
            return asyncio.run(measure(feeds, entries, concurrency, Path(scratch), port))
    finally:
        child.terminate()
        child.join(10)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fetch throughput into the store, the index and the outbox.")
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--entries", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    result = run(args.feeds, args.entries, args.concurrency)
    for key, value in result.items():
        print(f"{key}: {value}")
    path = args.json or RESULTS / f"fetch-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
