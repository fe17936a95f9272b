"""Subscription handlers: /subscribe, /unsubscribe, /subscriptions, /related on|off, /topics with toggles,
and their buttons (tsub:SLUG toggles a topic, unsub:ID removes one subscription).

In groups only chat administrators manage subscriptions and settings (getChatMember, cached in the typed
context). A change is confirmed only once this instance knows it is the only one polling (SoleInstance):
a starting second instance would otherwise store it in a database that leaves with it. Thin translators:
what a subscription means is bot.core.interests, what the bot says is bot.render.messages, every
statement is the store's.
"""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.constants import ChatType

from bot.commands import command
from bot.core.interests import (
    MAX_SUBSCRIPTIONS,
    PREVIEW_SIZE,
    KeywordError,
    SubscribeOutcome,
    SubscriptionKind,
    keyword_preview,
    parse_keywords,
)
from bot.core.schedules import ScheduleError, split_schedule, zone_or_utc
from bot.core.schedules import zone as zone_named
from bot.render import messages
from bot.render.buttons import Keyboard
from bot.tg.context import NewsbotContext
from bot.tg.sending import markup, send_html, thread_of

log = logging.getLogger(__name__)


async def _may_manage(update: Update, context: NewsbotContext) -> bool:
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return False
    message = update.effective_message
    if message is not None and message.sender_chat is not None and message.sender_chat.id == chat.id:
        return True  # an anonymous administrator: only admins can post as the group itself
    user_id = user.id if user else None
    allowed = await context.bot_data.chat_admins.may_manage(context.bot, chat.id, chat.type, user_id)
    if not allowed:
        log.info("user %s may not manage chat %s", user.id if user else "unknown", chat.id)
    return allowed


async def _reply(
    message: Message, context: NewsbotContext, html: str, keyboard: Keyboard | None = None
) -> None:
    await send_html(context.bot, message.chat_id, html, keyboard=keyboard, thread_id=thread_of(message))


async def _alone(context: NewsbotContext) -> bool:
    """Whether this instance may change what is stored (waits out a starting instance's probation)."""
    if await context.bot_data.sole_instance.wait():
        return True
    log.info("not changing anything: this instance is stopping, another one polls the token")
    return False


async def _change_request(update: Update, context: NewsbotContext, usage: str) -> tuple[Message, str] | None:
    """The message and its arguments, if it has arguments, the sender may change this chat and this is
    the only instance running."""
    message = update.effective_message
    if message is None:
        return None
    wanted = " ".join(context.args or []).strip()
    if not wanted:
        await _reply(message, context, usage)
        return None
    if not await _may_manage(update, context):
        await _reply(message, context, messages.ADMINS_ONLY)
        return None
    if not await _alone(context):
        await _reply(message, context, messages.NOT_THE_ONLY_INSTANCE)
        return None
    return message, wanted


# ----------------------------------------------------------------------------------- commands


async def subscribe(update: Update, context: NewsbotContext) -> None:
    """/subscribe TOPIC or /subscribe keywords "phrases" -excluded."""
    request = await _change_request(update, context, messages.usage(command("subscribe")))
    if request is None:
        return
    message, wanted = request
    try:
        wanted, schedule = split_schedule(wanted)
    except ScheduleError as error:
        await _reply(message, context, messages.schedule_refused(str(error)))
        return
    if not wanted:
        await _reply(message, context, messages.usage(command("subscribe")))
        return
    await context.remember_chat(message.chat)
    library = context.runtime.library
    topic = library.matcher.find(wanted)
    if topic is not None:
        kind, value, label = SubscriptionKind.TOPIC, topic.slug, topic.name
        understood = messages.topic_understood(topic)
        preview = library.latest(topic.slug, limit=PREVIEW_SIZE)
    else:
        try:
            query = parse_keywords(wanted)
        except KeywordError as error:
            await _reply(message, context, messages.keywords_refused(str(error)))
            return
        kind, value, label = SubscriptionKind.KEYWORDS, query.text, query.text
        understood = messages.keywords_understood(query)
        preview = keyword_preview(library, query)
    store = context.runtime.store
    outcome = await store.subscribe(
        message.chat_id,
        kind,
        value,
        label,
        limit=MAX_SUBSCRIPTIONS,
        schedule=None if schedule is None else schedule.text,
    )
    if outcome == SubscribeOutcome.LIMIT_REACHED:
        await _reply(message, context, messages.subscription_limit(MAX_SUBSCRIPTIONS))
        return
    chat = await store.get_chat(message.chat_id)
    stored = next(
        (
            s.schedule
            for s in await store.subscriptions(message.chat_id)
            if (s.kind, s.value) == (kind, value)
        ),
        "now",
    )
    zone = zone_or_utc(chat.timezone if chat is not None else None).key
    html = messages.subscribed(
        label,
        understood,
        preview,
        already=outcome == SubscribeOutcome.ALREADY,
        schedule=messages.digest_schedule(stored, zone),
    )
    await _reply(message, context, html)


async def timezone(update: Update, context: NewsbotContext) -> None:
    """/timezone Area/City: the IANA time zone this chat's digest times are read in; without one, the
    current one."""
    message = update.effective_message
    if message is None:
        return
    store = context.runtime.store
    wanted = " ".join(context.args or []).strip()
    if not wanted:
        chat = await store.get_chat(message.chat_id)
        zone = zone_or_utc(chat.timezone if chat is not None else None).key
        await _reply(message, context, messages.timezone_shown(zone, changed=False))
        return
    request = await _change_request(update, context, messages.usage(command("timezone")))
    if request is None:
        return
    try:
        found = zone_named(wanted)
    except ScheduleError as error:
        await _reply(message, context, messages.timezone_refused(str(error)))
        return
    await context.remember_chat(message.chat)
    await store.set_timezone(message.chat_id, found.key)
    await _reply(message, context, messages.timezone_shown(found.key, changed=True))


