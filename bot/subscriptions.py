"""Subscription handlers: /subscribe, /unsubscribe, /subscriptions, /related on|off, /topics with toggles,
and their buttons (tsub:SLUG toggles a topic, unsub:ID removes one subscription).

In groups only chat administrators manage subscriptions and settings (checked with getChatMember).
"""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

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
from bot.handlers import thread_of
from bot.permissions import ChatAdmins
from bot.render import messages
from bot.render.buttons import Keyboard
from bot.runtime import Runtime
from bot.sending import markup, send_html

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE


class SubscriptionHandlers:
    """Callbacks for subscriptions and per-chat push settings."""

    def __init__(self, runtime: Runtime, admins: ChatAdmins | None = None) -> None:
        self.runtime = runtime
        self.admins = admins or ChatAdmins()

    async def _may_manage(self, update: Update, context: Context) -> bool:
        chat, user = update.effective_chat, update.effective_user
        if chat is None:
            return False
        allowed = await self.admins.may_manage(context.bot, chat.id, chat.type, user.id if user else None)
        if not allowed:
            log.info("user %s may not manage chat %s", user.id if user else "unknown", chat.id)
        return allowed

    async def _reply(self, message: Message, context: Context, html: str, **kwargs: object) -> None:
        await send_html(context.bot, message.chat_id, html, thread_id=thread_of(message), **kwargs)  # type: ignore[arg-type]

    async def _touch(self, message: Message) -> None:
        chat = message.chat
        await self.runtime.store.touch_chat(chat.id, str(chat.type), chat.title or chat.full_name)

    async def _change_request(
        self, update: Update, context: Context, usage: str
    ) -> tuple[Message, str] | None:
        """The message and its arguments, if it has arguments and the sender may change this chat."""
        message = update.effective_message
        if message is None:
            return None
        wanted = " ".join(context.args or []).strip()
        if not wanted:
            await self._reply(message, context, usage)
            return None
        if not await self._may_manage(update, context):
            await self._reply(message, context, messages.ADMINS_ONLY)
            return None
        return message, wanted

    # ----------------------------------------------------------------------------------- commands

    async def subscribe(self, update: Update, context: Context) -> None:
        """/subscribe TOPIC or /subscribe keywords "phrases" -excluded."""
        request = await self._change_request(update, context, messages.usage(command("subscribe")))
        if request is None:
            return
        message, wanted = request
        await self._touch(message)
        library = self.runtime.library
        topic = library.matcher.find(wanted)
        if topic is not None:
            kind, value, label = SubscriptionKind.TOPIC, topic.slug, topic.name
            understood = messages.topic_understood(topic)
            preview = library.latest(topic.slug, limit=PREVIEW_SIZE)
        else:
            try:
                query = parse_keywords(wanted)
            except KeywordError as error:
                await self._reply(message, context, messages.keywords_refused(str(error)))
                return
            kind, value, label = SubscriptionKind.KEYWORDS, query.text, query.text
            understood = messages.keywords_understood(query)
            preview = keyword_preview(library, query)
        outcome = await self.runtime.store.subscribe(
            message.chat_id, kind, value, label, limit=MAX_SUBSCRIPTIONS
        )
        if outcome == SubscribeOutcome.LIMIT_REACHED:
            await self._reply(message, context, messages.subscription_limit(MAX_SUBSCRIPTIONS))
            return
        html = messages.subscribed(label, understood, preview, already=outcome == SubscribeOutcome.ALREADY)
        await self._reply(message, context, html)

    async def unsubscribe(self, update: Update, context: Context) -> None:
        """/unsubscribe TOPIC_OR_KEYWORDS, or /unsubscribe all."""
        request = await self._change_request(update, context, messages.usage(command("unsubscribe")))
        if request is None:
            return
        message, wanted = request
        store = self.runtime.store
        if wanted.casefold() == "all":
            removed = await store.unsubscribe_all(message.chat_id)
            await self._reply(message, context, messages.unsubscribed_all(removed))
            return
        topic = self.runtime.library.matcher.find(wanted)
        if topic is not None:
            removed_any = await store.unsubscribe(message.chat_id, SubscriptionKind.TOPIC, topic.slug)
            label = topic.name
        else:
            try:
                label = parse_keywords(wanted).text
            except KeywordError:
                label = wanted
            removed_any = await store.unsubscribe(message.chat_id, SubscriptionKind.KEYWORDS, label)
        await self._reply(message, context, messages.unsubscribed(label, removed=removed_any))

    async def subscriptions(self, update: Update, context: Context) -> None:
        """/subscriptions: the chat's subscriptions, each with a remove button."""
        message = update.effective_message
        if message is None:
            return
        subs = await self.runtime.store.subscriptions(message.chat_id)
        await self._reply(
            message,
            context,
            messages.subscription_list([(str(s.kind), s.label) for s in subs]),
            keyboard=messages.subscription_keyboard([f"unsub:{s.id}" for s in subs]),
        )

    async def topics(self, update: Update, context: Context) -> None:
        """/topics: tracked topics with article counts and a Subscribe/Unsubscribe toggle each."""
        message = update.effective_message
        if message is None:
            return
        rows = self.runtime.library.topic_counts()
        if not rows:
            await self._reply(message, context, messages.NO_TOPICS)
            return
        await self._reply(
            message, context, messages.topic_list(rows), keyboard=await self._topic_keyboard(message.chat_id)
        )

    async def _topic_keyboard(self, chat_id: int) -> Keyboard:
        subscribed = {
            s.value
            for s in await self.runtime.store.subscriptions(chat_id)
            if s.kind == SubscriptionKind.TOPIC
        }
        return messages.topic_keyboard(
            [
                (topic.name, topic.slug in subscribed, f"tsub:{topic.slug}")
                for topic in self.runtime.library.topics
            ]
        )

    async def related_setting(self, update: Update, context: Context) -> None:
        """/related on|off: related-story pushes for this chat."""
        message = update.effective_message
        if message is None:
            return
        store, settings = self.runtime.store, self.runtime.settings
        choice = " ".join(context.args or []).strip().casefold()
        if choice not in ("on", "off"):
            enabled = await store.related_enabled(message.chat_id, settings.push_default)
            await self._reply(message, context, messages.related_pushes(enabled, command("related")))
            return
        if not await self._may_manage(update, context):
            await self._reply(message, context, messages.ADMINS_ONLY)
            return
        await self._touch(message)
        await store.set_related(message.chat_id, choice == "on")
        await self._reply(message, context, messages.related_pushes_now(choice == "on"))

    # ----------------------------------------------------------------------------------- buttons

    async def button(self, update: Update, context: Context) -> None:
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
        if not await self.admins.may_manage(context.bot, chat.id, chat.type, user_id):
            await query.answer(messages.ADMINS_ONLY, show_alert=chat.type != ChatType.PRIVATE)
            return
        store = self.runtime.store
        if kind == "tsub":
            topic = self.runtime.library.matcher.get(rest)
            if topic is None:
                await query.answer(messages.TOPIC_GONE)
                return
            await store.touch_chat(chat.id, str(chat.type), chat.title or chat.full_name)
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
                    chat.id, message.message_id, reply_markup=markup(await self._topic_keyboard(chat.id))
                )
        elif kind == "unsub":
            sub_id = int(rest) if rest.isdigit() and len(rest) <= 12 else -1
            removed = sub_id > 0 and await store.unsubscribe_by_id(chat.id, sub_id)
            await query.answer(messages.SUBSCRIPTION_REMOVED if removed else messages.SUBSCRIPTION_GONE)
        else:
            await query.answer(messages.BUTTON_INVALID)
