"""The Telegram application: python-telegram-bot's Application wired to our handlers, the housekeeping
job and the error handler; its start-up (getMe, command menus, the privacy-mode warning). Polling is
bot.tg.polling's (PTB's Updater does not poll: it goes deaf after one 401 or 404); in webhook mode PTB's
Updater serves the webhook (bot.tg.webhook).

Called only by the composition root (bot/compose.py) with a ready Runtime; nothing happens at import time.
"""

from __future__ import annotations

import hashlib
import logging

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault, ChatMember, Update
from telegram.constants import ParseMode
from telegram.error import Conflict, InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    InlineQueryHandler,
    JobQueue,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.commands import COMMANDS, Command, user_commands
from bot.logs import redact
from bot.render import messages
from bot.runtime import Runtime
from bot.store import StoreError
from bot.tg.context import NewsbotApp, NewsbotContext, context_types
from bot.tg.handlers import admin, answers, briefs, sources, subscriptions
from bot.tg.housekeeping import schedule_housekeeping
from bot.tg.polling import CONFLICT_MESSAGE, TOKEN_REJECTED, check_token, is_unauthorized
from bot.tg.sending import send_html

log = logging.getLogger(__name__)

PROBLEMS_TOLD_KEY = "problems_told"  # meta: a digest of the problems the admins were last told about


def build_application(runtime: Runtime, token: str, *, read_timeout: float | None = None) -> NewsbotApp:
    """An Application for NEWSBOT_TELEGRAM_BASE_URL with every handler registered and the runtime attached;
    with PTB's Updater in webhook mode only. `read_timeout`: seconds a request waits for Telegram's answer
    (None: PTB's own 5 s; tests that make Telegram hang shorten it)."""
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(runtime.settings.telegram_base_url)
        .concurrent_updates(True)
        .context_types(context_types())
        .job_queue(JobQueue[NewsbotContext]())
    )
    if read_timeout is not None:
        builder = builder.read_timeout(read_timeout)
    if not runtime.settings.webhook:
        builder = builder.updater(None)  # bot.tg.polling polls
    application = builder.build()
    application.bot_data.attach(runtime)
    add_handlers(application)
    schedule_housekeeping(application, runtime.settings)
    return application


def add_handlers(application: NewsbotApp) -> None:
    """Register every command, message, button and inline handler and the error handler."""
    commands = {
        "start": answers.start,
        "help": answers.show_help,
        "search": answers.search,
        "ask": answers.search,
        "latest": answers.latest,
        "brief": briefs.brief,
        "topics": subscriptions.topics,
        "subscribe": subscriptions.subscribe,
        "unsubscribe": subscriptions.unsubscribe,
        "subscriptions": subscriptions.list_subscriptions,
        "timezone": subscriptions.timezone,
        "related": subscriptions.related_setting,
        "status": answers.status,
        "reload": admin.reload,
        "stats": admin.stats,
        "sources": sources.sources,
        "digest": admin.digest,
    }
    missing = {command.name for command in COMMANDS} ^ set(commands)
    if missing:
        raise RuntimeError(f"command table and handlers disagree about: {sorted(missing)}")
    # Any message from a chat marks it active again (a chat that blocked us and came back gets its
    # parked alerts); group -1 runs before, and independently of, the handlers below.
    application.add_handler(TypeHandler(Update, remember_chat), group=-1)
    for name, callback in commands.items():
        application.add_handler(CommandHandler(name, callback))
    application.add_handler(
        MessageHandler(filters.TEXT & ~filters.COMMAND & ~filters.UpdateType.EDITED, answers.text)
    )
    application.add_handler(CallbackQueryHandler(subscriptions.button, pattern=r"^(tsub|unsub):"))
    application.add_handler(CallbackQueryHandler(sources.button, pattern=r"^src:"))
    application.add_handler(CallbackQueryHandler(answers.button))
    application.add_handler(InlineQueryHandler(answers.inline))
    application.add_error_handler(on_error)


async def remember_chat(update: Update, context: NewsbotContext) -> None:
    """Record that a chat is alive (first/last seen, active) whenever it sends us a message; follow
    the bot being blocked, removed or re-added (my_chat_member)."""
    store = context.runtime.store
    membership = update.my_chat_member
    if membership is not None:
        chat = membership.chat
        if membership.new_chat_member.status in (ChatMember.BANNED, ChatMember.LEFT):
            await store.deactivate_chat(chat.id, f"bot status {membership.new_chat_member.status}")
        else:
            await context.remember_chat(chat)
        return
    message = update.message
    if message is None or message.from_user is None or message.from_user.is_bot:
        return
    chat = message.chat
    try:
        # At most once a minute per chat: a chatty group (or a flood) must not cost a write per message.
        await context.runtime.store.note_chat(chat.id, str(chat.type), chat.title or chat.full_name)
    except StoreError as error:
        # Bookkeeping only: a sick database must not cost the user their answer (handlers still run).
        log.warning("could not record activity of chat %s: %s", message.chat.id, error)


def bot_commands(commands: tuple[Command, ...]) -> list[BotCommand]:
    """The Telegram command menu entries for a set of commands."""
    return [BotCommand(command.name, command.description[:256]) for command in commands]


