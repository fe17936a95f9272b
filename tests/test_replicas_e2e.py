"""Three replicas of the real bot (`newsbot run` processes) on one PostgreSQL database, behind a
round-robin proxy on 127.0.0.1 that the Bot API stand-in POSTs updates to with the webhook secret:
questions answered exactly once, an alert fan-out delivered exactly once at the global rate, a replica
SIGKILLed in the middle of a fan-out (its claimed alerts go out from the others after the lease), a
/reload on one replica reaching the others, requests without the secret refused.

`pytest --long` asks 1,000 questions (200 by default), fans out to 5,000 chats (240 by default: three
seconds at the global rate, every replica claiming a batch) and kills ten times (twice by default).
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from functools import partial

import httpx
import pytest
import pytest_asyncio

from bot.core.interests import SubscriptionKind
from bot.render import messages
from bot.standin import BotApiStandIn, EventKind
from bot.standin.world import Event
from bot.store import Store
from tests import reliability
from tests.harness import ADMIN, BOT_USERNAME, TOKEN, USER, populate, subscribe_in_store
from tests.postgres import Server
from tests.replicas import SECRET, WEBHOOK_PATH, Replica, ReplicaSet, claimed_alerts, until_taken_over
from tests.website import Story, Website, rss

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

QUESTIONS = (200, 1000)  # default run, `pytest --long`
# Chats. Even the default fan-out is nearly three times what one second may hold (so a replica keeping
# a rate of its own instead of the shared one would show), and more than two replicas' batches
# (bot.tg.alerts.SHARED_BATCH, 100): all three send at once.
FAN_OUT = (240, 5000)
KILLS = (2, 10)
KILL_FAN_OUT = 300  # a batch for each replica, so the victim holds claims whichever one it is
# Messages a second, every replica together. tests.replica lifts Telegram's cap of 30 so that a fan-out
# takes seconds; three replicas on two cores deliver well over 100 a second even with the machine
# busy, so this rate binds.
RATE = 80.0
# Seconds: a killed replica's claimed alerts go out from the others after this. Short, so the kill test
# does not wait on it; still three heartbeats (every third of it) that a live replica would have to miss
# before another took its rows.
LEASE = 2.0
_ARTICLES = itertools.count(1)
QUESTION_TEXTS = ("Sora daily losses", "What did OpenAI release?")
HARBOUR = Story(
    guid="harbour-1",
    title="Harbour pilots vote on night shifts",
    teaser="The harbour pilots voted on night shifts.",
    paragraphs=("The harbour pilots' association voted on a new rota of night shifts.",),
    link="/harbour-pilots",
    full_in_feed=True,
)
QUAY = Story(
    guid="harbour-2",
    title="Quayside tram returns after the storm",
    teaser="The quayside tram runs again.",
    paragraphs=("The quayside tram, stopped by the storm's flooding, runs again to Saltmarsh Quay.",),
    link="/quayside-tram",
    full_in_feed=True,
)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def replicas(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: Server
) -> AsyncIterator[ReplicaSet]:
    """Three replicas on a fresh PostgreSQL database and their own stand-in, ready for updates; shared
    by this module's tests (each uses chats and articles of its own)."""
    name = await postgres_server.create_database()
    site = Website()
    await site.start()
    site.feed("/feed.xml", rss([HARBOUR], base=site.base))
    folder = tmp_path_factory.mktemp("replicas")
    sources = folder / "sources.yaml"  # one feed, which the leader polls every 5 s
    sources.write_text(f"sources:\n  - url: {site.url('/feed.xml')}\n    every: 5\n", "utf-8")
    async with BotApiStandIn(TOKEN, bot_username=BOT_USERNAME) as standin:
        populate(standin)
        cluster = ReplicaSet(
            standin,
            folder,
            postgres_server.dsn_for(name),
            TOKEN,
            ADMIN,
            send_rate=RATE,
            lease_seconds=LEASE,
            extra={
                "NEWSBOT_SOURCES_FILE": str(sources),
                "NEWSBOT_FETCH_PRIVATE_ADDRESSES": "true",  # the feed is on 127.0.0.1
                # A poll slowed by a fan-out on two cores is no reason to back off from the feed.
                "NEWSBOT_FETCH_MAX_FAILURES": "100",
            },
        )
        cluster.site = site
        try:
            await cluster.start()
            yield cluster
        finally:
            await cluster.stop()
            await site.stop()
            await postgres_server.drop_database(name)
    logs = cluster.logs()
    assert TOKEN not in logs and TOKEN.split(":")[1] not in logs
    assert "Traceback" not in logs, logs[-5000:]


