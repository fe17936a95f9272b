"""Hostile users (issue #11): do five users flooding the bot with long messages slow everyone else down?

`newsbot run` in its own process against the Bot API stand-in on 127.0.0.1, over a seeded synthetic
corpus (bench/e2e_corpus.py). Ordinary readers ask questions in private chats at a steady pace; the
figure is their answer latency (getUpdates handing a question out → the answer's sendMessage reaching
the stand-in), first alone, then while five hostile users each send ten 4,096-character messages of
common words naming a tracked topic per second, half as private questions and half as group chatter
(where the related-story path reads them). The bot runs with its default limits.
Run: python -m bench.hostile [--quick] [--articles N] [--seconds S] [--json PATH].
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from itertools import cycle
from pathlib import Path
from typing import Any

import numpy as np

from bench.e2e import TOKEN, AnswerTracker, _percentiles, cpu_seconds, read_memory
from bench.e2e_corpus import DEFAULT_DATA, CorpusSpec, Vocabulary, load_vocabulary, questions, write_corpus
from bot.core.topics import TopicMatcher, load_topics
from bot.localbot import BotProcess
from bot.standin import BotApiStandIn

RESULTS = Path(__file__).resolve().parent / "results"
FIRST_READER = 20_001
FIRST_HOSTILE = 40_001
HOSTILE_GROUP = -1_000_777
MESSAGE_CHARS = 4_096  # Telegram's longest message
TARGET_P95_MS = 50.0


@dataclass(frozen=True, slots=True)
class Plan:
    """How big one run is."""

    name: str
    articles: int
    readers: int = 20
    reader_rate: float = 5.0  # questions per second, all readers together
    hostile_users: int = 5
    hostile_rate: float = 10.0  # messages per second per hostile user
    seconds: float = 30.0  # per phase
    startup_timeout: float = 900.0
    seed: int = 7


FULL = Plan("full", articles=100_000)
QUICK = Plan("quick", articles=20_000, seconds=15.0)


def hostile_texts(vocabulary: Vocabulary, count: int, seed: int) -> list[str]:
    """Messages as long as Telegram allows, of the most common body words, each naming a topic."""
    rng = np.random.default_rng(seed)
    common = vocabulary.body_words[:300]
    weights = vocabulary.body_weights[:300] / vocabulary.body_weights[:300].sum()
    topics = ("economy", "football", "election", "software", "music")
    out = []
    for number in range(count):
        words = common[rng.choice(len(common), size=900, p=weights)].tolist()
        out.append(f"{topics[number % len(topics)]} {' '.join(words)}"[:MESSAGE_CHARS])
    return out


def bot_env(standin: BotApiStandIn, workdir: Path) -> dict[str, str]:
    """The bot's environment: the stand-in, the corpus, quiet logs and every limit at its default."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEWSBOT_")}
    env.update(
        NEWSBOT_TELEGRAM_TOKEN=TOKEN,
        NEWSBOT_TELEGRAM_BASE_URL=standin.base_url,
        NEWSBOT_CORPUS_DIR=str(workdir / "corpus"),
        NEWSBOT_DATABASE=str(workdir / "db" / "newsbot.sqlite3"),
        NEWSBOT_SNAPSHOT_DIR=str(workdir / "snapshots"),
        NEWSBOT_LOG_LEVEL="WARNING",
        NEWSBOT_CORPUS_POLL_SECONDS="0",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    return env


async def phase(
    standin: BotApiStandIn,
    tracker: AnswerTracker,
    plan: Plan,
    readers: Sequence[int],
    hostile: Sequence[int],
    asks: Iterator[str],
    floods: Iterator[str],
    pid: int,
) -> dict[str, Any]:
    """Readers ask at plan.reader_rate for plan.seconds while `hostile` users (maybe none) flood."""
    first = len(tracker.answers)
    cpu_before = cpu_seconds(pid), cpu_seconds()
    events: list[tuple[float, int, int]] = []  # (offset s, kind 0 = reader question / 1 = flood, who)
    total = round(plan.reader_rate * plan.seconds)
    events += [(n / plan.reader_rate, 0, readers[n % len(readers)]) for n in range(total)]
    for index, user in enumerate(hostile):
        count = round(plan.hostile_rate * plan.seconds)
        offset = index / (plan.hostile_rate * max(len(hostile), 1))
        events += [(offset + n / plan.hostile_rate, 1, user) for n in range(count)]
    events.sort()
    floods_sent = 0
    start = standin.clock()
    for at, kind, who in events:
        delay = start + at - standin.clock()
        if delay > 0:
            await asyncio.sleep(delay)
        if kind == 0:
            standin.scenario.send_user_message(who, who, next(asks))
        else:
            # Every other message privately (a question), the rest in the group (chatter for pushes).
            chat = who if floods_sent % 2 == 0 else HOSTILE_GROUP
            standin.scenario.send_user_message(chat, who, next(floods))
            floods_sent += 1
    await tracker.drain(timeout=60.0)
    answers = tracker.answers[first:]
    latencies = [
        (answer.answered_at - tracker.handed_out[answer.update_id]) * 1000
        for answer in answers
        if answer.update_id in tracker.handed_out
    ]
    latency = _percentiles(latencies)
    latency["p95"] = round(float(np.percentile(latencies, 95)), 2) if latencies else None
    return {
        "reader_questions": total,
        "answered": len(answers),
        "hostile_messages": floods_sent,
        "latency_ms": latency,
        "bot_cpu_s": round(cpu_seconds(pid) - cpu_before[0], 2),
        # The stand-in and the users it plays run in this process: if it is busy, its clock is late.
        "standin_cpu_s": round(cpu_seconds() - cpu_before[1], 2),
        "seconds": plan.seconds,
    }


async def run_plan(plan: Plan, workdir: Path, data: Path = DEFAULT_DATA) -> dict[str, Any]:
    """Write the corpus, start the bot, measure the quiet phase and the hostile one."""
    started = time.perf_counter()
    vocabulary = load_vocabulary(data)
    corpus_dir = workdir / "corpus"
    passages = write_corpus(corpus_dir, CorpusSpec(plan.articles, seed=plan.seed), vocabulary)
    # Readers' questions that name no tracked topic, so each gets exactly one reply (no push) to time.
    matcher = TopicMatcher(load_topics(corpus_dir / "topics.yaml")[0])
    asks = cycle(q for q in questions(corpus_dir, 5_000, seed=plan.seed + 1) if not matcher.mentions(q))
    floods = cycle(hostile_texts(vocabulary, 200, seed=plan.seed + 2))
    (workdir / "db").mkdir(parents=True, exist_ok=True)
    standin = BotApiStandIn(TOKEN, request_log_size=1_000)
    await standin.start()
    readers = list(range(FIRST_READER, FIRST_READER + plan.readers))
    hostile = list(range(FIRST_HOSTILE, FIRST_HOSTILE + plan.hostile_users))
    for user in readers:
        standin.scenario.add_private_chat(user, f"Reader {user}")
    for user in hostile:
        standin.scenario.add_private_chat(user, f"Hostile {user}")
    standin.scenario.add_group(HOSTILE_GROUP, "Flooded group", supergroup=True, members=hostile)
    out: dict[str, Any] = {"plan": asdict(plan), "corpus": {"articles": plan.articles, "passages": passages}}
    load_before = round(os.getloadavg()[0], 2)
    bot = await BotProcess.start(bot_env(standin, workdir), workdir, workdir / "bot-hostile.log")
    tracker = AnswerTracker(standin, readers)
    try:
        out["startup_s"] = round(await bot.wait_polling(standin, plan.startup_timeout), 2)
        for user in readers:  # warm-up: first contact writes each chat's row; not counted
            standin.scenario.send_user_message(user, user, next(asks))
        await tracker.drain(timeout=60.0)
        out["quiet"] = await phase(standin, tracker, plan, readers, [], asks, floods, bot.pid)
        out["hostile"] = await phase(standin, tracker, plan, readers, hostile, asks, floods, bot.pid)
        out["memory"] = read_memory(bot.pid)
    finally:
        tracker.close()
        out["exit_code"] = await bot.stop()
        await standin.stop()
    out["machine"] = {
        "cpus": os.cpu_count(),
        "load_before": load_before,
        "load_after": round(os.getloadavg()[0], 2),
        "python": sys.version.split()[0],
    }
    p95 = out["hostile"]["latency_ms"]["p95"]
    out["target"] = {"others_p95_ms": TARGET_P95_MS, "met": p95 is not None and p95 <= TARGET_P95_MS}
    out["seconds"] = round(time.perf_counter() - started, 1)
    return out


def table(result: dict[str, Any]) -> str:
    """The two phases side by side."""
    plan = result["plan"]
    lines = [
        f"Hostile users ({plan['name']}): {result['corpus']['articles']:,} articles; "
        f"{plan['readers']} readers asking {plan['reader_rate']:g}/s; "
        f"{plan['hostile_users']} hostile users × {plan['hostile_rate']:g} "
        f"messages/s of {MESSAGE_CHARS:,} characters; {plan['seconds']:g} s per phase; load "
        f"{result['machine']['load_before']} → {result['machine']['load_after']} on "
        f"{result['machine']['cpus']} CPUs",
        f"{'phase':<10} {'answered':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} "
        f"{'bot CPU s':>10} {'stand-in CPU s':>15}",
    ]
    for name in ("quiet", "hostile"):
        phase = result[name]
        latency = phase["latency_ms"]
        lines.append(
            f"{name:<10} {phase['answered']:>4}/{phase['reader_questions']:<4} {latency['p50']!s:>8} "
            f"{latency['p95']!s:>8} {latency['p99']!s:>8} {latency['max']!s:>8} {phase['bot_cpu_s']:>10} "
            f"{phase['standin_cpu_s']:>15}"
        )
    met = "met" if result["target"]["met"] else "MISSED"
    lines.append(f"target: readers' p95 ≤ {TARGET_P95_MS:g} ms with the hostile users: {met}")
    return "\n".join(lines)


def run_hostile(plan: Plan, json_path: Path | None = None) -> dict[str, Any]:
    """Run one plan in a temporary directory; write the figures as JSON and return them."""
    with tempfile.TemporaryDirectory(prefix="newsbot-hostile-") as directory:
        result = asyncio.run(run_plan(plan, Path(directory)))
    target = json_path or RESULTS / f"hostile-{plan.name}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    result["json_path"] = str(target)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """python -m bench.hostile [--quick] [--articles N] [--seconds S] [--json PATH]."""
    parser = argparse.ArgumentParser(prog="python -m bench.hostile", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 articles, 15 s phases")
    parser.add_argument("--articles", type=int, metavar="N", help="override the corpus size")
    parser.add_argument("--seconds", type=float, metavar="S", help="override the length of each phase")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the figures here instead")
    args = parser.parse_args(argv)
    if not DEFAULT_DATA.exists():
        print(f"bench.hostile: the BBC News data is missing: {DEFAULT_DATA}", file=sys.stderr)
        return 2
    plan = QUICK if args.quick else FULL
    if args.articles:
        plan = replace(plan, articles=args.articles)
    if args.seconds:
        plan = replace(plan, seconds=args.seconds)
    result = run_hostile(plan, args.json)
    print(table(result))
    print(f"\nfigures written to {result['json_path']}")
    return 0 if result["target"]["met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
