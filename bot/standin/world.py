"""The simulated Telegram side's state: the bot, users, chats and their messages, open queries, command
menus, and the log of everything that happened (events), with what tests and the playground observe.

Scenario (scenario.py) plays the users on it, BotApi (methods.py) the Bot API methods, UpdateQueue
(updates.py) holds what getUpdates hands out; server.py serves them over HTTP. Call everything from the
event loop's thread. Must not import telegram or aiohttp.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.standin.entities import FormattedText
from bot.standin.protocol import JsonDict, bad_request

_log = logging.getLogger(__name__)

_SCOPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)


class EventKind(StrEnum):
    """What happened: the bot acted (sent … commands) or a user's update was queued (update)."""

    SENT = "sent"
    EDITED = "edited"
    DELETED = "deleted"
    CHAT_ACTION = "chat_action"
    CALLBACK_ANSWER = "callback_answer"
    INLINE_ANSWER = "inline_answer"
    COMMANDS = "commands"
    UPDATE = "update"


@dataclass(frozen=True, slots=True)
class Event:
    """One recorded happening, numbered in order; `at` comes from the stand-in's clock (monotonic).

    data is a snapshot: the Message for sent/edited/deleted, the update for update, the call's
    parameters for chat_action, callback_answer, inline_answer and commands.
    """

    seq: int
    kind: EventKind
    at: float
    chat_id: int | None
    message_id: int | None
    data: JsonDict

    @property
    def text(self) -> str | None:
        """The message text of a sent/edited/deleted event, or of a queued (edited) message update."""
        data = self.data
        for key in ("message", "edited_message"):
            if isinstance(data.get(key), dict):
                data = data[key]
        value = data.get("text")
        return value if isinstance(value, str) else None


@dataclass(slots=True)
class ChatState:
    """One chat as Telegram holds it: its Chat object, members, the bot's standing and its messages."""

    info: JsonDict
    creator: int | None = None
    admins: set[int] = field(default_factory=set)
    members: set[int] = field(default_factory=set)
    bot_status: str = "member"
    messages: dict[int, JsonDict] = field(default_factory=dict)
    deleted: dict[int, JsonDict] = field(default_factory=dict)
    next_message_id: int = 1
    topics: dict[int, str] = field(default_factory=dict)
    migrated_to: int | None = None

    @property
    def id(self) -> int:
        return int(self.info["id"])

    @property
    def type(self) -> str:
        return str(self.info["type"])


@dataclass(slots=True)
class QueryState:
    """A callback or inline query the bot may answer once."""

    kind: str  # "callback" or "inline"
    user_id: int
    chat_id: int | None
    message_id: int | None
    payload: str
    answered: bool = False


