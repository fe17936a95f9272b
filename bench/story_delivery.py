"""Issue #16's delivery figures: one alert per story, and digests due at one minute, to N private chats.

`newsbot run` runs in its own process against the Bot API stand-in on 127.0.0.1 (bench/e2e.py's set-up),
at its default alert rate (25 messages/s). Two scenarios, each with its own bot, database and chats:

1. One alert per story: every chat follows a topic; five outlets report one event, each in its own feed
   served from this process (polled every 5 s, the minimum), the reports a few seconds apart, so later
   ones reach the bot while the first one's alerts are still going out. The stand-in's record must show
   one sendMessage per chat and the edits that bring each alert up to date ("+4 sources: …").
2. Digests: every chat has a `daily HH:MM` subscription due at one minute; its stories (and, for every
   20th chat, thirty long bulletins of a second subscription: a digest Telegram's length limit splits)
   are queued before the bot starts, the way its ingest does (Store.ingest_articles). Every story must
   reach its chat exactly once, each chat's digest in one message (or the parts the length requires).

Both report the busiest second of requests, each chat's closest two requests, and any 429 the stand-in
returned (it enforces no limit of its own: it answers 429 only to injected faults, and none are here).
Run: python -m bench.story_delivery [--quick] [--chats N] [--json PATH]. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from itertools import pairwise
from pathlib import Path
from typing import Any

from aiohttp import web

from bench.delivery_corpus import (
    PORT_REPORTS,
    PORTS_TOPIC,
    RAIL_STORIES,
    RAIL_TOPIC,
    TIDES_TOPIC,
    Report,
    tide_bulletins,
    write_archive,
    write_markdown,
)
from bench.e2e import TOKEN, bot_env, pacing
from bot.core.interests import Subscription, SubscriptionKind, match_interests
from bot.core.sourcelist import load_sources
from bot.core.stories import StoryRecord
from bot.localbot import BotProcess
from bot.runtime import Runtime, load_configured_library
from bot.settings import Settings
from bot.standin import BotApiStandIn, EventKind, RequestRecord
from bot.store import Store

RESULTS = Path(__file__).resolve().parent / "results"
FIRST_CHAT = 7_000_001
SENDING = frozenset({"sendmessage", "editmessagetext"})
TELEGRAM_PER_SECOND = 30  # Telegram's documented bulk limit, about 30 messages a second
CHAT_INTERVAL = 1.0  # and about one message a second to one chat


@dataclass(frozen=True, slots=True)
class Plan:
    """How big one run is and how it is paced."""

    name: str
    chats: int
    send_rate: float = 25.0  # the bot's default NEWSBOT_SEND_RATE
    report_gap: float = 3.0  # seconds between the five reports entering their feeds
    poll_seconds: int = 5  # each feed's polling interval (the minimum the bot allows)
    archive: int = 300  # filler articles already in the archive
    heavy_every: int = 20  # every n-th chat also takes the long bulletin digest (0: none)
    bulletins: int = 30
    digest_lead: float | None = 20.0  # the due minute at least this long after the bot can start (None:
    # a minute already past when it starts, i.e. a digest missed while it was down, sent at start-up)
    quiet: float = 3.0  # no request for this long (after everything is recorded) ends a scenario …
    give_up: float = 20.0  # … or for this long, if some chat still lacks what it should have got
    startup_timeout: float = 180.0
    # Scenario 1's feeds listed in the database before the bot starts, due at once: the bot polls them all
    # (their silent first poll) as soon as it starts instead of each at its spread moment of the first
    # interval (up to poll_seconds later). For the tests: it only saves waiting.
    first_polls_now: bool = False
    # The digests scenario (its own bot, stand-in and chats) runs while the first one's bot waits for its
    # feeds' polls. Only for runs whose timings do not matter, the tests': the two compete for the CPU.
    together: bool = False


FULL = Plan("full", chats=10_000)
QUICK = Plan("quick", chats=500)


# ------------------------------------------------------------------------------------------- figures


def busiest(times: Sequence[float]) -> int:
    """The most of `times` (seconds) inside any one-second window."""
    return int(pacing(times)["max_in_1s"])


def chat_gaps(requests: Iterable[RequestRecord]) -> dict[str, Any]:
    """Each chat's closest two message requests: the smallest gap, and how many chats had two within
    CHAT_INTERVAL of each other."""
    times: dict[int, list[float]] = {}
    for request in requests:
        times.setdefault(_chat_of(request), []).append(request.at)
    gaps = [
        min(b - a for a, b in pairwise(moments))
        for moments in (sorted(ts) for ts in times.values())
        if len(moments) > 1
    ]
    return {
        "chats_with_two_or_more": len(gaps),
        "min_gap_s": round(min(gaps), 3) if gaps else None,
        "chats_under_interval": sum(1 for gap in gaps if gap < CHAT_INTERVAL - 0.01),
    }


def _chat_of(request: RequestRecord) -> int:
    return int(request.params.get("chat_id", 0))


def request_figures(requests: Sequence[RequestRecord], chats: frozenset[int]) -> dict[str, Any]:
    """What the stand-in saw of the bot's message requests to `chats`: counts, statuses, pacing."""
    ours = [r for r in requests if r.method.lower() in SENDING and _chat_of(r) in chats]
    statuses = Counter(str(r.status) for r in ours)
    sends = [r.at for r in ours if r.method.lower() == "sendmessage"]
    return {
        "requests": len(ours),
        "send_requests": len(sends),
        "edit_requests": len(ours) - len(sends),
        "statuses": dict(sorted(statuses.items())),
        "http_429": statuses.get("429", 0),
        "max_requests_in_1s": busiest([r.at for r in ours]),
        "max_sends_in_1s": busiest(sends),
        "per_chat": chat_gaps(ours),
    }


