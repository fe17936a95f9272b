"""Disk, database and corpus faults: another writer holding the database, a full disk, a read-only file,
a corpus reload where everything is broken, a reload killed half-way, a file rewritten while it is read.

The full disk is a real one (a 2 MB tmpfs) and the read-only file really is (chattr +i); both need root
and skip with the reason otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import shutil
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.core.corpus import load_corpus
from bot.core.interests import Subscription, SubscriptionKind
from bot.standin import BotApiStandIn, Event, EventKind
from bot.store import DatabaseBusy, Store, StoreError
from tests import reliability
from tests.harness import ADMIN, OTHER, USER, running_bot, subscribe_in_store
from tests.test_process import STARTUP_TIMEOUT, bot_env, start_bot

HOLD_LOCK = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
connection.execute("COMMIT")
"""


class OtherWriter:
    """Another process holding the database's write lock until release()."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def lock(cls, database: Path) -> OtherWriter:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            HOLD_LOCK,
            str(database),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        assert await process.stdout.readline() == b"locked\n"
        return cls(process)

    async def release(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b"done\n")
        await self.process.stdin.drain()
        assert await self.process.wait() == 0


def run_as_root(*command: str) -> None:
    """Run a mount/chattr command, or skip the test saying why it cannot run here."""
    if shutil.which(command[0]) is None:
        pytest.skip(f"{command[0]} is not installed")
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.skip(f"cannot {' '.join(command[:2])} here (needs root): {result.stderr.strip()[:200]}")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs at tmp_path/db, where the harness puts the bot's database."""
    disk = tmp_path / "db"
    disk.mkdir()
    run_as_root("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk))
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path) -> Path:
    """Write a filler file until the disk says ENOSPC; returns it (unlink it to free the space)."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as handle:
        for chunk in (65536, 4096, 512, 1):
            with contextlib.suppress(OSError):
                while True:
                    handle.write(b"\0" * chunk)
    with pytest.raises(OSError) as full, (disk / "probe").open("wb", buffering=0) as probe:
        probe.write(b"\0" * 4096)
    assert full.value.errno == errno.ENOSPC
    return filler


def read_only_rows(database: Path, sql: str) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
        return list(connection.execute(sql))


def write_articles(
    corpus: Path, prefix: str, count: int, topics: str = "[openai]", subject: str = "OpenAI"
) -> list[str]:
    titles = []
    for number in range(count):
        title = f"{subject} {prefix} bulletin {number:03d}"
        (corpus / f"{prefix}-{number}.md").write_text(
            f"---\nid: {prefix}-{number}\ntitle: {title}\ntopics: {topics}\n---\n\n"
            f"Bulletin {number} of the {prefix} series.\n"
        )
        titles.append(title)
    return titles


# --------------------------------------------------------------------------- another writer


@pytest.fixture
async def quick_store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(tmp_path / "busy.sqlite3", busy_timeout_ms=300)
    await store.ingest_articles(["archive"], lambda ids, subs: ())
    for chat in (1, 2, 3):
        await store.touch_chat(chat, "private", None)
        await store.subscribe(chat, "topic", "ports", "Ports")
    yield store
    await store.close()


def every_chat(new: list[str], subscriptions: list[Subscription]) -> list[tuple[int, str, str]]:
    return [(s.chat_id, article_id, s.label) for s in subscriptions for article_id in new]


async def test_another_writer_makes_a_write_wait_then_fail_whole_then_succeed(quick_store: Store) -> None:
    """Held past the busy timeout, an ingest fails as a whole with a clear reason; held briefly, the
    busy timeout rides it out; once the lock is gone the ingest records everything exactly once."""
    store = quick_store
    ids = [f"port-{n}" for n in range(20)]
    writer = await OtherWriter.lock(store.path)
    with pytest.raises(DatabaseBusy, match="locked") as refused:
        await store.ingest_articles(ids, every_chat)
    assert "another process is holding a write lock" in refused.value.description
    assert (await store.alert_counts())["pending"] == 0  # reading still works; nothing was written
    await writer.release()
    reliability.fault("database locked")

    async with await Store.open(store.path, busy_timeout_ms=10_000) as patient:
        writer = await OtherWriter.lock(store.path)
        ingest = asyncio.create_task(patient.ingest_articles(ids, every_chat))
        await asyncio.sleep(0.3)
        assert not ingest.done()  # waiting for the lock, not failing
        await writer.release()
        assert (await ingest).alerts_created == 60
        assert (await patient.ingest_articles(ids, every_chat)).alerts_created == 0
        assert await patient.integrity_check() == "ok"
    reliability.fault("database locked")


async def test_a_busy_database_delays_a_command_instead_of_failing_it(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    async with running_bot(tmp_path, standin, push_default=False) as bot:
        await bot.ask(USER, USER, "/start")  # the chat row exists
        writer = await OtherWriter.lock(bot.database)
        mark = standin.world.mark()
        standin.scenario.send_user_message(USER, USER, "/subscribe openai")
        await standin.wait_until_delivered()  # the bot has the command; its write now waits for the lock
        await asyncio.sleep(0.3)  # well inside the 5 s busy timeout
        released_at = standin.clock()
        await writer.release()
        [reply] = await standin.wait_for(chat_id=USER, after=mark, timeout=10)
        [listing] = await bot.ask(USER, USER, "/subscriptions")
    reliability.fault("database locked")
    assert reply.at >= released_at  # the one reply came after the lock was gone: waited, not failed
    assert "Subscribed to OpenAI" in (reply.text or "")
    assert "OpenAI" in listing["text"]


# --------------------------------------------------------------------------- full disk, read-only file


async def test_a_full_disk_is_explained_to_the_admin_writes_nothing_half_and_recovers(
    tmp_path: Path, standin: BotApiStandIn, small_disk: Path
) -> None:
    async with running_bot(
        tmp_path,
        standin,
        push_default=False,
        corpus_poll_seconds=0,
        snapshot_dir=tmp_path / "snapshots",
    ) as bot:
        database = bot.database
        assert database.parent == small_disk
        await bot.ask(USER, USER, "/subscribe openai")
        titles = write_articles(bot.corpus, "full", 30)
        filler = await asyncio.to_thread(fill, small_disk)

        [report] = await bot.ask(ADMIN, ADMIN, "/reload", timeout=20)
        [answer] = await bot.ask(OTHER, OTHER, "Sora daily losses")  # answering needs no writes
        [stats] = await bot.ask(ADMIN, ADMIN, "/stats")
        seen = await asyncio.to_thread(
            read_only_rows, database, "SELECT COUNT(*) FROM seen_articles WHERE article_id LIKE 'full-%'"
        )
        queued = await asyncio.to_thread(read_only_rows, database, "SELECT COUNT(*) FROM outbox")

        filler.unlink()
        mark = standin.world.mark()
        [again] = await bot.ask(ADMIN, ADMIN, "/reload", timeout=20)
        await standin.wait_for(chat_id=USER, after=mark, count=2, timeout=20)  # 30 alerts: two digests
        async with await Store.open(database) as store:
            for _ in range(200):  # the worker sends pending alerts only: once none is left, it is done
                if (await store.alert_counts())["pending"] == 0:
                    break
                await asyncio.sleep(0.05)
            outbox = await store.alert_counts()
        delivered = Counter(
            title
            for event in standin.world.events(EventKind.SENT, chat_id=USER, after=mark)
            for title in titles
            if title in (event.text or "")
        )
    async with await Store.open(database) as store:
        integrity = await store.integrity_check()
    reliability.fault("disk full")
    reliability.alerts(
        len(titles),
        sum(delivered.values()),
        sum(n - 1 for n in delivered.values()),
        len(set(titles) - set(delivered)),
    )

    assert "could not be recorded" in report["text"] and "free some disk space" in report["text"]
    assert "/reload again" in report["text"]
    assert answer["text"].startswith("Result")
    assert "Stats" in stats["text"]
    assert seen == [(0,)] and queued == [(0,)]  # the failed ingest left nothing behind
    assert "Sorry" not in again["text"]
    assert outbox == {"pending": 0, "sent": 30, "failed": 0, "parked": 0}
    assert delivered == dict.fromkeys(titles, 1)
    assert integrity == "ok"


def chattr(flag: str, *paths: Path) -> None:
    run_as_root("chattr", flag, *map(str, paths))


async def test_a_read_only_database_is_refused_at_start_and_explained_while_running(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    async with running_bot(tmp_path, standin, push_default=False) as bot:
        database = bot.database
        # Never the -shm file: SQLite maps it into memory, and a write to an immutable mapping is SIGBUS.
        files = [database, database.with_name(database.name + "-wal")]
        chattr("+i", *files)
        try:
            [refused] = await bot.ask(ADMIN, ADMIN, "/subscribe openai", timeout=10)
            [still] = await bot.ask(USER, USER, "Codex Sites")
        finally:
            chattr("-i", *files)
        [accepted] = await bot.ask(ADMIN, ADMIN, "/subscribe openai")
    reliability.fault("read-only database")
    assert refused["text"].startswith("Sorry, that failed: database")
    assert "could not be written" in refused["text"] and str(database) in refused["text"]
    assert still["text"].startswith("Result")
    assert "Subscribed to OpenAI" in accepted["text"]

    chattr("+i", database)
    try:
        with pytest.raises(StoreError, match="read-only") as at_start:
            await Store.open(database, lock=True)
    finally:
        chattr("-i", database)
    assert str(database) in str(at_start.value)
    reliability.fault("read-only database")
    async with await Store.open(database) as store:
        assert await store.integrity_check() == "ok"
        assert [s.value for s in await store.subscriptions(ADMIN)] == ["openai"]


@pytest.mark.parametrize("how", ["deleted", "replaced"])
async def test_a_database_deleted_while_running_is_noticed_and_no_write_is_confirmed(
    tmp_path: Path, standin: BotApiStandIn, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    """Someone deletes (or swaps) the database file under the running bot. SQLite would keep writing to
    the file it opened, which no longer has a name, and every "Subscribed" would be a lie lost at the
    next start. Instead the next write fails: the admin is told what happened, the bot logs an error,
    stops by itself with a reason naming the file, and the file at the path was never written to."""
    async with running_bot(tmp_path, standin, push_default=False, corpus_poll_seconds=0) as bot:
        database = bot.database
        [first] = await bot.ask(ADMIN, ADMIN, "/subscribe openai")
        for suffix in ("", "-wal", "-shm"):
            database.with_name(database.name + suffix).unlink(missing_ok=True)
        if how == "replaced":
            shutil.copyfile(tmp_path / "corpus" / "topics.yaml", database)  # any other file at that name
        [refused] = await bot.ask(ADMIN, ADMIN, "/subscribe ai-standards", timeout=10)
        reason = await asyncio.wait_for(bot.local.task, 30)  # it stops by itself
    reliability.fault(f"database {how} while running")

    assert "Subscribed to OpenAI" in first["text"]
    assert refused["text"].startswith("Sorry, that failed: database")
    assert "Subscribed" not in refused["text"]
    assert reason is not None and str(database) in reason and how in reason
    assert any(r.levelname == "ERROR" and str(database) in r.getMessage() for r in caplog.records)
    if how == "deleted":
        assert not database.exists()  # nothing wrote a fresh, empty database there either
    else:
        assert database.read_bytes() == (tmp_path / "corpus" / "topics.yaml").read_bytes()


# --------------------------------------------------------------------------- corpus


async def test_a_reload_where_every_file_is_broken_keeps_the_old_snapshot(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    async with running_bot(tmp_path, standin, push_default=False) as bot:
        files = sorted(bot.corpus.glob("*.md"))
        assert files
        for number, path in enumerate(files):
            broken = ("---\ntitle: [unclosed\n---\nbody\n", "no front matter, no title\n", "\0\0binary")
            path.write_bytes(broken[number % 3].encode())
        [report] = await bot.ask(ADMIN, ADMIN, "/reload")
        [answer] = await bot.ask(USER, USER, "Sora daily losses")
        [status] = await bot.ask(USER, USER, "/status")
    reliability.fault("corpus all broken", len(files))
    assert "kept" in report["text"].lower()
    for path in files:
        assert path.name in report["text"]  # each broken file is named for the admin
    assert "OpenAI to close its Sora video app" in answer["text"]
    assert "Articles: 4\n" in status["text"]


async def test_a_reload_killed_half_way_leaves_the_previous_state_and_alerts_once(
    tmp_path: Path, standin: BotApiStandIn, request: pytest.FixtureRequest
) -> None:
    """SIGKILL while /reload reads a bigger corpus, records it or sends its alerts: each restart starts
    cleanly from what was committed, and in the end every alert arrives (a repeat at most per kill)."""
    env = bot_env(standin, tmp_path, NEWSBOT_SEND_RATE="30", NEWSBOT_SNAPSHOT_DIR=str(tmp_path / "snapshots"))
    corpus = Path(env["NEWSBOT_CORPUS_DIR"])
    database = Path(env["NEWSBOT_DATABASE"])
    subscribers = (USER, OTHER, ADMIN)
    # (no bot started just to take /subscribe: the first start below makes the silent first load of the
    # corpus, as it would have)
    await subscribe_in_store(database, subscribers, SubscriptionKind.TOPIC, "openai", "OpenAI")
    # Filler: a few hundred files that no reload changes (a reload reads only the changed ones); the final
    # count shows a kill at any moment leaves them all in place.
    write_articles(corpus, "filler", FILLER, topics="[]", subject="Harbour tide")

    titles: list[str] = []
    mark = standin.world.mark()
    # Each kill costs a bot start (about 3 s, most of it imports): the default run kills at two moments
    # (during the reload's alerts, and later), --long at all six.
    delays = (0.05, 0.35, 0.7, 0.0, 0.2, 0.5)[: reliability.scaled(request.config, 2, 6)]
    for round_number, delay in enumerate(delays):
        process = await start_bot(env, tmp_path)
        # The killed process's long poll lingers in the stand-in: only an answer proves this one polls.
        await standin.ask(ADMIN, ADMIN, "/help", timeout=STARTUP_TIMEOUT)
        titles += write_articles(corpus, f"round{round_number}", 1)  # ≤ 3 pending: no digests
        standin.scenario.send_user_message(ADMIN, ADMIN, "/reload")
        await standin.wait_until_delivered()  # the bot has taken the update (its next poll confirms it)
        await asyncio.sleep(delay)
        process.kill()
        await process.wait()
    async with await Store.open(database) as store:
        integrity_after_kills = await store.integrity_check()

    process = await start_bot(env, tmp_path)
    try:
        await process.wait_polling(standin, STARTUP_TIMEOUT)
        expected = {(chat, title) for chat in subscribers for title in titles}
        for _ in range(300):
            arrived = {
                (event.chat_id, title)
                for event in alert_messages(standin, mark)
                for title in titles
                if title in (event.text or "")
            }
            if arrived >= expected:
                break
            await asyncio.sleep(0.1)
        [status] = await standin.ask(USER, USER, "/status", timeout=20)
    finally:
        await process.stop(timeout=30)
    delivered: Counter[tuple[int | None, str]] = Counter()
    repeated_messages = 0  # messages carrying only alerts that had already arrived
    for event in alert_messages(standin, mark):
        carried = {(event.chat_id, title) for title in titles if title in (event.text or "")}
        if carried and carried <= set(delivered):
            repeated_messages += 1
        delivered.update(carried)
    kills = len(delays)
    reliability.fault("sigkill during reload", kills)
    reliability.add("kills survived", kills)
    reliability.alerts(
        len(expected),
        sum(delivered.values()),
        sum(n - 1 for n in delivered.values()),
        len(expected - set(delivered)),
    )

    assert integrity_after_kills == "ok"
    assert set(delivered) == expected
    assert repeated_messages <= kills
    assert f"Articles: {4 + FILLER + len(titles)}\n" in status["text"].replace(",", "")  # every file is in


FILLER = 300


def alert_messages(standin: BotApiStandIn, mark: int) -> list[Event]:
    """The messages sent since `mark` other than the admin's reload reports, which list the articles a
    reload added (their titles too) and are not alerts."""
    return [
        event
        for event in standin.world.events(EventKind.SENT, after=mark)
        if not (event.text or "").startswith("Reload finished")
    ]


WRITER = """
import os, sys
path, how, versions = sys.argv[1], sys.argv[2], [open(p, 'rb').read() for p in sys.argv[3:]]
number = 0
while True:
    if how == 'rename':  # replace the file whole, as editors and sync tools should
        with open(path + '.tmp', 'wb') as handle:
            handle.write(versions[number % 2])
        os.replace(path + '.tmp', path)
    else:  # overwrite it in place, same size: a reader can meet it half-way through
        with open(path, 'r+b') as handle:
            os.pwrite(handle.fileno(), versions[number % 2], 0)
    number += 1
