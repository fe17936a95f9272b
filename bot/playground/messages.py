"""What the page is told: stand-in messages and events turned into small JSON views for the chat page.

Text travels as plain text plus Telegram entities (UTF-16 offsets, which JavaScript strings share), so
the page builds DOM nodes from them and never parses HTML. Must not import telegram or aiohttp.
"""

from __future__ import annotations

from typing import Any

from bot.standin import Event, EventKind

JsonDict = dict[str, Any]

# Entity fields the page uses; anything else a message carries stays on the server.
_ENTITY_FIELDS = ("type", "offset", "length", "url", "language")
_QUOTE_PREVIEW = 90


def sender_name(user: JsonDict) -> str:
    """A user's display name as Telegram shows it: first and last name."""
    parts = [str(user.get("first_name") or ""), str(user.get("last_name") or "")]
    return " ".join(part for part in parts if part) or "Unknown"


def message_view(message: JsonDict, *, via_bot: str | None = None) -> JsonDict:
    """The page's view of one message: sender, text with entities, the message it answers, buttons."""
    sender = message.get("from") or {}
    replied = message.get("reply_to_message")
    reply: JsonDict | None = None
    if isinstance(replied, dict):
        preview = " ".join(str(replied.get("text") or "").split())
        if len(preview) > _QUOTE_PREVIEW:
            preview = preview[: _QUOTE_PREVIEW - 1].rstrip() + "…"
        reply = {
            "id": replied.get("message_id"),
            "name": sender_name(replied.get("from") or {}),
            "text": preview,
        }
    return {
        "id": message["message_id"],
        "chat_id": (message.get("chat") or {}).get("id"),
        "date": message.get("date"),
        "from": {
            "id": sender.get("id"),
            "name": sender_name(sender),
            "bot": bool(sender.get("is_bot")),
        },
        "text": str(message.get("text") or ""),
        "entities": [
            {key: entity[key] for key in _ENTITY_FIELDS if key in entity}
            for entity in message.get("entities") or []
        ],
        "reply_to": reply,
        "buttons": keyboard_view(message.get("reply_markup")),
        "edited": "edit_date" in message,
        "via_bot": via_bot,
    }


def keyboard_view(markup: Any) -> list[list[JsonDict]]:
    """Inline keyboard rows as [{text, data}] or [{text, url}] buttons; other button kinds are left out."""
    if not isinstance(markup, dict):
        return []
    rows: list[list[JsonDict]] = []
    for row in markup.get("inline_keyboard") or []:
        buttons: list[JsonDict] = []
        for button in row:
            if "callback_data" in button:
                buttons.append({"text": button.get("text", ""), "data": button["callback_data"]})
            elif "url" in button:
                buttons.append({"text": button.get("text", ""), "url": button["url"]})
        if buttons:
            rows.append(buttons)
    return rows


def event_view(event: Event) -> JsonDict | None:
    """The live update the page gets for a stand-in event, or None when the page has no use for it.

    Users' own messages are announced by the server when it posts them, not from events.
    """
    if event.kind in (EventKind.SENT, EventKind.EDITED):
        return {"type": "message", "message": message_view(event.data)}
    if event.kind == EventKind.DELETED:
        return {"type": "deleted", "chat_id": event.chat_id, "id": event.message_id}
    if event.kind == EventKind.CHAT_ACTION:
        return {"type": "action", "chat_id": event.chat_id, "action": event.data.get("action")}
    if event.kind == EventKind.CALLBACK_ANSWER and event.data.get("text"):
        return {
            "type": "toast",
            "chat_id": event.chat_id,
            "text": event.data["text"],
            "alert": bool(event.data.get("show_alert")),
        }
    return None


def inline_result_view(result: JsonDict) -> JsonDict | None:
    """One answerInlineQuery result as a pick-list entry, or None for kinds the page cannot send."""
    content = result.get("input_message_content")
    if not isinstance(content, dict) or "message_text" not in content:
        return None
    return {
        "id": str(result.get("id")),
        "title": str(result.get("title") or ""),
        "description": str(result.get("description") or ""),
    }