# ------------------------------------------------------------------------------------------- set-up


async def seed_chats(database: Path, chats: Sequence[int]) -> float:
    """Register `chats` as private chats (no subscriptions yet); returns the seconds it took."""
    started = time.perf_counter()
    async with await Store.open(database) as store:
        for chat in chats:
            await store.touch_chat(chat, "private", f"Reader {chat}")
    return time.perf_counter() - started


async def subscribe(
    database: Path, chats: Sequence[int], topic: str, label: str, schedule: str | None = None
) -> float:
    """Subscribe every chat of `chats` to `topic` (on `schedule`); returns the seconds it took."""
    started = time.perf_counter()
    async with await Store.open(database) as store:
        for chat in chats:
            await store.subscribe(chat, SubscriptionKind.TOPIC, topic, label, schedule=schedule)
    return time.perf_counter() - started


def chats_of(plan: Plan) -> list[int]:
    """The plan's private chat ids."""
    return list(range(FIRST_CHAT, FIRST_CHAT + plan.chats))


def is_heavy(plan: Plan, chat: int) -> bool:
    """Whether a chat also takes the long bulletin digest."""
    return plan.heavy_every > 0 and (chat - FIRST_CHAT) % plan.heavy_every == 0


def env_for(standin: BotApiStandIn, workdir: Path, plan: Plan) -> dict[str, str]:
    """The bot's environment (bench.e2e.bot_env), with its sources file and polling interval."""
    env = bot_env(standin, workdir, plan.send_rate)
    env.update(
        NEWSBOT_SOURCES_FILE=str(workdir / "sources.yaml"),
        NEWSBOT_FETCH_PRIVATE_ADDRESSES="true",
        NEWSBOT_FETCH_EVERY_SECONDS=str(plan.poll_seconds),
    )
    return env


async def wait_quiet(
    standin: BotApiStandIn,
    plan: Plan,
    settled: Callable[[], Awaitable[bool]],
    deadline: float,
    process: BotProcess,
    complete: Callable[[], bool] = lambda: True,
) -> bool:
    """Wait until `settled()` holds, no message request has arrived for plan.quiet seconds and the chats
    show what they should (`complete()`), or for plan.give_up seconds they do not (what was missed is
    then counted); False when `deadline` (stand-in clock) passes first."""
    while standin.clock() < deadline:
        if process.returncode is not None:
            raise RuntimeError(f"the bot exited:\n{process.tail()}")
        sending = [r for r in standin.requests()[-50:] if r.method.lower() in SENDING]
        silent = standin.clock() - (sending[-1].at if sending else -math.inf)
        if silent >= plan.quiet and await settled() and (silent >= plan.give_up or complete()):
            return True
        await asyncio.sleep(0.5)
    return False


# ------------------------------------------------------------------------------------------- scenario 1


