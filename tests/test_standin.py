"""The Bot API stand-in, driven by the real python-telegram-bot stack over HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import json
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    ChatMemberAdministrator,
    ChatMemberOwner,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot.standin import BotApiStandIn, Event, EventKind, FaultKind

TOKEN = "123456789:STAND-IN-token"
ANN = 1001
BOB = 1002
GROUP = -4001


@pytest.fixture(autouse=True)
def _local_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
async def standin() -> AsyncIterator[BotApiStandIn]:
    async with BotApiStandIn(TOKEN) as server:
        server.scenario.add_private_chat(ANN, "Ann", username="ann_reads")
        yield server


@pytest.fixture
async def bot(standin: BotApiStandIn) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=standin.base_url) as client:
        yield client


def build_app(standin: BotApiStandIn) -> Application:  # type: ignore[type-arg]
    return Application.builder().token(TOKEN).base_url(standin.base_url).build()


@contextlib.asynccontextmanager
async def polling(app: Application) -> AsyncIterator[Application]:  # type: ignore[type-arg]
    """Run an application the way run_polling does, but inside the test's event loop."""
    await app.initialize()
    if app.post_init is not None:  # run_polling calls it; starting by hand must too
        await app.post_init(app)
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        yield app
    finally:
        await app.updater.stop()  # the updater goes first, then the application
        await app.stop()
        await app.shutdown()


def says(description: str) -> str:
    """A pytest.raises pattern for a Telegram description (PTB re-capitalizes it)."""
    return "(?i)" + re.escape(description)


