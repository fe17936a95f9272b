"""Faults against the Bot API stand-in: flood control during a big alert fan-out, resets, timeouts and
5xx on sending and on polling, and two instances on one token or one database.

Each test counts what it injected and what came of it in tests/reliability.py.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from telegram import Bot

from bot.compose import compose, run
from bot.core.interests import AlertStatus, Subscription
from bot.core.models import Article
from bot.localbot import local_bot
from bot.standin import BotApiStandIn, Event, EventKind, Fault, FaultKind
from bot.store import Store, StoreLockedError
from bot.tg.alerts import AlertWorker
from bot.tg.polling import CONFLICT_MESSAGE
from tests import reliability
from tests.harness import ADMIN, OTHER, TOKEN, USER, make_settings, running_bot

FLOOD_TOKEN = "123456789:FLOOD-token"
# The bots below wait this long for Telegram's answer (PTB's 5 s by default) and pause this long after a
# first failed poll (1 s by default): the faults they meet last seconds, not tens of seconds.
READ_TIMEOUT = 1.5
POLL_BACKOFF = 0.3


def flood_article(number: int) -> Article:
    return Article(
        id=f"flood-{number}",
        title=f"Storm surge warning {number} <for> the coast & harbour",
        body=f"The harbour master issued warning {number}.\n\nShips should stay in port.",
        published=datetime(2026, 3, 20 + number, tzinfo=UTC),
        source="Coastguard",
        url=f"https://example.org/storm/{number}",
    )


async def until(condition: Callable[[], bool], timeout: float = 15.0) -> None:  # noqa: ASYNC109
    """Wait for a condition the bot brings about (the deadline only stops a hung test)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "the condition never held"
        await asyncio.sleep(0.02)


@pytest.fixture
async def flood_store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(tmp_path / "flood.sqlite3")
    await store.ingest_articles(["archive"], lambda ids, subs: ())  # the silent first load
    yield store
    await store.close()


