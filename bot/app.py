"""build_application(): wires python-telegram-bot's Application to our handlers, jobs and error handler.

Called only by the composition root (bot/cli.py) with a ready Runtime; nothing happens at import time.
"""

from __future__ import annotations

import asyncio
import logging
import math
import signal
from collections.abc import Callable

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault, ChatMember, Update
from telegram.constants import ParseMode
from telegram.error import Conflict, InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.admin import AdminHandlers
from bot.alerts import AlertWorker
from bot.commands import COMMANDS, Command, user_commands
from bot.core.library import Library
from bot.handlers import UserHandlers
from bot.logs import redact, register_secrets
from bot.pushes import RelatedPusher
from bot.render import messages
from bot.runtime import Runtime
from bot.settings import Settings
from bot.store import Store, StoreError
from bot.subscriptions import SubscriptionHandlers

log = logging.getLogger(__name__)

ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY, Update.MY_CHAT_MEMBER]
CONFLICT_MESSAGE = (
    "Telegram answered 409 Conflict: another instance is polling with this bot token. "
    "Stop the other instance (or use a different token); this one is shutting down."
)
# Telegram ends the older of two getUpdates calls with 409, so the instance already running hears of a
# newcomer first. If it stopped, its parting getUpdates would end the newcomer's poll too and both would
# go. So an instance polling for longer than this keeps going; its next poll ends the newcomer's, which is
# still inside this window and refuses. Longer than PTB's longest pause between retries (30 s).
CONFLICT_GRACE_SECONDS = 60.0


def build_application(runtime: Runtime, token: str) -> Application:  # type: ignore[type-arg]
    """An Application polling NEWSBOT_TELEGRAM_BASE_URL with every handler registered."""
    settings = runtime.settings
    application = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.telegram_base_url)
        .concurrent_updates(True)
        .build()
    )
    application.bot_data["runtime"] = runtime
    add_handlers(application, runtime)
    return application


def add_handlers(application: Application, runtime: Runtime) -> None:  # type: ignore[type-arg]
    """Register every command, message, button and inline handler and the error handler."""
    users = UserHandlers(runtime, RelatedPusher(runtime))
    admins = AdminHandlers(runtime)
    subs = SubscriptionHandlers(runtime)
    commands = {
        "start": users.start,
        "help": users.help,
        "search": users.search,
        "ask": users.search,
        "latest": users.latest,
        "topics": subs.topics,
        "subscribe": subs.subscribe,
        "unsubscribe": subs.unsubscribe,
        "subscriptions": subs.subscriptions,
        "related": subs.related_setting,
        "status": users.status,
        "reload": admins.reload,
        "stats": admins.stats,
    }
    missing = {command.name for command in COMMANDS} ^ set(commands)
    if missing:
        raise RuntimeError(f"command table and handlers disagree about: {sorted(missing)}")
    # Any message from a chat marks it active again (a chat that blocked us and came back gets its
    # parked alerts); group -1 runs before, and independently of, the handlers below.
    application.add_handler(TypeHandler(Update, lambda update, _: touch_chat(runtime, update)), group=-1)
    for name, callback in commands.items():
        application.add_handler(CommandHandler(name, callback))
    application.add_handler(
        MessageHandler(filters.TEXT & ~filters.COMMAND & ~filters.UpdateType.EDITED, users.text)
    )
    application.add_handler(CallbackQueryHandler(subs.button, pattern=r"^(tsub|unsub):"))
    application.add_handler(CallbackQueryHandler(users.button))
    application.add_handler(InlineQueryHandler(users.inline))
    application.add_error_handler(on_error)


async def touch_chat(runtime: Runtime, update: Update) -> None:
    """Record that a chat is alive (first/last seen, active) whenever it sends us a message; follow
    the bot being blocked, removed or re-added (my_chat_member)."""
    membership = update.my_chat_member
    if membership is not None:
        chat = membership.chat
        if membership.new_chat_member.status in (ChatMember.BANNED, ChatMember.LEFT):
            await runtime.store.deactivate_chat(chat.id, f"bot status {membership.new_chat_member.status}")
        else:
            await runtime.store.touch_chat(chat.id, str(chat.type), chat.title or chat.full_name)
        return
    message = update.message
    if message is None or message.from_user is None or message.from_user.is_bot:
        return
    chat = message.chat
    try:
        await runtime.store.touch_chat(chat.id, str(chat.type), chat.title or chat.full_name)
    except StoreError as error:
        # Bookkeeping only: a sick database must not cost the user their answer (handlers still run).
        log.warning("could not record activity of chat %s: %s", chat.id, error)


def bot_commands(commands: tuple[Command, ...]) -> list[BotCommand]:
    """The Telegram command menu entries for a set of commands."""
    return [BotCommand(command.name, command.description[:256]) for command in commands]


