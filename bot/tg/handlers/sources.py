"""Source handlers, for admins: /sources lists the feeds with their health and buttons (src:p:ID pauses,
src:r:ID resumes, src:x:ID removes one added in chat); /sources add URL [name] checks the URL once and
adds it. Thin translators: polling is bot.sources', the wording bot.render.sources'.
"""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest

from bot.commands import command
from bot.render import messages
from bot.render import sources as wording
from bot.render.buttons import Keyboard
from bot.sources import CheckOutcome
from bot.store import Source
from bot.tg.context import NewsbotContext
from bot.tg.handlers.admin import allowed
from bot.tg.sending import NO_PREVIEW, markup, send_html, thread_of

log = logging.getLogger(__name__)

NOT_RUNNING = "Sources are not being polled in this process."


def _row(source: Source) -> wording.SourceRow:
    return wording.SourceRow(
        label=source.label,
        url=source.url,
        from_file=source.origin == "file",
        health=source.health,
        every=source.every,
        articles=source.articles,
        failures=source.failures,
        last_success=source.last_success_at,
        last_error=source.last_error,
        next_poll=source.next_poll_at,
        pause_reason=source.pause_reason,
        notes=source.notes,
    )


async def _listing(context: NewsbotContext) -> tuple[str, Keyboard | None]:
    listed = await context.runtime.store.sources.listed()
    poller = context.bot_data.sources
    problems = [str(problem) for problem in poller.file_problems] if poller is not None else []
    html = wording.source_list([_row(source) for source in listed], problems)
    keyboard = wording.source_keyboard(
        [
            (
                source.paused,
                f"src:{'r' if source.paused else 'p'}:{source.id}",
                f"src:x:{source.id}" if source.origin == "chat" else None,
            )
            for source in listed
        ]
    )
    return html, keyboard


async def sources(update: Update, context: NewsbotContext) -> None:
    """/sources: the list with health and buttons; /sources add URL [name]: check a feed and add it."""
    message = update.effective_message
    if message is None or not await allowed(update, context, "sources"):
        return
    args = context.args or []
    if args and args[0].lower() == "add":
        await _add(message, update, context, args[1:])
        return
    if args:
        await _reply(message, context, messages.usage(command("sources")))
        return
    html, keyboard = await _listing(context)
    await _reply(message, context, html, keyboard)


async def _add(message: Message, update: Update, context: NewsbotContext, args: list[str]) -> None:
    poller = context.bot_data.sources
    if not args:
        await _reply(message, context, messages.usage(command("sources")))
        return
    if poller is None:
        await _reply(message, context, NOT_RUNNING)
        return
    url, name = args[0], " ".join(args[1:]).strip() or None
    await context.bot.send_chat_action(
        message.chat_id, ChatAction.TYPING, message_thread_id=thread_of(message)
    )
    user = update.effective_user
    check = await poller.add(url, name=name[:100] if name else None, added_by=user.id if user else None)
    if check.outcome == CheckOutcome.ADDED and check.source is not None:
        log.info("source %s added by %s", check.url, user.id if user else "unknown")
        html = wording.source_added(
            label=check.source.label,
            url=check.url,
            title=check.title,
            format=check.format,
            entries=check.entries,
            stored=check.stored,
            notes=check.notes,
        )
        if check.stored:
            await context.runtime.refresh_fetched()  # the backlog is searchable at once
    elif check.outcome == CheckOutcome.ALREADY and check.source is not None:
        html = wording.source_already(check.source.label, check.url)
    else:
        html = wording.source_refused(check.url, check.error or "unknown problem")
    await _reply(message, context, html)


async def button(update: Update, context: NewsbotContext) -> None:
    """src:p:ID pauses, src:r:ID resumes, src:x:ID removes a source added in chat; the list is redrawn."""
    query = update.callback_query
    if query is None:
        return
    user_id = query.from_user.id if query.from_user else None
    if not context.runtime.is_admin(user_id):
        log.warning("refused a sources button for user %s (not in NEWSBOT_ADMIN_IDS)", user_id)
        await query.answer(messages.NOT_ADMIN)
        return
    _, action, rest = (query.data or "").split(":", 2) if (query.data or "").count(":") == 2 else ("", "", "")
    source_id = int(rest) if rest.isdigit() and len(rest) <= 12 else -1
    store = context.runtime.store.sources
    source = await store.get(source_id) if source_id > 0 else None
    if source is None or not source.listed:
        await query.answer(wording.SOURCE_GONE)
        return
    if action == "p":
        done = await store.pause(source_id, f"paused by admin {user_id}")
        toast = "paused" if done else "already paused"
    elif action == "r":
        done = await store.resume(source_id)
        toast = "resumed: fetching it again now" if done else "not paused"
        if done and context.bot_data.sources is not None:
            context.bot_data.sources.wake()
    elif action == "x":
        done = await store.remove(source_id) is not None
        toast = (
            "removed (its articles stay in the archive)"
            if done
            else "only sources added in chat can be removed"
        )
    else:
        await query.answer(messages.BUTTON_INVALID)
        return
    log.info("source %s: %s by admin %s", source.url, toast, user_id)
    await query.answer(wording.source_toggled(source.label, toast))
    message = query.message if isinstance(query.message, Message) else None
    if message is not None:
        html, keyboard = await _listing(context)
        try:
            await context.bot.edit_message_text(
                html,
                message.chat.id,
                message.message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=markup(keyboard),
                link_preview_options=NO_PREVIEW,
            )
        except BadRequest as error:  # "message is not modified", or too old to edit: the toast said it
            log.debug("could not redraw the sources list: %s", error.message)


async def _reply(
    message: Message, context: NewsbotContext, html: str, keyboard: Keyboard | None = None
) -> None:
    await send_html(context.bot, message.chat_id, html, keyboard=keyboard, thread_id=thread_of(message))