class World:
    """Telegram as the bot sees it, in memory: state, the event log and what can be observed of it."""

    def __init__(
        self,
        *,
        bot_id: int,
        bot_username: str,
        bot_first_name: str,
        privacy_mode: bool,
        can_join_groups: bool,
        supports_inline_queries: bool,
        strict_html: bool,
        clock: Callable[[], float],
    ) -> None:
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.privacy_mode = privacy_mode
        self.can_join_groups = can_join_groups
        self.supports_inline_queries = supports_inline_queries
        self.strict_html = strict_html
        self.clock = clock
        self.webhook_url = ""  # setWebhook's; while set, updates are POSTed there (server.py)
        self.webhook_secret = ""  # sent as X-Telegram-Bot-Api-Secret-Token with every update
        self.webhook_error: tuple[int, str] | None = None  # (unix time, message) of the last failed POST
        self.users: dict[int, JsonDict] = {bot_id: self.bot_sender()}
        self.chats: dict[int, ChatState] = {}
        self.queries: dict[str, QueryState] = {}
        self.command_lists: dict[tuple[str, int | None, int | None, str], list[JsonDict]] = {}
        self.texts: dict[tuple[str, str], str] = {}  # the bot's (short) descriptions per language
        self._events: list[Event] = []
        self._subscribers: list[Callable[[Event], None]] = []
        self._next_query = 1

    # ----------------------------------------------------------------- the bot itself

    @property
    def bot_user(self) -> JsonDict:
        """The bot's User object as getMe returns it."""
        return {
            **self.bot_sender(),
            "can_join_groups": self.can_join_groups,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": self.supports_inline_queries,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def bot_sender(self) -> JsonDict:
        """The bot as the `from` of the messages it sends."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    # ----------------------------------------------------------------- observation

    def chat(self, chat_id: int) -> JsonDict:
        """The Chat object of a registered chat."""
        return dict(self.chat_state(chat_id).info)

    def messages(self, chat_id: int) -> list[JsonDict]:
        """Every live message of a chat (users' and the bot's), current versions, in id order."""
        chat = self.chat_state(chat_id)
        return [copy.deepcopy(chat.messages[key]) for key in sorted(chat.messages)]

    def message(self, chat_id: int, message_id: int) -> JsonDict:
        """The current version of one live message."""
        return copy.deepcopy(self.message_in(self.chat_state(chat_id), message_id))

    def sent_messages(self, chat_id: int | None = None, *, include_deleted: bool = False) -> list[JsonDict]:
        """Messages the bot sent (to one chat or all), in sending order, with later edits applied."""
        out: list[JsonDict] = []
        for event in self._events:
            if event.kind != EventKind.SENT or (chat_id is not None and event.chat_id != chat_id):
                continue
            chat = self.chats[event.chat_id or 0]
            key = event.message_id or 0
            current = chat.messages.get(key) or (chat.deleted.get(key) if include_deleted else None)
            if current is not None:
                out.append(copy.deepcopy(current))
        return out

    def message_history(self, chat_id: int, message_id: int) -> list[JsonDict]:
        """Every version of a bot message: as sent, then after each edit."""
        return [
            copy.deepcopy(event.data)
            for event in self._events
            if event.kind in (EventKind.SENT, EventKind.EDITED)
            and event.chat_id == chat_id
            and event.message_id == message_id
        ]

    def events(
        self, kind: EventKind | None = None, *, chat_id: int | None = None, after: int = 0
    ) -> list[Event]:
        """Recorded events, optionally of one kind, one chat, or later than a mark()."""
        return [
            event
            for event in self._events
            if event.seq > after
            and (kind is None or event.kind == kind)
            and (chat_id is None or event.chat_id == chat_id)
        ]

    def mark(self) -> int:
        """The seq of the latest event; pass it as `after` to look only at what happens next."""
        return self._events[-1].seq if self._events else 0

    def callback_answers(self) -> list[JsonDict]:
        """answerCallbackQuery calls: callback_query_id, text, show_alert, url, data, chat_id …"""
        return [dict(event.data) for event in self._events if event.kind == EventKind.CALLBACK_ANSWER]

    def inline_answers(self) -> list[JsonDict]:
        """answerInlineQuery calls: inline_query_id, query, results, next_offset, is_personal …"""
        return [copy.deepcopy(event.data) for event in self._events if event.kind == EventKind.INLINE_ANSWER]

    def chat_actions(self, chat_id: int | None = None) -> list[str]:
        """sendChatAction actions, in order."""
        return [str(event.data["action"]) for event in self.events(EventKind.CHAT_ACTION, chat_id=chat_id)]

    def commands(self, scope: JsonDict | None = None, language_code: str = "") -> list[JsonDict]:
        """The command list stored for exactly this scope and language (no fallback, like getMyCommands)."""
        return copy.deepcopy(self.command_lists.get(self.scope_key(scope, language_code), []))

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """Call callback(event) for every event from now on; returns a function that unsubscribes.

        Callbacks run synchronously inside the request; feed an asyncio.Queue with put_nowait to stream.
        """
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    # ----------------------------------------------------------------- shared by the scenario and the methods

    def record(self, kind: EventKind, chat_id: int | None, message_id: int | None, data: JsonDict) -> Event:
        """Log an event (a snapshot of data, stamped by the clock) and tell the subscribers."""
        event = Event(len(self._events) + 1, kind, self.clock(), chat_id, message_id, copy.deepcopy(data))
        self._events.append(event)
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:
                _log.exception("stand-in subscriber failed on %s", event.kind)
        return event

    def chat_state(self, chat_id: int) -> ChatState:
        """A registered chat; KeyError naming what to do for an unknown one."""
        chat = self.chats.get(chat_id)
        if chat is None:
            raise KeyError(f"unknown chat {chat_id}; add it with add_private_chat or add_group first")
        return chat

    @staticmethod
    def message_in(chat: ChatState, message_id: int) -> JsonDict:
        """A live message of a chat; KeyError for one it does not have."""
        message = chat.messages.get(message_id)
        if message is None:
            raise KeyError(f"chat {chat.id} has no message {message_id}")
        return message

    def resolve_chat(self, ident: Any) -> ChatState:
        """The chat a Bot API call names (an id, or @username of a group); 400 "chat not found" else."""
        if isinstance(ident, str) and ident.startswith("@"):
            for chat in self.chats.values():
                if str(chat.info.get("username", "")).lower() == ident[1:].lower() and chat.type != "private":
                    return chat
            raise bad_request("chat not found")
        try:
            found = self.chats.get(int(ident))
        except (TypeError, ValueError):
            found = None
        if found is None:
            raise bad_request("chat not found")
        return found

    def scope_key(self, scope: Any, language_code: str) -> tuple[str, int | None, int | None, str]:
        """Where a command list is stored: a BotCommandScope and a language, checked like Telegram does."""
        if scope is None:
            return ("default", None, None, language_code)
        if not isinstance(scope, dict) or scope.get("type") not in _SCOPES:
            raise bad_request("can't parse BotCommandScope")
        kind = str(scope["type"])
        chat_id: int | None = None
        user_id: int | None = None
        if kind in ("chat", "chat_administrators", "chat_member"):
            chat_id = self.resolve_chat(scope.get("chat_id")).id
        if kind == "chat_member":
            user_id = int(scope.get("user_id") or 0)
            if user_id not in self.users:
                raise bad_request("user not found")
        return (kind, chat_id, user_id, language_code)

    def store_message(
        self,
        chat: ChatState,
        sender: JsonDict,
        formatted: FormattedText | None,
        *,
        thread_id: int | None = None,
        reply_to: JsonDict | None = None,
        markup: JsonDict | None = None,
    ) -> JsonDict:
        """Add a message to a chat under the chat's next message id; returns it (live, not a copy)."""
        message_id = chat.next_message_id
        chat.next_message_id += 1
        message: JsonDict = {
            "message_id": message_id,
            "from": dict(sender),
            "chat": dict(chat.info),
            "date": int(time.time()),
        }
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            if chat.info.get("is_forum"):
                message["is_topic_message"] = True
        if reply_to is not None:
            # Telegram nests only one level of replies.
            message["reply_to_message"] = {k: v for k, v in reply_to.items() if k != "reply_to_message"}
        if formatted is not None:
            message["text"] = formatted.text
            self.set_entities(message, formatted)
        self.set_markup(message, markup)
        chat.messages[message_id] = message
        return message

    def entity_dicts(self, formatted: FormattedText) -> list[JsonDict]:
        """A text's entities as Message.entities, mentioned users filled in."""
        out = formatted.entity_dicts()
        for item, entity in zip(out, formatted.entities, strict=True):
            if entity.user_id is not None:
                item["user"] = dict(self.users.get(entity.user_id, item["user"]))
        return out

    def set_entities(self, message: JsonDict, formatted: FormattedText) -> None:
        """Give a message the entities of its (new) text."""
        if formatted.entities:
            message["entities"] = self.entity_dicts(formatted)
        else:
            message.pop("entities", None)

    @staticmethod
    def set_markup(message: JsonDict, markup: JsonDict | None) -> None:
        """Give a message its (new) inline keyboard, or none."""
        if markup is not None:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)

    def status_in(self, chat: ChatState, user_id: int) -> str:
        """A user's (or the bot's) ChatMember status in a chat."""
        if user_id == self.bot_id:
            return chat.bot_status
        if chat.type == "private":
            return "member" if user_id == chat.id else "left"
        if user_id == chat.creator:
            return "creator"
        if user_id in chat.admins:
            return "administrator"
        return "member" if user_id in chat.members else "left"

    @staticmethod
    def member(user: JsonDict, status: str) -> JsonDict:
        """A ChatMember object with every field python-telegram-bot requires for that status."""
        if status == "creator":
            return {"status": "creator", "user": dict(user), "is_anonymous": False}
        if status == "administrator":
            rights = {
                "can_be_edited": False,
                "is_anonymous": False,
                "can_manage_chat": True,
                "can_delete_messages": True,
                "can_manage_video_chats": False,
                "can_restrict_members": True,
                "can_promote_members": False,
                "can_change_info": False,
                "can_invite_users": True,
                "can_post_stories": False,
                "can_edit_stories": False,
                "can_delete_stories": False,
                "can_pin_messages": True,
            }
            return {"status": "administrator", "user": dict(user), **rights}
        if status == "kicked":
            return {"status": "kicked", "user": dict(user), "until_date": 0}
        return {"status": status, "user": dict(user)}

    def new_query(
        self, kind: str, user_id: int, chat_id: int | None, message_id: int | None, payload: str
    ) -> str:
        """Open a callback or inline query the bot may answer once; returns its id."""
        query_id = str(4_000_000_000_000_000 + self._next_query)
        self._next_query += 1
        self.queries[query_id] = QueryState(kind, user_id, chat_id, message_id, payload)
        return query_id