def seconds(value: int | dtm.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


# --------------------------------------------------------------------------- identity and basics


async def test_get_me_reports_the_configured_bot() -> None:
    server = BotApiStandIn(TOKEN, bot_username="quiet_news_bot", privacy_mode=True)
    async with server, Bot(TOKEN, base_url=server.base_url) as client:
        me = await client.get_me()
    assert (me.id, me.username, me.is_bot) == (123456789, "quiet_news_bot", True)
    assert me.can_read_all_group_messages is False
    assert me.supports_inline_queries is True


async def test_a_wrong_token_is_unauthorized(standin: BotApiStandIn) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("123456789:wrong", base_url=standin.base_url):
            pass  # entering calls getMe
    assert standin.requests()[-1].status == 401


async def test_json_get_and_unknown_methods_speak_telegrams_envelope(standin: BotApiStandIn) -> None:
    async with httpx.AsyncClient() as http:
        sent = await http.post(f"{standin.api_url}/sendMessage", json={"chat_id": ANN, "text": "json body"})
        queried = await http.get(f"{standin.api_url}/sendmessage", params={"chat_id": ANN, "text": "query"})
        missing = await http.post(f"{standin.api_url}/sendTelepathy", data={"chat_id": ANN})
    assert sent.json()["ok"] is True and sent.json()["result"]["text"] == "json body"
    assert queried.json()["result"]["message_id"] == 2
    assert missing.status_code == 404
    assert missing.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


# --------------------------------------------------------------------------- an application end to end


async def test_a_handler_answers_an_injected_message_in_html(standin: BotApiStandIn) -> None:
    app = build_app(standin)

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_user is not None
        name = update.effective_user.first_name
        await update.effective_message.reply_text(
            f"Hello, <b>{name}</b> &amp; welcome", parse_mode=ParseMode.HTML
        )

    app.add_handler(CommandHandler("start", start))
    async with polling(app):
        replies = await standin.ask(ANN, ANN, "/start")

    (reply,) = replies
    assert reply["text"] == "Hello, Ann & welcome"
    assert reply["entities"] == [{"type": "bold", "offset": 7, "length": 3}]
    assert reply["from"]["username"] == "newsbot_test_bot"
    (request,) = standin.requests("sendMessage")
    assert request.params["parse_mode"] == "HTML"
    assert standin.world.sent_messages(ANN) == [reply]


async def test_post_init_runs_and_every_update_is_handled_once(
    standin: BotApiStandIn,
) -> None:
    seen: list[str] = []

    async def post_init(application: Application) -> None:  # type: ignore[type-arg]
        await application.bot.set_my_commands([BotCommand("start", "Say hello")])

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_message.text is not None
        seen.append(update.effective_message.text)
        await update.effective_message.reply_text("noted")

    app = Application.builder().token(TOKEN).base_url(standin.base_url).post_init(post_init).build()
    app.add_handler(MessageHandler(filters.TEXT, record))
    async with polling(app):
        await standin.ask(ANN, ANN, "first")
        await standin.ask(ANN, ANN, "second")
    assert seen == ["first", "second"]
    assert standin.world.commands() == [{"command": "start", "description": "Say hello"}]
    assert standin.updates.pending() == []


async def test_buttons_round_trip_through_callback_queries(standin: BotApiStandIn) -> None:
    app = build_app(standin)

    async def menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Sport", callback_data="topic:sport")]])
        await update.effective_message.reply_text("Pick a topic", reply_markup=keyboard)

    async def picked(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.data is not None
        await query.answer("Subscribed")
        await query.edit_message_text(f"You follow {query.data.split(':')[1]}")

    app.add_handler(CommandHandler("topics", menu))
    app.add_handler(CallbackQueryHandler(picked))
    async with polling(app):
        (shown,) = await standin.ask(ANN, ANN, "/topics")
        mark = standin.world.mark()
        standin.scenario.click_button(ANN, ANN, shown["message_id"], "Sport")
        await standin.wait_for(kind=EventKind.EDITED, chat_id=ANN, after=mark)

    (answer,) = standin.world.callback_answers()
    assert (answer["text"], answer["data"], answer["message_id"]) == (
        "Subscribed",
        "topic:sport",
        shown["message_id"],
    )
    history = standin.world.message_history(ANN, shown["message_id"])
    assert [version["text"] for version in history] == ["Pick a topic", "You follow sport"]
    # Editing the text without reply_markup removes the keyboard, as on Telegram.
    assert "reply_markup" not in standin.world.message(ANN, shown["message_id"])


async def test_inline_queries_are_answered_and_recorded(standin: BotApiStandIn) -> None:
    app = build_app(standin)

    async def inline(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.inline_query is not None
        text = InputTextMessageContent(f"<b>{update.inline_query.query}</b>", parse_mode=ParseMode.HTML)
        await update.inline_query.answer([InlineQueryResultArticle("a1", "First hit", text)])

    app.add_handler(InlineQueryHandler(inline))
    async with polling(app):
        query_id = standin.scenario.inline_query(BOB, "floods")
        await standin.wait_for(kind=EventKind.INLINE_ANSWER)

    (answer,) = standin.world.inline_answers()
    assert answer["inline_query_id"] == query_id and answer["query"] == "floods"
    assert [result["title"] for result in answer["results"]] == ["First hit"]


# --------------------------------------------------------------------------- Telegram's validation


async def test_bad_html_is_refused_like_telegram(bot: Bot, standin: BotApiStandIn) -> None:
    with pytest.raises(
        BadRequest, match=says('can\'t parse entities: unsupported start tag "p" at byte offset 0')
    ):
        await bot.send_message(ANN, "<p>paragraph</p>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=says("can't parse entities")):
        await bot.send_message(ANN, "Q&A <3", parse_mode=ParseMode.HTML)
    assert standin.world.sent_messages() == []
    # The same text without a parse mode is plain and fine.
    plain = await bot.send_message(ANN, "Q&A <3")
    assert plain.text == "Q&A <3"


async def test_unknown_chats_are_not_found(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=says("chat not found")):
        await bot.send_message(777, "hello?")


async def test_text_length_counts_utf16_units_after_parsing(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=says("message is too long")):
        await bot.send_message(ANN, "x" * 4097)
    with pytest.raises(BadRequest, match=says("message is too long")):
        await bot.send_message(ANN, "😀" * 2049)  # 4098 UTF-16 units
    fits = await bot.send_message(ANN, "<b>" + "😀" * 2048 + "</b>", parse_mode=ParseMode.HTML)
    assert fits.text == "😀" * 2048
    with pytest.raises(BadRequest, match=says("message text is empty")):
        await bot.send_message(ANN, "<b> </b>", parse_mode=ParseMode.HTML)


async def test_callback_data_must_be_1_to_64_bytes(bot: Bot) -> None:
    def markup(data: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton("go", callback_data=data)]])

    with pytest.raises(BadRequest, match=says("button_data_invalid")):
        await bot.send_message(ANN, "menu", reply_markup=markup("x" * 65))
    with pytest.raises(BadRequest, match=says("button_data_invalid")):
        await bot.send_message(ANN, "menu", reply_markup=markup("я" * 33))  # 66 bytes
    sent = await bot.send_message(ANN, "menu", reply_markup=markup("x" * 64))
    assert sent.reply_markup is not None


async def test_a_callback_query_is_answered_at_most_once(bot: Bot, standin: BotApiStandIn) -> None:
    message = await bot.send_message(ANN, "menu")
    query_id = standin.scenario.click(ANN, ANN, message.message_id, "forged:data")
    assert await bot.answer_callback_query(query_id, "done") is True
    with pytest.raises(BadRequest, match=says("query is too old")):
        await bot.answer_callback_query(query_id, "again")
    assert [answer["text"] for answer in standin.world.callback_answers()] == ["done"]


async def test_inline_answers_are_checked(bot: Bot, standin: BotApiStandIn) -> None:
    def article(result_id: str, text: str = "fine") -> InlineQueryResultArticle:
        return InlineQueryResultArticle(
            result_id, "t", InputTextMessageContent(text, parse_mode=ParseMode.HTML)
        )

    too_many = standin.scenario.inline_query(BOB, "a")
    with pytest.raises(BadRequest, match=says("results_too_much")):
        await bot.answer_inline_query(too_many, [article(str(n)) for n in range(51)])
    with pytest.raises(BadRequest, match=says("result_id_duplicate")):
        await bot.answer_inline_query(too_many, [article("same"), article("same")])
    with pytest.raises(BadRequest, match=says("can't parse entities")):
        await bot.answer_inline_query(too_many, [article("1", "<br>")])
    assert await bot.answer_inline_query(too_many, [article("1")]) is True
    with pytest.raises(BadRequest, match=says("query is too old")):
        await bot.answer_inline_query(too_many, [article("1")])


async def test_replies_need_an_existing_message_unless_allowed(bot: Bot, standin: BotApiStandIn) -> None:
    asked = standin.scenario.send_user_message(ANN, ANN, "what's new?")
    reply = await bot.send_message(ANN, "this", reply_parameters=ReplyParameters(asked["message_id"]))
    assert reply.reply_to_message is not None and reply.reply_to_message.text == "what's new?"
    with pytest.raises(BadRequest, match=says("message to be replied not found")):
        await bot.send_message(ANN, "x", reply_parameters=ReplyParameters(999))
    loose = await bot.send_message(
        ANN, "x", reply_parameters=ReplyParameters(999, allow_sending_without_reply=True)
    )
    assert loose.reply_to_message is None


async def test_edits_follow_telegrams_rules(bot: Bot, standin: BotApiStandIn) -> None:
    sent = await bot.send_message(ANN, "<i>draft</i>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=says("message is not modified")):
        await bot.edit_message_text("<i>draft</i>", ANN, sent.message_id, parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=says("message to edit not found")):
        await bot.edit_message_text("x", ANN, 999)
    user_message = standin.scenario.send_user_message(ANN, ANN, "mine")
    with pytest.raises(BadRequest, match=says("message can't be edited")):
        await bot.edit_message_text("x", ANN, user_message["message_id"])
    edited = await bot.edit_message_text("final", ANN, sent.message_id)
    assert isinstance(edited, object) and standin.world.message(ANN, sent.message_id)["text"] == "final"
    assert await bot.delete_message(ANN, sent.message_id) is True
    assert standin.world.sent_messages(ANN) == []
    assert [m["text"] for m in standin.world.sent_messages(ANN, include_deleted=True)] == ["final"]


async def test_forum_topics_and_chat_queries(bot: Bot, standin: BotApiStandIn) -> None:
    forum = -1001234
    standin.scenario.add_group(
        forum, "Newsroom", supergroup=True, forum=True, creator=ANN, admins={BOB}, members={1003}
    )
    thread = standin.scenario.add_topic(forum, "Alerts")
    posted = await bot.send_message(forum, "in the topic", message_thread_id=thread)
    assert (posted.message_thread_id, posted.is_topic_message) == (thread, True)
    with pytest.raises(BadRequest, match=says("message thread not found")):
        await bot.send_message(forum, "lost", message_thread_id=thread + 100)
    chat = await bot.get_chat(forum)
    assert (chat.title, chat.is_forum) == ("Newsroom", True)
    assert isinstance(await bot.get_chat_member(forum, ANN), ChatMemberOwner)
    admins = await bot.get_chat_administrators(forum)
    assert [type(member) for member in admins] == [ChatMemberOwner, ChatMemberAdministrator]
    assert (await bot.get_chat_member(forum, 1003)).status == "member"
    assert await bot.get_chat_member_count(forum) == 4


async def test_commands_are_stored_per_scope_and_language(bot: Bot, standin: BotApiStandIn) -> None:
    standin.scenario.add_group(GROUP, "Readers", members={BOB})
    await bot.set_my_commands([BotCommand("start", "Begin"), BotCommand("help", "How to")])
    await bot.set_my_commands([BotCommand("topics", "Topics")], scope=BotCommandScopeChat(GROUP))
    await bot.set_my_commands([BotCommand("start", "Beginnen")], language_code="de")
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    assert [c.command for c in await bot.get_my_commands(scope=BotCommandScopeChat(GROUP))] == ["topics"]
    assert [c.description for c in await bot.get_my_commands(language_code="de")] == ["Beginnen"]
    assert standin.world.commands({"type": "chat", "chat_id": GROUP}) == [
        {"command": "topics", "description": "Topics"}
    ]
    with pytest.raises(BadRequest, match=says("bot_command_invalid")):
        await bot.set_my_commands([BotCommand("Start", "Capitals are not allowed")])
    await bot.delete_my_commands(scope=BotCommandScopeChat(GROUP))
    assert await bot.get_my_commands(scope=BotCommandScopeChat(GROUP)) == ()


async def test_chat_actions_are_recorded(bot: Bot, standin: BotApiStandIn) -> None:
    await bot.send_chat_action(ANN, "typing")
    with pytest.raises(BadRequest, match=says("wrong parameter action")):
        await bot.send_chat_action(ANN, "dancing")
    assert standin.world.chat_actions(ANN) == ["typing"]


# --------------------------------------------------------------------------- getUpdates


async def test_confirmed_updates_go_and_unconfirmed_come_again(bot: Bot, standin: BotApiStandIn) -> None:
    for text in ("one", "two", "three"):
        standin.scenario.send_user_message(ANN, ANN, text)
    first = await bot.get_updates(limit=2)
    assert [u.message.text for u in first if u.message] == ["one", "two"]
    again = await bot.get_updates()
    assert [u.message.text for u in again if u.message] == ["one", "two", "three"]
    rest = await bot.get_updates(offset=first[-1].update_id + 1)
    assert [u.message.text for u in rest if u.message] == ["three"]
    assert await bot.get_updates(offset=rest[-1].update_id + 1) == ()
    assert standin.updates.pending() == []


async def test_every_hand_out_is_told_with_the_time_it_went(bot: Bot, standin: BotApiStandIn) -> None:
    handed: list[tuple[list[int], float]] = []
    stop = standin.updates.on_handed_out(
        lambda updates, at: handed.append(([u["update_id"] for u in updates], at))
    )
    first = standin.scenario.send_user_message(ANN, ANN, "one")
    second = standin.scenario.send_user_message(ANN, ANN, "two")
    before = standin.clock()
    got = await bot.get_updates(limit=1)
    again = await bot.get_updates(offset=got[-1].update_id + 1)
    stop()
    await bot.get_updates(offset=again[-1].update_id)  # not heard any more
    assert [ids for ids, _ in handed] == [[got[0].update_id], [again[0].update_id]]
    assert [u.message.text for u in (*got, *again) if u.message] == [first["text"], second["text"]]
    assert before <= handed[0][1] <= handed[1][1] <= standin.clock()
    await bot.get_updates(offset=again[-1].update_id + 1)  # an empty answer is not a hand-out either
    assert len(handed) == 2


async def test_a_long_poll_returns_as_soon_as_an_update_arrives(bot: Bot, standin: BotApiStandIn) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await standin.wait_until_polling()
    standin.scenario.send_user_message(ANN, ANN, "wake up")
    updates = await asyncio.wait_for(poll, 3)
    assert [u.message.text for u in updates if u.message] == ["wake up"]


async def test_allowed_updates_filter_and_are_remembered(bot: Bot, standin: BotApiStandIn) -> None:
    sent = await bot.send_message(ANN, "menu")
    standin.scenario.send_user_message(ANN, ANN, "chatter")
    standin.scenario.click(ANN, ANN, sent.message_id, "pick")
    only_clicks = await bot.get_updates(allowed_updates=["callback_query"])
    assert [u.callback_query.data for u in only_clicks if u.callback_query] == ["pick"]
    assert all(u.message is None for u in only_clicks)
    standin.scenario.send_user_message(ANN, ANN, "more chatter")
    assert await bot.get_updates(offset=only_clicks[-1].update_id + 1) == ()
    assert standin.updates.allowed == ["callback_query"]


async def test_a_second_poller_terminates_the_first_with_409(standin: BotApiStandIn) -> None:
    async with (
        Bot(TOKEN, base_url=standin.base_url) as first,
        Bot(TOKEN, base_url=standin.base_url) as second,
    ):
        older = asyncio.create_task(first.get_updates(timeout=5))
        await standin.wait_until_polling()
        assert await second.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await asyncio.wait_for(older, 3)
    assert [r.status for r in standin.requests("getUpdates")] == [200, 409]


async def test_user_edits_arrive_as_edited_messages(bot: Bot, standin: BotApiStandIn) -> None:
    original = standin.scenario.send_user_message(ANN, ANN, "/serach floods")
    standin.scenario.edit_user_message(ANN, original["message_id"], "/search floods")
    first, second = await bot.get_updates()
    assert first.message is not None and first.message.text == "/serach floods"
    assert second.edited_message is not None and second.edited_message.text == "/search floods"
    assert second.edited_message.message_id == original["message_id"]
    assert [m["text"] for m in standin.world.messages(ANN)] == ["/search floods"]


async def test_delete_webhook_can_drop_pending_updates(bot: Bot, standin: BotApiStandIn) -> None:
    standin.scenario.send_user_message(ANN, ANN, "stale")
    assert (await bot.get_webhook_info()).pending_update_count == 1
    await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates() == ()


# --------------------------------------------------------------------------- webhooks


@contextlib.asynccontextmanager
async def receiver(statuses: list[int]) -> AsyncIterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    """A webhook endpoint on 127.0.0.1 that records each POST (headers, body) and answers with the next of
    `statuses` (200 once they run out); yields its URL and the record."""
    received: list[tuple[dict[str, str], bytes]] = []

    async def take(request: web.Request) -> web.Response:
        received.append((dict(request.headers), await request.read()))
        return web.Response(status=statuses.pop(0) if statuses else 200)

    app = web.Application()
    app.router.add_post("/hook", take)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/hook", received
    finally:
        await runner.cleanup()


async def test_a_webhook_gets_the_updates_posted_in_order_with_the_secret(
    bot: Bot, standin: BotApiStandIn
) -> None:
    standin.scenario.send_user_message(ANN, ANN, "queued before")
    async with receiver([]) as (url, received):
        assert await bot.set_webhook(url, secret_token="s3cret-_X", allowed_updates=["message"])
        standin.scenario.send_user_message(ANN, ANN, "after")
        await standin.wait_until_delivered()
        info = await bot.get_webhook_info()
    assert [json.loads(body)["message"]["text"] for _, body in received] == ["queued before", "after"]
    assert all(headers["X-Telegram-Bot-Api-Secret-Token"] == "s3cret-_X" for headers, _ in received)
    assert all(headers["Content-Type"] == "application/json" for headers, _ in received)
    assert (info.url, info.pending_update_count, info.allowed_updates) == (url, 0, ("message",))
    assert [d.status for d in standin.webhook_deliveries] == [200, 200]


async def test_a_failed_post_is_retried_and_reported(bot: Bot, standin: BotApiStandIn) -> None:
    async with receiver([500, 502]) as (url, received):
        await bot.set_webhook(url)
        standin.scenario.send_user_message(ANN, ANN, "hello")
        await standin.wait_until_delivered()
        info = await bot.get_webhook_info()
    assert [d.status for d in standin.webhook_deliveries] == [500, 502, 200]
    assert len({json.loads(body)["update_id"] for _, body in received}) == 1  # the same update, again
    assert "X-Telegram-Bot-Api-Secret-Token" not in received[0][0]  # none was set
    assert info.last_error_message == "Wrong response from the webhook: 502"


async def test_an_unreachable_webhook_keeps_the_update_pending(bot: Bot, standin: BotApiStandIn) -> None:
    async with receiver([]) as (url, _):
        pass  # closed again: nothing listens there now
    await bot.set_webhook(url)
    standin.scenario.send_user_message(ANN, ANN, "anyone?")
    await standin.wait_for(lambda _: len(standin.webhook_deliveries) >= 2, kind=None)
    assert {d.status for d in standin.webhook_deliveries} == {0}
    assert (await bot.get_webhook_info()).pending_update_count == 1


async def test_get_updates_while_a_webhook_is_set_is_a_conflict(bot: Bot, standin: BotApiStandIn) -> None:
    await bot.set_webhook("https://bot.example.org/hook")
    with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
        await bot.get_updates()
    standin.scenario.send_user_message(ANN, ANN, "kept")  # undeliverable there (https): stays queued
    assert await bot.delete_webhook()
    (update,) = await bot.get_updates()
    assert update.message is not None and update.message.text == "kept"


async def test_set_webhook_refuses_a_secret_telegram_would_refuse(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=says("secret token contains unallowed characters")):
        await bot.set_webhook("https://bot.example.org/hook", secret_token="not allowed!")


# --------------------------------------------------------------------------- privacy mode and membership


async def test_privacy_mode_shows_only_commands_mentions_and_replies() -> None:
    async with BotApiStandIn(TOKEN, privacy_mode=True) as server:
        server.scenario.add_group(GROUP, "Readers", members={ANN, BOB})
        async with Bot(TOKEN, base_url=server.base_url) as client:
            ours = await client.send_message(GROUP, "Morning digest")
            server.scenario.send_user_message(GROUP, ANN, "just chatting")
            server.scenario.send_user_message(GROUP, ANN, "/latest")
            server.scenario.send_user_message(GROUP, ANN, "/latest@other_bot")
            server.scenario.send_user_message(GROUP, BOB, "hey @newsbot_test_bot")
            server.scenario.send_user_message(GROUP, BOB, "thanks", reply_to=ours.message_id)
            updates = await client.get_updates()
    assert [u.message.text for u in updates if u.message] == ["/latest", "hey @newsbot_test_bot", "thanks"]
    assert len(server.world.messages(GROUP)) == 6


async def test_a_blocked_bot_is_forbidden_and_told_so(bot: Bot, standin: BotApiStandIn) -> None:
    standin.scenario.set_bot_status(ANN, "kicked")
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(ANN, "still there?")
    (update,) = await bot.get_updates(allowed_updates=["my_chat_member"])
    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == "kicked"


async def test_a_migrated_group_points_to_its_supergroup(bot: Bot, standin: BotApiStandIn) -> None:
    standin.scenario.add_group(GROUP, "Readers", members={ANN})
    new_id = standin.scenario.migrate_group(GROUP)
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(GROUP, "hello")
    assert caught.value.new_chat_id == new_id
    moved = await bot.send_message(new_id, "hello")
    assert moved.chat.type == "supergroup"


# --------------------------------------------------------------------------- injected faults


async def test_retry_after_fault(bot: Bot, standin: BotApiStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # PTB 22's future type, without the deprecation warning
    fault = standin.inject_fault("sendMessage", FaultKind.RETRY_AFTER, retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(ANN, "too fast")
    assert seconds(caught.value.retry_after) == 7
    assert (fault.hits, fault.remaining) == (1, 0)
    await bot.send_message(ANN, "later")
    assert [m["text"] for m in standin.world.sent_messages(ANN)] == ["later"]
    assert [r.status for r in standin.requests("sendMessage")] == [429, 200]


async def test_forbidden_fault_only_for_its_chat(bot: Bot, standin: BotApiStandIn) -> None:
    standin.scenario.add_private_chat(BOB, "Bob")
    standin.inject_fault("sendMessage", "blocked", chat_id=BOB, times=None)
    await bot.send_message(ANN, "fine")
    for _ in range(2):
        with pytest.raises(Forbidden, match="blocked by the user"):
            await bot.send_message(BOB, "nope")
    standin.clear_faults()
    await bot.send_message(BOB, "back")
    assert [m["text"] for m in standin.world.sent_messages()] == ["fine", "back"]


async def test_migrate_fault_creates_the_supergroup(bot: Bot, standin: BotApiStandIn) -> None:
    standin.scenario.add_group(GROUP, "Readers", members={ANN})
    standin.inject_fault("sendMessage", FaultKind.MIGRATE, chat_id=GROUP, migrate_to_chat_id=-100777)
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(GROUP, "hello")
    assert caught.value.new_chat_id == -100777
    assert (await bot.send_message(-100777, "hello")).chat.title == "Readers"


async def test_transport_faults(bot: Bot, standin: BotApiStandIn) -> None:
    standin.inject_fault("sendMessage", FaultKind.SERVER_ERROR)
    standin.inject_fault("sendMessage", FaultKind.BAD_GATEWAY)
    standin.inject_fault("sendMessage", FaultKind.RESET, deliver=True)
    for _ in range(3):
        with pytest.raises(NetworkError):
            await bot.send_message(ANN, "flaky")
    # Only the reset one took effect: the bot saw an error although the message went out.
    assert [m["text"] for m in standin.world.sent_messages(ANN)] == ["flaky"]
    assert [r.status for r in standin.requests("sendMessage")] == [500, 502, 0]


async def test_token_faults_answer_401_and_html_404_pages_on_any_method(
    bot: Bot, standin: BotApiStandIn
) -> None:
    """A revoked token (401 from Telegram) and a proxy's HTML 404 page, on sends and on polling alike:
    python-telegram-bot raises InvalidToken for both, with Telegram's description or the page's status."""
    standin.inject_fault("sendMessage", FaultKind.UNAUTHORIZED)
    standin.inject_fault("getUpdates", FaultKind.NOT_FOUND_PAGE)
    with pytest.raises(InvalidToken, match="Unauthorized"):
        await bot.send_message(ANN, "revoked")
    with pytest.raises(InvalidToken, match=r"Not Found \(404\)"):
        await bot.get_updates(timeout=0)
    standin.inject_fault("*", FaultKind.NOT_FOUND_PAGE, times=2, polling_too=True)
    with pytest.raises(InvalidToken):
        await bot.get_me()
    with pytest.raises(InvalidToken):
        await bot.get_updates(timeout=0)
    assert (await bot.get_me()).username  # the faults are spent
    pages = [record for record in standin.requests() if record.status == 404]
    assert [record.method for record in pages] == ["getUpdates", "getMe", "getUpdates"]
    assert all((record.description or "").startswith("<html>") for record in pages)
    assert [r.status for r in standin.requests("sendMessage")] == [401]


async def test_a_revoked_token_is_refused_until_it_is_restored(bot: Bot, standin: BotApiStandIn) -> None:
    standin.revoke_token()
    with pytest.raises(InvalidToken, match="Unauthorized"):
        await bot.get_me()
    with pytest.raises(InvalidToken, match="Unauthorized"):
        await bot.get_updates(timeout=0)
    standin.restore_token()
    assert (await bot.get_me()).username
    assert [r.status for r in standin.requests()][-3:] == [401, 401, 200]


async def test_timeout_fault_makes_the_client_time_out(standin: BotApiStandIn) -> None:
    standin.inject_fault("sendMessage", FaultKind.TIMEOUT, delay=5)
    async with Bot(TOKEN, base_url=standin.base_url, request=HTTPXRequest(read_timeout=0.2)) as impatient:
        with pytest.raises(TimedOut):
            await impatient.send_message(ANN, "slow")
    assert standin.world.sent_messages() == []


# --------------------------------------------------------------------------- events for observers


async def test_subscribers_see_every_action_until_they_unsubscribe(bot: Bot, standin: BotApiStandIn) -> None:
    seen: asyncio.Queue[Event] = asyncio.Queue()
    unsubscribe = standin.world.subscribe(seen.put_nowait)
    sent = await bot.send_message(ANN, "one")
    await bot.edit_message_text("two", ANN, sent.message_id)
    await bot.send_chat_action(ANN, "typing")
    unsubscribe()
    await bot.send_message(ANN, "unseen")
    kinds = [seen.get_nowait() for _ in range(seen.qsize())]
    assert [(e.kind, e.text) for e in kinds] == [
        (EventKind.SENT, "one"),
        (EventKind.EDITED, "two"),
        (EventKind.CHAT_ACTION, None),
    ]


async def test_send_times_come_from_the_stand_ins_clock() -> None:
    ticks = iter(range(100, 200, 10))
    async with BotApiStandIn(TOKEN, clock=lambda: float(next(ticks))) as server:
        server.scenario.add_private_chat(ANN)
        async with Bot(TOKEN, base_url=server.base_url) as client:
            await client.send_message(ANN, "a")
            await client.send_message(ANN, "b")
    sent_at = [event.at for event in server.world.events(EventKind.SENT)]
    request_at = [record.at for record in server.requests("sendMessage")]
    assert len(sent_at) == 2 and sent_at[0] < sent_at[1]
    assert all(request < sent for request, sent in zip(request_at, sent_at, strict=True))


async def test_wait_for_reports_what_happened_when_it_times_out(standin: BotApiStandIn) -> None:
    standin.scenario.send_user_message(ANN, ANN, "anyone?")
    with pytest.raises(TimeoutError, match="anyone"):
        await standin.wait_for(chat_id=ANN, timeout=0.05)
