"""The Telegram bot end to end: the real PTB stack over HTTP against the local Bot API stand-in."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.commands import COMMANDS, user_commands
from bot.localbot import local_bot
from bot.standin import BotApiStandIn, EventKind, FaultKind
from bot.tg import work
from tests.harness import (
    ADMIN,
    BOT_USERNAME,
    GROUP,
    OTHER,
    TOKEN,
    USER,
    BotUnderTest,
    make_settings,
    running_bot,
)


@pytest.fixture
async def newsbot(tmp_path: Path, standin: BotApiStandIn) -> AsyncIterator[BotUnderTest]:
    """The running bot with related-story pushes off: these tests are about answers, and a push
    arriving between two answers would make "the bot's last message" ambiguous."""
    async with running_bot(tmp_path, standin, push_default=False) as running:
        yield running


@pytest.fixture
async def loose_newsbot(tmp_path: Path, standin: BotApiStandIn) -> AsyncIterator[BotUnderTest]:
    """The same, with the relevance rule off (NEWSBOT_MIN_RELEVANCE=0): every story sharing a word is
    an answer, so the four bundled stories fill a second page for the pagination tests."""
    async with running_bot(tmp_path, standin, push_default=False, min_relevance=0) as running:
        yield running


def buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    markup = message.get("reply_markup") or {}
    return [
        (button["text"], button.get("callback_data") or button.get("url", ""))
        for row in markup.get("inline_keyboard", [])
        for button in row
    ]


def bold_words(message: dict[str, Any]) -> list[str]:
    text = message["text"].encode("utf-16-le")
    return [
        text[e["offset"] * 2 : (e["offset"] + e["length"]) * 2].decode("utf-16-le")
        for e in message.get("entities", [])
        if e["type"] == "bold"
    ]


async def test_start_welcomes_with_example_buttons(newsbot: BotUnderTest) -> None:
    [reply] = await newsbot.ask(USER, USER, "/start")
    assert "4 articles" in reply["text"]
    assert "OpenAI" in reply["text"]
    examples = buttons(reply)
    assert 2 <= len(examples) <= 3
    assert all(data.startswith("ex:") for _, data in examples)
    # Pressing an example question answers it.
    await newsbot.click(USER, USER, reply, examples[0][1])
    answer = newsbot.replies(USER)[-1]
    assert answer["text"].startswith("Result")


async def test_help_lists_every_command_and_menus_match(newsbot: BotUnderTest) -> None:
    [reply] = await newsbot.ask(USER, USER, "/help")
    for command in user_commands():
        assert f"/{command.name}" in reply["text"]
    assert "/reload" not in reply["text"]
    [admin_help] = await newsbot.ask(ADMIN, ADMIN, "/help")
    for command in COMMANDS:
        assert f"/{command.name}" in admin_help["text"]
    menu = [c["command"] for c in newsbot.standin.world.commands()]
    assert menu == [c.name for c in user_commands()]
    admin_menu = [c["command"] for c in newsbot.standin.world.commands({"type": "chat", "chat_id": ADMIN})]
    assert admin_menu == [c.name for c in COMMANDS]


async def test_question_gets_cited_answer_with_bold_matches_and_buttons(newsbot: BotUnderTest) -> None:
    [reply] = await newsbot.ask(USER, USER, "How much money was Sora losing every day?")
    text = reply["text"]
    assert "OpenAI to close its Sora video app" in text.split("\n\n")[1]
    assert "$1 million" in text
    assert any(word.lower().startswith("sora") for word in bold_words(reply))
    assert [label for label, _ in buttons(reply)] == ["Related 1"]  # one article matches all of it
    assert "typing" in newsbot.standin.world.chat_actions(USER)
    [broad] = await newsbot.ask(USER, USER, "OpenAI AI models video standards")
    labels = [label for label, _ in buttons(broad)]
    assert "More results ›" not in labels and len(labels) < 3  # the other stories hold too little of it


async def test_broad_question_gets_a_page_and_more_results(loose_newsbot: BotUnderTest) -> None:
    [broad] = await loose_newsbot.ask(USER, USER, "OpenAI AI models video standards")
    labels = [label for label, _ in buttons(broad)]
    assert labels == ["Related 1", "Related 2", "Related 3", "More results ›"]


async def test_more_results_pages_and_related_button(loose_newsbot: BotUnderTest) -> None:
    newsbot = loose_newsbot
    [reply] = await newsbot.ask(USER, USER, "OpenAI AI models video standards")
    more = dict((label, data) for label, data in buttons(reply))["More results ›"]
    await newsbot.click(USER, USER, reply, more)
    page_two = newsbot.replies(USER)[-1]
    assert page_two["text"].startswith("Result 4 of 4 for «OpenAI AI models video standards»\n\n4. ")
    first_ids = reply["text"]
    assert page_two["text"].split("\n\n")[1].split("\n")[0] not in first_ids
    related = dict(buttons(reply))["Related 1"]
    await newsbot.click(USER, USER, reply, related)
    related_reply = newsbot.replies(USER)[-1]
    assert related_reply["text"].startswith("Related to")


async def test_forged_and_foreign_buttons_are_refused_politely(loose_newsbot: BotUnderTest) -> None:
    newsbot = loose_newsbot
    [reply] = await newsbot.ask(USER, USER, "OpenAI AI models video standards")
    more = dict(buttons(reply))["More results ›"]
    # Another chat replaying this chat's pagination id learns nothing.
    [other_reply] = await newsbot.ask(OTHER, OTHER, "/start")
    sent_before = len(newsbot.replies(OTHER))
    answers = await newsbot.click(OTHER, OTHER, other_reply, more, count=0)
    assert "expired" in answers[-1].data.get("text", "")
    for junk in ["more:zzz:3", "rel:nope", "ex:99", "garbage", "x" * 64, "more:" + "9" * 59]:
        answers = await newsbot.click(USER, USER, reply, junk, count=0)
        assert answers[-1].data.get("text")
    await newsbot.settled()  # every press handled: whatever it was going to send has been sent
    assert len(newsbot.replies(OTHER)) == sent_before


async def test_no_match_and_stop_words(newsbot: BotUnderTest) -> None:
    [reply] = await newsbot.ask(USER, USER, "cricket semifinal tickets")
    assert reply["text"].startswith("Nothing in the archive matches «cricket semifinal tickets».")
    assert "No story in the archive mentions “cricket”, “semifinal” or “tickets”." in reply["text"]
    assert reply["text"].endswith("Try other words, or browse /topics and the /latest stories.")
    [hint] = await newsbot.ask(USER, USER, "what is it?")
    assert "common words" in hint["text"]


async def test_an_answer_names_the_words_no_story_holds(newsbot: BotUnderTest) -> None:
    [reply] = await newsbot.ask(USER, USER, "Did OpenAI buy Zorblax?")
    assert reply["text"].startswith("Results 1–3 of 3 for «Did OpenAI buy Zorblax?»")
    assert "No story in the archive mentions “Zorblax”." in reply["text"]  # ("buy": everyday, not named)
    assert "OpenAI" in reply["text"].split("\n\n")[1]


async def test_a_word_no_story_holds_is_searched_as_another_alias_of_its_topic(newsbot: BotUnderTest) -> None:
    [reply] = await newsbot.ask(USER, USER, "What did OpenAI agree with the Pentagon?")
    assert "No story in the archive mentions “Pentagon”." in reply["text"]
    assert "Searched for “DoD” in place of “Pentagon”: both name the topic Military AI." in reply["text"]
    assert "Department of Defense" in reply["text"].split("\n\n")[1]


async def test_latest_topics_status(newsbot: BotUnderTest) -> None:
    [latest] = await newsbot.ask(USER, USER, "/latest openai")
    assert "Latest on OpenAI" in latest["text"]
    assert "MIIT" not in latest["text"]
    [unknown] = await newsbot.ask(USER, USER, "/latest knitting")
    assert "/topics" in unknown["text"]
    [topics] = await newsbot.ask(USER, USER, "/topics")
    assert "openai" in topics["text"] and "ai-standards" in topics["text"]
    [status] = await newsbot.ask(USER, USER, "/status")
    lines = status["text"].split("\n")
    assert lines[:3] == ["Status", "Articles: 4", "Topics: 8"]
    assert "Reload running: no" in lines


async def test_group_answers_only_when_addressed_in_the_same_thread(newsbot: BotUnderTest) -> None:
    standin = newsbot.standin
    thread = standin.scenario.add_topic(GROUP, "AI desk")
    mark = standin.world.mark()
    standin.scenario.send_user_message(GROUP, USER, "lunch anyone? the canteen is open", thread_id=thread)
    [reply] = await newsbot.ask(GROUP, OTHER, "/search Sora daily losses", thread_id=thread)
    assert reply["message_thread_id"] == thread
    assert reply["reply_to_message"]["text"] == "/search Sora daily losses"
    # The chatter before it got no answer: the only message since the mark is the /search reply.
    assert [e.message_id for e in standin.world.events(EventKind.SENT, chat_id=GROUP, after=mark)] == [
        reply["message_id"]
    ]
    [mention] = await newsbot.ask(GROUP, USER, f"@{BOT_USERNAME} what did MIIT publish?", thread_id=thread)
    assert "MIIT" in mention["text"]
    [follow] = await newsbot.ask(GROUP, OTHER, "and the Codex websites?", reply_to=mention["message_id"])
    assert "Sites" in follow["text"]


async def test_inline_mode(newsbot: BotUnderTest) -> None:
    standin = newsbot.standin
    mark = standin.world.mark()
    standin.scenario.inline_query(USER, "Sora losses")
    await standin.wait_for(kind=EventKind.INLINE_ANSWER, after=mark)
    answer = standin.world.inline_answers()[-1]
    assert answer["is_personal"] is False  # the same answer for everyone: Telegram may share its cache
    assert int(answer["cache_time"]) <= 60
    [result] = answer["results"]  # one article mentions Sora's losses
    assert result["title"].startswith("OpenAI to close its Sora")
    mark = standin.world.mark()
    standin.scenario.inline_query(USER, "")
    await standin.wait_for(kind=EventKind.INLINE_ANSWER, after=mark)
    assert len(standin.world.inline_answers()[-1]["results"]) == 4


async def test_admin_commands_refused_for_others(
    newsbot: BotUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    for command in ("/reload", "/stats"):
        [reply] = await newsbot.ask(USER, USER, command)
        assert reply["text"] == "This command is for admins."
    assert f"for user {USER}" in caplog.text


async def test_reload_reports_changes_and_keeps_old_on_empty(newsbot: BotUnderTest) -> None:
    (newsbot.corpus / "new-story.md").write_text(
        "---\nid: new-story\ntitle: Harbour cranes go electric\n---\nThe port replaced its diesel cranes.\n"
    )
    (newsbot.corpus / "broken.md").write_text("---\ntitle: [oops\n---\nbody\n")
    [report] = await newsbot.ask(ADMIN, ADMIN, "/reload")
    assert "4 → 5" in report["text"]
    assert "Harbour cranes go electric" in report["text"]
    assert "broken.md" in report["text"]
    [found] = await newsbot.ask(USER, USER, "electric cranes")
    assert "Harbour cranes go electric" in found["text"]
    for path in newsbot.corpus.glob("*.md"):
        path.unlink()
    [kept] = await newsbot.ask(ADMIN, ADMIN, "/reload")
    assert "kept" in kept["text"].lower()
    [still] = await newsbot.ask(USER, USER, "electric cranes")
    assert "Harbour cranes go electric" in still["text"]


async def test_two_reloads_at_once(newsbot: BotUnderTest) -> None:
    standin = newsbot.standin
    mark = standin.world.mark()
    standin.scenario.send_user_message(ADMIN, ADMIN, "/reload")
    standin.scenario.send_user_message(ADMIN, ADMIN, "/reload")
    events = await standin.wait_for(chat_id=ADMIN, after=mark, count=2, timeout=20)
    texts = [e.text or "" for e in events]
    assert any("already running" in t for t in texts)


async def test_stats_for_admin(newsbot: BotUnderTest) -> None:
    await newsbot.ask(USER, USER, "Sora")
    [stats] = await newsbot.ask(ADMIN, ADMIN, "/stats")
    for label in ("Articles", "Passages", "Topics", "Chats", "Questions (24 h)", "Database size", "Uptime"):
        assert label in stats["text"]


async def test_cant_parse_entities_falls_back_to_plain_text(
    newsbot: BotUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    newsbot.standin.inject_fault("sendMessage", FaultKind.CANT_PARSE, times=1, chat_id=USER)
    [reply] = await newsbot.ask(USER, USER, "Sora daily losses")
    assert "OpenAI to close its Sora video app" in reply["text"]
    assert all(e["type"] != "bold" for e in reply.get("entities", []))  # plain text this time
    assert "resending as plain text" in caplog.text


async def test_token_never_logged(
    tmp_path: Path, standin: BotApiStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with running_bot(tmp_path, standin) as bot:
        await bot.ask(USER, USER, "/start")
        await bot.ask(USER, USER, "Sora")
        standin.inject_fault("sendMessage", FaultKind.SERVER_ERROR, times=1, chat_id=USER)
        mark = standin.world.mark()
        bot.standin.scenario.send_user_message(USER, USER, "Codex")
        [apology] = await standin.wait_for(chat_id=USER, after=mark)  # the answer failed: an apology
        assert (apology.text or "").startswith("Sorry, something went wrong")
    assert caplog.records, "nothing was logged at all"
    assert TOKEN not in caplog.text
    assert TOKEN.split(":")[1] not in caplog.text
    # The DEBUG lines that would hold the token (request URLs and parameters) were logged, redacted.
    assert any("Calling Bot API endpoint `getUpdates`" in r.getMessage() for r in caplog.records)


async def test_question_flood_gets_one_slow_down(tmp_path: Path, standin: BotApiStandIn) -> None:
    async with running_bot(tmp_path, standin, questions_per_minute=3, push_default=False) as bot:
        for question in ("Sora", "Codex", "MIIT"):
            await bot.ask(USER, USER, question)
        [slow] = await bot.ask(USER, USER, "ChatGPT")
        assert "faster than I can keep up" in slow["text"]
        mark = standin.world.mark()
        standin.scenario.send_user_message(USER, USER, "OpenAI")
        await bot.settled()  # the question was taken and handled: silence, not a second "slow down"
        assert standin.world.events(EventKind.SENT, chat_id=USER, after=mark) == []
        [other] = await bot.ask(OTHER, OTHER, "Sora")
        assert other["text"].startswith("Result")


async def test_long_reply_is_split_into_valid_parts(standin: BotApiStandIn) -> None:
    from telegram import Bot

    from bot.render.buttons import Button
    from bot.render.html import escape, visible_length
    from bot.tg.sending import send_html

    paragraphs = [f"<b>Story {n}</b> " + escape("Harbour & <cranes> " * 40) for n in range(40)]
    html = "\n\n".join(paragraphs)
    assert visible_length(html) > 3 * 4096
    async with Bot(TOKEN, base_url=standin.base_url) as bot:
        sent = await send_html(bot, USER, html, keyboard=((Button("More", callback_data="x"),),))
    assert len(sent) >= 4
    messages = standin.world.sent_messages(USER)
    assert len(messages) == len(sent)
    for message in messages:
        assert len(message["text"].encode("utf-16-le")) // 2 <= 4096
    assert "reply_markup" in messages[-1] and all("reply_markup" not in m for m in messages[:-1])
    joined = " ".join(m["text"] for m in messages)
    assert all(f"Story {n}" in joined for n in range(40))
    assert "Harbour & <cranes>" in joined


async def test_privacy_mode_warning_at_startup(
    tmp_path: Path, standin: BotApiStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    standin.world.privacy_mode = True
    caplog.set_level(logging.WARNING)
    async with running_bot(tmp_path, standin):
        pass
    assert "Group privacy mode is on" in caplog.text
    assert "/setprivacy" in caplog.text


async def test_question_text_is_not_stored_unless_enabled(tmp_path: Path, standin: BotApiStandIn) -> None:
    import sqlite3

    async with running_bot(tmp_path, standin) as bot:
        await bot.ask(USER, USER, "Sora secret question")
    database = bot.settings.database
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT COUNT(*), COUNT(question) FROM question_log").fetchone() == (1, 0)
    async with running_bot(tmp_path, standin, log_questions=True) as bot:
        await bot.ask(USER, USER, "Codex websites")
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT question FROM question_log WHERE question IS NOT NULL").fetchall() == [
            ("Codex websites",)
        ]


async def test_a_question_the_archive_cannot_answer_gets_the_no_match_reply(newsbot: BotUnderTest) -> None:
    question = "What did OpenAI announce in 2019?"  # shares "OpenAI" with three stories, none of 2019
    [reply] = await newsbot.ask(USER, USER, question)
    assert "Nothing in the archive matches" in reply["text"]
    standin = newsbot.standin
    mark = standin.world.mark()
    standin.scenario.inline_query(USER, question)
    await standin.wait_for(kind=EventKind.INLINE_ANSWER, after=mark)
    assert standin.world.inline_answers()[-1]["results"] == []


async def test_corpus_problems_at_start_up_are_logged_and_told_to_the_admins_once(
    tmp_path: Path, standin: BotApiStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    """A broken file in the corpus: at start-up the log says how many problems there are and each admin
    gets one message listing them; a restart with the same problems tells nobody again, a new problem
    is told."""
    settings, corpus = make_settings(tmp_path, standin, corpus_poll_seconds=0)
    (corpus / "broken.md").write_text("no front matter here\n")
    async with local_bot(settings, standin):
        await standin.wait_for(chat_id=ADMIN, timeout=10)
    [notice] = [m["text"] for m in standin.world.sent_messages(ADMIN)]
    assert "1 problem" in notice and "broken.md" in notice and "newsbot check" in notice
    assert any(r.levelname == "WARNING" and "1 problem" in r.getMessage() for r in caplog.records)
    async with local_bot(settings, standin) as bot:
        await bot.settled()
    assert len(standin.world.sent_messages(ADMIN)) == 1  # the same problems: not told again
    (corpus / "also-broken.jsonl").write_text("{not json\n")
    async with local_bot(settings, standin):
        await standin.wait_for(lambda e: "also-broken.jsonl" in (e.text or ""), chat_id=ADMIN, timeout=10)
    assert standin.world.sent_messages(USER) == []  # only admins hear of it


async def test_a_user_whose_questions_used_up_their_share_of_the_workers_is_told_to_slow_down(
    tmp_path: Path, standin: BotApiStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counted in CPU time, not in questions: with no burst allowed, a user's second question finds
    their share spent and gets the "slow down" reply (once), without a search; others are answered."""
    monkeypatch.setattr(work, "CPU_BURST", 0.0)
    async with running_bot(tmp_path, standin, push_default=False) as bot:
        [first] = await bot.ask(USER, USER, "Sora daily losses")
        [second] = await bot.ask(USER, USER, "Codex Sites")
        mark = standin.world.mark()
        standin.scenario.send_user_message(USER, USER, "MIIT standards")
        await bot.settled()
        [other] = await bot.ask(OTHER, OTHER, "Codex Sites")
    assert first["text"].startswith("Result")
    assert "faster than I can keep up" in second["text"]
    assert standin.world.events(EventKind.SENT, chat_id=USER, after=mark) == []  # told once, then silence
    assert other["text"].startswith("Result")
