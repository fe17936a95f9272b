"""Topics in conversation and subscriptions, end to end: pushes, /related, /subscribe, alerts on reload
and from the corpus watcher, digests, exactly-once across reloads and restarts."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from bot.core.interests import AlertStatus
from bot.standin import BotApiStandIn, EventKind
from bot.store import OutboxItem, Store
from tests.conftest import CORPUS
from tests.harness import ADMIN, GROUP, OTHER, USER, BotUnderTest, running_bot
from tests.test_bot import buttons


def write_article(corpus: Path, slug: str, title: str, body: str, topics: str = "[openai]") -> None:
    (corpus / f"{slug}.md").write_text(f"---\nid: {slug}\ntitle: {title}\ntopics: {topics}\n---\n\n{body}\n")


async def outbox(bot: BotUnderTest, chat_id: int) -> list[OutboxItem]:
    """A chat's alerts as the bot's database holds them (read through a second connection)."""
    async with await Store.open(bot.settings.database) as store:
        return await store.chat_alerts(chat_id)


async def until_no_alert_pending(bot: BotUnderTest, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Wait until the outbox holds no pending alert. The worker sends pending alerts only, so until
    something new is ingested, what has been sent by then is all that will be sent."""
    async with await Store.open(bot.settings.database) as store:
        for _ in range(int(timeout / 0.05)):
            if (await store.alert_counts())["pending"] == 0:
                return
            await asyncio.sleep(0.05)
    raise AssertionError(f"alerts still pending after {timeout} s")


# --------------------------------------------------------------------------- related-story pushes


async def test_private_question_gets_answer_then_push_without_repeats(
    tmp_path: Path, standin: BotApiStandIn
) -> None:
    # Five more stories about the same surge: the answer shows three, the push adds others, never the same.
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    for number in range(5):
        write_article(
            corpus,
            f"chatgpt-{number}",
            f"ChatGPT uninstalls story {number}",
            f"Uninstalls of ChatGPT jumped 295% again in week {number}, the analysts said, after the deal.",
        )
    async with running_bot(tmp_path, standin) as newsbot:
        answer, push = await newsbot.ask(USER, USER, "Why did ChatGPT uninstalls jump 295%?", count=2)
        # The chat's push lock went with the push: locks are kept only while in use.
        await newsbot.settled()
        assert len(newsbot.services.application.bot_data.pusher.locks) == 0
    assert answer["text"].startswith("Result")
    assert push["text"].startswith("Related stories · OpenAI")
    assert push["reply_to_message"]["message_id"] < answer["message_id"]
    # Nothing the answer already showed is pushed again.
    assert "ChatGPT uninstalls jump 295%" in answer["text"]
    assert "ChatGPT uninstalls jump 295%" not in push["text"]


async def test_no_push_of_stories_that_only_share_the_topic_name(newsbot: BotUnderTest) -> None:
    # The answer shows the one story about the question; the other OpenAI stories hold too little of it.
    mark = newsbot.standin.world.mark()
    [answer] = await newsbot.ask(USER, USER, "Why did ChatGPT uninstalls jump 295%?")
    assert answer["text"].startswith("Result 1 of 1")
    await newsbot.settled()
    sent = newsbot.standin.world.events(EventKind.SENT, chat_id=USER, after=mark)
    assert [event.text for event in sent] == [answer["text"]]


async def test_group_push_once_per_cooldown_never_for_bots(newsbot: BotUnderTest) -> None:
    standin = newsbot.standin
    thread = standin.scenario.add_topic(GROUP, "Chatter")
    [push] = await newsbot.ask(GROUP, USER, "has anyone tried Sora before it closes?", thread_id=thread)
    assert push["text"].startswith("Related stories · OpenAI")
    assert push["message_thread_id"] == thread
    assert push["reply_to_message"]["text"] == "has anyone tried Sora before it closes?"
    mark = standin.world.mark()
    users = standin.scenario
    users.send_user_message(GROUP, OTHER, "Sora again, and ChatGPT too")  # inside the cooldown
    users.send_user_message(GROUP, 555, "Codex Codex Codex", from_bot=True)  # bots never trigger pushes
    users.send_user_message(GROUP, OTHER, "/latest@newsbot_test_bot")  # commands never trigger pushes
    await standin.wait_for(chat_id=GROUP, after=mark)  # the /latest answer
    await newsbot.settled()  # all three messages handled
    sent = [e.text or "" for e in standin.world.events(EventKind.SENT, chat_id=GROUP, after=mark)]
    assert len(sent) == 1 and sent[0].startswith("Latest")


