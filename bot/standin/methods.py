"""The Bot API methods a bot calls, implemented over the World's state with Telegram's rules.

BotApi.call(method, params) returns the method's result or raises ApiError exactly as Telegram
answers (getUpdates, which waits, lives in server.py). Must not import telegram or aiohttp.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from bot.render.html import utf16_len
from bot.standin.protocol import ApiError, JsonDict, Params, bad_request, forbidden
from bot.standin.updates import UpdateQueue
from bot.standin.validation import (
    CHAT_ACTIONS,
    MAX_CALLBACK_ANSWER,
    check_commands,
    check_inline_results,
    check_reply_markup,
    format_text,
)
from bot.standin.world import ChatState, EventKind, QueryState, World

_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)
_QUERY_GONE = "query is too old and response timeout expired or query ID is invalid"
_GIFT_TYPES = (
    "unlimited_gifts",
    "limited_gifts",
    "unique_gifts",
    "premium_subscription",
    "gifts_from_channels",
)


class BotApi:
    """The Bot API methods (one `_api_<methodName>` each) over the world and the update queue."""

    def __init__(self, world: World, updates: UpdateQueue) -> None:
        self.world = world
        self.updates = updates

    def call(self, method: str, params: Params) -> Any:
        """Run one Bot API method (name case-insensitive); raises ApiError as Telegram would answer."""
        name = _METHODS.get(method.lower())
        if name is None:
            raise ApiError(404, "Not Found")
        return getattr(self, name)(params)

    def _api_getMe(self, p: Params) -> JsonDict:
        return self.world.bot_user

    def _api_logOut(self, p: Params) -> bool:
        return True

    def _api_close(self, p: Params) -> bool:
        return True

    def _api_setWebhook(self, p: Params) -> bool:
        url = p.get_str("url") or ""
        if url and not url.startswith(("https://", "http://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.get_str("secret_token") or ""
        if len(secret) > 256 or not all(c.isascii() and (c.isalnum() or c in "_-") for c in secret):
            raise bad_request("secret token contains unallowed characters")
        allowed = p.get_json("allowed_updates")
        if allowed is not None and not (
            isinstance(allowed, list) and all(isinstance(a, str) for a in allowed)
        ):
            raise bad_request("can't parse allowed_updates JSON object")
        self.updates.set_allowed(allowed)
        self.world.webhook_url, self.world.webhook_secret = url, secret if url else ""
        self.world.webhook_error = None
        if p.get_bool("drop_pending_updates"):
            self.updates.drop()
        return True

    def _api_deleteWebhook(self, p: Params) -> bool:
        self.world.webhook_url, self.world.webhook_secret = "", ""
        self.world.webhook_error = None
        if p.get_bool("drop_pending_updates"):
            self.updates.drop()
        return True

    def _api_getWebhookInfo(self, p: Params) -> JsonDict:
        info: JsonDict = {
            "url": self.world.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.updates.pending()),
        }
        if self.world.webhook_url:
            info["max_connections"] = 40
            if self.updates.allowed is not None:
                info["allowed_updates"] = self.updates.allowed
        if self.world.webhook_error is not None:
            info["last_error_date"], info["last_error_message"] = self.world.webhook_error
        return info

    def _api_setMyCommands(self, p: Params) -> bool:
        cleaned = check_commands(p.get_json("commands"))
        key = self.world.scope_key(p.get_json("scope"), p.get_str("language_code") or "")
        if cleaned:
            self.world.command_lists[key] = cleaned
        else:
            self.world.command_lists.pop(key, None)
        self.world.record(
            EventKind.COMMANDS, key[1], None, {"scope": key[0], "language_code": key[3], "commands": cleaned}
        )
        return True

    def _api_getMyCommands(self, p: Params) -> list[JsonDict]:
        key = self.world.scope_key(p.get_json("scope"), p.get_str("language_code") or "")
        return copy.deepcopy(self.world.command_lists.get(key, []))

    def _api_deleteMyCommands(self, p: Params) -> bool:
        key = self.world.scope_key(p.get_json("scope"), p.get_str("language_code") or "")
        self.world.command_lists.pop(key, None)
        self.world.record(
            EventKind.COMMANDS, key[1], None, {"scope": key[0], "language_code": key[3], "commands": []}
        )
        return True

    def _api_setMyDescription(self, p: Params) -> bool:
        return self._set_text(p, "description", 512)

    def _api_getMyDescription(self, p: Params) -> JsonDict:
        return {"description": self.world.texts.get(("description", p.get_str("language_code") or ""), "")}

    def _api_setMyShortDescription(self, p: Params) -> bool:
        return self._set_text(p, "short_description", 120)

    def _api_getMyShortDescription(self, p: Params) -> JsonDict:
        key = ("short_description", p.get_str("language_code") or "")
        return {"short_description": self.world.texts.get(key, "")}

    def _set_text(self, p: Params, name: str, limit: int) -> bool:
        value = p.get_str(name) or ""
        if len(value) > limit:
            raise bad_request(f"{name} is too long")
        self.world.texts[(name, p.get_str("language_code") or "")] = value
        return True

    def _api_sendMessage(self, p: Params) -> JsonDict:
        chat = self._chat_for_bot(p, acting=True)
        formatted = format_text(
            p.get_str("text"),
            p.get_str("parse_mode"),
            p.get_json("entities"),
            strict_html=self.world.strict_html,
        )
        markup = check_reply_markup(p.get_json("reply_markup"))
        thread_id = p.get_int("message_thread_id")
        if thread_id is not None and chat.info.get("is_forum") and thread_id not in chat.topics:
            raise bad_request("message thread not found")
        replied = self._replied(chat, p)
        message = self.world.store_message(
            chat,
            self.world.bot_sender(),
            formatted,
            thread_id=thread_id,
            reply_to=replied,
            markup=markup if markup and "inline_keyboard" in markup else None,
        )
        preview = p.get_json("link_preview_options")
        if isinstance(preview, dict):
            message["link_preview_options"] = preview
        self.world.record(EventKind.SENT, chat.id, message["message_id"], message)
        return copy.deepcopy(message)

    def _api_editMessageText(self, p: Params) -> JsonDict:
        chat, message = self._editable(p)
        formatted = format_text(
            p.get_str("text"),
            p.get_str("parse_mode"),
            p.get_json("entities"),
            strict_html=self.world.strict_html,
        )
        markup = check_reply_markup(p.get_json("reply_markup"), inline_only=True)
        new_entities = self.world.entity_dicts(formatted)
        if (
            formatted.text == message.get("text")
            and new_entities == message.get("entities", [])
            and markup == message.get("reply_markup")
        ):
            raise bad_request(_NOT_MODIFIED)
        message["text"] = formatted.text
        self.world.set_entities(message, formatted)
        self.world.set_markup(message, markup)
        message["edit_date"] = int(time.time())
        self.world.record(EventKind.EDITED, chat.id, message["message_id"], message)
        return copy.deepcopy(message)

    def _api_editMessageReplyMarkup(self, p: Params) -> JsonDict:
        chat, message = self._editable(p)
        markup = check_reply_markup(p.get_json("reply_markup"), inline_only=True)
        if markup == message.get("reply_markup"):
            raise bad_request(_NOT_MODIFIED)
        self.world.set_markup(message, markup)
        message["edit_date"] = int(time.time())
        self.world.record(EventKind.EDITED, chat.id, message["message_id"], message)
        return copy.deepcopy(message)

    def _api_deleteMessage(self, p: Params) -> bool:
        chat = self._chat_for_bot(p, acting=True)
        message_id = p.need_int("message_id")
        message = chat.messages.get(message_id)
        if message is None:
            raise bad_request("message to delete not found")
        own = message.get("from", {}).get("id") == self.world.bot_id
        if not own and chat.type != "private" and chat.bot_status != "administrator":
            raise bad_request("message can't be deleted")
        chat.deleted[message_id] = chat.messages.pop(message_id)
        self.world.record(EventKind.DELETED, chat.id, message_id, message)
        return True

    def _api_answerCallbackQuery(self, p: Params) -> bool:
        query = self._open_query(p.need_str("callback_query_id"), "callback")
        text = p.get_str("text")
        if text is not None and utf16_len(text) > MAX_CALLBACK_ANSWER:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answered = True
        data: JsonDict = {
            "callback_query_id": p.get_str("callback_query_id"),
            "text": text,
            "show_alert": p.get_bool("show_alert"),
            "url": p.get_str("url"),
            "cache_time": p.get_int("cache_time") or 0,
            "data": query.payload,
            "chat_id": query.chat_id,
            "message_id": query.message_id,
        }
        self.world.record(EventKind.CALLBACK_ANSWER, query.chat_id, query.message_id, data)
        return True

    def _api_answerInlineQuery(self, p: Params) -> bool:
        query = self._open_query(p.need_str("inline_query_id"), "inline")
        results = check_inline_results(p.get_json("results"), strict_html=self.world.strict_html)
        next_offset = p.get_str("next_offset") or ""
        if len(next_offset.encode()) > 64:
            raise bad_request("NEXT_OFFSET_INVALID")
        query.answered = True
        data: JsonDict = {
            "inline_query_id": p.get_str("inline_query_id"),
            "query": query.payload,
            "results": results,
            "next_offset": next_offset,
            "cache_time": p.get_int("cache_time"),
            "is_personal": p.get_bool("is_personal"),
            "button": p.get_json("button"),
        }
        self.world.record(EventKind.INLINE_ANSWER, None, None, data)
        return True

    def _api_sendChatAction(self, p: Params) -> bool:
        chat = self._chat_for_bot(p, acting=True)
        action = p.get_str("action")
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        data = {"action": action, "message_thread_id": p.get_int("message_thread_id")}
        self.world.record(EventKind.CHAT_ACTION, chat.id, None, data)
        return True

    def _api_getChat(self, p: Params) -> JsonDict:
        chat = self._chat_for_bot(p, acting=False)
        return {
            **chat.info,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": dict.fromkeys(_GIFT_TYPES, False),
        }

    def _api_getChatMember(self, p: Params) -> JsonDict:
        chat = self._chat_for_bot(p, acting=False)
        user_id = p.need_int("user_id")
        user = self.world.users.get(user_id)
        if user is None:
            raise bad_request("user not found")
        return self.world.member(user, self.world.status_in(chat, user_id))

    def _api_getChatMemberCount(self, p: Params) -> int:
        chat = self._chat_for_bot(p, acting=False)
        bot_in = chat.bot_status in ("member", "administrator")
        return len(chat.members - {self.world.bot_id}) + int(bot_in)

    def _api_getChatAdministrators(self, p: Params) -> list[JsonDict]:
        chat = self._chat_for_bot(p, acting=False)
        if chat.type == "private":
            raise bad_request("there are no administrators in the private chat")
        out = []
        if chat.creator is not None:
            out.append(self.world.member(self.world.users[chat.creator], "creator"))
        out += [
            self.world.member(self.world.users[uid], "administrator")
            for uid in sorted(chat.admins - {chat.creator})
        ]
        if chat.bot_status == "administrator":
            out.append(self.world.member(self.world.bot_sender(), "administrator"))
        return out

    def _replied(self, chat: ChatState, p: Params) -> JsonDict | None:
        reply = p.get_json("reply_parameters")
        if reply is None and p.has("reply_to_message_id"):
            reply = {
                "message_id": p.get_int("reply_to_message_id"),
                "allow_sending_without_reply": p.get_bool("allow_sending_without_reply"),
            }
        if reply is None:
            return None
        if not isinstance(reply, dict) or not isinstance(reply.get("message_id"), int):
            raise bad_request("can't parse reply parameters JSON object")
        source = chat
        if reply.get("chat_id") is not None:
            source = self.world.resolve_chat(reply["chat_id"])
        message = source.messages.get(reply["message_id"])
        if message is None:
            if reply.get("allow_sending_without_reply"):
                return None
            raise bad_request("message to be replied not found")
        return message

    def _editable(self, p: Params) -> tuple[ChatState, JsonDict]:
        if p.has("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self._chat_for_bot(p, acting=True)
        message = chat.messages.get(p.need_int("message_id"))
        if message is None:
            raise bad_request("message to edit not found")
        if message.get("from", {}).get("id") != self.world.bot_id:
            raise bad_request("message can't be edited")
        return chat, message

    def _open_query(self, query_id: str, kind: str) -> QueryState:
        query = self.world.queries.get(query_id)
        if query is None or query.kind != kind or query.answered:
            raise bad_request(_QUERY_GONE)
        return query

    def _chat_for_bot(self, p: Params, *, acting: bool) -> ChatState:
        """The chat a call addresses; acting calls also fail when the bot was blocked, kicked or left."""
        chat = self.world.resolve_chat(p.chat_id())
        if chat.migrated_to is not None:
            raise bad_request(
                "group chat was upgraded to a supergroup chat", {"migrate_to_chat_id": chat.migrated_to}
            )
        if acting and chat.bot_status == "kicked":
            if chat.type == "private":
                raise forbidden("bot was blocked by the user")
            raise forbidden(f"bot was kicked from the {chat.type} chat")
        if acting and chat.bot_status == "left":
            raise forbidden(f"bot is not a member of the {chat.type} chat")
        return chat


# Telegram treats method names case-insensitively.
_METHODS = {name[len("_api_") :].lower(): name for name in vars(BotApi) if name.startswith("_api_")}