@pytest_asyncio.fixture(autouse=True, loop_scope="module")
async def every_replica_running(replicas: ReplicaSet) -> None:
    """Three replicas up for each test. The kill test, last in this module, leaves its last victim down
    (nothing after it needs it); run in another order, the test after it starts that one again."""
    await replicas.revive()


async def subscribe_readers(
    standin: BotApiStandIn, dsn: str, readers: Iterable[int], topic: str, label: str
) -> None:
    """Private chats with the bot, each subscribed to a topic (written to the shared database)."""
    for chat_id in readers:
        standin.scenario.add_private_chat(chat_id, f"Reader {chat_id}")
    await subscribe_in_store(dsn, readers, SubscriptionKind.TOPIC, topic, label)


async def publish_and_reload(cluster: ReplicaSet, topic: str, title: str) -> str:
    """A new article of `topic` in the shared corpus, and /reload from the admin (to whichever replica
    the proxy picks); returns its title (made unique)."""
    n = next(_ARTICLES)
    title = f"{title} {n}"
    (cluster.corpus / f"replica-story-{n}.md").write_text(
        f"---\nid: replica-story-{n}\ntitle: {title}\ntopics: [{topic}]\n---\n\nSomething new, {n}.\n"
    )
    [report] = await cluster.standin.ask(ADMIN, ADMIN, "/reload", timeout=60)
    assert report["text"].startswith("Reload finished") and title in report["text"], report["text"]
    return title


async def until_delivered(
    cluster: ReplicaSet,
    title: str,
    after: int,
    readers: range,
    timeout: float = 180.0,  # noqa: ASYNC109
) -> None:
    """Wait until every reader has the alert and no alert is pending (then nothing more goes out: a row
    is marked sent only after Telegram accepted it, and sent only while pending)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with await Store.open(cluster.dsn) as store:
        while True:
            counts = await store.alert_counts()
            got = deliveries(cluster.standin, title, after, readers)
            if counts.get("pending", 0) == 0 and len(got) == len(readers):
                return
            if loop.time() > deadline:
                raise TimeoutError(f"alerts not delivered: {counts}")
            await asyncio.sleep(0.2)


def deliveries(standin: BotApiStandIn, title: str, after: int, readers: range) -> Counter[int]:
    """How many messages with `title` each of the readers' chats received."""
    sent: Counter[int] = Counter()
    for event in standin.world.events(EventKind.SENT, after=after):
        if carries(title, event) and event.chat_id is not None and event.chat_id in readers:
            sent[event.chat_id] += 1
    return sent


def leads(replica: Replica) -> bool:
    """Whether this replica's current process has said it leads."""
    if replica.process is None or replica.process.returncode is not None:
        return False
    return re.search(rf"replica \S+:{replica.process.pid}:\S+ leads", replica.output()) is not None


def leader(cluster: ReplicaSet) -> Replica:
    """The replica that leads now."""
    [found] = [replica for replica in cluster.replicas if leads(replica)]
    return found