async def test_related_off_needs_group_admin_and_stops_pushes(newsbot: BotUnderTest) -> None:
    [refused] = await newsbot.ask(GROUP, USER, "/related off")
    assert "administrators" in refused["text"]
    [done] = await newsbot.ask(GROUP, ADMIN, "/related off")
    assert done["text"] == "Related-story pushes are now off in this chat."
    assert [e["type"] for e in done.get("entities", [])] == ["bold"]  # "off" stands out
    mark = newsbot.standin.world.mark()
    newsbot.standin.scenario.send_user_message(GROUP, USER, "what about the MCP standard?")
    await newsbot.settled()
    assert newsbot.standin.world.events(EventKind.SENT, chat_id=GROUP, after=mark) == []


async def test_push_state_survives_a_restart(tmp_path: Path, standin: BotApiStandIn) -> None:
    async with running_bot(tmp_path, standin) as bot:
        [push] = await bot.ask(GROUP, USER, "MCP standards are coming")
        assert push["text"].startswith("Related stories · AI standards")
    async with running_bot(tmp_path, standin) as bot:
        mark = standin.world.mark()
        standin.scenario.send_user_message(GROUP, USER, "MCP standards again")
        await bot.settled()
        assert standin.world.events(EventKind.SENT, chat_id=GROUP, after=mark) == []


# --------------------------------------------------------------------------- subscriptions


async def test_subscribe_topic_confirms_with_preview(newsbot: BotUnderTest) -> None:
    [reply] = await newsbot.ask(USER, USER, "/subscribe OpenAI")
    assert "Subscribed to OpenAI" in reply["text"]
    assert reply["text"].count("\n\n") >= 3  # header, understanding, preview note, articles
    [again] = await newsbot.ask(USER, USER, "/subscribe openai")
    assert "already subscribed" in again["text"]


async def test_subscribe_keywords_says_what_was_understood(newsbot: BotUnderTest) -> None:
    [reply] = await newsbot.ask(USER, USER, '/subscribe Sora "world model" -Anthropic')
    assert "containing all of: sora, world model" in reply["text"]
    assert "none of: anthrop" in reply["text"]
    assert "No article in the archive matches" in reply["text"]  # the Sora story mentions Anthropic
    [loose] = await newsbot.ask(USER, USER, '/subscribe Sora "world model"')
    assert "OpenAI to close its Sora video app" in loose["text"]
    [listing] = await newsbot.ask(USER, USER, "/subscriptions")
    assert "world model" in listing["text"]
    assert len(buttons(listing)) == 2
    [too_long] = await newsbot.ask(USER, USER, "/subscribe " + "word " * 60)
    assert "limited to" in too_long["text"]


async def test_group_subscriptions_are_for_admins(newsbot: BotUnderTest) -> None:
    [refused] = await newsbot.ask(GROUP, USER, "/subscribe openai")
    assert "administrators" in refused["text"]
    [ok] = await newsbot.ask(GROUP, ADMIN, "/subscribe openai")
    assert "Subscribed to OpenAI" in ok["text"]