# --------------------------------------------------------------------------- flood control


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # PTB's own retry_after
async def test_flood_control_during_a_fan_out_delivers_every_alert_once(
    flood_store: Store, request: pytest.FixtureRequest
) -> None:
    """Bursts of 429 while alerting hundreds of chats (5,000 with --long): every alert arrives once, and
    while Telegram says "retry after N" not one sendMessage reaches it before those N seconds have passed."""
    store = flood_store
    # Each 429 holds every send for a second whatever the size, and each send costs several ms of CPU:
    # the default run keeps the fan-out to a few hundred messages (still paced by the rate and the bursts).
    chat_count = reliability.scaled(request.config, 200, 5_000)
    chats = list(range(300_001, 300_001 + chat_count))
    articles = {article.id: article for article in (flood_article(1), flood_article(2))}
    # Every chat gets story 1; every tenth chat story 2 as well (two messages, paced per chat).
    wanted = [(chat, "flood-1") for chat in chats] + [(chat, "flood-2") for chat in chats[::10]]

    async with BotApiStandIn(FLOOD_TOKEN) as standin, Bot(FLOOD_TOKEN, base_url=standin.base_url) as bot:
        for chat in chats:
            standin.scenario.add_private_chat(chat)
            await store.touch_chat(chat, "private", None)

        def match(new: list[str], subscriptions: list[Subscription]) -> list[tuple[int, str, str]]:
            return [(chat, article_id, "Storms") for chat, article_id in wanted]

        created = (await store.ingest_articles(list(articles), match)).alerts_created
        assert created == len(wanted)

        # Bursts of flood control at several points of the fan-out, one of them for a single chat.
        injected: list[Fault] = []
        plan = ((1, 2), (6, 1)) if chat_count <= 1_000 else ((1, 2), (3, 1), (5, 3), (7, 1))
        bursts = {len(wanted) * share // 8: times for share, times in plan}

        def arm(event: Event) -> None:
            if event.kind != EventKind.SENT:
                return
            sent = len(standin.world.events(EventKind.SENT))
            if sent in bursts:
                injected.append(
                    standin.inject_fault("sendMessage", FaultKind.RETRY_AFTER, times=bursts.pop(sent))
                )
            if sent == len(wanted) // 2:
                target = chats[-1]
                injected.append(standin.inject_fault("sendMessage", FaultKind.RETRY_AFTER, chat_id=target))

        standin.world.subscribe(arm)
        worker = AlertWorker(store, bot, articles.get, rate_per_second=400.0, chat_interval=0.2)
        while (await store.alert_counts()).get("pending", 0):
            await worker.deliver_due()

        sends = standin.requests("sendMessage")
        refused = [record for record in sends if record.status == 429]
        early = 0
        for record in refused:
            wait = int(re.findall(r"retry after (\d+)", record.description or "")[0])
            early += sum(1 for other in sends if record.at < other.at < record.at + wait)
        delivered = Counter(
            (event.chat_id, "flood-2" if "warning 2" in (event.text or "") else "flood-1")
            for event in standin.world.events(EventKind.SENT)
        )

    rows = [item for chat in chats[:50] for item in await store.chat_alerts(chat)]
    statuses = Counter(item.status for item in rows)
    counts = {status: count for status, count in (await store.alert_counts()).items() if count}
    duplicated = sum(count - 1 for count in delivered.values() if count > 1)
    lost = len(set(wanted) - set(delivered))
    reliability.faults_hit(injected)
    reliability.alerts(len(wanted), sum(delivered.values()), duplicated, lost)
    reliability.add("sends while told to wait", early)

    assert len(refused) == sum(fault.hits for fault in injected) >= 4
    assert early == 0
    assert set(delivered) == set(wanted) and duplicated == 0 and lost == 0
    assert counts == {"sent": len(wanted)}
    assert statuses == {AlertStatus.SENT: 55}  # the first 50 chats: 50 + 5 (every tenth has two)


# --------------------------------------------------------------------------- network faults


def answers_per_chat(standin: BotApiStandIn, chats: list[int], after: int) -> dict[int, int]:
    return {chat: len(standin.world.events(EventKind.SENT, chat_id=chat, after=after)) for chat in chats}


async def test_polling_backs_off_through_502_reset_and_500_and_loses_or_repeats_nothing(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    """getUpdates fails three times in a row (one of them after Telegram handed the updates out): polling
    waits longer after each failure, resumes by itself, and every queued question is answered once."""
    readers = list(range(7001, 7007))
    for chat in readers:
        standin.scenario.add_private_chat(chat, f"Reader {chat}")
    questions = ["Sora daily losses", "Codex Sites", "MIIT standards", "ChatGPT uninstalls", "Sora", "MCP"]
    settings, _ = make_settings(tmp_path, standin, push_default=False, corpus_poll_seconds=0)
    async with local_bot(settings, standin, poll_backoff=POLL_BACKOFF):
        faults = [
            standin.inject_fault("getUpdates", FaultKind.BAD_GATEWAY),
            standin.inject_fault("getUpdates", FaultKind.RESET, deliver=True),  # updates fetched, answer lost
            standin.inject_fault("getUpdates", FaultKind.SERVER_ERROR),
        ]
        await until(lambda: faults[0].hits == 1)  # the open long poll ended; the next one failed
        mark = standin.world.mark()
        for chat, question in zip(readers, questions, strict=True):
            standin.scenario.send_user_message(chat, chat, question)
        await standin.wait_for(after=mark, count=len(readers), timeout=30)
        # A second answer to any of them would mean an update was handled twice: give it the chance.
        await standin.ask(USER, USER, "/help", timeout=10)
        answered = answers_per_chat(standin, readers, mark)
        polls = standin.requests("getUpdates")
    reliability.faults_hit(faults)
    reliability.add("updates sent through faults", len(readers))
    reliability.add("updates processed twice", sum(1 for n in answered.values() if n > 1))
    reliability.add("updates skipped", sum(1 for n in answered.values() if n == 0))

    assert all(fault.hits == 1 for fault in faults)
    assert answered == dict.fromkeys(readers, 1)
    failed = [index for index, record in enumerate(polls) if record.status != 200]
    assert len(failed) == 3 and failed == list(range(failed[0], failed[0] + 3))
    times = [polls[index].at for index in [*failed, failed[-1] + 1]]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert gaps == sorted(gaps) and gaps[0] >= POLL_BACKOFF  # backing off: each retry waited longer
    assert polls[failed[-1] + 1].status == 200  # and resumed


async def test_send_faults_and_timeouts_on_both_sides_recover_by_themselves(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    """While getUpdates hangs past the client's timeout, alerts meet a timeout (after delivery), a reset,
    and a 502, and two answers meet a reset and a 500: alerts are retried until delivered (the timed-out one
    at most twice), users whose answer failed get an apology, and everything queued meanwhile is answered."""
    readers = list(range(7101, 7104))
    for chat in readers:
        standin.scenario.add_private_chat(chat, f"Reader {chat}")
    settings, corpus = make_settings(tmp_path, standin, push_default=False, corpus_poll_seconds=0.3)
    async with local_bot(settings, standin, read_timeout=READ_TIMEOUT):
        for chat in (USER, OTHER, ADMIN):
            [confirmed] = await standin.ask(chat, chat, "/subscribe openai")
            assert "Subscribed to OpenAI" in confirmed["text"]
        faults = [
            # Before TimedOut PTB waits READ_TIMEOUT for sendMessage, and for getUpdates READ_TIMEOUT
            # plus the 1 s long poll twice (bot.tg.polling adds it, and PTB again): both faults hang
            # a second longer than that.
            standin.inject_fault("getUpdates", FaultKind.TIMEOUT, delay=READ_TIMEOUT + 3.0),
            standin.inject_fault(
                "sendMessage", FaultKind.TIMEOUT, chat_id=USER, delay=READ_TIMEOUT + 1.0, deliver=True
            ),
            standin.inject_fault("sendMessage", FaultKind.RESET, chat_id=OTHER),
            standin.inject_fault("sendMessage", FaultKind.BAD_GATEWAY, chat_id=ADMIN),
            standin.inject_fault("sendMessage", FaultKind.RESET, chat_id=readers[0]),
            standin.inject_fault("sendMessage", FaultKind.SERVER_ERROR, chat_id=readers[1]),
        ]
        await until(lambda: faults[0].hits == 1)  # polling is hanging now
        mark = standin.world.mark()
        for chat in readers:
            standin.scenario.send_user_message(chat, chat, "Sora daily losses")
        (corpus / "openai-faults.md").write_text(
            "---\nid: openai-faults\ntitle: OpenAI weathers a network storm\ntopics: [openai]\n---\n\n"
            "Packets were lost and found again.\n"
        )
        await until(lambda: all(fault.hits == 1 for fault in faults), timeout=30)
        await until(
            lambda: all(answers_per_chat(standin, [USER, OTHER, ADMIN, *readers], mark).values()), timeout=30
        )
        [again] = await standin.ask(readers[0], readers[0], "Codex Sites", timeout=10)
        async with await Store.open(settings.database) as store:
            for _ in range(600):  # alerts retry after 2 s, then 4 s
                counts = await store.alert_counts()
                if counts.get("sent") == 3:
                    break
                await asyncio.sleep(0.05)
        alerts = answers_per_chat(standin, [USER, OTHER, ADMIN], mark)
        replies = {
            chat: [e.text or "" for e in standin.world.events(EventKind.SENT, chat_id=chat, after=mark)]
            for chat in readers
        }
    reliability.faults_hit(faults)
    reliability.alerts(3, sum(alerts.values()), sum(n - 1 for n in alerts.values()), 0)
    reliability.add("updates sent through faults", len(readers))

    assert {status: n for status, n in counts.items() if n} == {"sent": 3}
    assert alerts[OTHER] == alerts[ADMIN] == 1
    assert alerts[USER] == 2  # Telegram got it but the answer was lost: the retry repeats it, once
    for chat in readers[:2]:
        assert replies[chat][0].startswith("Sorry, something went wrong")
    assert again["text"].startswith("Result")
    for chat in readers[2:]:
        assert len(replies[chat]) == 1 and replies[chat][0].startswith("Result")


# --------------------------------------------------------------------------- two instances


async def test_second_instance_on_one_token_refuses_and_the_first_keeps_answering(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    """Telegram ends the older poll with 409 when a second instance polls: the one already running (here
    past its start-up window at once) keeps polling, and the newcomer stops with a clear message."""

    async def start(folder: str, grace: float) -> tuple[asyncio.Task[str | None], asyncio.Event]:
        settings, _ = make_settings(tmp_path / folder, standin, corpus_poll_seconds=0, push_default=False)
        # Long polls, as in production: the parting poll of a loser would hit the one that stays.
        services = await compose(settings, TOKEN, poll_timeout=5, conflict_grace=grace)
        task = asyncio.create_task(run(services, install_signal_handlers=False))
        return task, services.stopping

    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    first, stop_first = await start("first", 0.0)
    second: asyncio.Task[str | None] | None = None
    try:
        await standin.wait_until_polling(timeout=30)
        second, _ = await start("second", 60.0)
        reason = await asyncio.wait_for(second, timeout=30)
        conflicts = [r for r in standin.requests("getUpdates") if r.status == 409]
        mark = standin.world.mark()
        [answer] = await standin.ask(USER, USER, "Sora daily losses", timeout=15)
        await standin.ask(OTHER, OTHER, "/help", timeout=15)  # time for a second answer, if any
        assert not first.done()
    finally:
        stop_first.set()
        first_reason = await asyncio.wait_for(first, timeout=30)
        if second is not None and not second.done():
            second.cancel()
    reliability.fault("second instance (409)", len(conflicts))

    assert reason == CONFLICT_MESSAGE
    assert first_reason is None
    assert len(conflicts) >= 2  # the first instance heard of the newcomer, then the newcomer of it
    assert answer["text"].startswith("Result")
    assert len(standin.world.events(EventKind.SENT, chat_id=USER, after=mark)) == 1


async def test_second_instance_on_one_database_refuses_before_polling(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    async with running_bot(tmp_path, standin) as bot:
        polls = len(standin.requests("getUpdates"))
        with pytest.raises(StoreLockedError, match="in use by another newsbot process") as refused:
            await compose(bot.settings, TOKEN)
        assert str(bot.settings.database) in str(refused.value)
        [answer] = await bot.ask(USER, USER, "Codex Sites")
        assert answer["text"].startswith("Result")
        # The refused instance never reached Telegram: no poll of the first one was cut short.
        assert all(record.status == 200 for record in standin.requests("getUpdates")[polls:])
    reliability.fault("second instance (database lock)")