class Feeds:
    """One RSS feed per outlet, served on 127.0.0.1; reports are added to them one at a time."""

    def __init__(self, count: int) -> None:
        self.items: list[list[str]] = [[] for _ in range(count)]
        self.runner: web.AppRunner | None = None
        self.base = ""

    def url(self, number: int) -> str:
        """The feed of outlet `number`."""
        return f"{self.base}/feeds/{number}.xml"

    def add(self, number: int, report: Report) -> None:
        """Put a report at the top of its outlet's feed, published now."""
        text = "".join(f"<p>{escape(paragraph)}</p>" for paragraph in report.paragraphs)
        self.items[number].insert(
            0,
            f"<item><title>{escape(report.title)}</title><guid>{report.slug}</guid>"
            f"<link>{self.base}/news/{report.slug}</link>"
            f"<pubDate>{format_datetime(datetime.now(UTC))}</pubDate>"
            f"<description>{escape(text)}</description></item>",
        )

    async def _serve(self, request: web.Request) -> web.Response:
        number = int(request.match_info["number"])
        return web.Response(
            text=f'<?xml version="1.0"?><rss version="2.0"><channel><title>Outlet {number}</title>'
            f"{''.join(self.items[number])}</channel></rss>",
            content_type="application/rss+xml",
        )

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        app = web.Application()
        app.router.add_get("/feeds/{number:\\d+}.xml", self._serve)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.base = f"http://127.0.0.1:{self.runner.addresses[0][1]}"

    async def stop(self) -> None:
        """Close the server."""
        if self.runner is not None:
            await self.runner.cleanup()

    def sources_yaml(self, every: int) -> str:
        """The bot's sources file: one entry per outlet, named, whole text from the feed."""
        lines = ["sources:"]
        for number, report in enumerate(PORT_REPORTS):
            lines += [
                f"  - url: {self.url(number)}",
                f"    name: {report.source}",
                f"    every: {every}",
                "    full_text: never",
            ]
        return "\n".join(lines) + "\n"


async def one_alert_per_story(
    plan: Plan, workdir: Path, polling: asyncio.Event | None = None
) -> dict[str, Any]:
    """Scenario 1: five reports of one event reach every subscribed chat as one alert plus edits (`polling`
    is set once the bot has started)."""
    now = datetime.now(UTC)
    write_archive(workdir / "corpus", plan.archive, now)
    (workdir / "db").mkdir(parents=True, exist_ok=True)
    database = workdir / "db" / "newsbot.sqlite3"
    chats = chats_of(plan)
    out: dict[str, Any] = {"chats": plan.chats, "reports": len(PORT_REPORTS)}
    out["setup_s"] = round(
        await seed_chats(database, chats) + await subscribe(database, chats, PORTS_TOPIC, "Ports"), 2
    )
    feeds = Feeds(len(PORT_REPORTS))
    await feeds.start()
    (workdir / "sources.yaml").write_text(feeds.sources_yaml(plan.poll_seconds), encoding="utf-8")
    if plan.first_polls_now:
        await list_sources_due_now(database, workdir / "sources.yaml", plan.poll_seconds)
    standin = BotApiStandIn(TOKEN, request_log_size=plan.chats * 4 + 20_000)
    await standin.start()
    for chat in chats:
        standin.scenario.add_private_chat(chat, f"Reader {chat}")
    wanted = frozenset(chats)
    names = {report.source for report in PORT_REPORTS}
    bot = await BotProcess.start(env_for(standin, workdir, plan), workdir, workdir / "bot-stories.log")
    try:
        out["startup_s"] = round(await bot.wait_polling(standin, plan.startup_timeout), 2)
        if polling is not None:
            polling.set()
        async with await Store.open(database) as store:
            await _first_polls(store, [feeds.url(n) for n in range(len(PORT_REPORTS))], bot)
            started_wall = datetime.now(UTC)
            started = standin.clock()
            added = []
            for number, report in enumerate(PORT_REPORTS):
                if number:
                    await asyncio.sleep(started + number * plan.report_gap - standin.clock())
                feeds.add(number, report)
                added.append(round(standin.clock() - started, 2))

            async def settled() -> bool:
                records = [r for r in await store.story_records() if r.source in names]
                counts = await store.alert_counts()
                return len(records) == len(PORT_REPORTS) and counts["pending"] == 0

            def complete() -> bool:  # every chat's alert names the other four sources (edits are done)
                return _up_to_date(standin, wanted, names) == len(wanted)

            deadline = started + plan.chats / plan.send_rate * 2 + 240
            out["finished"] = await wait_quiet(standin, plan, settled, deadline, bot, complete)
            records = [r for r in await store.story_records() if r.source in names]
            counts = await store.alert_counts()
    finally:
        out["exit_code"] = await bot.stop()
        await feeds.stop()
        await standin.stop()
    out["reports_added_at_s"] = added
    out["reports_ingested_at_s"] = sorted(
        round((r.added_at - started_wall).total_seconds(), 2) for r in records if r.added_at is not None
    )
    out["stories"] = len({r.story_id for r in records})
    out["outbox"] = {status: count for status, count in counts.items()}
    out.update(_story_delivery(standin, wanted, started, names))
    return out


