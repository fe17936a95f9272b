"""Three replicas on one PostgreSQL database behind a round-robin proxy, against one process: answer
latency, sustained alert delivery against the configured global rate, and failover after a replica dies.

Everything real and on 127.0.0.1: `newsbot run` processes in webhook mode (tests.replica, the same
command with the rate given on its command line), the Bot API stand-in POSTing updates with the secret, a
small aiohttp round-robin proxy (tests.proxy, what nginx does in a deployment), and a scratch PostgreSQL
cluster (bot.store.scratch: initdb in a temporary folder, 127.0.0.1 only, stopped at the end).

- answers: `--questions` questions from as many users, `--qps` a second, each timed on the stand-in's clock
  from the update being queued to the answer arriving; p50/p99 through the proxy and three replicas, and
  for one process on SQLite (the default deployment) and on PostgreSQL, the stand-in posting straight to
  it. Each process answers 20 questions first, not counted (its first searches load compiled code).
- delivery: a fan-out to `--chats` chats with the global rate at `--rate` (25/s, the default setting):
  the rate measured over the fan-out (first to last message), and the most messages in any one second.
- failover: the same fan-out; `--kill-after` seconds in, one replica is SIGKILLed. Its claimed-but-unsent
  alerts are read from the database at once; the time until the first and the last of them reaches the
  stand-in (from another replica) is measured against the lease (`--lease`, NEWSBOT_ALERT_LEASE_SECONDS).

Run: python -m bench.replicas [--questions 600] [--qps 20] [--chats 1500] [--rate 25] [--lease 30]
     [--json PATH]   (--quick: a smaller run, about a minute)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg

from bot.core.interests import SubscriptionKind
from bot.standin import BotApiStandIn, EventKind
from bot.store import Store
from bot.store.scratch import ScratchCluster
from tests.harness import ADMIN, BOT_USERNAME, TOKEN, populate
from tests.replicas import ReplicaSet, claimed_alerts

RESULTS = Path(__file__).resolve().parent / "results"
WARM_UP = 20  # questions per replica before the measured ones
QUESTIONS = ("Sora daily losses", "What did OpenAI release?", "AI standards", "Codex Sites")


def percentile(values: Sequence[float], share: float) -> float:
    """The value below which `share` of them lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


async def answer_latencies(cluster: ReplicaSet, questions: int, qps: float, first_user: int) -> list[float]:
    """Seconds from each question's update being queued to its answer reaching the stand-in (after
    WARM_UP questions per replica, not counted: each process's first searches load the compiled code)."""
    standin = cluster.standin
    warm = range(first_user + questions, first_user + questions + WARM_UP * len(cluster.replicas))
    for user in warm:
        standin.scenario.add_private_chat(user, f"Warm-up {user}")
    mark = standin.world.mark()
    for n, user in enumerate(warm):
        standin.scenario.send_user_message(user, user, QUESTIONS[n % len(QUESTIONS)])
    await standin.wait_for(lambda e: e.chat_id in warm, count=len(warm), after=mark, timeout=600)
    users = range(first_user, first_user + questions)
    for user in users:
        standin.scenario.add_private_chat(user, f"Asker {user}")
    mark = standin.world.mark()
    started = time.perf_counter()
    for n, user in enumerate(users):
        standin.scenario.send_user_message(user, user, QUESTIONS[n % len(QUESTIONS)])
        await asyncio.sleep(max(0.0, started + (n + 1) / qps - time.perf_counter()))
    await standin.wait_for(lambda e: e.chat_id in users, count=questions, after=mark, timeout=600)
    queued = {e.chat_id: e.at for e in standin.world.events(EventKind.UPDATE, after=mark)}
    answered: dict[int | None, float] = {}
    for event in standin.world.events(EventKind.SENT, after=mark):
        answered.setdefault(event.chat_id, event.at)
    return [answered[user] - queued[user] for user in users]


