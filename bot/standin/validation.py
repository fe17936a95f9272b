"""Telegram's checks on what a bot sends: texts, keyboards, inline results, command lists.

Each check returns the cleaned value or raises ApiError with Telegram's description.
Pure and synchronous; must not import telegram, aiohttp or asyncio.
"""

from __future__ import annotations

import re
from typing import Any

from bot.render.html import utf16_len
from bot.standin.entities import Entity, FormattedText, detect_entities, trim
from bot.standin.html import HtmlParseError, parse_html
from bot.standin.protocol import JsonDict, bad_request

MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
MAX_CALLBACK_ANSWER = 200
MAX_INLINE_RESULTS = 50
MAX_BUTTONS = 100
MAX_COMMANDS = 100
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}$")
_BUTTON_URL = re.compile(r"(https?|tg)://\S+$", re.IGNORECASE)
_NON_ACTION_FIELDS = frozenset({"text", "icon_custom_emoji_id", "style"})


def format_text(
    text: Any, parse_mode: Any, entities: Any = None, *, strict_html: bool = True
) -> FormattedText:
    """Parse and check a message text like Telegram: parse mode, trimming, 1–4096 UTF-16 units.

    The result carries the entities Telegram adds by itself (commands, mentions, URLs …) too.
    """
    if not isinstance(text, str) or not text:
        raise bad_request("message text is empty")
    mode = parse_mode.lower() if isinstance(parse_mode, str) else ""
    if mode == "html":
        try:
            formatted = parse_html(text, strict=strict_html)
        except HtmlParseError as error:
            raise bad_request(f"can't parse entities: {error}") from None
    elif mode == "":
        formatted = FormattedText(text, _given_entities(text, entities))
    elif mode in ("markdown", "markdownv2"):
        raise bad_request(f"the stand-in does not implement parse_mode {parse_mode}; use HTML")
    else:
        raise bad_request("unsupported parse_mode")
    formatted = trim(formatted)
    if not formatted.text:
        raise bad_request("message text is empty")
    if utf16_len(formatted.text) > MAX_TEXT:
        raise bad_request("message is too long")
    return detect_entities(formatted.text, formatted.entities)


def _given_entities(text: str, entities: Any) -> tuple[Entity, ...]:
    if entities is None:
        return ()
    if not isinstance(entities, list):
        raise bad_request("can't parse entities JSON object")
    size = utf16_len(text)
    out = []
    for item in entities:
        try:
            entity = Entity.from_dict(item)
        except (KeyError, TypeError, ValueError):
            raise bad_request("can't parse MessageEntity") from None
        if entity.offset < 0 or entity.length <= 0 or entity.end > size:
            raise bad_request("entity beginning or length is out of the text")
        out.append(entity)
    return tuple(out)


def check_reply_markup(markup: Any, *, inline_only: bool = False) -> JsonDict | None:
    """Check a reply_markup object; returns it, inline keyboards as {"inline_keyboard": rows}, or None."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        if inline_only:
            raise bad_request("inline keyboard expected")
        if not any(key in markup for key in ("keyboard", "remove_keyboard", "force_reply")):
            raise bad_request("can't parse reply keyboard markup JSON object")
        return markup
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('can\'t parse inline keyboard button: field "inline_keyboard" must be an Array')
    if sum(len(row) for row in rows) > MAX_BUTTONS:
        raise bad_request("reply markup is too long")
    for row in rows:
        for button in row:
            _check_button(button)
    return {"inline_keyboard": rows}


def _check_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise bad_request("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
    if not isinstance(button.get("text"), str) or not button["text"].strip():
        raise bad_request("BUTTON_TEXT_INVALID")
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button and not (isinstance(button["url"], str) and _BUTTON_URL.match(button["url"])):
        raise bad_request("BUTTON_URL_INVALID")
    if not set(button) - _NON_ACTION_FIELDS:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )


def check_inline_results(results: Any, *, strict_html: bool = True) -> list[JsonDict]:
    """Check answerInlineQuery results: at most 50, unique ids of 1–64 bytes, valid texts and keyboards."""
    if not isinstance(results, list):
        raise bad_request("can't parse results JSON object")
    if len(results) > MAX_INLINE_RESULTS:
        raise bad_request("RESULTS_TOO_MUCH")
    seen: set[str] = set()
    for result in results:
        if not isinstance(result, dict) or not isinstance(result.get("type"), str):
            raise bad_request("RESULT_TYPE_INVALID")
        result_id = str(result.get("id", ""))
        if not 1 <= len(result_id.encode("utf-8")) <= 64:
            raise bad_request("RESULT_ID_INVALID")
        if result_id in seen:
            raise bad_request("RESULT_ID_DUPLICATE")
        seen.add(result_id)
        content = result.get("input_message_content")
        if isinstance(content, dict) and "message_text" in content:
            format_text(
                content["message_text"],
                content.get("parse_mode"),
                content.get("entities"),
                strict_html=strict_html,
            )
        check_reply_markup(result.get("reply_markup"), inline_only=True)
    return results


def check_commands(commands: Any) -> list[JsonDict]:
    """Check a setMyCommands list: lowercase names of 1–32 characters, descriptions of 1–256."""
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON object")
    if len(commands) > MAX_COMMANDS:
        raise bad_request("too many commands")
    cleaned: list[JsonDict] = []
    for item in commands:
        if not isinstance(item, dict):
            raise bad_request("can't parse BotCommand")
        name, description = item.get("command"), item.get("description")
        if not isinstance(name, str) or not _COMMAND_NAME.match(name):
            raise bad_request("BOT_COMMAND_INVALID")
        if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        cleaned.append({"command": name, "description": description})
    return cleaned