async def connect(application: NewsbotApp) -> str | None:
    """Initialize the application (getMe: is the token good, is Telegram reachable?); None when it is,
    else one line on why not (and the application is shut down again)."""
    try:
        await application.initialize()
    except (InvalidToken, NetworkError) as error:
        await application.shutdown()
        return startup_failure(error, application.bot_data.runtime.settings.telegram_base_url)
    return None


def startup_failure(error: InvalidToken | NetworkError, base_url: str) -> str:
    """One line on why the bot could not start talking to Telegram. PTB's InvalidToken quotes the whole
    token, and an uncaught exception would print it with its traceback: never pass its text on."""
    if isinstance(error, InvalidToken) and is_unauthorized(error):
        return TOKEN_REJECTED
    if isinstance(error, InvalidToken):  # a 404: a wrong address, or a page from something in between
        return (
            f"the Telegram Bot API at {base_url} answered 404 Not Found: check NEWSBOT_TELEGRAM_BASE_URL "
            "(and the token's form, digits:letters, in NEWSBOT_TELEGRAM_TOKEN)"
        )
    return f"cannot reach the Telegram Bot API at {base_url}: {redact(str(error))}"


async def announce(application: NewsbotApp) -> None:
    """Start-up (post_init only runs under run_polling): learn our username, register command menus,
    warn about group privacy mode."""
    data = application.bot_data
    me = application.bot.bot  # from connect()'s getMe
    data.bot_username = me.username or ""
    if not me.can_read_all_group_messages:
        log.warning(
            "Group privacy mode is on: in groups @%s will only see commands, mentions and replies. "
            "To let it notice topics in group conversations, disable privacy mode with @BotFather "
            "(/setprivacy → Disable) and re-add the bot to the group.",
            me.username,
        )
    try:
        await application.bot.set_my_commands(bot_commands(user_commands()), scope=BotCommandScopeDefault())
    except TelegramError as error:  # a menu is a nicety: polling must start regardless
        log.warning("could not set the command menu: %s", error)
    for admin_id in data.runtime.settings.admin_ids:
        try:
            await application.bot.set_my_commands(bot_commands(COMMANDS), scope=BotCommandScopeChat(admin_id))
        except TelegramError as error:
            # An admin who never opened a chat with the bot cannot get a per-chat menu yet.
            log.warning("could not set the admin command menu for user %s: %s", admin_id, error)
    log.info("@%s is up with %d articles", me.username, data.runtime.library.article_count)


async def report_problems(application: NewsbotApp) -> None:
    """The library's corpus and topics problems: a warning with the count in the log, and a message to
    each admin, once for each set of problems (a restart with the same ones tells nobody again)."""
    data = application.bot_data
    runtime = data.runtime
    problems = runtime.library.problems
    if not problems:
        return
    log.warning(
        "the archive loaded with %d problem%s (`newsbot check` lists them); the first: %s",
        len(problems),
        "" if len(problems) == 1 else "s",
        problems[0],
    )
    digest = hashlib.blake2b("\n".join(map(str, problems)).encode(), digest_size=16).hexdigest()
    try:
        if await runtime.store.get_meta(PROBLEMS_TOLD_KEY) == digest:
            return
    except StoreError as error:
        log.warning("could not check whether the admins know of the problems: %s", error)
        return
    told = False
    for admin_id in runtime.settings.admin_ids:
        try:
            await send_html(application.bot, admin_id, messages.problems_notice(problems))
            told = True
        except TelegramError as error:  # an admin who never opened a chat with the bot
            log.warning("could not tell admin %s about the archive's problems: %s", admin_id, error)
    if told:
        try:
            await runtime.store.set_meta(PROBLEMS_TOLD_KEY, digest)
        except StoreError as error:
            log.warning("could not note that the admins were told of the problems: %s", error)


async def on_error(update: object, context: NewsbotContext) -> None:
    """The one error handler: 409 stops the bot; anything else is logged and the user gets an apology
    (an admin hit by a database failure is told what failed: busy, full, read-only)."""
    error = context.error
    if isinstance(error, Conflict):
        log.error(CONFLICT_MESSAGE)
        context.bot_data.exit_reason = CONFLICT_MESSAGE
        context.bot_data.stop.set()
        return
    if isinstance(error, InvalidToken):
        # Telegram may have revoked the token: getMe tells (and stops the bot if so); no apology can go out.
        log.warning("Telegram refused a request as unauthorized or not found: %s", error)
        context.application.create_task(check_token(context.bot, context.bot_data), name="check-token")
        return
    log.error("error while handling an update: %s", error, exc_info=error)
    trouble: str | None = None
    if isinstance(error, StoreError):
        log.error("the database failed while handling an update: %s", error.description)
        user = update.effective_user if isinstance(update, Update) else None
        if context.runtime.is_admin(user.id if user else None):
            trouble = error.description  # admins see why; others only the apology
    if isinstance(update, Update) and update.effective_chat is not None and update.callback_query is None:
        try:
            await context.bot.send_message(
                update.effective_chat.id, messages.apology(trouble), parse_mode=ParseMode.HTML
            )
        except TelegramError:
            log.warning("could not send the apology for a failed update")
    elif isinstance(update, Update) and update.callback_query is not None:
        try:
            await update.callback_query.answer(messages.BUTTON_FAILED)
        except TelegramError:
            log.debug("callback query already answered or expired")
