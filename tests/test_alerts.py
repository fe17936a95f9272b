"""Alert delivery end to end: real SQLite outbox, the real python-telegram-bot Bot, the Bot API stand-in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.core.interests import AlertStatus, Subscription
from bot.core.library import article_token
from bot.core.models import Article
from bot.core.stories import Member, Reason, Story, StoryRecord
from bot.standin import BotApiStandIn, EventKind, FaultKind, RequestRecord
from bot.store import DatabaseBusy, Store
from bot.tg import alerts as alerts_module
from bot.tg.alerts import AlertWorker

TOKEN = "123456789:ALERTS-token"
ANN = 1001
BOB = 1002
CAT = 1003
GROUP = -4001


def story(number: int) -> Article:
    return Article(
        id=f"a{number}",
        title=f"Harbour story {number} & <friends>",
        body=f"Lead paragraph of story {number}.\n\nA second paragraph nobody previews.",
        published=datetime(2026, 3, number % 28 + 1, tzinfo=UTC),
        source="Wire",
        url=f"https://example.org/news/{number}",
    )


LIBRARY = {article.id: article for article in (story(n) for n in range(1, 60))}


@pytest.fixture
async def standin() -> AsyncIterator[BotApiStandIn]:
    async with BotApiStandIn(TOKEN) as server:
        yield server


@pytest.fixture
async def bot(standin: BotApiStandIn) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=standin.base_url) as client:
        yield client


class FakeTime:
    """A clock that only moves when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


@dataclass
class Paced:
    """A stand-in and a client whose times are a FakeTime: pacing is checked in simulated seconds."""

    standin: BotApiStandIn
    bot: Bot
    time: FakeTime

    def worker(self, store: Store, **options: Any) -> AlertWorker:
        """A worker whose clock and sleep are this fake time's."""
        return worker(store, self.bot, clock=self.time, sleep=self.time.sleep, **options)


@pytest.fixture
async def paced() -> AsyncIterator[Paced]:
    fake = FakeTime()
    async with BotApiStandIn(TOKEN, clock=fake) as server, Bot(TOKEN, base_url=server.base_url) as client:
        yield Paced(server, client, fake)


async def open_store(path: Path, kind: type[Store] = Store) -> Store:
    store = await kind.open(path)
    await store.ingest_articles(["archive"], lambda ids, subs: ())  # the silent first load
    return store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_store(tmp_path / "newsbot.sqlite3")
    yield opened
    await opened.close()


async def add_private(store: Store, standin: BotApiStandIn, chat_id: int, *labels: str) -> None:
    standin.scenario.add_private_chat(chat_id)
    await store.touch_chat(chat_id, "private", None)
    for label in labels:
        await store.subscribe(chat_id, "topic", label.lower(), label)


async def queue(store: Store, alerts: Sequence[tuple[int, str, str]]) -> int:
    """Outbox rows for (chat, article id, reason) through a real ingest of new article ids."""
    ids = list(dict.fromkeys(article_id for _, article_id, _ in alerts))

    def match(new: list[str], subscriptions: list[Subscription]) -> list[tuple[int, str, str]]:
        return [alert for alert in alerts if alert[1] in new]

    return (await store.ingest_articles(ids, match)).alerts_created


def worker(store: Store, bot: Bot, **options: Any) -> AlertWorker:
    """A worker with test-sized intervals unless a test asks otherwise."""
    settings: dict[str, Any] = {
        "rate_per_second": 200.0,
        "chat_interval": 0.05,
        "backoff_base": 0.05,
        "backoff_max": 0.3,
    }
    settings.update(options)
    return AlertWorker(store, bot, LIBRARY.get, **settings)