async def test_an_anonymous_group_admin_is_an_admin(newsbot: BotUnderTest) -> None:
    """An administrator who posts as the group (Telegram sends such messages from GroupAnonymousBot with
    the group as sender_chat; only admins can) may change subscriptions and settings; another chat
    speaking in the group (a linked channel) may not."""
    scenario, mark = newsbot.standin.scenario, newsbot.standin.world.mark()
    scenario.send_as_chat(GROUP, "/subscribe openai", admin=ADMIN)
    scenario.send_as_chat(GROUP, "/related off", admin=ADMIN)
    scenario.send_as_chat(GROUP, "/subscribe ai-standards", sender_chat=-100777)  # a channel, not the group
    await newsbot.settled()
    said = [e.text or "" for e in newsbot.standin.world.events(EventKind.SENT, chat_id=GROUP, after=mark)]
    assert any("Subscribed to OpenAI" in text for text in said)
    assert "Related-story pushes are now off in this chat." in said
    assert sum("administrators" in text for text in said) == 1
    stored = await newsbot.services.store.subscriptions(GROUP)
    assert [s.value for s in stored] == ["openai"]


async def test_topics_toggle_and_remove_buttons(newsbot: BotUnderTest) -> None:
    [topics] = await newsbot.ask(USER, USER, "/topics")
    toggles = dict(buttons(topics))
    assert toggles["+ OpenAI"] == "tsub:openai"
    answers = await newsbot.click(USER, USER, topics, "tsub:openai", count=0)
    assert "Subscribed to OpenAI" in answers[-1].data.get("text", "")
    await newsbot.standin.wait_for(kind=EventKind.EDITED, chat_id=USER)
    edited = newsbot.standin.world.message(USER, topics["message_id"])
    assert ("✓ OpenAI", "tsub:openai") in buttons(edited)
    [listing] = await newsbot.ask(USER, USER, "/subscriptions")
    [(_, data)] = buttons(listing)
    answers = await newsbot.click(USER, USER, listing, data, count=0)
    assert "removed" in answers[-1].data.get("text", "")
    [empty] = await newsbot.ask(USER, USER, "/subscriptions")
    assert "no subscriptions" in empty["text"]
    # A forged remove button for someone else's subscription id does nothing.
    answers = await newsbot.click(USER, USER, listing, "unsub:1", count=0)
    assert "no longer exists" in answers[-1].data.get("text", "")


async def test_unsubscribe_all(newsbot: BotUnderTest) -> None:
    await newsbot.ask(USER, USER, "/subscribe openai")
    await newsbot.ask(USER, USER, "/subscribe standards")
    [reply] = await newsbot.ask(USER, USER, "/unsubscribe all")
    assert "Removed 2 subscriptions" in reply["text"]


# --------------------------------------------------------------------------- alerts


async def test_reload_alerts_subscriber_exactly_once(newsbot: BotUnderTest) -> None:
    await newsbot.ask(USER, USER, "/subscribe openai")
    await newsbot.ask(OTHER, OTHER, "/subscribe ai-standards")
    write_article(newsbot.corpus, "openai-new-model", "OpenAI ships a new reasoning model", "It is faster.")
    standin = newsbot.standin
    mark = standin.world.mark()
    await newsbot.ask(ADMIN, ADMIN, "/reload")
    [alert] = await standin.wait_for(chat_id=USER, after=mark, timeout=10)
    assert "OpenAI ships a new reasoning model" in (alert.text or "")
    assert alert.message_id is not None
    labels = [label for label, _ in buttons(standin.world.message(USER, alert.message_id))]
    assert labels == ["Related", "Unsubscribe"]
    await newsbot.ask(ADMIN, ADMIN, "/reload")  # its report comes once its articles are recorded
    await until_no_alert_pending(newsbot)
    [row] = await outbox(newsbot, USER)
    assert (row.status, row.message_id) == (AlertStatus.SENT, alert.message_id)
    assert await outbox(newsbot, OTHER) == []
    assert len(standin.world.events(EventKind.SENT, chat_id=USER, after=mark)) == 1
    assert standin.world.events(EventKind.SENT, chat_id=OTHER, after=mark) == []
    [status] = await newsbot.ask(USER, USER, "/status")
    assert "Last alert to this chat: <b>never" not in status["text"]
    assert "never" not in status["text"].split("Last alert to this chat:")[1].split("\n")[0]