async def unsubscribe(update: Update, context: NewsbotContext) -> None:
    """/unsubscribe TOPIC_OR_KEYWORDS, or /unsubscribe all."""
    request = await _change_request(update, context, messages.usage(command("unsubscribe")))
    if request is None:
        return
    message, wanted = request
    store = context.runtime.store
    if wanted.casefold() == "all":
        removed = await store.unsubscribe_all(message.chat_id)
        await _reply(message, context, messages.unsubscribed_all(removed))
        return
    topic = context.runtime.library.matcher.find(wanted)
    if topic is not None:
        removed_any = await store.unsubscribe(message.chat_id, SubscriptionKind.TOPIC, topic.slug)
        label = topic.name
    else:
        try:
            label = parse_keywords(wanted).text
        except KeywordError:
            label = wanted
        removed_any = await store.unsubscribe(message.chat_id, SubscriptionKind.KEYWORDS, label)
    await _reply(message, context, messages.unsubscribed(label, removed=removed_any))


async def list_subscriptions(update: Update, context: NewsbotContext) -> None:
    """/subscriptions: the chat's subscriptions, each with a remove button."""
    message = update.effective_message
    if message is None:
        return
    subs = await context.runtime.store.subscriptions(message.chat_id)
    await _reply(
        message,
        context,
        messages.subscription_list([(str(s.kind), s.label) for s in subs]),
        keyboard=messages.subscription_keyboard([f"unsub:{s.id}" for s in subs]),
    )


async def topics(update: Update, context: NewsbotContext) -> None:
    """/topics: tracked topics with article counts and a Subscribe/Unsubscribe toggle each."""
    message = update.effective_message
    if message is None:
        return
    rows = context.runtime.library.topic_counts()
    if not rows:
        await _reply(message, context, messages.NO_TOPICS)
        return
    await _reply(
        message, context, messages.topic_list(rows), keyboard=await _topic_keyboard(context, message.chat_id)
    )


async def _topic_keyboard(context: NewsbotContext, chat_id: int) -> Keyboard:
    subscribed = {
        s.value
        for s in await context.runtime.store.subscriptions(chat_id)
        if s.kind == SubscriptionKind.TOPIC
    }
    return messages.topic_keyboard(
        [
            (topic.name, topic.slug in subscribed, f"tsub:{topic.slug}")
            for topic in context.runtime.library.topics
        ]
    )


async def related_setting(update: Update, context: NewsbotContext) -> None:
    """/related on|off: related-story pushes for this chat."""
    message = update.effective_message
    if message is None:
        return
    store, settings = context.runtime.store, context.runtime.settings
    choice = " ".join(context.args or []).strip().casefold()
    if choice not in ("on", "off"):
        enabled = await store.related_enabled(message.chat_id, settings.push_default)
        await _reply(message, context, messages.related_pushes(enabled, command("related")))
        return
    if not await _may_manage(update, context):
        await _reply(message, context, messages.ADMINS_ONLY)
        return
    if not await _alone(context):
        await _reply(message, context, messages.NOT_THE_ONLY_INSTANCE)
        return
    await context.remember_chat(message.chat)
    await store.set_related(message.chat_id, choice == "on")
    await _reply(message, context, messages.related_pushes_now(choice == "on"))


# ----------------------------------------------------------------------------------- buttons


async def button(update: Update, context: NewsbotContext) -> None:
    """tsub:SLUG toggles a topic subscription; unsub:ID removes one of this chat's subscriptions."""
    query = update.callback_query
    if query is None:
        return
    message = query.message if isinstance(query.message, Message) else None
    kind, _, rest = (query.data or "").partition(":")
    if message is None:
        await query.answer(messages.BUTTON_GONE)
        return
    chat = message.chat
    user_id = query.from_user.id if query.from_user else None
    if not await context.bot_data.chat_admins.may_manage(context.bot, chat.id, chat.type, user_id):
        await query.answer(messages.ADMINS_ONLY, show_alert=chat.type != ChatType.PRIVATE)
        return
    if kind in ("tsub", "unsub") and not await _alone(context):
        await query.answer(messages.BUTTON_NOT_THE_ONLY_INSTANCE)
        return
    store = context.runtime.store
    if kind == "tsub":
        topic = context.runtime.library.matcher.get(rest)
        if topic is None:
            await query.answer(messages.TOPIC_GONE)
            return
        await context.remember_chat(chat)
        outcome: SubscribeOutcome | None = None
        if not await store.unsubscribe(chat.id, SubscriptionKind.TOPIC, topic.slug):
            outcome = await store.subscribe(
                chat.id, SubscriptionKind.TOPIC, topic.slug, topic.name, limit=MAX_SUBSCRIPTIONS
            )
        await query.answer(messages.topic_toggled(topic.name, outcome, limit=MAX_SUBSCRIPTIONS))
        if message.reply_markup is not None and any(
            str(b.callback_data or "").startswith("tsub:")
            for row in message.reply_markup.inline_keyboard
            for b in row
        ):
            await context.bot.edit_message_reply_markup(
                chat.id, message.message_id, reply_markup=markup(await _topic_keyboard(context, chat.id))
            )
    elif kind == "unsub":
        sub_id = int(rest) if rest.isdigit() and len(rest) <= 12 else -1
        removed = sub_id > 0 and await store.unsubscribe_by_id(chat.id, sub_id)
        await query.answer(messages.SUBSCRIPTION_REMOVED if removed else messages.SUBSCRIPTION_GONE)
    else:
        await query.answer(messages.BUTTON_INVALID)