async def list_sources_due_now(database: Path | str, sources_file: Path, every: float) -> None:
    """List the sources file's feeds in the database of a bot about to start, as its poller would
    (Poller.sync_file), each due now instead of somewhere in its first interval (also the sources tests')."""
    specs, problems = load_sources(sources_file)
    if problems:
        raise ValueError(f"the sources file {sources_file}: {problems[0]}")
    async with await Store.open(database) as store:
        await store.sources.sync_file(specs, every)
        now = datetime.now(UTC)
        for source in await store.sources.listed():
            await store.sources.schedule_first(source.id, now)


async def _first_polls(store: Store, urls: Sequence[str], bot: BotProcess) -> None:
    """Wait until the bot has polled every feed once (a source's first poll is its silent backlog)."""
    for _ in range(1200):
        polled = {s.url for s in await store.sources.listed() if s.last_success_at is not None}
        if polled >= set(urls):
            return
        if bot.returncode is not None:
            raise RuntimeError(f"the bot exited:\n{bot.tail()}")
        await asyncio.sleep(0.1)
    raise TimeoutError("the bot never polled every feed")


def _up_to_date(standin: BotApiStandIn, chats: frozenset[int], names: set[str]) -> int:
    """How many chats have an alert that, as it stands now, names all the story's other sources."""
    wanted = f"+{len(names) - 1} sources: "
    return len(
        {
            event.chat_id
            for event in standin.world.events(EventKind.SENT)
            if event.chat_id in chats
            and event.message_id is not None
            and wanted in standin.world.message(event.chat_id, event.message_id).get("text", "")
        }
    )


def _story_delivery(
    standin: BotApiStandIn, chats: frozenset[int], started: float, names: set[str]
) -> dict[str, Any]:
    """Scenario 1's counts from the stand-in's record."""
    sent = [e for e in standin.world.events(EventKind.SENT) if e.chat_id in chats]
    edited = [e for e in standin.world.events(EventKind.EDITED) if e.chat_id in chats]
    sends = Counter(e.chat_id for e in sent)
    edits = Counter(e.chat_id for e in edited)
    times = sorted(e.at for e in [*sent, *edited])
    send_times = sorted(e.at for e in sent)
    figures = request_figures(standin.requests(), chats)
    return {
        "chats_with_one_alert": sum(1 for chat in chats if sends[chat] == 1),
        "chats_missed": sum(1 for chat in chats if sends[chat] == 0),
        "chats_with_more_than_one": sum(1 for chat in chats if sends[chat] > 1),
        "alerts_sent": len(sent),
        "edits": len(edited),
        "edits_per_chat": dict(sorted(Counter(edits[chat] for chat in chats).items())),
        "alerts_naming_every_source": _up_to_date(standin, chats, names),
        "first_alert_s": round(send_times[0] - started, 2) if send_times else None,
        "last_alert_s": round(send_times[-1] - started, 2) if send_times else None,
        "last_message_s": round(times[-1] - started, 2) if times else None,
        "alerts_per_s": pacing(send_times).get("achieved_per_s"),
        **figures,
    }


# ------------------------------------------------------------------------------------------- scenario 2


def _minute(moment: datetime, *, up: bool) -> datetime:
    floor = moment.replace(second=0, microsecond=0)
    return floor + timedelta(minutes=1) if up and floor < moment else floor