async def until_one_leads(
    cluster: ReplicaSet,
    dead: int | None = None,
    timeout: float = 30.0,  # noqa: ASYNC109
) -> None:
    """Wait until a replica says it leads: one other than the `dead` process, when given (the lock was
    handed over after the leader was killed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not any(leads(r) for r in cluster.replicas if r.process is not None and r.process.pid != dead):
        assert loop.time() < deadline, (
            "no replica leads" if dead is None else "no replica took the lead after the leader was killed"
        )
        await asyncio.sleep(0.1)


def carries(title: str, event: Event) -> bool:
    """Whether a sent message is the alert with `title`."""
    return title in (event.text or "")


def delivered_by(replica: Replica) -> int:
    """The alert messages a replica says (in its log) it delivered."""
    return sum(int(n) for n in re.findall(r"delivered (\d+) alert message", replica.output()))


def busiest_second(standin: BotApiStandIn, title: str, after: int) -> int:
    """The most messages with `title` the stand-in received within any one second."""
    times = sorted(
        e.at
        for e in standin.world.events(EventKind.SENT, after=after)
        if carries(title, e) and e.chat_id != ADMIN
    )
    most, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


async def test_questions_through_three_replicas_are_answered_exactly_once(
    replicas: ReplicaSet, request: pytest.FixtureRequest
) -> None:
    standin = replicas.standin
    questions = reliability.scaled(request.config, *QUESTIONS)
    askers = range(700_001, 700_001 + questions)
    for user in askers:
        standin.scenario.add_private_chat(user, f"Asker {user}")
    mark = standin.world.mark()
    before = await replicas.answers_total()
    for n, user in enumerate(askers):
        standin.scenario.send_user_message(user, user, QUESTION_TEXTS[n % 2])
    await standin.wait_for(lambda e: e.chat_id in askers, count=questions, after=mark, timeout=240)
    # Every update was POSTed (and accepted) once, and the replicas together sent one answer per question.
    accepted = Counter(d.update_id for d in standin.webhook_deliveries if d.status == 200)
    assert accepted and max(accepted.values()) == 1
    for _ in range(100):  # (counted just after each answer went out)
        if await replicas.answers_total() - before >= questions:
            break
        await asyncio.sleep(0.1)
    assert await replicas.answers_total() - before == questions
    answers = Counter(e.chat_id for e in standin.world.events(EventKind.SENT, after=mark))
    assert set(answers) == set(askers) and set(answers.values()) == {1}
    assert all(replicas.proxy.forwarded[r.listen_port] > questions // 10 for r in replicas.replicas)


async def test_a_post_without_the_secret_is_refused_by_every_replica(
    replicas: ReplicaSet,
) -> None:
    standin = replicas.standin
    mark = standin.world.mark()
    user = {"id": USER, "is_bot": False, "first_name": "Ursula"}
    message = {"message_id": 1, "date": 1_700_000_000, "chat": {"id": USER, "type": "private"}, "from": user}
    async with httpx.AsyncClient() as client:
        for replica in replicas.replicas:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": SECRET[:-1]}):
                refused = await client.post(
                    f"http://127.0.0.1:{replica.listen_port}{WEBHOOK_PATH}",
                    json={"update_id": 990_001, "message": {**message, "text": "/start"}},
                    headers=headers,
                )
                assert refused.status_code == 403
    # The same update with the secret, through the proxy, is answered: the refused ones changed nothing.
    [welcome] = await standin.ask(USER, USER, "/start", timeout=30)
    assert welcome["text"].startswith("Hello!")
    assert [e.chat_id for e in standin.world.events(EventKind.SENT, after=mark)] == [USER]


async def test_an_article_fetched_by_the_leader_reaches_every_replica(replicas: ReplicaSet) -> None:
    """Only the leader polls the feed; the new article it stores is announced (NOTIFY), and every
    replica takes it from the database into its archive: a question straight to each one finds it."""
    site = replicas.site
    assert site is not None
    site.feed("/feed.xml", rss([QUAY, HARBOUR], base=site.base))
    await poll_on_the_leader_now(replicas)
    await until_each_replica_answers(replicas, "quayside tram Saltmarsh", QUAY.title, first_asker=630_001)


async def poll_on_the_leader_now(cluster: ReplicaSet) -> None:
    """Have the leader poll the feed now instead of at its next turn (up to five seconds away): the admin
    pauses and resumes it with the /sources buttons, which the proxy hands to the leader for the occasion;
    Resume makes the source due at once and wakes the poller of the replica it reached."""
    standin = cluster.standin
    await until_one_leads(cluster)  # (the cluster may have just started)
    backends = cluster.proxy.backends
    cluster.proxy.backends = [leader(cluster).listen_port]
    try:
        [listing] = await standin.ask(ADMIN, ADMIN, "/sources", timeout=30)
        for label, expected in (("Pause 1", "paused"), ("Resume 1", "resumed")):
            mark = standin.world.mark()
            standin.scenario.click_button(ADMIN, ADMIN, listing["message_id"], label)
            [toast] = await standin.wait_for(kind=EventKind.CALLBACK_ANSWER, after=mark, timeout=30)
            assert expected in toast.data["text"], toast.data["text"]
            await standin.wait_for(kind=EventKind.EDITED, chat_id=ADMIN, after=mark, timeout=30)
            listing = standin.world.message_in(standin.world.chats[ADMIN], listing["message_id"])
    finally:
        cluster.proxy.backends = backends


async def test_a_fan_out_to_thousands_of_chats_goes_out_once_each_at_the_global_rate(
    replicas: ReplicaSet, request: pytest.FixtureRequest
) -> None:
    standin = replicas.standin
    readers = range(800_001, 800_001 + reliability.scaled(request.config, *FAN_OUT))
    await subscribe_readers(standin, replicas.dsn, readers, "openai", "OpenAI")
    mark = standin.world.mark()
    title = await publish_and_reload(replicas, "openai", "OpenAI fan-out story")
    await until_delivered(replicas, title, mark, readers)
    sent = deliveries(standin, title, mark, readers)
    assert set(sent) == set(readers) and set(sent.values()) == {1}  # none lost, none doubled
    # The global rate is every replica's together.
    # (Sends are booked one slot apart; when each reaches the stand-in still varies a little.)
    assert busiest_second(standin, title, mark) <= RATE * 1.1 + 1
    assert all(delivered_by(replica) > 0 for replica in replicas.replicas)  # each replica took a share


async def test_a_reload_on_one_replica_reaches_the_others(replicas: ReplicaSet) -> None:
    """The admin's /reload goes to one replica; it tells the others (NOTIFY), which read the shared
    corpus too: a question sent straight to each replica finds the new article."""
    title = await publish_and_reload(replicas, "china-tech", "Semiconductor export note")
    await until_each_replica_answers(replicas, "Semiconductor export note", title, first_asker=650_001)


async def test_a_users_question_limit_holds_across_replicas(replicas: ReplicaSet) -> None:
    """Six questions at once from one user reach three replicas in turn; the limit (a burst of three,
    then one "slow down") is kept in the database, so it holds as in one process."""
    standin = replicas.standin
    flooder = 640_001
    standin.scenario.add_private_chat(flooder, "Flooder")
    mark = standin.world.mark()
    for _ in range(6):
        standin.scenario.send_user_message(flooder, flooder, "Sora daily losses")
    await standin.wait_for(chat_id=flooder, count=4, after=mark, timeout=60)
    # Then a question straight to each replica, after the flood: each has handled its share by then.
    for n, replica in enumerate(replicas.replicas):
        witness = 640_101 + n
        standin.scenario.add_private_chat(witness, f"Witness {witness}")
        witnessed = standin.world.mark()
        await post_update(replica, witness, 640_000 + n, "Sora daily losses")
        await standin.wait_for(chat_id=witness, after=witnessed, timeout=30)
    said = [e.text or "" for e in standin.world.events(EventKind.SENT, chat_id=flooder, after=mark)]
    slowed = [text for text in said if text == messages.SLOW_DOWN]
    assert len(said) == 4 and len(slowed) == 1, said


async def until_each_replica_answers(
    replicas: ReplicaSet, question: str, title: str, *, first_asker: int
) -> None:
    """Ask each replica directly (a new asker each time) until its answer holds `title`."""
    standin = replicas.standin
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    for n, replica in enumerate(replicas.replicas):
        for attempt in itertools.count():
            asker = first_asker + 1000 * n + attempt  # a new asker each time: no question limit in the way
            standin.scenario.add_private_chat(asker, f"Asker {asker}")
            mark = standin.world.mark()
            await post_update(replica, asker, asker, question)
            [answer] = await standin.wait_for(chat_id=asker, after=mark, timeout=30)
            if title in (answer.text or ""):
                break
            assert loop.time() < deadline, f"replica {replica.index} never found {title!r}: {answer.text}"
            await asyncio.sleep(0.2)  # the poll, or the notification, is on its way: ask again


async def post_update(replica: Replica, user: int, update_id: int, text: str) -> None:
    """A message update POSTed straight to one replica's webhook, with the secret, as Telegram would."""
    sender = {"id": user, "is_bot": False, "first_name": f"Asker {user}"}
    chat = {"id": user, "type": "private", "first_name": f"Asker {user}"}
    message = {"message_id": update_id, "date": 1_700_000_000, "chat": chat, "from": sender, "text": text}
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            f"http://127.0.0.1:{replica.listen_port}{WEBHOOK_PATH}",
            json={"update_id": update_id, "message": message},
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
    assert answer.status_code == 200


