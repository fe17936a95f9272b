"""End-to-end figures (issue #5): `newsbot run` in its own process against the Bot API stand-in on 127.0.0.1.

Answer throughput and latency (update handed out by getUpdates → sendMessage received), alert fan-out time
and delivery pacing, and the bot's memory, on a seeded synthetic corpus (bench/e2e_corpus.py).
Run: python -m bench.e2e [--quick] [--json PATH]; bench/__main__.py calls run_e2e(quick).
Never talks to any address but 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from itertools import cycle
from pathlib import Path
from typing import Any

import numpy as np

from bench.e2e_corpus import (
    ALERT_ALIAS,
    ALERT_TOPIC,
    DEFAULT_DATA,
    CorpusSpec,
    article_id,
    load_vocabulary,
    questions,
    write_alert_article,
    write_corpus,
)
from bot.core.corpus import load_file
from bot.core.interests import Subscription, SubscriptionKind, match_interests
from bot.core.topics import TopicMatcher, load_topics
from bot.localbot import BotProcess
from bot.standin import BotApiStandIn, Event, EventKind
from bot.standin.protocol import JsonDict
from bot.store import Store

TOKEN = "555000111:E2E-benchmark-token-AAAAAAAAAAAAAAA"
RESULTS = Path(__file__).resolve().parent / "results"
FIRST_USER = 10_001  # private chats asking questions
FIRST_SUBSCRIBER = 3_000_001  # private chats subscribed to the alert topic
ALERT_LABEL = "Benchmark alerts"
TARGETS = {
    "p50_ms": 15.0,
    "p99_ms": 50.0,
    "answers_per_s": 90.0,
    "fanout_s": 1.0,
    "rate_tolerance": 0.05,
    "rss_mb": 1024.0,
}


@dataclass(frozen=True, slots=True)
class Plan:
    """What one run measures and how big it is."""

    name: str
    articles: int
    users: int = 200
    open_rates: tuple[float, ...] = (90.0,)
    open_seconds: float = 20.0
    closed_seconds: float = 15.0
    fanout_chats: int = 10_000
    delivery_window: int = 1_000  # deliveries timed before the bot is stopped (the rest stay pending)
    send_rate: float = 25.0
    fanout_repeats: int = 3
    question_count: int = 20_000
    startup_timeout: float = 900.0
    seed: int = 5


FULL = Plan("full", articles=100_000, open_rates=(30.0, 60.0, 90.0))
QUICK = Plan(
    "quick",
    articles=10_000,
    open_seconds=10.0,
    closed_seconds=6.0,
    fanout_chats=2_000,
    delivery_window=600,
    send_rate=30.0,
    fanout_repeats=2,
    question_count=5_000,
)


# ------------------------------------------------------------------------------------------- the stand-in


@dataclass(frozen=True, slots=True)
class Answer:
    """One question and the bot's reply, on the stand-in's clock (seconds, monotonic)."""

    update_id: int
    chat_id: int
    asked_at: float
    answered_at: float
    text: str


class AnswerTracker:
    """Pairs each question update with the bot's next message in that chat (first in, first answered)."""

    def __init__(self, standin: BotApiStandIn, chats: Sequence[int]) -> None:
        self._chats = frozenset(chats)
        # When getUpdates first handed each update to the bot (the stand-in's public hook): its receive time.
        self.handed_out: dict[int, float] = {}
        self._stop_timing = standin.updates.on_handed_out(self._handed_out)
        self.pending: dict[int, deque[tuple[int, float]]] = {chat: deque() for chat in chats}
        self.outstanding = 0
        self._settled = asyncio.Event()
        self._settled.set()
        self.answers: list[Answer] = []
        self.on_answer: Callable[[int], None] | None = None
        self._unsubscribe = standin.world.subscribe(self._event)

    def close(self) -> None:
        """Stop listening to the stand-in."""
        self._unsubscribe()
        self._stop_timing()

    def _handed_out(self, updates: Sequence[JsonDict], at: float) -> None:
        for update in updates:
            self.handed_out.setdefault(int(update["update_id"]), at)

    def _event(self, event: Event) -> None:
        if event.chat_id not in self._chats:
            return
        if event.kind is EventKind.UPDATE:
            self.pending[event.chat_id].append((int(event.data["update_id"]), event.at))
            self.outstanding += 1
            self._settled.clear()
        elif event.kind is EventKind.SENT and self.pending[event.chat_id]:
            update_id, asked_at = self.pending[event.chat_id].popleft()
            self.outstanding -= 1
            if not self.outstanding:
                self._settled.set()
            self.answers.append(Answer(update_id, event.chat_id, asked_at, event.at, event.text or ""))
            if self.on_answer is not None:
                self.on_answer(event.chat_id)

    async def drain(self, timeout: float) -> None:  # noqa: ASYNC109 - a plain deadline is the clearest here
        """Wait until every question asked so far has its answer, or `timeout` seconds pass."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._settled.wait(), timeout)


# ------------------------------------------------------------------------------------------- the bot process


def read_memory(pid: int) -> dict[str, float]:
    """Resident memory now and at its peak (VmRSS, VmHWM) of a process, in MB."""
    values: dict[str, float] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values["rss_mb" if key == "VmRSS" else "hwm_mb"] = round(int(rest.split()[0]) / 1024, 1)
    return values


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU time a process (None: this one, i.e. the stand-in) has used so far."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    # After the ")" closing the command name, utime and stime are the 12th and 13th fields.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bot_env(standin: BotApiStandIn, workdir: Path, send_rate: float) -> dict[str, str]:
    """The bot's environment: the stand-in's URL, the benchmark corpus, quiet logs, no question limit."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEWSBOT_")}
    env.update(
        NEWSBOT_TELEGRAM_TOKEN=TOKEN,
        NEWSBOT_TELEGRAM_BASE_URL=standin.base_url,
        NEWSBOT_CORPUS_DIR=str(workdir / "corpus"),
        NEWSBOT_DATABASE=str(workdir / "db" / "newsbot.sqlite3"),
        NEWSBOT_SNAPSHOT_DIR=str(workdir / "snapshots"),
        NEWSBOT_LOG_LEVEL="WARNING",
        NEWSBOT_CORPUS_POLL_SECONDS="0",
        NEWSBOT_QUESTIONS_PER_MINUTE="1000000",
        NEWSBOT_PUSH_DEFAULT="false",
        NEWSBOT_SEND_RATE=f"{send_rate:g}",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    return env


# ------------------------------------------------------------------------------------------- answers


def _percentiles(values_ms: Sequence[float]) -> dict[str, float | None]:
    if not values_ms:
        return {"p50": None, "p90": None, "p99": None, "max": None, "mean": None}
    array = np.asarray(values_ms, dtype=np.float64)
    p50, p90, p99 = np.percentile(array, [50, 90, 99])
    return {
        "p50": round(float(p50), 2),
        "p90": round(float(p90), 2),
        "p99": round(float(p99), 2),
        "max": round(float(array.max()), 2),
        "mean": round(float(array.mean()), 2),
    }


def summarise(
    answers: Sequence[Answer],
    handed_out: dict[int, float],
    asked: int,
    seconds: float,
    cpu: tuple[float, float],
) -> dict[str, Any]:
    """Latency percentiles, throughput and what the replies were, for one phase."""
    received = [
        (answer.answered_at - handed_out[answer.update_id]) * 1000
        for answer in answers
        if answer.update_id in handed_out
    ]
    waited = [
        (handed_out[answer.update_id] - answer.asked_at) * 1000
        for answer in answers
        if answer.update_id in handed_out
    ]
    results = sum(1 for answer in answers if answer.text.startswith("Result"))
    no_match = sum(1 for answer in answers if answer.text.startswith("Nothing in the archive"))
    return {
        "questions": asked,
        "answered": len(answers),
        "unanswered": asked - len(answers),
        "with_results": results,
        "no_match": no_match,
        "other_replies": len(answers) - results - no_match,
        "seconds": round(seconds, 2),
        "answers_per_s": round(len(answers) / seconds, 1) if seconds > 0 else None,
        "latency_ms": _percentiles(received),
        "update_wait_ms": _percentiles(waited),
        "bot_cpu_ms_per_answer": round(cpu[0] * 1000 / len(answers), 2) if answers else None,
        "standin_cpu_ms_per_answer": round(cpu[1] * 1000 / len(answers), 2) if answers else None,
    }


async def open_loop(
    standin: BotApiStandIn,
    tracker: AnswerTracker,
    users: Sequence[int],
    texts: Iterator[str],
    rate: float,
    seconds: float,
    pid: int,
) -> dict[str, Any]:
    """Questions at a fixed offered rate, whatever the bot's pace (open loop): latency at that load."""
    first = len(tracker.answers)
    cpu_before = cpu_seconds(pid), cpu_seconds()
    total = max(1, round(rate * seconds))
    start = standin.clock()
    for number in range(total):
        delay = start + number / rate - standin.clock()
        if delay > 0:
            await asyncio.sleep(delay)
        chat = users[number % len(users)]
        standin.scenario.send_user_message(chat, chat, next(texts))
    offered_seconds = standin.clock() - start
    await tracker.drain(timeout=30.0)
    answers = tracker.answers[first:]
    span = max(answer.answered_at for answer in answers) - start if answers else offered_seconds
    cpu = cpu_seconds(pid) - cpu_before[0], cpu_seconds() - cpu_before[1]
    phase = summarise(answers, tracker.handed_out, total, span, cpu)
    phase["offered_per_s"] = round(total / offered_seconds, 1) if offered_seconds > 0 else rate
    return phase


async def closed_loop(
    standin: BotApiStandIn,
    tracker: AnswerTracker,
    users: Sequence[int],
    texts: Iterator[str],
    seconds: float,
    pid: int,
) -> dict[str, Any]:
    """Every user asks again the moment an answer arrives (closed loop): the most the bot can answer."""
    loop = asyncio.get_running_loop()
    asked = 0
    running = True

    def ask(chat: int) -> None:
        nonlocal asked
        if running:
            asked += 1
            standin.scenario.send_user_message(chat, chat, next(texts))

    def ask_soon(chat: int) -> None:
        # The answer callback runs inside the stand-in's request handling: ask once that is done.
        loop.call_soon(ask, chat)

    tracker.on_answer = ask_soon
    first = len(tracker.answers)
    cpu_before = cpu_seconds(pid), cpu_seconds()
    start = standin.clock()
    try:
        for chat in users:
            ask(chat)
        await asyncio.sleep(seconds)
    finally:
        running = False
        tracker.on_answer = None
    end = standin.clock()
    cpu = cpu_seconds(pid) - cpu_before[0], cpu_seconds() - cpu_before[1]
    await tracker.drain(timeout=30.0)
    within = [answer for answer in tracker.answers[first:] if answer.answered_at <= end]
    phase = summarise(within, tracker.handed_out, len(within), end - start, cpu)
    phase["concurrent_users"] = len(users)
    phase["asked_in_window"] = asked
    return phase


async def answers_phase(
    plan: Plan, standin: BotApiStandIn, workdir: Path, texts: Iterator[str]
) -> dict[str, Any]:
    """Start the bot; measure its memory, answer latency (open loop) and throughput (closed loop)."""
    users = list(range(FIRST_USER, FIRST_USER + plan.users))
    for user in users:
        standin.scenario.add_private_chat(user, f"Reader {user}")
    env = bot_env(standin, workdir, plan.send_rate)
    bot = await BotProcess.start(env, workdir, workdir / "bot-answers.log")
    out: dict[str, Any] = {}
    tracker = AnswerTracker(standin, users)
    try:
        out["startup_s"] = round(await bot.wait_polling(standin, plan.startup_timeout), 2)
        out["memory_idle"] = read_memory(bot.pid)
        # Warm-up: every chat asks once (first contact writes its chat row); not counted.
        for user in users:
            standin.scenario.send_user_message(user, user, next(texts))
        await tracker.drain(timeout=60.0)
        out["warmup_unanswered"] = tracker.outstanding
        out["open_loop"] = [
            await open_loop(standin, tracker, users, texts, rate, plan.open_seconds, bot.pid)
            for rate in plan.open_rates
        ]
        out["closed_loop"] = await closed_loop(standin, tracker, users, texts, plan.closed_seconds, bot.pid)
        out["memory_after"] = read_memory(bot.pid)
    finally:
        tracker.close()
        out["exit_code"] = await bot.stop()
    return out


# ------------------------------------------------------------------------------------------- alerts


async def subscribe_readers(database: Path, chats: Sequence[int]) -> float:
    """Register `chats` as private chats subscribed to the alert topic; returns the seconds it took."""
    started = time.perf_counter()
    async with await Store.open(database) as store:
        for chat in chats:
            await store.touch_chat(chat, "private", f"Reader {chat}")
            await store.subscribe(chat, SubscriptionKind.TOPIC, ALERT_TOPIC, ALERT_LABEL)
    return time.perf_counter() - started


def _copy_database(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        path = source.with_name(source.name + suffix)
        if path.exists():
            shutil.copyfile(path, target.with_name(target.name + suffix))


async def time_fanout(
    database: Path, workdir: Path, corpus_ids: Sequence[str], alert_file: Path, repeats: int
) -> dict[str, Any]:
    """Runtime.ingest's work for one new article (matching + outbox insertion), on copies of the database."""
    corpus_dir = alert_file.parent
    [article] = load_file(alert_file, corpus_dir).articles
    topics, _ = load_topics(corpus_dir / "topics.yaml")
    # The library computes article topics at load time, so (as in Runtime.ingest) that is not timed.
    article_topics = TopicMatcher(topics).topics_of(article)
    ids = [*corpus_ids, article.id]

    def match(new_ids: list[str], subscriptions: list[Subscription]) -> list[tuple[int, str, str]]:
        chosen = [article] if article.id in new_ids else []
        return match_interests(chosen, [article_topics] * len(chosen), subscriptions)

    runs: list[float] = []
    created = 0
    for number in range(repeats):
        copy = workdir / "fanout" / f"copy-{number}.sqlite3"
        _copy_database(database, copy)
        async with await Store.open(copy) as store:
            started = time.perf_counter()
            result = await store.ingest_articles(ids, match)
            runs.append(time.perf_counter() - started)
        created = result.alerts_created
    return {
        "subscribers": created,
        "seconds_runs": [round(seconds, 4) for seconds in runs],
        "seconds": round(float(np.median(runs)), 4),
    }


def pacing(times: Sequence[float]) -> dict[str, Any]:
    """Achieved rate over a run of send times, and the most sends inside any one-second window."""
    if len(times) < 2:
        return {"achieved_per_s": None, "max_in_1s": len(times)}
    ordered = sorted(times)
    busiest = 0
    left = 0
    for right, moment in enumerate(ordered):
        while moment - ordered[left] >= 1.0:
            left += 1
        busiest = max(busiest, right - left + 1)
    return {
        "achieved_per_s": round((len(ordered) - 1) / (ordered[-1] - ordered[0]), 2),
        "max_in_1s": busiest,
        "seconds": round(ordered[-1] - ordered[0], 2),
    }


async def alerts_phase(plan: Plan, standin: BotApiStandIn, workdir: Path) -> dict[str, Any]:
    """Fan one new article out to plan.fanout_chats subscribers; time the fan-out, then watch the delivery."""
    database = workdir / "db" / "newsbot.sqlite3"
    chats = list(range(FIRST_SUBSCRIBER, FIRST_SUBSCRIBER + plan.fanout_chats))
    for chat in chats:
        standin.scenario.add_private_chat(chat, f"Reader {chat}")
    out: dict[str, Any] = {"subscribers": plan.fanout_chats}
    out["setup_s"] = round(await subscribe_readers(database, chats), 2)
    alert_file = workdir / "corpus" / "zz-alert-000.jsonl"
    alert_id = write_alert_article(workdir / "corpus")
    corpus_ids = [article_id(number) for number in range(plan.articles)]
    out["fanout"] = await time_fanout(database, workdir, corpus_ids, alert_file, plan.fanout_repeats)

    window = min(plan.delivery_window, plan.fanout_chats)
    wanted = frozenset(chats)
    deliveries: list[tuple[int, float, str]] = []
    enough = asyncio.Event()

    def on_event(event: Event) -> None:
        if event.kind is EventKind.SENT and event.chat_id in wanted:
            deliveries.append((event.chat_id, event.at, event.text or ""))
            if len(deliveries) >= window:
                enough.set()

    unsubscribe = standin.world.subscribe(on_event)
    bot = await BotProcess.start(
        bot_env(standin, workdir, plan.send_rate), workdir, workdir / "bot-alerts.log"
    )
    try:
        out["startup_s"] = round(await bot.wait_polling(standin, plan.startup_timeout), 2)
        # Generous: pacing should take window / rate seconds; a stall shows up as a short window.
        limit = window / plan.send_rate * 3 + 60
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(enough.wait(), limit)
        out["memory"] = read_memory(bot.pid)
    finally:
        out["exit_code"] = await bot.stop()
        unsubscribe()
    async with await Store.open(database) as store:
        counts = await store.alert_counts()
    timed = [at for _, at, _ in deliveries[:window]]
    per_chat: dict[int, int] = {}
    for chat, _, _ in deliveries:
        per_chat[chat] = per_chat.get(chat, 0) + 1
    queued = sum(counts.values())
    accounted = counts.get("sent", 0) + counts.get("pending", 0)
    out["delivery"] = {
        "configured_per_s": plan.send_rate,
        "window": window,
        **pacing(timed),
        "first_alert_after_spawn_s": round(timed[0] - bot.started, 2) if timed else None,
        "expected": plan.fanout_chats,
        "queued": queued,
        "delivered": len(per_chat),
        "duplicates": sum(count - 1 for count in per_chat.values()),
        "wrong_text": sum(1 for _, _, text in deliveries if ALERT_ALIAS not in text),
        "sent_in_db": counts.get("sent", 0),
        "pending_in_db": counts.get("pending", 0),
        "failed_in_db": counts.get("failed", 0),
        # An alert is lost if it was neither delivered nor is still waiting in the outbox.
        "lost": plan.fanout_chats - accounted,
        "delivered_not_marked": len(per_chat) - counts.get("sent", 0),
    }
    out["article_id"] = alert_id
    return out


# ------------------------------------------------------------------------------------------- the run


@dataclass
class Checks:
    """Each figure against its target, for the table and the JSON."""

    rows: list[tuple[str, str, str, bool | None]] = field(default_factory=list)

    def add(self, name: str, value: object, target: str, ok: bool | None) -> None:
        """One row: figure, measured value, target, whether it met the target (None: no target)."""
        self.rows.append((name, "–" if value is None else str(value), target, ok))


def check_targets(result: dict[str, Any]) -> Checks:
    """Compare the measured figures with issue #5's targets."""
    checks = Checks()
    answers = result["answers"]
    for phase in answers["open_loop"]:
        latency = phase["latency_ms"]
        label = f"open loop {phase['offered_per_s']:g}/s"
        checks.add(f"{label}: p50 ms", latency["p50"], "≤ 15", _le(latency["p50"], TARGETS["p50_ms"]))
        checks.add(f"{label}: p99 ms", latency["p99"], "≤ 50", _le(latency["p99"], TARGETS["p99_ms"]))
        checks.add(
            f"{label}: answered", f"{phase['answered']}/{phase['questions']}", "all", phase["unanswered"] == 0
        )
    closed = answers["closed_loop"]
    checks.add(
        "closed loop: answers/s",
        closed["answers_per_s"],
        "≥ 90",
        _ge(closed["answers_per_s"], TARGETS["answers_per_s"]),
    )
    checks.add(
        "closed loop: p50/p99 ms",
        f"{closed['latency_ms']['p50']}/{closed['latency_ms']['p99']}",
        "(queueing)",
        None,
    )
    checks.add("bot start-up s", answers["startup_s"], "", None)
    peak = max(
        answers["memory_after"].get("hwm_mb", 0.0), result["alerts"].get("memory", {}).get("hwm_mb", 0.0)
    )
    checks.add(
        "bot RSS after load MB",
        answers["memory_idle"].get("rss_mb"),
        "≤ 1024",
        _le(answers["memory_idle"].get("rss_mb"), TARGETS["rss_mb"]),
    )
    checks.add("bot peak RSS (VmHWM) MB", peak, "≤ 1024", _le(peak, TARGETS["rss_mb"]))
    alerts = result["alerts"]
    fanout = alerts["fanout"]
    runs = "/".join(f"{seconds:g}" for seconds in fanout["seconds_runs"])
    checks.add(
        f"fan-out to {fanout['subscribers']:,} chats s (median; runs)",
        f"{fanout['seconds']:g} ({runs})",
        "≤ 1",
        _le(fanout["seconds"], TARGETS["fanout_s"]),
    )
    delivery = alerts["delivery"]
    rate = delivery["achieved_per_s"]
    configured = delivery["configured_per_s"]
    within = rate is not None and abs(rate - configured) <= configured * TARGETS["rate_tolerance"]
    checks.add(f"alert rate over {delivery['window']:,} sends /s", rate, f"{configured:g} ± 5 %", within)
    checks.add(
        "alerts in busiest second",
        delivery["max_in_1s"],
        f"≤ {configured + 1:g}",
        delivery["max_in_1s"] <= configured + 1,
    )
    checks.add(
        "alerts lost / duplicated",
        f"{delivery['lost']} / {delivery['duplicates']}",
        "0 / 0",
        delivery["lost"] == 0 and delivery["duplicates"] == 0,
    )
    return checks


def _le(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def _ge(value: float | None, limit: float) -> bool | None:
    return None if value is None else value >= limit


def table(result: dict[str, Any]) -> str:
    """The figures as a plain-text table."""
    rows = [
        (name, value, target, "" if ok is None else ("ok" if ok else "MISSED"))
        for name, value, target, ok in (tuple(row) for row in result["checks"])
    ]
    headers = ("figure", "measured", "target", "")
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(4)]
    lines = [
        f"End-to-end benchmark ({result['plan']['name']}): {result['corpus']['articles']:,} articles, "
        f"{result['corpus']['passages']:,} passages, load average {result['machine']['load_before']} → "
        f"{result['machine']['load_after']} on {result['machine']['cpus']} CPUs"
    ]
    for row in [headers, *rows]:
        lines.append(
            "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return "\n".join(lines)


async def run_plan(plan: Plan, workdir: Path, data: Path = DEFAULT_DATA) -> dict[str, Any]:
    """Run every measurement of `plan` in workdir (corpus, database, logs); returns the figures."""
    started = time.perf_counter()
    load_before = round(os.getloadavg()[0], 2)
    generating = time.perf_counter()
    vocabulary = load_vocabulary(data)
    corpus_dir = workdir / "corpus"
    passages = write_corpus(corpus_dir, CorpusSpec(plan.articles, seed=plan.seed), vocabulary)
    texts = cycle(questions(corpus_dir, plan.question_count, seed=plan.seed + 6))
    generated = time.perf_counter() - generating
    (workdir / "db").mkdir(parents=True, exist_ok=True)
    standin = BotApiStandIn(TOKEN, request_log_size=1_000)
    await standin.start()  # 127.0.0.1, a free port
    try:
        answers = await answers_phase(plan, standin, workdir, texts)
        alerts = await alerts_phase(plan, standin, workdir)
    finally:
        await standin.stop()
    result: dict[str, Any] = {
        "plan": asdict(plan),
        "corpus": {
            "articles": plan.articles,
            "passages": passages,
            "generate_s": round(generated, 2),
        },
        "answers": answers,
        "alerts": alerts,
        "machine": {
            "cpus": os.cpu_count(),
            "load_before": load_before,
            "load_after": round(os.getloadavg()[0], 2),
            "python": sys.version.split()[0],
        },
        "latency_definition": (
            "latency_ms: from the moment the stand-in's getUpdates answer carried the update to the moment "
            "the bot's sendMessage reached the stand-in (one clock, one process). update_wait_ms: from the "
            "user's message to that getUpdates answer (the bot's long-poll turnaround)."
        ),
        "seconds": 0.0,
    }
    result["checks"] = [list(row) for row in check_targets(result).rows]
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def run_e2e(quick: bool, json_path: Path | None = None, plan: Plan | None = None) -> dict[str, Any]:
    """Run the benchmark (QUICK or FULL) in a temporary directory, write the figures as JSON, return them.

    The JSON goes to json_path, or bench/results/e2e.json (e2e-quick.json for the quick run).
    """
    chosen = plan or (QUICK if quick else FULL)
    with tempfile.TemporaryDirectory(prefix="newsbot-e2e-") as directory:
        result = asyncio.run(run_plan(chosen, Path(directory)))
    target = json_path or RESULTS / f"e2e{'-quick' if quick else ''}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    result["json_path"] = str(target)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """python -m bench.e2e [--quick] [--json PATH] [--articles N]."""
    parser = argparse.ArgumentParser(prog="python -m bench.e2e", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller corpus and fewer chats (~60 s)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the figures here instead")
    parser.add_argument("--articles", type=int, metavar="N", help="override the corpus size")
    args = parser.parse_args(argv)
    if not DEFAULT_DATA.exists():
        print(f"bench.e2e: the BBC News data is missing: {DEFAULT_DATA}", file=sys.stderr)
        return 2
    plan = QUICK if args.quick else FULL
    if args.articles:
        plan = replace(plan, articles=args.articles)
    result = run_e2e(args.quick, args.json, plan)
    print(table(result))
    print(f"\nfigures written to {result['json_path']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
