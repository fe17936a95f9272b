"""Admin handlers: /reload, /stats and /digest now (/sources is handlers/sources.py), for the user ids in
NEWSBOT_ADMIN_IDS only.

The sender is checked at the moment each command runs; anyone else is told the command is for admins,
nothing happens, and the attempt is logged with the user id.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from telegram import Update

from bot.commands import command
from bot.core.schedules import zone_or_utc
from bot.render import messages
from bot.render.sources import sources_line
from bot.runtime import ReloadInProgress
from bot.store import StoreError
from bot.tg.context import NewsbotContext
from bot.tg.sending import send_html, thread_of

log = logging.getLogger(__name__)


async def allowed(update: Update, context: NewsbotContext, command: str) -> bool:
    """Whether the sender is an admin; anyone else is told the command is for admins, and it is logged."""
    user = update.effective_user
    if context.runtime.is_admin(user.id if user else None):
        return True
    log.warning("refused /%s for user %s (not in NEWSBOT_ADMIN_IDS)", command, user.id if user else "unknown")
    message = update.effective_message
    if message is not None:
        await send_html(context.bot, message.chat_id, messages.NOT_ADMIN, thread_id=thread_of(message))
    return False


async def reload(update: Update, context: NewsbotContext) -> None:
    """/reload [full]: read the corpus files that changed (or, with `full`, everything) off the event
    loop, swap the view in, report what changed."""
    message = update.effective_message
    if message is None or not await allowed(update, context, "reload"):
        return
    full = [word.lower() for word in (context.args or [])] == ["full"]
    try:
        outcome = await context.runtime.reload(full=full)
    except ReloadInProgress:
        await send_html(
            context.bot,
            message.chat_id,
            messages.RELOAD_RUNNING,
            thread_id=thread_of(message),
        )
        return
    except StoreError as error:
        # The new snapshot answers questions already; only recording its articles (and queueing their
        # alerts) failed, in one transaction that left nothing half-written.
        trouble = error.description
        log.error("reload: the articles could not be recorded: %s", trouble)
        await send_html(
            context.bot,
            message.chat_id,
            messages.reload_not_recorded(trouble),
            thread_id=thread_of(message),
        )
        return
    html = messages.reload_report(
        before=outcome.before,
        after=outcome.after,
        seconds=outcome.seconds,
        added=[article.title for article in outcome.added],
        changed=[article.title for article in outcome.changed],
        removed=[article.title for article in outcome.removed],
        problems=outcome.problems,
        kept_old=outcome.kept_old,
        error=outcome.error,
    )
    await send_html(context.bot, message.chat_id, html, thread_id=thread_of(message))


async def stats(update: Update, context: NewsbotContext) -> None:
    """/stats: archive, usage, storage and uptime figures."""
    message = update.effective_message
    if message is None or not await allowed(update, context, "stats"):
        return
    library = context.runtime.library
    overview = await context.runtime.store.stats()
    fetched = await context.runtime.store.sources.counts()
    html = messages.stats(
        articles=library.article_count,
        passages=len(library.passages),
        topics=len(library.topics),
        chats_active=overview.chats_active,
        chats_total=overview.chats_total,
        questions_24h=overview.questions.last_24h,
        questions_total=overview.questions.total,
        average_answer_ms=overview.questions.avg_duration_ms,
        subscriptions_by_topic=overview.subscriptions_by_topic,
        alerts=overview.alerts,
        last_delivery=overview.last_delivery_at,
        database_bytes=overview.database_bytes,
        uptime_seconds=(datetime.now(UTC) - context.runtime.started_at).total_seconds(),
        extra=(
            ("Sources", sources_line(fetched.sources, fetched.ok, fetched.failing, fetched.paused)),
            ("Fetched articles", f"{fetched.articles:,}"),
            ("Last fetched article", messages.format_moment(fetched.last_new_at)),
        ),
    )
    await send_html(context.bot, message.chat_id, html, thread_id=thread_of(message))


async def digest(update: Update, context: NewsbotContext) -> None:
    """/digest now: this chat's waiting digests are made due at once, for trying a schedule without
    waiting; the alert worker sends them as it sends any digest, and once sent they are no longer
    pending, so their scheduled time sends nothing of them again."""
    message = update.effective_message
    if message is None or not await allowed(update, context, "digest"):
        return
    if [word.lower() for word in context.args or []] != ["now"]:
        await send_html(
            context.bot, message.chat_id, messages.usage(command("digest")), thread_id=thread_of(message)
        )
        return
    if not await context.bot_data.sole_instance.wait():
        await send_html(
            context.bot, message.chat_id, messages.NOT_THE_ONLY_INSTANCE, thread_id=thread_of(message)
        )
        return
    store = context.runtime.store
    advanced = await store.advance_digests(message.chat_id)
    try:
        if not advanced:
            html = messages.NO_DIGEST_WAITING
        else:
            chat = await store.get_chat(message.chat_id)
            zone = zone_or_utc(chat.timezone if chat is not None else None)
            due = sorted({item.digest_due for item in advanced if item.digest_due is not None})
            html = messages.digests_now(len(advanced), [moment.astimezone(zone) for moment in due], str(zone))
        log.info("/digest now: %d waiting alert(s) of chat %d made due", len(advanced), message.chat_id)
        # The reply goes first, so the admin reads what is coming before it comes.
        await send_html(context.bot, message.chat_id, html, thread_id=thread_of(message))
    finally:
        if advanced:
            context.runtime.on_new_alerts()