async def subscribe(standin: BotApiStandIn, dsn: str, readers: range) -> None:
    """Private chats, each subscribed to OpenAI, written to the shared database."""
    async with await Store.open(dsn) as store:
        for chat_id in readers:
            standin.scenario.add_private_chat(chat_id, f"Reader {chat_id}")
            await store.touch_chat(chat_id, "private", f"Reader {chat_id}")
            await store.subscribe(chat_id, SubscriptionKind.TOPIC, "openai", "OpenAI")


async def publish(cluster: ReplicaSet, n: int) -> str:
    """A new OpenAI article in the shared corpus and /reload (to whichever replica); its title."""
    title = f"OpenAI benchmark story {n}"
    (cluster.corpus / f"bench-{n}.md").write_text(
        f"---\nid: bench-{n}\ntitle: {title}\ntopics: [openai]\n---\n\nOpenAI benchmark news {n}.\n"
    )
    await cluster.standin.ask(ADMIN, ADMIN, "/reload", timeout=120)
    return title


def send_times(standin: BotApiStandIn, title: str, after: int, readers: range) -> dict[int, float]:
    """When each reader's alert reached the stand-in."""
    return {
        e.chat_id: e.at
        for e in standin.world.events(EventKind.SENT, after=after)
        if e.chat_id is not None and e.chat_id in readers and title in (e.text or "")
    }