async def queue_digests(
    workdir: Path, database: Path, digest_ids: Sequence[str], due: datetime
) -> dict[str, Any]:
    """What the bot's ingest does for new articles (Runtime.ingest), before the bot starts: the archive
    as the silent first load, then the digest stories, matched and grouped, queued for `due`."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        corpus_dir=workdir / "corpus",
        database=database,
        snapshot_dir=workdir / "snapshots",
    )
    library = await asyncio.to_thread(load_configured_library, settings)
    async with await Store.open(database) as store:
        runtime = Runtime(settings=settings, store=store, library=library)
        wanted = set(digest_ids)
        archive = [a.id for a in library.articles if a.id not in wanted]
        await runtime.ingest(library, only=archive)  # the first load: recorded, alerted to nobody

        def match(new_ids: list[str], subscriptions: list[Subscription]) -> list[tuple[int, str, str]]:
            positions = [p for p in (library.position(i) for i in new_ids) if p is not None]
            return match_interests(
                [library.articles[p] for p in positions],
                [library.article_topics[p] for p in positions],
                subscriptions,
                doc_freq=library.article_index.doc_freq,
            )

        def assign(new_ids: list[str]) -> list[StoryRecord]:
            return runtime.assign_stories(library, new_ids)

        # Queued at least a second before the due minute, so that minute is the next one due.
        queued_at = min(datetime.now(UTC), due - timedelta(seconds=1))
        started = time.perf_counter()
        result = await store.ingest_articles(list(digest_ids), match, queued_at, assign=assign)
        seconds = time.perf_counter() - started
        return {
            "rows": result.alerts_created,
            "ingest_s": round(seconds, 2),
            "queued_at": queued_at.isoformat(),
        }


async def digests(plan: Plan, workdir: Path) -> dict[str, Any]:
    """Scenario 2: every chat's digest, due at one minute, arrives once, paced."""
    now = datetime.now(UTC)
    corpus = workdir / "corpus"
    write_archive(corpus, plan.archive, now)
    bulletins = tide_bulletins(plan.bulletins) if plan.heavy_every else []
    stories = [*RAIL_STORIES, *bulletins]
    for hours, report in enumerate(stories):
        write_markdown(corpus, report, now - timedelta(hours=6) + timedelta(minutes=hours))
    (workdir / "db").mkdir(parents=True, exist_ok=True)
    database = workdir / "db" / "newsbot.sqlite3"
    (workdir / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    chats = chats_of(plan)
    heavy = [chat for chat in chats if is_heavy(plan, chat)]
    out: dict[str, Any] = {"chats": plan.chats, "heavy_chats": len(heavy)}
    touched = await seed_chats(database, chats)
    if plan.digest_lead is None:
        due = _minute(datetime.now(UTC), up=False)
    else:
        # Subscribing takes about as long as registering did; then the bot starts (a few seconds).
        due = _minute(datetime.now(UTC) + timedelta(seconds=touched * 2 + plan.digest_lead), up=True)
    schedule = f"daily {due:%H:%M}"  # the chats' time zone is UTC (none set)
    subscribed = await subscribe(database, chats, RAIL_TOPIC, "Rail", schedule)
    subscribed += await subscribe(database, heavy, TIDES_TOPIC, "Tide bulletins", schedule)
    out["setup_s"] = round(touched + subscribed, 2)
    out["schedule"] = schedule
    out["due_at"] = due.isoformat()
    out["queued"] = await queue_digests(workdir, database, [r.slug for r in stories], due)
    standin = BotApiStandIn(TOKEN, request_log_size=plan.chats * 4 + 20_000)
    await standin.start()
    for chat in chats:
        standin.scenario.add_private_chat(chat, f"Reader {chat}")
    wanted = frozenset(chats)
    bot = await BotProcess.start(env_for(standin, workdir, plan), workdir, workdir / "bot-digests.log")
    try:
        out["startup_s"] = round(await bot.wait_polling(standin, plan.startup_timeout), 2)
        due_clock = standin.clock() + (due - datetime.now(UTC)).total_seconds()
        out["bot_ready_before_due_s"] = round(due_clock - standin.clock(), 2)
        async with await Store.open(database) as store:
            # A row is marked sent only once Telegram took its message: nothing pending, all arrived.
            async def settled() -> bool:
                return standin.clock() > due_clock and (await store.alert_counts())["pending"] == 0

            deadline = max(due_clock, standin.clock()) + plan.chats / plan.send_rate * 3 + 240
            out["finished"] = await wait_quiet(standin, plan, settled, deadline, bot)
            out["outbox"] = dict(await store.alert_counts())
            rows = {chat: await store.chat_alerts(chat) for chat in chats}
    finally:
        out["exit_code"] = await bot.stop()
        await standin.stop()
    out.update(_digest_delivery(standin, wanted, rows, {r.slug: r for r in stories}, due_clock, heavy))
    return out


def _digest_delivery(
    standin: BotApiStandIn,
    chats: frozenset[int],
    rows: dict[int, list[Any]],
    stories: dict[str, Report],
    due_clock: float,
    heavy: Sequence[int],
) -> dict[str, Any]:
    """Scenario 2's counts: each queued story once in its chat's messages, and how many messages."""
    sent = [e for e in standin.world.events(EventKind.SENT) if e.chat_id in chats]
    texts: dict[int, list[str]] = {}
    for event in sent:
        assert event.chat_id is not None
        texts.setdefault(event.chat_id, []).append(event.text or "")
    lost = doubled = queued = with_sources = 0
    for chat, queued_rows in rows.items():
        shown = texts.get(chat, [])
        for row in queued_rows:
            queued += 1
            title = stories[row.article_id].title
            found = sum(text.count(title) for text in shown)
            lost += found == 0
            doubled += found > 1
        with_sources += any("+1 source: " in text for text in shown)
    messages = Counter(len(texts.get(chat, [])) for chat in chats)
    heavy_set = set(heavy)
    light = [chat for chat in chats if chat not in heavy_set]
    parts = Counter(len(texts.get(chat, [])) for chat in heavy)
    part_lengths = [len(text) for chat in heavy for text in texts.get(chat, [])]
    send_times = sorted(e.at for e in sent)
    return {
        "stories_queued": queued,
        "stories_lost": lost,
        "stories_doubled": doubled,
        "chats_with_one_message": sum(1 for chat in light if len(texts.get(chat, [])) == 1),
        "light_chats": len(light),
        "messages_per_chat": dict(sorted(messages.items())),
        "heavy_chat_parts": dict(sorted(parts.items())),
        "heavy_part_chars_max": max(part_lengths) if part_lengths else None,
        "digests_naming_the_other_source": with_sources,
        "messages": len(sent),
        "first_message_after_due_s": round(send_times[0] - due_clock, 2) if send_times else None,
        "last_message_after_due_s": round(send_times[-1] - due_clock, 2) if send_times else None,
        "messages_per_s": pacing(send_times).get("achieved_per_s"),
        **request_figures(standin.requests(), chats),
    }


# ------------------------------------------------------------------------------------------- the run


def checks(result: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """Each figure against the issue's target: (figure, measured, target, met)."""
    rate = result["plan"]["send_rate"]
    cap = min(rate + 1, TELEGRAM_PER_SECOND)
    one = result["one_alert_per_story"]
    two = result["digests"]
    rows = [
        (
            "1: chats with exactly one alert",
            f"{one['chats_with_one_alert']:,} / {one['chats']:,}",
            "all",
            one["chats_with_one_alert"] == one["chats"],
        ),
        (
            "1: chats missed / with two or more",
            f"{one['chats_missed']} / {one['chats_with_more_than_one']}",
            "0 / 0",
            one["chats_missed"] == one["chats_with_more_than_one"] == 0,
        ),
        (
            "1: reports in one story",
            f"{len(one['reports_ingested_at_s'])} in {one['stories']}",
            "5 in 1",
            one["stories"] == 1 and len(one["reports_ingested_at_s"]) == len(PORT_REPORTS),
        ),
        (
            "1: alerts naming all 4 other sources at the end",
            f"{one['alerts_naming_every_source']:,}",
            f"{one['chats']:,}",
            one["alerts_naming_every_source"] == one["chats"],
        ),
        (
            "1: busiest second (sends + edits)",
            str(one["max_requests_in_1s"]),
            f"≤ {cap:g}",
            one["max_requests_in_1s"] <= cap,
        ),
        (
            "1: chats with two requests under 1 s apart",
            str(one["per_chat"]["chats_under_interval"]),
            "0",
            one["per_chat"]["chats_under_interval"] == 0,
        ),
        ("1: 429s from the stand-in", str(one["http_429"]), "0", one["http_429"] == 0),
        (
            "2: stories lost / doubled",
            f"{two['stories_lost']} / {two['stories_doubled']}",
            "0 / 0",
            two["stories_lost"] == two["stories_doubled"] == 0,
        ),
        (
            "2: chats with one digest message",
            f"{two['chats_with_one_message']:,} / {two['light_chats']:,}",
            "all",
            two["chats_with_one_message"] == two["light_chats"],
        ),
        ("2: busiest second", str(two["max_requests_in_1s"]), f"≤ {cap:g}", two["max_requests_in_1s"] <= cap),
        (
            "2: chats with two messages under 1 s apart",
            str(two["per_chat"]["chats_under_interval"]),
            "0",
            two["per_chat"]["chats_under_interval"] == 0,
        ),
        ("2: 429s from the stand-in", str(two["http_429"]), "0", two["http_429"] == 0),
    ]
    return rows


def table(result: dict[str, Any]) -> str:
    """The figures as plain text."""
    one = result["one_alert_per_story"]
    two = result["digests"]
    lines = [
        f"Story delivery ({result['plan']['name']}): {result['plan']['chats']:,} chats, alert rate "
        f"{result['plan']['send_rate']:g}/s, load average {result['machine']['load_before']} → "
        f"{result['machine']['load_after']} on {result['machine']['cpus']} CPUs, {result['seconds']:.0f} s",
        f"1: reports added at {one['reports_added_at_s']} s, ingested at {one['reports_ingested_at_s']} s; "
        f"first alert {one['first_alert_s']} s, last alert {one['last_alert_s']} s, last edit/alert "
        f"{one['last_message_s']} s; {one['alerts_per_s']} alerts/s; edits {one['edits']:,} "
        f"(per chat {one['edits_per_chat']})",
        f"2: due {two['due_at']} (bot ready {two['bot_ready_before_due_s']} s before); first digest "
        f"{two['first_message_after_due_s']} s after, last {two['last_message_after_due_s']} s after; "
        f"{two['messages']:,} messages, {two['messages_per_s']}/s; heavy chats' parts "
        f"{two['heavy_chat_parts']}",
    ]
    rows = [(name, value, target, "ok" if ok else "MISSED") for name, value, target, ok in result["checks"]]
    headers = ("figure", "measured", "target", "")
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(4)]
    for row in [headers, *rows]:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


async def run_plan(plan: Plan, workdir: Path) -> dict[str, Any]:
    """Both scenarios of `plan` in workdir; returns the figures."""
    started = time.perf_counter()
    load_before = round(os.getloadavg()[0], 2)
    if plan.together:  # a failing scenario cancels the other, whose bot is then stopped too
        polling = asyncio.Event()
        async with asyncio.TaskGroup() as group:
            first = group.create_task(one_alert_per_story(plan, workdir / "stories", polling))
            await polling.wait()  # two bots starting at once would slow both down
            second = group.create_task(digests(plan, workdir / "digests"))
        one, two = first.result(), second.result()
    else:
        one = await one_alert_per_story(plan, workdir / "stories")
        two = await digests(plan, workdir / "digests")
    result: dict[str, Any] = {
        "plan": asdict(plan),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "one_alert_per_story": one,
        "digests": two,
        "machine": {
            "cpus": os.cpu_count(),
            "load_before": load_before,
            "load_after": round(os.getloadavg()[0], 2),
            "python": sys.version.split()[0],
        },
        "seconds": round(time.perf_counter() - started, 1),
    }
    result["checks"] = [list(row) for row in checks(result)]
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """python -m bench.story_delivery [--quick] [--chats N] [--json PATH]."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.story_delivery", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK.chats} chats instead of {FULL.chats:,}")
    parser.add_argument("--chats", type=int, metavar="N", help="how many chats (overrides --quick's)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the figures here instead")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.chats:
        plan = replace(plan, chats=args.chats)
    with tempfile.TemporaryDirectory(prefix="newsbot-story-delivery-") as directory:
        result = asyncio.run(run_plan(plan, Path(directory)))
    target = args.json or RESULTS / f"story-delivery{'-quick' if plan is QUICK else ''}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(table(result))
    print(f"\nfigures written to {target}")
    return 0 if all(row[3] for row in result["checks"]) else 1


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        raise SystemExit(main())