"""


@pytest.mark.parametrize("how", ["rename", "in-place"])
def test_a_file_rewritten_while_it_is_read_is_read_whole_or_reported(
    tmp_path: Path, how: str, request: pytest.FixtureRequest
) -> None:
    """Another process rewrites an article over and over while the corpus is loaded again and again:
    every load has the article whole (all "alpha" or all "bravo") or reports it as still changing."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    target = corpus / "moving.md"
    versions = []
    for word in ("alpha", "bravo"):
        version = tmp_path / f"{word}.txt"
        version.write_text(f"---\nid: moving\ntitle: Moving target\n---\n\n{(word + ' ') * 3000}\n")
        versions.append(version)
    target.write_bytes(versions[0].read_bytes())
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(target), how, *map(str, versions)])
    outcomes: Counter[str] = Counter()
    try:
        for _ in range(reliability.scaled(request.config, 40, 400)):
            loaded = load_corpus(corpus)
            assert len(loaded.articles) + len(loaded.problems) == 1  # one file: an article or a problem
            if loaded.problems:
                assert "changing while being read" in loaded.problems[0].reason
                outcomes["reported"] += 1
            else:
                words = loaded.articles[0].body.split()
                whole = len(words) == 3000 and len(set(words)) == 1
                outcomes["whole" if whole else "torn"] += 1
    finally:
        writer.kill()
        writer.wait()
    target.write_bytes(versions[1].read_bytes())
    [final] = load_corpus(corpus).articles
    reliability.fault(f"file rewritten while read ({how})", sum(outcomes.values()))
    reliability.add("files read torn", outcomes["torn"])
    assert final.body.split() == ["bravo"] * 3000
    if how == "rename":
        assert outcomes["torn"] == 0  # an atomically replaced file is always one version or the other
    else:
        # A writer paused half-way for longer than the loader's second look (10 ms) can still be read
        # as it stands; measured at about 1 in 500 loads on a busy 2-core machine, against 6 in 10
        # before the loader checked at all. Atomic replacement (above) is the way to write a corpus.
        assert outcomes["torn"] <= max(1, sum(outcomes.values()) // 100)