async def on_startup(application: Application, runtime: Runtime) -> None:  # type: ignore[type-arg]
    """post_init: learn our username, register command menus, warn about group privacy mode."""
    me = await application.bot.get_me()
    runtime.bot_username = me.username or ""
    if not me.can_read_all_group_messages:
        log.warning(
            "Group privacy mode is on: in groups @%s will only see commands, mentions and replies. "
            "To let it notice topics in group conversations, disable privacy mode with @BotFather "
            "(/setprivacy → Disable) and re-add the bot to the group.",
            me.username,
        )
    await application.bot.set_my_commands(bot_commands(user_commands()), scope=BotCommandScopeDefault())
    for admin_id in runtime.settings.admin_ids:
        try:
            await application.bot.set_my_commands(bot_commands(COMMANDS), scope=BotCommandScopeChat(admin_id))
        except TelegramError as error:
            # An admin who never opened a chat with the bot cannot get a per-chat menu yet.
            log.warning("could not set the admin command menu for user %s: %s", admin_id, error)
    log.info("@%s is up with %d articles", me.username, runtime.library.article_count)


async def serve(
    settings: Settings,
    token: str,
    load: Callable[[Settings], Library],
    *,
    stop: asyncio.Event | None = None,
    install_signal_handlers: bool = True,
    poll_timeout: int = 10,
    conflict_grace: float = CONFLICT_GRACE_SECONDS,
) -> str | None:
    """Run the bot until SIGINT/SIGTERM (or `stop` is set); returns why it stopped early, if it did.

    The database lock is taken first, so a second instance on the same machine refuses at once;
    then the corpus is loaded off the event loop; then polling starts. A 409 Conflict within the first
    `conflict_grace` seconds of polling means another instance was there first: this one stops.
    """
    stop = stop or asyncio.Event()
    register_secrets(
        [token]
    )  # PTB logs URLs with the token at DEBUG; redact even if logging was set up elsewhere
    store = await Store.open(settings.database, lock=True)
    try:
        library = await asyncio.to_thread(load, settings)
        runtime = Runtime(settings=settings, store=store, library=library, loader=load)
        application = build_application(runtime, token)
        application.bot_data["stop"] = stop
        loop = asyncio.get_running_loop()
        if install_signal_handlers:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)

        polling_since = math.inf

        def on_polling_error(error: TelegramError) -> None:
            if isinstance(error, Conflict):
                polling_for = loop.time() - polling_since
                if polling_for >= conflict_grace:
                    log.warning(
                        "Telegram answered 409 Conflict: another instance started polling with this bot "
                        "token. This one has been polling for %.0f s and keeps going, so the newcomer will "
                        "be refused; if this repeats, find and stop the other instance.",
                        polling_for,
                    )
                    return
                log.error(CONFLICT_MESSAGE)
                application.bot_data["exit_reason"] = CONFLICT_MESSAGE
                stop.set()
            else:
                log.warning("polling for updates failed, retrying: %s", error)

        worker = AlertWorker(
            store,
            application.bot,
            lambda article_id: runtime.library.article(article_id),
            rate_per_second=settings.send_rate,
            answers_busy=lambda: runtime.answers_in_flight > 0,
        )
        runtime.on_new_alerts = worker.wake
        try:
            await application.initialize()  # getMe: is the token good, is Telegram reachable?
        except (InvalidToken, NetworkError) as error:
            await application.shutdown()
            return startup_failure(error, settings.telegram_base_url)
        async with application:  # initialized already; shutdown() runs on the way out
            await on_startup(application, runtime)  # post_init only runs under run_polling()
            await runtime.ingest()  # articles added while we were down become alerts now
            await application.start()
            background = [
                asyncio.create_task(worker.run(stop), name="alerts"),
                asyncio.create_task(runtime.watch_corpus(stop), name="corpus-watcher"),
            ]
            assert application.updater is not None
            polling_since = loop.time()
            await application.updater.start_polling(
                allowed_updates=ALLOWED_UPDATES, error_callback=on_polling_error, timeout=poll_timeout
            )
            await stop.wait()
            log.info("shutting down")
            await asyncio.gather(*background, return_exceptions=True)
            await application.updater.stop()  # the updater stops before the application
            await application.stop()
        if install_signal_handlers:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
        reason = application.bot_data.get("exit_reason")
        return str(reason) if reason else None
    finally:
        await store.close()


def startup_failure(error: InvalidToken | NetworkError, base_url: str) -> str:
    """One line on why the bot could not start talking to Telegram. PTB's InvalidToken quotes the whole
    token, and an uncaught exception would print it with its traceback: never pass its text on."""
    if isinstance(error, InvalidToken):
        return (
            "Telegram rejected the bot token (401 Unauthorized): check NEWSBOT_TELEGRAM_TOKEN; "
            "@BotFather shows the current token of your bot"
        )
    return f"cannot reach the Telegram Bot API at {base_url}: {redact(str(error))}"


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The one error handler: 409 stops the bot; anything else is logged and the user gets an apology
    (an admin hit by a database failure is told what failed: busy, full, read-only)."""
    error = context.error
    if isinstance(error, Conflict):
        log.error(CONFLICT_MESSAGE)
        context.application.bot_data["exit_reason"] = CONFLICT_MESSAGE
        stop = context.application.bot_data.get("stop")
        if isinstance(stop, asyncio.Event):
            stop.set()
        return
    log.error("error while handling an update: %s", error, exc_info=error)
    trouble: str | None = None
    runtime = context.application.bot_data.get("runtime")
    if isinstance(error, StoreError) and isinstance(runtime, Runtime):
        trouble = error.description
        log.error("the database failed while handling an update: %s", trouble)
        user = update.effective_user if isinstance(update, Update) else None
        if not runtime.is_admin(user.id if user else None):
            trouble = None  # admins see why; others only the apology
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
