"""`newsbot run` as a real subprocess against the stand-in: a user conversation, clean SIGTERM shutdown,
a second instance refused, 409 Conflict, and alerts surviving repeated SIGKILLs mid-delivery."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
from collections import Counter
from pathlib import Path

import httpx
import pytest

from bot.core.interests import SubscriptionKind
from bot.localbot import BotProcess
from bot.standin import BotApiStandIn, EventKind
from bot.store import Store
from tests import reliability
from tests.conftest import CORPUS
from tests.harness import ADMIN, TOKEN, USER, subscribe_in_store

STARTUP_TIMEOUT = 60.0
_RUN_NUMBERS = itertools.count(1)
KILL_MOMENTS = 8  # the kills land 0.07 s apart, from the first alert to 0.49 s after it


def bot_env(standin: BotApiStandIn, tmp_path: Path, **extra: str) -> dict[str, str]:
    corpus = tmp_path / "corpus"
    if not corpus.exists():
        shutil.copytree(CORPUS, corpus)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env.update(
        NEWSBOT_TELEGRAM_TOKEN=TOKEN,
        NEWSBOT_TELEGRAM_BASE_URL=standin.base_url,
        NEWSBOT_CORPUS_DIR=str(corpus),
        NEWSBOT_DATABASE=str(tmp_path / "db.sqlite3"),
        NEWSBOT_SNAPSHOT_DIR=str(tmp_path / "snapshots"),
        NEWSBOT_ADMIN_IDS=str(ADMIN),
        NEWSBOT_LOG_LEVEL="DEBUG",
        NEWSBOT_CORPUS_POLL_SECONDS="0",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    env.update(extra)
    return env


async def start_bot(env: dict[str, str], cwd: Path) -> BotProcess:
    # Logs go to a file: a DEBUG-level bot writing into a pipe nobody drains would block on a full pipe.
    return await BotProcess.start(env, cwd, cwd / f"bot-{next(_RUN_NUMBERS)}.log")


async def exit_output(process: BotProcess, timeout: float = 30.0) -> str:  # noqa: ASYNC109
    """Wait for the process to end on its own; returns everything it printed."""
    await asyncio.wait_for(process.wait(), timeout)
    return process.output()


async def test_run_subprocess_answers_and_stops_cleanly(tmp_path: Path, standin: BotApiStandIn) -> None:
    """Two `newsbot run` on one database, started together so that their start-ups (mostly imports)
    overlap: one takes the instance lock, answers and stops cleanly on SIGTERM; the other refuses at
    once, exit code 1, saying which database is in use. (That the lock holds for as long as a bot runs
    is test_second_instance_on_one_database_refuses_before_polling's, in tests/test_reliability_faults.)"""
    env = bot_env(standin, tmp_path)
    both = [await start_bot(env, tmp_path), await start_bot(env, tmp_path)]
    exits = {asyncio.ensure_future(bot.wait()): bot for bot in both}
    try:
        ended, _ = await asyncio.wait(exits, timeout=STARTUP_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        assert ended, "neither instance refused to share the database"
        second = exits[ended.pop()]
        [process] = [bot for bot in both if bot is not second]
        await process.wait_polling(standin, STARTUP_TIMEOUT)
        second_err = second.output()
        assert second.returncode == 1
        assert "another" in second_err.lower() and "db.sqlite3" in second_err

        [welcome] = await standin.ask(USER, USER, "/start", timeout=20)
        assert "4 articles" in welcome["text"]
        [answer] = await standin.ask(USER, USER, "Sora daily losses", timeout=20)
        assert "OpenAI to close its Sora video app" in answer["text"]
    finally:
        for waiting in exits:
            waiting.cancel()
        for bot in both:
            await bot.stop(timeout=30)
    log = process.output()
    assert process.returncode == 0, log[-2000:]
    assert "shutting down" in log
    assert TOKEN not in log and TOKEN.split(":")[1] not in log


async def test_conflict_409_stops_with_a_clear_message(tmp_path: Path, standin: BotApiStandIn) -> None:
    process = await start_bot(bot_env(standin, tmp_path), tmp_path)
    async with httpx.AsyncClient(timeout=10) as client:
        other: asyncio.Task[httpx.Response] | None = None
        try:
            await process.wait_polling(standin, STARTUP_TIMEOUT)
            # A second poller on the same token, still long-polling while the bot stops: Telegram ends the
            # older request with 409. (It is not waited for: the bot's exit is what the test is about.)
            other = asyncio.create_task(client.post(f"{standin.api_url}/getUpdates", json={"timeout": 5}))
            err = await exit_output(process)
        finally:
            if other is not None:
                other.cancel()
                with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                    await other
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert process.returncode == 1
    assert "409 Conflict" in err
    assert "another instance" in err


async def test_alerts_survive_repeated_sigkill(
    tmp_path: Path, standin: BotApiStandIn, request: pytest.FixtureRequest
) -> None:
    # Default: each of the 8 kill moments once, over 30 chats (60 alerts, of which the 8 killed runs send
    # about a third at 8 a second); --long: 60 kills over 180 chats.
    rounds = reliability.scaled(request.config, KILL_MOMENTS, 60)
    chats = list(range(5001, 5001 + reliability.scaled(request.config, 30, 180)))
    for chat_id in chats:
        standin.scenario.add_private_chat(chat_id, f"Reader {chat_id}")
    env = bot_env(standin, tmp_path, NEWSBOT_SEND_RATE="8")
    corpus = Path(env["NEWSBOT_CORPUS_DIR"])
    database = Path(env["NEWSBOT_DATABASE"])

    # First run: the silent first load records the bundled articles as seen.
    process = await start_bot(env, tmp_path)
    await process.wait_polling(standin, STARTUP_TIMEOUT)
    await process.stop(timeout=30)

    await subscribe_in_store(database, chats, SubscriptionKind.TOPIC, "openai", "OpenAI")
    for n in range(2):
        (corpus / f"new-{n}.md").write_text(
            f"---\nid: crash-{n}\ntitle: OpenAI crash-test story {n}\ntopics: [openai]\n---\n\nBody {n}.\n"
        )
    expected = {(chat_id, n) for chat_id in chats for n in range(2)}

    mid_delivery = 0  # kills that landed after the process's first alert
    mark = standin.world.mark()
    for round_number in range(rounds):
        round_mark = standin.world.mark()
        process = await start_bot(env, tmp_path)
        # Kill once this process is really delivering (after its first alert), at a varying moment.
        with contextlib.suppress(TimeoutError):
            await standin.wait_for(after=round_mark, timeout=STARTUP_TIMEOUT)
            mid_delivery += 1
        await asyncio.sleep(0.07 * (round_number % KILL_MOMENTS))
        process.kill()  # SIGKILL: no cleanup at all
        await process.wait()
    assert not await _all_sent(database), "the kills should have interrupted delivery"
    # A last, undisturbed run delivers whatever is still pending; the pace no longer matters to what is
    # proven (the kills are over), so it sends at Telegram's limit rather than at 8 a second.
    process = await start_bot({**env, "NEWSBOT_SEND_RATE": "30"}, tmp_path)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while not await _all_sent(database):
            if loop.time() > deadline or process.returncode is not None:
                await process.stop(timeout=30)
                raise AssertionError(
                    "pending alerts were not delivered after the kills: " + process.tail(2000)
                )
            await asyncio.sleep(0.05)
        # No alert is pending any more, so the worker has nothing left to send: what was sent is final.
    finally:
        await process.stop(timeout=30)

    sent: Counter[tuple[int | None, int]] = Counter()
    for event in standin.world.events(EventKind.SENT, after=mark):
        for n in range(2):
            if f"OpenAI crash-test story {n}" in (event.text or ""):
                sent[(event.chat_id, n)] += 1
    duplicates = sum(count - 1 for count in sent.values())
    async with await Store.open(database) as store:
        integrity = await store.integrity_check()
    reliability.add("kills survived", rounds)
    reliability.fault("sigkill", rounds)
    reliability.alerts(len(expected), sum(sent.values()), duplicates, len(expected - set(sent)))
    assert set(sent) == expected  # nothing lost
    assert duplicates <= rounds  # at most one message per crash
    assert integrity == "ok"
    assert mid_delivery == rounds, f"the bot should have been killed mid-delivery all {rounds} times"


async def _all_sent(database: Path) -> bool:
    async with await Store.open(database) as store:
        counts = await store.alert_counts()
    return counts.get("pending", 0) == 0 and counts.get("sent", 0) > 0


async def test_corrupt_database_exits_with_a_clear_message(tmp_path: Path, standin: BotApiStandIn) -> None:
    env = bot_env(standin, tmp_path)
    await asyncio.to_thread(Path(env["NEWSBOT_DATABASE"]).write_bytes, b"not a database, just junk " * 100)
    bot = await start_bot(env, tmp_path)
    err = await exit_output(bot, STARTUP_TIMEOUT)
    assert bot.returncode == 1
    lines = err.strip().splitlines()
    assert "db.sqlite3" in lines[-1] and "Traceback" not in err
