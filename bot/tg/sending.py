"""Sending rendered HTML to Telegram: split under 4096, buttons on the last part, plain-text fallback.

The one place that turns bot.render's button data into python-telegram-bot markup. If Telegram still
answers "can't parse entities", the same text is resent as plain text and the failure is logged.
"""

from __future__ import annotations

import logging

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.render.buttons import Keyboard
from bot.render.html import escape, fit_plain, html_to_plain, split_html

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def markup(keyboard: Keyboard | None) -> InlineKeyboardMarkup | None:
    """PTB markup for render's button data (None for no buttons)."""
    if not keyboard:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(button.text, callback_data=button.callback_data)
                if button.callback_data is not None
                else InlineKeyboardButton(button.text, url=button.url)
                for button in row
            ]
            for row in keyboard
            if row
        ]
    )


def thread_of(message: Message) -> int | None:
    """The forum topic a message belongs to, so replies land in the same thread."""
    return message.message_thread_id if message.is_topic_message else None


def is_parse_error(error: BadRequest) -> bool:
    """Whether Telegram rejected the message's HTML."""
    return "can't parse entities" in error.message.lower()


async def send_html(
    bot: Bot,
    chat_id: int,
    html: str,
    *,
    keyboard: Keyboard | None = None,
    reply_to: int | None = None,
    thread_id: int | None = None,
    preview: bool = False,
) -> list[Message]:
    """Send HTML, split into parts under Telegram's limit; returns the messages sent."""
    parts = split_html(html) or [escape("…")]
    sent: list[Message] = []
    for number, part in enumerate(parts):
        last = number == len(parts) - 1
        sent.append(
            await _send_part(
                bot,
                chat_id,
                part,
                reply_markup=markup(keyboard) if last else None,
                reply_to=reply_to if number == 0 else None,
                thread_id=thread_id,
                preview=preview,
            )
        )
    return sent


async def _send_part(
    bot: Bot,
    chat_id: int,
    part: str,
    *,
    reply_markup: InlineKeyboardMarkup | None,
    reply_to: int | None,
    thread_id: int | None,
    preview: bool,
) -> Message:
    reply = ReplyParameters(message_id=reply_to, allow_sending_without_reply=True) if reply_to else None
    options = None if preview else NO_PREVIEW
    try:
        return await bot.send_message(
            chat_id,
            part,
            parse_mode=ParseMode.HTML,
            reply_markup=reply_markup,
            reply_parameters=reply,
            message_thread_id=thread_id,
            link_preview_options=options,
        )
    except BadRequest as error:
        if not is_parse_error(error):
            raise
        log.warning("Telegram could not parse our HTML (%s); resending as plain text", error.message)
        return await bot.send_message(
            chat_id,
            fit_plain(html_to_plain(part)) or "…",
            reply_markup=reply_markup,
            reply_parameters=reply,
            message_thread_id=thread_id,
            link_preview_options=options,
        )


async def edit_html(
    bot: Bot, chat_id: int, message_id: int, html: str, *, keyboard: Keyboard | None = None
) -> None:
    """Replace a message's text (one part: the caller keeps it under Telegram's limit) and buttons."""
    await bot.edit_message_text(
        html,
        chat_id=chat_id,
        message_id=message_id,
        parse_mode=ParseMode.HTML,
        reply_markup=markup(keyboard),
        link_preview_options=NO_PREVIEW,
    )