async def settle(alerts: AlertWorker, store: Store, timeout: float = 5.0) -> int:  # noqa: ASYNC109
    """Run passes, sleeping until the next retry falls due, until nothing is pending."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    sent = 0
    while loop.time() < deadline:
        sent += await alerts.deliver_due()
        due = await store.next_due_at()
        if due is None:
            return sent
        await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 0.01)
    raise AssertionError("alerts still pending after the deadline")


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition never held"
        await asyncio.sleep(0.01)


def texts(standin: BotApiStandIn, chat_id: int) -> list[str]:
    return [message["text"] for message in standin.world.sent_messages(chat_id)]


def buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [(button["text"], button["callback_data"]) for row in rows for button in row]


def sends_to(standin: BotApiStandIn, chat_id: int) -> list[RequestRecord]:
    return [r for r in standin.requests("sendMessage") if int(r.params["chat_id"]) == chat_id]


# --------------------------------------------------------------------------- exactly once, digests, buttons


async def test_every_due_alert_is_delivered_exactly_once(
    store: Store, standin: BotApiStandIn, bot: Bot
) -> None:
    await add_private(store, standin, ANN, "Harbour")
    await add_private(store, standin, BOB, "Harbour")
    standin.scenario.add_group(GROUP, "Readers")
    await store.touch_chat(GROUP, "group", "Readers")
    plan = [(ANN, "a1", "Harbour"), (ANN, "a2", "Harbour"), (BOB, "a1", "Harbour"), (GROUP, "a3", "Harbour")]
    assert await queue(store, plan) == 4
    alerts = worker(store, bot)

    assert await alerts.deliver_due() == 4
    assert await alerts.deliver_due() == 0

    assert len(standin.requests("sendMessage")) == 4
    for chat_id, numbers in ((ANN, [1, 2]), (BOB, [1]), (GROUP, [3])):
        shown = texts(standin, chat_id)
        assert len(shown) == len(numbers)
        for text, number in zip(shown, numbers, strict=True):
            assert text.startswith(f"🔔 Harbour story {number} & <friends>")
            assert f"Lead paragraph of story {number}." in text
            assert text.endswith("Matched: Harbour")
        sent_ids = [message["message_id"] for message in standin.world.sent_messages(chat_id)]
        rows = await store.chat_alerts(chat_id)
        assert [row.status for row in rows] == [AlertStatus.SENT] * len(numbers)
        assert [row.message_id for row in rows] == sent_ids
    assert (await store.alert_counts())["pending"] == 0


async def test_a_digest_puts_the_story_most_outlets_carried_first(
    store: Store, standin: BotApiStandIn, bot: Bot
) -> None:
    await add_private(store, standin, ANN, "Harbour")
    await queue(store, [(ANN, f"a{n}", "Harbour") for n in range(1, 6)])
    # a2 (the oldest but one) stands for a story three outlets carried; the rest were carried once.
    members = tuple(
        Member(article_id, source, None, Reason.NEW)
        for article_id, source in (("a2", "Wire"), ("x1", "Courier"), ("x2", "Gazette"))
    )
    big = Story("a2", "a2", members)
    alerts = worker(store, bot, story=lambda article_id: big if article_id == "a2" else None)
    assert await alerts.deliver_due() == 1

    (digest,) = standin.world.sent_messages(ANN)
    firsts = [line for line in digest["text"].splitlines() if line[:2] in {f"{n}." for n in range(1, 6)}]
    order = (2, 5, 4, 3, 1)  # the big story, then the newest first
    assert firsts == [f"{n}. Harbour story {story} & <friends>" for n, story in enumerate(order, 1)]


async def test_more_than_three_due_for_one_chat_become_one_digest(
    store: Store, standin: BotApiStandIn, bot: Bot
) -> None:
    await add_private(store, standin, ANN, "Harbour")
    await add_private(store, standin, BOB, "Weather", "Ports, harbours")
    await add_private(store, standin, CAT)
    plan = [(ANN, f"a{n}", "Harbour") for n in range(1, 6)]
    plan += [(BOB, f"a{n}", "Ports, harbours, Weather") for n in (6, 7)] + [(BOB, "a8", "Weather")]
    plan += [(CAT, "a9", "Sailing")]
    await queue(store, plan)

    assert await worker(store, bot).deliver_due() == 1 + 3 + 1

    (digest,) = standin.world.sent_messages(ANN)
    assert digest["text"].startswith("🔔 5 new articles")
    for number in range(1, 6):  # one source each: the newest first, each with its best sentence
        story = 6 - number
        assert f"{number}. Harbour story {story} & <friends>" in digest["text"]
        assert f"Lead paragraph of story {story}." in digest["text"]
    assert {row.message_id for row in await store.chat_alerts(ANN)} == {digest["message_id"]}

    weather, ports = await store.subscriptions(BOB)
    assert (weather.label, ports.label) == ("Weather", "Ports, harbours")
    singles = standin.world.sent_messages(BOB)
    assert [message["text"].splitlines()[0] for message in singles] == [
        f"🔔 Harbour story {n} & <friends>" for n in (6, 7, 8)
    ]
    # "Ports, harbours, Weather" names two labels, the first of which holds a comma itself.
    assert [buttons(message) for message in singles] == [
        [("Related", f"rel:{article_token('a6')}"), ("Unsubscribe", f"unsub:{ports.id}")],
        [("Related", f"rel:{article_token('a7')}"), ("Unsubscribe", f"unsub:{ports.id}")],
        [("Related", f"rel:{article_token('a8')}"), ("Unsubscribe", f"unsub:{weather.id}")],
    ]
    assert singles[0]["text"].endswith("Matched: Ports, harbours, Weather")
    (lonely,) = standin.world.sent_messages(CAT)
    assert buttons(lonely) == [("Related", f"rel:{article_token('a9')}")]  # no subscription called Sailing
    for message in [*singles, lonely]:
        assert all(len(data.encode()) <= 64 for _, data in buttons(message))


async def test_a_digest_due_for_many_chats_is_one_message_each_whatever_the_batch(
    store: Store, standin: BotApiStandIn, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ingest queues rows article by article, so a pass reading a fixed number of rows used to meet
    # only the first stories of each chat's digest: one message per piece instead of one digest.
    monkeypatch.setattr(alerts_module, "DUE_BATCH", 4)
    chats = (ANN, BOB, CAT)
    for chat_id in chats:
        await add_private(store, standin, chat_id)
        await store.subscribe(chat_id, "topic", "harbour", "Harbour", schedule="daily 07:00")
    ids = ["a1", "a2", "a3"]

    def match(new: list[str], subscriptions: list[Subscription]) -> list[tuple[int, str, str]]:
        return [(chat_id, article_id, "Harbour") for article_id in new for chat_id in chats]

    await store.ingest_articles(ids, match, now=datetime.now(UTC) - timedelta(days=2))  # due since

    assert await settle(worker(store, bot), store) == 3
    for chat_id in chats:
        (digest,) = texts(standin, chat_id)
        assert digest.startswith("🔔 3 new articles")
        # Every story once, the newest first (one source each).
        assert all(f"{n}. Harbour story {4 - n} & <friends>" in digest for n in (1, 2, 3))


# --------------------------------------------------------------------------- pacing


async def test_each_chat_gets_at_most_one_message_per_interval(store: Store, paced: Paced) -> None:
    await add_private(store, paced.standin, ANN, "Harbour")
    await add_private(store, paced.standin, BOB, "Harbour")
    await queue(store, [(chat, f"a{n}", "Harbour") for chat in (ANN, BOB) for n in (1, 2, 3)])

    assert await paced.worker(store, chat_interval=1.0).deliver_due() == 6

    for chat_id in (ANN, BOB):
        arrivals = [record.at for record in sends_to(paced.standin, chat_id)]
        assert len(arrivals) == 3
        assert all(later - earlier >= 1.0 for earlier, later in pairwise(arrivals))
    # The two chats take turns: their interval is per chat, not shared.
    assert sends_to(paced.standin, BOB)[0].at - sends_to(paced.standin, ANN)[0].at < 1.0


async def test_the_global_rate_caps_sends_in_any_second(store: Store, paced: Paced) -> None:
    chats = list(range(2001, 2021))
    for chat_id in chats:
        await add_private(store, paced.standin, chat_id, "Harbour")
    await queue(store, [(chat_id, "a1", "Harbour") for chat_id in chats])

    assert await paced.worker(store, rate_per_second=10.0).deliver_due() == 20

    arrivals = sorted(record.at for record in paced.standin.requests("sendMessage"))
    assert len(arrivals) == 20
    for start in arrivals:
        assert sum(1 for at in arrivals if start <= at < start + 1.0) <= 10 + 1
    assert arrivals[-1] - arrivals[0] == pytest.approx(1.9)  # evenly spread: 19 gaps of 0.1 s


async def test_groups_get_at_most_their_quota_per_window(store: Store, paced: Paced) -> None:
    server = paced.standin
    server.scenario.add_group(GROUP, "Readers")
    await store.touch_chat(GROUP, "group", "Readers")
    await add_private(store, server, ANN, "Harbour")
    await queue(store, [(GROUP, f"a{n}", "Harbour") for n in range(1, 8)] + [(ANN, "a9", "Harbour")])
    alerts = paced.worker(store, chat_interval=1.0, group_per_minute=3, digest_threshold=10)

    assert await alerts.deliver_due() == 8

    group_times = [record.at for record in sends_to(server, GROUP)]
    assert len(group_times) == 7 and len(server.world.sent_messages(GROUP)) == 7
    # Any four consecutive sends span at least the window, so no 60 s window holds more than three.
    assert all(group_times[i + 3] - group_times[i] >= 60.0 for i in range(len(group_times) - 3))
    (private,) = sends_to(server, ANN)
    assert private.at < group_times[3]  # the private chat did not wait for the group's quota


async def test_alerts_wait_while_answers_are_being_sent(store: Store, paced: Paced) -> None:
    await add_private(store, paced.standin, ANN, "Harbour")
    await queue(store, [(ANN, "a1", "Harbour"), (ANN, "a2", "Harbour")])
    answers_until = paced.time() + 5.0  # answers keep going out for five (simulated) seconds

    alerts = paced.worker(store, answers_busy=lambda: paced.time() < answers_until)
    assert await alerts.deliver_due() == 2

    arrivals = [record.at for record in sends_to(paced.standin, ANN)]
    assert len(arrivals) == 2 and min(arrivals) >= answers_until  # nothing went while answers did
    assert len(texts(paced.standin, ANN)) == 2


# --------------------------------------------------------------------------- Telegram's failures


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # PTB's own, in int mode
@pytest.mark.parametrize("timedelta_mode", ["true", "false"])
async def test_a_429_pauses_every_chat_then_all_arrive_once(
    store: Store, paced: Paced, monkeypatch: pytest.MonkeyPatch, timedelta_mode: str
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", timedelta_mode)  # retry_after is a timedelta or an int
    standin = paced.standin
    await add_private(store, standin, ANN, "Harbour")
    await add_private(store, standin, BOB, "Harbour")
    await queue(store, [(chat, f"a{n}", "Harbour") for chat in (ANN, BOB) for n in (1, 2)])
    standin.inject_fault("sendMessage", FaultKind.RETRY_AFTER, retry_after=7)

    assert await paced.worker(store).deliver_due() == 4

    calls = standin.requests()
    (refused,) = [record for record in calls if record.status == 429]
    later = [record.at for record in calls if record.at > refused.at]
    assert len(later) == 4 and min(later) >= refused.at + 7  # every chat waited out the pause
    assert [record.status for record in standin.requests("sendMessage")].count(200) == 4
    for chat_id in (ANN, BOB):
        assert len(texts(standin, chat_id)) == 2
        assert [(row.status, row.attempts) for row in await store.chat_alerts(chat_id)] == [
            (AlertStatus.SENT, 0),
            (AlertStatus.SENT, 0),
        ]


async def test_transient_failures_are_retried_with_backoff(store: Store, standin: BotApiStandIn) -> None:
    await add_private(store, standin, ANN, "Harbour")
    await queue(store, [(ANN, "a1", "Harbour")])
    for kind in (FaultKind.SERVER_ERROR, FaultKind.BAD_GATEWAY, FaultKind.RESET):
        standin.inject_fault("sendMessage", kind)
    standin.inject_fault("sendMessage", FaultKind.TIMEOUT, delay=1.0)
    request = HTTPXRequest(read_timeout=0.3)
    async with Bot(TOKEN, base_url=standin.base_url, request=request) as impatient:
        alerts = worker(store, impatient, max_attempts=5)
        assert await settle(alerts, store) == 1

    # The stand-in logs a held request when it finally drops it, so wait for that and order by arrival.
    await until(lambda: len(standin.requests("sendMessage")) == 5)
    calls = sorted(standin.requests("sendMessage"), key=lambda record: record.at)
    assert [record.status for record in calls] == [500, 502, 0, 0, 200]
    arrivals = [record.at for record in calls]
    waits = [later - earlier for earlier, later in pairwise(arrivals)]
    assert all(wait >= backoff - 0.01 for wait, backoff in zip(waits, [0.05, 0.1, 0.2, 0.3], strict=True))
    assert len(texts(standin, ANN)) == 1
    (row,) = await store.chat_alerts(ANN)
    assert (row.status, row.attempts, row.last_error) == (AlertStatus.SENT, 4, None)


async def test_persistent_server_errors_fail_the_row_after_max_attempts(
    store: Store, standin: BotApiStandIn, bot: Bot
) -> None:
    await add_private(store, standin, ANN, "Harbour")
    await add_private(store, standin, BOB, "Harbour")
    await queue(store, [(ANN, "a1", "Harbour"), (BOB, "a1", "Harbour")])
    standin.inject_fault("sendMessage", FaultKind.SERVER_ERROR, chat_id=ANN, times=None)

    assert await settle(worker(store, bot, max_attempts=3), store) == 1

    assert len(sends_to(standin, ANN)) == 3
    (row,) = await store.chat_alerts(ANN)
    assert (row.status, row.attempts) == (AlertStatus.FAILED, 3)
    assert row.last_error is not None and "Internal Server Error" in row.last_error
    assert texts(standin, ANN) == [] and len(texts(standin, BOB)) == 1


async def test_a_revoked_token_leaves_every_alert_pending_for_the_next_start(
    store: Store, standin: BotApiStandIn, bot: Bot
) -> None:
    """Telegram answers 401 to every send (the token was revoked): that is about the bot, not about a
    chat, so no row is failed and no attempt counted (even with max_attempts=1); the worker says so once
    and stops the pass. A worker started with the token working again delivers every row once."""
    await add_private(store, standin, ANN, "Harbour")
    await add_private(store, standin, BOB, "Harbour")
    await queue(store, [(ANN, "a1", "Harbour"), (BOB, "a1", "Harbour"), (BOB, "a2", "Harbour")])
    standin.revoke_token()
    told: list[str] = []
    alerts = worker(store, bot, max_attempts=1, on_token_error=lambda: told.append("check"))

    assert await alerts.deliver_due() == 0

    assert [r.status for r in standin.requests("sendMessage")] == [401]  # one try, then the pass ends
    assert told == ["check"]
    rows = [row for chat in (ANN, BOB) for row in await store.chat_alerts(chat)]
    assert [(row.status, row.attempts) for row in rows] == [(AlertStatus.PENDING, 0)] * 3
    standin.restore_token()
    assert await settle(worker(store, bot, max_attempts=1), store) == 3
    assert len(texts(standin, ANN)) == 1 and len(texts(standin, BOB)) == 2


async def test_while_telegram_is_unreachable_alerts_are_retried_never_failed(
    store: Store, standin: BotApiStandIn, bot: Bot
) -> None:
    """Every send ends in a dropped connection (the network is down) for longer than max_attempts tries:
    rows keep their place, backing off, and none is failed, because nothing could be delivered to anyone
    meanwhile. Once sends work again, each arrives once."""
    await add_private(store, standin, ANN, "Harbour")
    await add_private(store, standin, BOB, "Harbour")
    await queue(store, [(ANN, "a1", "Harbour"), (BOB, "a1", "Harbour")])
    down = standin.inject_fault("sendMessage", FaultKind.RESET, times=None)
    alerts = worker(store, bot, max_attempts=2)
    deadline = asyncio.get_running_loop().time() + 60
    while down.hits < 8:  # four tries each: twice max_attempts
        await alerts.deliver_due()
        due = await store.next_due_at()
        assert due is not None, "a row left the queue while Telegram was unreachable"
        await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 0.01)
        assert asyncio.get_running_loop().time() < deadline
    rows = [row for chat in (ANN, BOB) for row in await store.chat_alerts(chat)]
    assert {row.status for row in rows} == {AlertStatus.PENDING}
    assert min(row.attempts for row in rows) >= 2
    standin.clear_faults()
    assert await settle(alerts, store) == 2
    assert len(texts(standin, ANN)) == len(texts(standin, BOB)) == 1


async def test_a_blocked_chat_is_parked_and_resumes_when_it_returns(
    store: Store, standin: BotApiStandIn, bot: Bot
) -> None:
    await add_private(store, standin, ANN, "Harbour")
    await add_private(store, standin, BOB, "Harbour")
    await queue(store, [(ANN, "a1", "Harbour"), (ANN, "a2", "Harbour"), (BOB, "a1", "Harbour")])
    standin.scenario.set_bot_status(ANN, "kicked")  # Ann blocked the bot
    alerts = worker(store, bot)

    assert await alerts.deliver_due() == 1
    assert await alerts.deliver_due() == 0

    assert len(sends_to(standin, ANN)) == 1  # one refused try, then nothing more
    chat = await store.get_chat(ANN)
    assert chat is not None and not chat.active
    assert chat.inactive_reason is not None and "blocked" in chat.inactive_reason
    assert [row.status for row in await store.chat_alerts(ANN)] == [AlertStatus.PARKED] * 2
    assert [sub.label for sub in await store.subscriptions(ANN)] == ["Harbour"]

    # Unblocked; the handlers touch the chat on its next message.
    standin.scenario.set_bot_status(ANN, "member")
    await store.touch_chat(ANN, "private", None)
    assert [row.status for row in await store.chat_alerts(ANN)] == [AlertStatus.PENDING] * 2
    assert await alerts.deliver_due() == 2
    assert [text.splitlines()[0] for text in texts(standin, ANN)] == [
        "🔔 Harbour story 1 & <friends>",
        "🔔 Harbour story 2 & <friends>",
    ]


async def test_a_migrated_group_gets_its_alerts_at_the_new_id(
    store: Store, standin: BotApiStandIn, bot: Bot
) -> None:
    standin.scenario.add_group(GROUP, "Readers")
    await store.touch_chat(GROUP, "group", "Readers")
    await store.subscribe(GROUP, "topic", "harbour", "Harbour")
    await queue(store, [(GROUP, "a1", "Harbour"), (GROUP, "a2", "Harbour")])
    fault = standin.inject_fault("sendMessage", FaultKind.MIGRATE, chat_id=GROUP, times=None)
    new_id = fault.migrate_to_chat_id
    assert new_id is not None

    assert await worker(store, bot).deliver_due() == 2

    assert fault.hits == 1
    assert await store.get_chat(GROUP) is None
    moved = await store.get_chat(new_id)
    assert moved is not None and moved.type == "supergroup"
    (subscription,) = await store.subscriptions(new_id)
    assert subscription.label == "Harbour"
    messages = standin.world.sent_messages(new_id)
    assert [message["text"].splitlines()[0] for message in messages] == [
        "🔔 Harbour story 1 & <friends>",
        "🔔 Harbour story 2 & <friends>",
    ]
    assert buttons(messages[0])[1] == ("Unsubscribe", f"unsub:{subscription.id}")
    rows = await store.chat_alerts(new_id)
    assert [(row.status, row.message_id) for row in rows] == [
        (AlertStatus.SENT, message["message_id"]) for message in messages
    ]


async def test_html_telegram_cannot_parse_goes_out_as_plain_text(
    store: Store, standin: BotApiStandIn, bot: Bot
) -> None:
    await add_private(store, standin, ANN, "Harbour")
    await queue(store, [(ANN, "a1", "Harbour")])
    standin.inject_fault("sendMessage", FaultKind.CANT_PARSE)

    assert await worker(store, bot).deliver_due() == 1

    refused, accepted = standin.requests("sendMessage")
    assert (refused.status, refused.params.get("parse_mode")) == (400, "HTML")
    assert (accepted.status, accepted.params.get("parse_mode")) == (200, None)
    (message,) = standin.world.sent_messages(ANN)
    assert message["text"].startswith("🔔 Harbour story 1 & <friends> (https://example.org/news/1)")
    assert {entity["type"] for entity in message.get("entities", [])} <= {
        "url"
    }  # links Telegram finds itself
    assert buttons(message)[0] == ("Related", f"rel:{article_token('a1')}")
    (row,) = await store.chat_alerts(ANN)
    assert (row.status, row.message_id) == (AlertStatus.SENT, message["message_id"])


async def test_an_article_gone_from_the_library_fails_only_its_row(
    store: Store, standin: BotApiStandIn, bot: Bot
) -> None:
    await add_private(store, standin, ANN, "Harbour")
    await add_private(store, standin, BOB, "Harbour")
    await queue(store, [(ANN, "a1", "Harbour"), (ANN, "withdrawn", "Harbour"), (BOB, "a2", "Harbour")])

    assert await worker(store, bot).deliver_due() == 2

    by_article = {row.article_id: row for row in await store.chat_alerts(ANN)}
    assert by_article["a1"].status is AlertStatus.SENT
    assert by_article["withdrawn"].status is AlertStatus.FAILED
    assert by_article["withdrawn"].last_error == "article 'withdrawn' is no longer in the library"
    assert len(texts(standin, ANN)) == 1 and len(texts(standin, BOB)) == 1


async def test_a_delivered_alert_that_could_not_be_marked_is_not_sent_again(
    tmp_path: Path, standin: BotApiStandIn, bot: Bot
) -> None:
    class ForgetfulStore(Store):
        failures = 1

        async def mark_sent(
            self,
            ids: Sequence[int],
            message_id: int | None,
            now: datetime | None = None,
            *,
            shown: Mapping[int, int] | None = None,
        ) -> int:
            if self.failures:
                self.failures -= 1
                raise DatabaseBusy("database is locked")
            return await super().mark_sent(ids, message_id, now, shown=shown)

    store = await open_store(tmp_path / "newsbot.sqlite3", ForgetfulStore)
    try:
        await add_private(store, standin, ANN, "Harbour")
        await queue(store, [(ANN, "a1", "Harbour")])
        alerts = worker(store, bot)
        assert await alerts.deliver_due() == 1
        assert await alerts.deliver_due() == 0
        (message,) = standin.world.sent_messages(ANN)
        (row,) = await store.chat_alerts(ANN)
        assert (row.status, row.message_id) == (AlertStatus.SENT, message["message_id"])
    finally:
        await store.close()


# --------------------------------------------------------------------------- the background loop


async def test_run_resumes_pending_rows_wakes_on_ingest_and_stops(
    store: Store, standin: BotApiStandIn, bot: Bot
) -> None:
    await add_private(store, standin, ANN, "Harbour")
    await add_private(store, standin, BOB, "Harbour")
    await queue(store, [(ANN, "a1", "Harbour")])  # left over from before a restart
    alerts = worker(store, bot)
    stop = asyncio.Event()
    task = asyncio.create_task(alerts.run(stop))

    await standin.wait_for(chat_id=ANN, timeout=3)
    mark = standin.world.mark()
    await queue(store, [(ANN, "a2", "Harbour"), (BOB, "a2", "Harbour")])
    alerts.wake()  # without it the worker would sleep for a minute
    events = await standin.wait_for(kind=EventKind.SENT, count=2, after=mark, timeout=3)
    assert sorted(event.chat_id for event in events if event.chat_id is not None) == [ANN, BOB]

    stop.set()
    await asyncio.wait_for(task, 3)
    assert task.exception() is None
    assert (await store.alert_counts())["sent"] == 3


async def test_a_report_recorded_while_an_edit_is_on_its_way_is_shown_at_once(
    store: Store, standin: BotApiStandIn, bot: Bot
) -> None:
    """The third report of a story lands while the alert is being edited for the second: its ingest
    finds the row's flag already up, so it wakes no one. The worker must come back for it at once, not
    after IDLE_MAX (a minute)."""
    await add_private(store, standin, ANN, "Harbour")

    def record(article_id: str, number: int) -> StoryRecord:
        return StoryRecord(article_id, "a1", Reason.NEW if number == 1 else Reason.REWRITE,
                           f"Outlet {number}", None, 100, None)  # fmt: skip

    def assign(ids: list[str]) -> list[StoryRecord]:
        return [record(i, int(i[1:])) for i in ids]

    def match(new: list[str], subscriptions: list[Subscription]) -> list[tuple[int, str, str]]:
        return [(ANN, "a1", "Harbour")] if "a1" in new else []

    def story_of(count: int) -> Story:
        members = tuple(Member(f"a{n}", f"Outlet {n}", None, Reason.NEW) for n in range(1, count + 1))
        return Story("a1", "a1", members)

    # What the worker sees of the story: one report, then two for one render (the edit on its way
    # while the third is recorded), then all three.
    shown_counts = [1]

    def story(article_id: str) -> Story | None:
        count = shown_counts[0]
        if count == 2:
            shown_counts[0] = 3
        return story_of(count)

    await store.ingest_articles(["a1"], match, assign=assign)
    alerts = worker(store, bot, story=story)
    stop = asyncio.Event()
    task = asyncio.create_task(alerts.run(stop))
    [sent] = await standin.wait_for(kind=EventKind.SENT, chat_id=ANN, timeout=3)
    await until(lambda: not alerts._one_pass.locked())  # the pass is over: the worker sleeps
    await asyncio.sleep(0.2)

    await store.ingest_articles(["a2", "a3"], match, assign=assign)  # the flag goes up once
    shown_counts[0] = 2
    alerts.wake()
    edits = await standin.wait_for(kind=EventKind.EDITED, chat_id=ANN, count=2, timeout=5)
    assert all(edit.message_id == sent.message_id for edit in edits)
    final = standin.world.message(ANN, sent.message_id or 0)["text"]
    assert "Outlet 2" in final and "Outlet 3" in final
    stop.set()
    await asyncio.wait_for(task, 3)
    assert await store.due_edits(timedelta(hours=24)) == []


async def test_stop_interrupts_a_flood_wait_and_keeps_the_row(
    store: Store, standin: BotApiStandIn, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_private(store, standin, ANN, "Harbour")
    await queue(store, [(ANN, "a1", "Harbour")])
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    standin.inject_fault("sendMessage", FaultKind.RETRY_AFTER, retry_after=30)
    stop = asyncio.Event()
    task = asyncio.create_task(worker(store, bot).run(stop))

    await until(lambda: any(record.status == 429 for record in standin.requests()))
    stop.set()
    await asyncio.wait_for(task, 3)

    assert standin.world.sent_messages() == []
    (row,) = await store.chat_alerts(ANN)
    assert (row.status, row.attempts) == (AlertStatus.PENDING, 0)
