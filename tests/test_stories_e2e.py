"""One alert per story, end to end against the Bot API stand-in: a later report of an alerted story edits
the alert ("+1 source: …") instead of sending a message, across reloads and restarts, and a story whose
reports arrive together is one message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.core.interests import AlertStatus
from bot.standin import BotApiStandIn, EventKind
from tests.harness import ADMIN, USER, BotUnderTest, running_bot
from tests.test_alerts_e2e import outbox, until_no_alert_pending

BODY = (
    "OpenAI said on Tuesday that its new model, GPT-6, will remember conversations for up to a year and "
    "will be offered first to paying subscribers in Europe and the United States. The company said the "
    "model was trained on a new cluster in Texas and that it cost about $4 billion to build. Chief executive "
    "Sam Altman told reporters in San Francisco that the release would reach free users by the summer. "
    "Analysts at Ridgeway Partners said the memory feature could change how people use assistants at work, "
    "while privacy groups in Brussels asked regulators to examine how the stored conversations are kept."
)


def write_report(corpus: Path, slug: str, source: str, hour: int, *, title: str, body: str = BODY) -> None:
    """A report published `hour` hours into the last half day (stories group reports of recent days)."""
    published = (datetime.now(UTC) - timedelta(hours=12 - hour)).replace(microsecond=0)
    (corpus / f"{slug}.md").write_text(
        f"---\nid: {slug}\ntitle: {title}\nsource: {source}\npublished: {published.isoformat()}\n"
        f"topics: [openai]\n---\n\n{body}\n"
    )


def reworded(body: str) -> str:
    """The same report as another outlet runs it: a sentence changed, one added."""
    return (
        body.replace("said on Tuesday", "announced on Tuesday") + " Shares of partners rose in early trading."
    )


async def reload(bot: BotUnderTest) -> None:
    await bot.ask(ADMIN, ADMIN, "/reload")
    await until_no_alert_pending(bot)


def write_wire_one(corpus: Path) -> None:
    """The first report of the GPT-6 story."""
    write_report(corpus, "gpt6-wire-one", "Wire One", 9, title="OpenAI unveils GPT-6 with year-long memory")


def write_wire_two(corpus: Path) -> None:
    """Another outlet's report of it, in other words."""
    write_report(
        corpus,
        "gpt6-wire-two",
        "Wire Two",
        10,
        title="GPT-6 arrives with a memory of a year, OpenAI says",
        body=reworded(BODY),
    )


async def test_later_reports_edit_the_alert_and_never_send_another(newsbot: BotUnderTest) -> None:
    standin = newsbot.standin
    await newsbot.ask(USER, USER, "/subscribe openai")
    write_wire_one(newsbot.corpus)
    mark = standin.world.mark()
    await newsbot.ask(ADMIN, ADMIN, "/reload")
    [alert] = await standin.wait_for(chat_id=USER, after=mark, timeout=10)
    assert "GPT-6" in (alert.text or "") and "+1 source" not in (alert.text or "")
    write_wire_two(newsbot.corpus)
    await newsbot.ask(ADMIN, ADMIN, "/reload")
    [edit] = await standin.wait_for(kind=EventKind.EDITED, chat_id=USER, after=mark, timeout=10)
    assert edit.message_id == alert.message_id
    current = standin.world.message(USER, alert.message_id or 0)
    assert "+1 source: Wire Two" in current["text"] and "OpenAI unveils GPT-6" in current["text"]
    assert [b["text"] for row in current["reply_markup"]["inline_keyboard"] for b in row] == [
        "Related",
        "Unsubscribe",
    ]
    await until_no_alert_pending(newsbot)
    assert len(standin.world.events(EventKind.SENT, chat_id=USER, after=mark)) == 1
    [row] = await outbox(newsbot, USER)
    assert (row.article_id, row.status, row.shown_members, row.edit_due) == (
        "gpt6-wire-one",
        AlertStatus.SENT,
        2,
        False,
    )


async def test_stories_survive_a_restart(tmp_path: Path, standin: BotApiStandIn) -> None:
    async with running_bot(tmp_path, standin) as bot:
        await bot.ask(USER, USER, "/subscribe openai")
        write_report(
            bot.corpus, "gpt6-wire-one", "Wire One", 9, title="OpenAI unveils GPT-6 with year-long memory"
        )
        mark = standin.world.mark()
        await bot.ask(ADMIN, ADMIN, "/reload")
        [alert] = await standin.wait_for(chat_id=USER, after=mark, timeout=10)
    async with running_bot(tmp_path, standin) as bot:
        assert bot.services.runtime.stories.story_of("gpt6-wire-one") == "gpt6-wire-one"
        write_report(
            bot.corpus, "gpt6-wire-three", "Wire Three", 11, title="OpenAI's GPT-6 remembers a year of chats"
        )
        await bot.ask(ADMIN, ADMIN, "/reload")
        await standin.wait_for(kind=EventKind.EDITED, chat_id=USER, after=mark, timeout=10)
        await until_no_alert_pending(bot)
        assert bot.services.runtime.stories.story_of("gpt6-wire-three") == "gpt6-wire-one"
    assert "+1 source: Wire Three" in standin.world.message(USER, alert.message_id or 0)["text"]
    assert len(standin.world.events(EventKind.SENT, chat_id=USER, after=mark)) == 1


async def test_reports_arriving_together_are_one_message(newsbot: BotUnderTest) -> None:
    standin = newsbot.standin
    await newsbot.ask(USER, USER, "/subscribe openai")
    write_wire_one(newsbot.corpus)
    write_wire_two(newsbot.corpus)
    mark = standin.world.mark()
    await reload(newsbot)
    [alert] = standin.world.events(EventKind.SENT, chat_id=USER, after=mark)
    assert "+1 source: Wire Two" in (alert.text or "")
    assert standin.world.events(EventKind.EDITED, chat_id=USER, after=mark) == []
    await reload(newsbot)  # nothing new: still one message
    assert len(standin.world.events(EventKind.SENT, chat_id=USER, after=mark)) == 1


async def test_an_answer_shows_a_story_once_with_its_other_sources(newsbot: BotUnderTest) -> None:
    write_wire_one(newsbot.corpus)
    write_wire_two(newsbot.corpus)
    await reload(newsbot)
    [answer] = await newsbot.ask(USER, USER, "GPT-6 memory conversations for a year")
    text = answer["text"]
    assert text.count("GPT-6") >= 1
    assert ("OpenAI unveils GPT-6" in text) != ("GPT-6 arrives with a memory" in text)  # one of the two
    assert "Also reported by 1 source" in text