async def test_a_replica_killed_mid_fan_out_leaves_its_alerts_to_the_others(
    replicas: ReplicaSet, request: pytest.FixtureRequest
) -> None:
    standin = replicas.standin
    readers = range(900_001, 900_001 + KILL_FAN_OUT)
    await subscribe_readers(standin, replicas.dsn, readers, "developer-tools", "Developer tools")
    orphaned = 0  # pending alerts the killed replicas held claims on when they died
    rounds = reliability.scaled(request.config, *KILLS)
    starting: Replica | None = None  # the last round's victim, started again while this round begins
    for round_number in range(rounds):
        # The first victim is the leader: another replica must take the lead. Then the one after the
        # last victim (the proxy passes that one by until it listens again).
        victim = leader(replicas) if starting is None else replicas.replicas[(starting.index + 1) % 3]
        mark = standin.world.mark()
        title = await publish_and_reload(replicas, "developer-tools", "Compiler release for replicas")
        # Kill once a fifth, three tenths or two fifths of the fan-out is out (the moment varies), with
        # all three replicas up: every one is sending by then, the victim still holding most of its claim.
        out = KILL_FAN_OUT * (2 + round_number % 3) // 10
        await standin.wait_for(partial(carries, title), count=out, after=mark)
        if starting is not None:
            await replicas.until_ready(starting)
        assert victim.process is not None
        pid = victim.process.pid
        await replicas.kill(victim)
        orphaned += len(await claimed_alerts(replicas.dsn, pid))
        if round_number == 0:
            await until_one_leads(replicas, pid)
        await until_taken_over(replicas.dsn, pid)  # its lease ran out and the others took what it held
        # Only then does the victim start again (a new process, so a new owner of claims), while the
        # others finish this fan-out and the next one begins. The last victim stays down: no test after
        # this one needs it.
        starting = victim if round_number < rounds - 1 else None
        if starting is not None:
            await replicas.launch(starting)
        await until_delivered(replicas, title, mark, readers)
        sent = deliveries(standin, title, mark, readers)
        assert set(sent) == set(readers)  # none lost
        assert sum(sent.values()) - len(sent) <= 1  # at most the one message it was sending, again
    assert orphaned > 0  # the kills did leave claimed rows behind, and the others sent them