async def until_all(standin: BotApiStandIn, title: str, after: int, readers: range, timeout: float) -> None:  # noqa: ASYNC109
    """Wait until every reader has the alert."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(send_times(standin, title, after, readers)) < len(readers):
        if loop.time() > deadline:
            raise TimeoutError(f"{len(send_times(standin, title, after, readers))} of {len(readers)} alerts")
        await asyncio.sleep(0.2)


def busiest_second(times: Sequence[float]) -> int:
    """The most of these moments within any one second."""
    ordered = sorted(times)
    most = first = 0
    for last, at in enumerate(ordered):
        while at - ordered[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every measurement; the figures as a dict."""
    report: dict[str, Any] = {"settings": {k: v for k, v in vars(args).items() if k != "json"}}
    with ScratchCluster.start() as postgres, tempfile.TemporaryDirectory(prefix="newsbot-replicas-") as tmp:
        folder = Path(tmp)
        connection = await asyncpg.connect(postgres.dsn)
        for name in ("single", "answers", "delivery", "failover"):
            await connection.execute(f"CREATE DATABASE {name} TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'")
        await connection.close()

        async def one_process(name: str, database: str, first_user: int) -> list[float]:
            """Answer latencies of one process, the stand-in posting straight to it (no proxy)."""
            async with BotApiStandIn(TOKEN, bot_username=BOT_USERNAME) as standin:
                populate(standin)
                (folder / name).mkdir()
                one = ReplicaSet(
                    standin, folder / name, database, TOKEN, ADMIN, count=1, send_rate=args.rate,
                    behind_proxy=False, extra={"NEWSBOT_QUESTIONS_PER_MINUTE": "1000"},
                )  # fmt: skip
                await one.start()
                try:
                    return await answer_latencies(one, args.questions, args.qps, first_user)
                finally:
                    await one.stop()

        single = await one_process("one", str(folder / "one" / "bot.sqlite3"), 700_001)
        # The same on PostgreSQL: what the database alone costs an answer.
        single_pg = await one_process("one-pg", postgres.dsn_for("single"), 720_001)

        async def three(name: str) -> tuple[BotApiStandIn, ReplicaSet]:
            standin = BotApiStandIn(TOKEN, bot_username=BOT_USERNAME)
            await standin.start()
            populate(standin)
            (folder / name).mkdir()
            cluster = ReplicaSet(
                standin, folder / name, postgres.dsn_for(name), TOKEN, ADMIN, count=3,
                send_rate=args.rate, lease_seconds=args.lease,
                extra={"NEWSBOT_QUESTIONS_PER_MINUTE": "1000"},
            )  # fmt: skip
            await cluster.start()
            return standin, cluster

        standin, cluster = await three("answers")
        try:
            replicated = await answer_latencies(cluster, args.questions, args.qps, 710_001)
        finally:
            await cluster.stop()
            await standin.stop()
        report["answers"] = {
            "questions": args.questions,
            "per_second": args.qps,
            "one_process_p50_ms": round(statistics.median(single) * 1000, 1),
            "one_process_p99_ms": round(percentile(single, 0.99) * 1000, 1),
            "one_process_postgres_p50_ms": round(statistics.median(single_pg) * 1000, 1),
            "one_process_postgres_p99_ms": round(percentile(single_pg, 0.99) * 1000, 1),
            "three_replicas_p50_ms": round(statistics.median(replicated) * 1000, 1),
            "three_replicas_p99_ms": round(percentile(replicated, 0.99) * 1000, 1),
            "p99_ratio": round(percentile(replicated, 0.99) / percentile(single, 0.99), 2),
            "p99_ratio_to_one_postgres_process": round(
                percentile(replicated, 0.99) / percentile(single_pg, 0.99), 2
            ),
        }
        print(json.dumps({"answers": report["answers"]}), flush=True)

        standin, cluster = await three("delivery")
        try:
            readers = range(800_001, 800_001 + args.chats)
            await subscribe(standin, cluster.dsn, readers)
            mark = standin.world.mark()
            title = await publish(cluster, 1)
            await until_all(standin, title, mark, readers, timeout=args.chats / args.rate * 3 + 60)
            times = sorted(send_times(standin, title, mark, readers).values())
        finally:
            await cluster.stop()
            await standin.stop()
        measured = (len(times) - 1) / (times[-1] - times[0])
        report["delivery"] = {
            "chats": args.chats,
            "configured_per_second": args.rate,
            "measured_per_second": round(measured, 2),
            "ratio": round(measured / args.rate, 3),
            "busiest_second": busiest_second(times),
        }
        print(json.dumps({"delivery": report["delivery"]}), flush=True)

        standin, cluster = await three("failover")
        try:
            readers = range(900_001, 900_001 + args.chats)
            await subscribe(standin, cluster.dsn, readers)
            mark = standin.world.mark()
            title = await publish(cluster, 2)
            await asyncio.sleep(args.kill_after)
            victim = cluster.replicas[1]
            assert victim.process is not None
            pid = victim.process.pid
            await cluster.kill(victim)
            killed_at = standin.clock()
            left = set(await claimed_alerts(cluster.dsn, pid))  # the chats whose alerts it held
            await until_all(
                standin, title, mark, readers, timeout=args.chats / args.rate * 3 + args.lease + 60
            )
            sent = send_times(standin, title, mark, readers)
        finally:
            await cluster.stop()
            await standin.stop()
        resumed = sorted(sent[chat] - killed_at for chat in left)
        report["failover"] = {
            "lease_seconds": args.lease,
            "orphaned_chats": len(left),
            "first_resumed_after_s": round(resumed[0], 2) if resumed else None,
            "last_resumed_after_s": round(resumed[-1], 2) if resumed else None,
            "all_delivered": len(sent) == len(readers),
        }
        print(json.dumps({"failover": report["failover"]}), flush=True)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, run, print and save the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.replicas", description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=600)
    parser.add_argument("--qps", type=float, default=20.0)
    parser.add_argument("--chats", type=int, default=1500)
    parser.add_argument("--rate", type=float, default=25.0)
    parser.add_argument("--lease", type=float, default=30.0)
    parser.add_argument("--kill-after", type=float, default=10.0)
    parser.add_argument("--quick", action="store_true", help="300 questions, 500 chats, a 10 s lease")
    parser.add_argument("--json", type=Path, default=RESULTS / "replicas.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.questions, args.chats, args.lease, args.kill_after = 300, 500, 10.0, 5.0
    report = asyncio.run(run(args))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