async def test_more_than_three_new_articles_make_one_digest(newsbot: BotUnderTest) -> None:
    await newsbot.ask(USER, USER, "/subscribe openai")
    for n in range(5):
        write_article(newsbot.corpus, f"openai-batch-{n}", f"OpenAI batch story {n}", f"Story number {n}.")
    mark = newsbot.standin.world.mark()
    await newsbot.ask(ADMIN, ADMIN, "/reload")
    [digest] = await newsbot.standin.wait_for(chat_id=USER, after=mark, timeout=10)
    for n in range(5):
        assert f"OpenAI batch story {n}" in (digest.text or "")
    await until_no_alert_pending(newsbot)
    rows = await outbox(newsbot, USER)
    assert [(row.status, row.message_id) for row in rows] == [(AlertStatus.SENT, digest.message_id)] * 5
    assert len(newsbot.standin.world.events(EventKind.SENT, chat_id=USER, after=mark)) == 1


async def test_watcher_picks_up_a_new_file(tmp_path: Path, standin: BotApiStandIn) -> None:
    async with running_bot(tmp_path, standin, corpus_poll_seconds=0.3) as bot:
        await bot.ask(USER, USER, "/subscribe ai-standards")
        mark = standin.world.mark()
        write_article(bot.corpus, "mcp-adopted", "MCP standard adopted", "MIIT adopts MCP.", "[ai-standards]")
        [alert] = await standin.wait_for(chat_id=USER, after=mark, timeout=10)
        assert "MCP standard adopted" in (alert.text or "")


async def test_alerts_are_not_repeated_after_restart(tmp_path: Path, standin: BotApiStandIn) -> None:
    async with running_bot(tmp_path, standin) as bot:
        await bot.ask(USER, USER, "/subscribe openai")
        write_article(bot.corpus, "openai-one", "OpenAI one more story", "Body.")
        mark = standin.world.mark()
        await bot.ask(ADMIN, ADMIN, "/reload")
        await standin.wait_for(chat_id=USER, after=mark, timeout=10)
    async with running_bot(tmp_path, standin) as bot:
        await until_no_alert_pending(bot)  # the restart's own ingest found nothing new
        assert [row.status for row in await outbox(bot, USER)] == [AlertStatus.SENT]
        assert len(standin.world.events(EventKind.SENT, chat_id=USER, after=mark)) == 1
        # Removed and re-added: still not new.
        (bot.corpus / "openai-one.md").rename(tmp_path / "parked.md")
        await bot.ask(ADMIN, ADMIN, "/reload")
        (tmp_path / "parked.md").rename(bot.corpus / "openai-one.md")
        await bot.ask(ADMIN, ADMIN, "/reload")
        await until_no_alert_pending(bot)
        assert [row.status for row in await outbox(bot, USER)] == [AlertStatus.SENT]
        assert len(standin.world.events(EventKind.SENT, chat_id=USER, after=mark)) == 1


async def test_first_load_of_empty_database_alerts_nothing(tmp_path: Path, standin: BotApiStandIn) -> None:
    mark = standin.world.mark()
    async with (
        running_bot(tmp_path, standin) as bot,  # polling, so its first ingest is done
        await Store.open(bot.settings.database) as store,
    ):
        counts = await store.alert_counts()
    assert counts == {"pending": 0, "sent": 0, "failed": 0, "parked": 0}  # nothing to send, ever
    assert standin.world.events(EventKind.SENT, after=mark) == []


async def test_blocked_chat_is_parked_and_comes_back_on_start(newsbot: BotUnderTest) -> None:
    await newsbot.ask(USER, USER, "/subscribe openai")
    newsbot.standin.scenario.set_bot_status(USER, "kicked")  # the user blocks the bot
    await newsbot.settled()
    async with await Store.open(newsbot.settings.database) as store:
        chat = await store.get_chat(USER)
        assert chat is not None and not chat.active
        assert [s.value for s in await store.subscriptions(USER)] == ["openai"]  # kept
    newsbot.standin.scenario.set_bot_status(USER, "member")  # unblocked
    await newsbot.settled()
    async with await Store.open(newsbot.settings.database) as store:
        chat = await store.get_chat(USER)
        assert chat is not None and chat.active
