"""The simulated Telegram side: users, chats, messages, the update queue and recorded events.

World holds the state; methods.py adds the Bot API methods and server.py serves them over HTTP.
Scenario methods (add_group, send_user_message, click …) play the users' part. Call everything
from the event loop's thread. Must not import telegram or aiohttp.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.standin.entities import Entity, FormattedText, detect_entities
from bot.standin.protocol import JsonDict, bad_request

_log = logging.getLogger(__name__)

# Telegram's default when allowed_updates is empty or was never given.
_DEFAULT_EXCLUDED = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
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
class _Chat:
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
class _Query:
    kind: str  # "callback" or "inline"
    user_id: int
    chat_id: int | None
    message_id: int | None
    payload: str
    answered: bool = False


class World:
    """Telegram as the bot sees it, in memory."""

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
        self.webhook_url = ""
        self._users: dict[int, JsonDict] = {bot_id: self._bot_user_short()}
        self._chats: dict[int, _Chat] = {}
        self._updates: list[JsonDict] = []
        self._next_update_id = 1
        self._allowed: frozenset[str] | None = None
        self._events: list[Event] = []
        self._subscribers: list[Callable[[Event], None]] = []
        self._queries: dict[str, _Query] = {}
        self._next_query = 1
        self._commands: dict[tuple[str, int | None, int | None, str], list[JsonDict]] = {}
        self._texts: dict[tuple[str, str], str] = {}

    # ----------------------------------------------------------------- the bot itself

    @property
    def bot_user(self) -> JsonDict:
        """The bot's User object as getMe returns it."""
        return {
            **self._bot_user_short(),
            "can_join_groups": self.can_join_groups,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": self.supports_inline_queries,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _bot_user_short(self) -> JsonDict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    # ----------------------------------------------------------------- scenario: people and chats

    def add_user(
        self,
        user_id: int,
        first_name: str | None = None,
        *,
        username: str | None = None,
        last_name: str | None = None,
        language_code: str | None = "en",
        is_bot: bool = False,
    ) -> JsonDict:
        """Register (or replace) a user; returns the User object."""
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user: JsonDict = {"id": user_id, "is_bot": is_bot, "first_name": first_name or f"User {user_id}"}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code and not is_bot:
            user["language_code"] = language_code
        self._users[user_id] = user
        return dict(user)

    def add_private_chat(
        self,
        user_id: int,
        first_name: str | None = None,
        *,
        username: str | None = None,
        last_name: str | None = None,
        language_code: str | None = "en",
    ) -> JsonDict:
        """Register a user and their private chat with the bot (chat id = user id); returns the Chat."""
        user = self.add_user(
            user_id, first_name, username=username, last_name=last_name, language_code=language_code
        )
        info: JsonDict = {"id": user_id, "type": "private", "first_name": user["first_name"]}
        for key in ("last_name", "username"):
            if key in user:
                info[key] = user[key]
        self._chats[user_id] = _Chat(info, members={user_id})
        return dict(info)

    def add_group(
        self,
        chat_id: int,
        title: str,
        *,
        supergroup: bool = False,
        forum: bool = False,
        username: str | None = None,
        creator: int | None = None,
        admins: Iterable[int] = (),
        members: Iterable[int] = (),
        bot_is_admin: bool = False,
    ) -> JsonDict:
        """Register a group (or supergroup/forum) the bot is in; unknown member ids become users."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        if forum and not supergroup:
            raise ValueError("only supergroups can be forums")
        info: JsonDict = {"id": chat_id, "type": "supergroup" if supergroup else "group", "title": title}
        if username:
            info["username"] = username
        if forum:
            info["is_forum"] = True
        admin_ids = set(admins)
        member_ids = set(members) | admin_ids | ({creator} if creator is not None else set())
        for user_id in member_ids:
            if user_id not in self._users:
                self.add_user(user_id)
        self._chats[chat_id] = _Chat(
            info,
            creator=creator,
            admins=admin_ids,
            members=member_ids,
            bot_status="administrator" if bot_is_admin else "member",
        )
        return dict(info)

    def add_member(self, chat_id: int, user_id: int, *, admin: bool = False) -> None:
        """Put a user into a group (quietly: no service message, no update)."""
        chat = self._scenario_chat(chat_id)
        if user_id not in self._users:
            self.add_user(user_id)
        chat.members.add(user_id)
        if admin:
            chat.admins.add(user_id)

    def demote(self, chat_id: int, user_id: int) -> None:
        """Take a member's administrator rights away (quietly, as add_member puts them in)."""
        self._scenario_chat(chat_id).admins.discard(user_id)

    def add_topic(self, chat_id: int, name: str) -> int:
        """Open a forum topic (stores its forum_topic_created message); returns message_thread_id."""
        chat = self._scenario_chat(chat_id)
        if not chat.info.get("is_forum"):
            raise ValueError(f"chat {chat_id} is not a forum")
        opener = self._users.get(chat.creator or 0, self._bot_user_short())
        message = self._store(chat, opener, None)
        message["forum_topic_created"] = {"name": name, "icon_color": 7322096}
        thread_id = int(message["message_id"])
        message["message_thread_id"] = thread_id
        message["is_topic_message"] = True
        chat.topics[thread_id] = name
        return thread_id

    def migrate_group(self, chat_id: int, to_chat_id: int | None = None) -> int:
        """Upgrade a group to a supergroup for good; calls on the old id then fail with migrate_to_chat_id."""
        chat = self._scenario_chat(chat_id)
        new_id = self._supergroup_copy(chat, to_chat_id)
        chat.migrated_to = new_id
        actor = self._users.get(chat.creator or 0, self._bot_user_short())
        old_note = self._store(chat, actor, None)
        old_note["migrate_to_chat_id"] = new_id
        new_chat = self._chats[new_id]
        new_note = self._store(new_chat, actor, None)
        new_note["migrate_from_chat_id"] = chat_id
        self._queue("message", old_note, chat_id)
        self._queue("message", new_note, new_id)
        return new_id

    def _supergroup_copy(self, chat: _Chat, to_chat_id: int | None) -> int:
        """Make (once) the supergroup a group upgrades into; returns its id."""
        if chat.type != "group":
            raise ValueError(f"chat {chat.id} is not a basic group")
        new_id = to_chat_id if to_chat_id is not None else -(10**12) - abs(chat.id)
        if new_id not in self._chats:
            info = {**chat.info, "id": new_id, "type": "supergroup"}
            self._chats[new_id] = _Chat(
                info,
                creator=chat.creator,
                admins=set(chat.admins),
                members=set(chat.members),
                bot_status=chat.bot_status,
            )
        return new_id

    def set_bot_status(self, chat_id: int, status: str, *, by_user: int | None = None) -> int:
        """Change the bot's membership (member, administrator, left, kicked) and queue my_chat_member.

        In a private chat "kicked" means the user blocked the bot and "member" that they unblocked it.
        Returns the update_id.
        """
        if status not in {"member", "administrator", "left", "kicked"}:
            raise ValueError(f"unknown status {status!r}")
        chat = self._scenario_chat(chat_id)
        candidates = [by_user, chat.id if chat.type == "private" else chat.creator, *sorted(chat.admins)]
        actor_id = next((uid for uid in candidates if uid is not None and uid in self._users), None)
        if actor_id is None:
            raise ValueError(f"say who changed the bot's status in chat {chat_id} (by_user=...)")
        actor = self._users[actor_id]
        old = self._member(self._bot_user_short(), chat.bot_status)
        chat.bot_status = status
        payload: JsonDict = {
            "chat": dict(chat.info),
            "from": dict(actor),
            "date": int(time.time()),
            "old_chat_member": old,
            "new_chat_member": self._member(self._bot_user_short(), status),
        }
        return self._queue("my_chat_member", payload, chat.id)

    # ----------------------------------------------------------------- scenario: what users do

    def send_user_message(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
        from_bot: bool = False,
        entities: Iterable[Entity] = (),
    ) -> JsonDict:
        """A user writes in a chat; queues a message update if the bot may see it (privacy mode).

        Bot commands (also /cmd@botname), @mentions, hashtags and URLs get their entities as
        Telegram would. A private chat with an unknown user is created on the fly. Returns the Message.
        """
        chat = self._scenario_chat(chat_id, user_id)
        user = self._users.get(user_id) or self.add_user(user_id, is_bot=from_bot)
        if user["is_bot"] != from_bot:
            user = {**user, "is_bot": from_bot}
        if chat.type != "private":
            chat.members.add(user_id)
        replied = self._scenario_message(chat, reply_to) if reply_to is not None else None
        if thread_id is not None and chat.info.get("is_forum") and thread_id not in chat.topics:
            raise KeyError(f"chat {chat_id} has no topic {thread_id}")
        formatted = detect_entities(text, tuple(entities))
        message = self._store(chat, user, formatted, thread_id=thread_id, reply_to=replied)
        if self._bot_sees(chat, message, formatted):
            self._queue("message", message, chat.id)
        return copy.deepcopy(message)

    def edit_user_message(self, chat_id: int, message_id: int, text: str) -> JsonDict:
        """A user edits their message; queues an edited_message update if the bot may see it."""
        chat = self._scenario_chat(chat_id)
        message = self._scenario_message(chat, message_id)
        if message.get("from", {}).get("id") == self.bot_id:
            raise ValueError("that message was sent by the bot; users edit only their own")
        formatted = detect_entities(text)
        message["text"] = formatted.text
        self._set_entities(message, formatted)
        message["edit_date"] = int(time.time())
        if self._bot_sees(chat, message, formatted):
            self._queue("edited_message", message, chat.id)
        return copy.deepcopy(message)

    def click(self, chat_id: int, user_id: int, message_id: int, callback_data: str) -> str:
        """A user presses an inline button carrying callback_data (not checked against the keyboard,
        so forged data can be sent); queues a callback_query update and returns its id."""
        chat = self._scenario_chat(chat_id)
        message = self._scenario_message(chat, message_id)
        user = self._users.get(user_id) or self.add_user(user_id)
        query_id = self._new_query("callback", user_id, chat.id, message_id, callback_data)
        payload: JsonDict = {
            "id": query_id,
            "from": dict(user),
            "message": copy.deepcopy(message),
            "chat_instance": str(7_000_000_000_000 + abs(chat.id)),
            "data": callback_data,
        }
        self._queue("callback_query", payload, chat.id)
        return query_id

    def click_button(self, chat_id: int, user_id: int, message_id: int, button_text: str) -> str:
        """Press the inline button labelled button_text on a message; returns the callback query id."""
        message = self._scenario_message(self._scenario_chat(chat_id), message_id)
        rows = message.get("reply_markup", {}).get("inline_keyboard", [])
        labels = [button.get("text") for row in rows for button in row]
        for row in rows:
            for button in row:
                if button.get("text") == button_text and "callback_data" in button:
                    return self.click(chat_id, user_id, message_id, str(button["callback_data"]))
        raise KeyError(f"no callback button {button_text!r} on message {message_id}; buttons: {labels}")

    def inline_query(self, user_id: int, query: str, offset: str = "", *, chat_type: str = "sender") -> str:
        """A user types "@bot query"; queues an inline_query update and returns its id."""
        user = self._users.get(user_id) or self.add_user(user_id)
        query_id = self._new_query("inline", user_id, None, None, query)
        payload = {
            "id": query_id,
            "from": dict(user),
            "query": query,
            "offset": offset,
            "chat_type": chat_type,
        }
        self._queue("inline_query", payload, None)
        return query_id

    def queue_update(self, update_type: str, payload: JsonDict, *, chat_id: int | None = None) -> int:
        """Queue any other kind of update as given (e.g. "chat_member"); returns the update_id."""
        return self._queue(update_type, payload, chat_id)

    # ----------------------------------------------------------------- observation

    def chat(self, chat_id: int) -> JsonDict:
        """The Chat object of a registered chat."""
        return dict(self._scenario_chat(chat_id).info)

    def messages(self, chat_id: int) -> list[JsonDict]:
        """Every live message of a chat (users' and the bot's), current versions, in id order."""
        chat = self._scenario_chat(chat_id)
        return [copy.deepcopy(chat.messages[key]) for key in sorted(chat.messages)]

    def message(self, chat_id: int, message_id: int) -> JsonDict:
        """The current version of one live message."""
        return copy.deepcopy(self._scenario_message(self._scenario_chat(chat_id), message_id))

    def sent_messages(self, chat_id: int | None = None, *, include_deleted: bool = False) -> list[JsonDict]:
        """Messages the bot sent (to one chat or all), in sending order, with later edits applied."""
        out: list[JsonDict] = []
        for event in self._events:
            if event.kind != EventKind.SENT or (chat_id is not None and event.chat_id != chat_id):
                continue
            chat = self._chats[event.chat_id or 0]
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
        return copy.deepcopy(self._commands.get(self._scope_key(scope, language_code), []))

    def pending_updates(self) -> list[JsonDict]:
        """Updates queued and not yet confirmed by a getUpdates offset."""
        return copy.deepcopy(self._updates)

    @property
    def allowed_updates(self) -> list[str] | None:
        """The allowed_updates list last given to getUpdates (None: Telegram's default)."""
        return sorted(self._allowed) if self._allowed is not None else None

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """Call callback(event) for every event from now on; returns a function that unsubscribes.

        Callbacks run synchronously inside the request; feed an asyncio.Queue with put_nowait to stream.
        """
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    # ----------------------------------------------------------------- updates queue (getUpdates)

    def confirm_updates(self, offset: int | None) -> None:
        """Forget updates below a positive offset; a negative one keeps only the last -offset updates."""
        if offset is None or offset == 0:
            return
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        else:
            self._updates = self._updates[offset:]

    def set_allowed_updates(self, allowed: list[str] | None) -> None:
        """Remember allowed_updates like Telegram does (None: keep the previous list)."""
        if allowed is not None:
            self._allowed = frozenset(allowed) if allowed else None

    def deliverable_updates(self, limit: int) -> list[JsonDict]:
        """The next updates to hand out; updates of types not allowed are dropped for good."""
        kept = []
        for update in self._updates:
            kind = next(key for key in update if key != "update_id")
            if (kind in self._allowed) if self._allowed is not None else (kind not in _DEFAULT_EXCLUDED):
                kept.append(update)
        self._updates = kept
        return copy.deepcopy(kept[:limit])

    def drop_pending_updates(self) -> None:
        """Forget every queued update."""
        self._updates = []

    def _updates_changed(self) -> None:
        """Hook for the server: an update was queued."""

    def _queue(self, update_type: str, payload: JsonDict, chat_id: int | None) -> int:
        update_id = self._next_update_id
        self._next_update_id += 1
        update = {"update_id": update_id, update_type: copy.deepcopy(payload)}
        self._updates.append(update)
        inner = payload.get("message")
        message: JsonDict = inner if isinstance(inner, dict) else payload
        message_id = message.get("message_id") if isinstance(message.get("message_id"), int) else None
        self._record(EventKind.UPDATE, chat_id, message_id, update)
        self._updates_changed()
        return update_id

    def _record(self, kind: EventKind, chat_id: int | None, message_id: int | None, data: JsonDict) -> Event:
        event = Event(len(self._events) + 1, kind, self.clock(), chat_id, message_id, copy.deepcopy(data))
        self._events.append(event)
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:
                _log.exception("stand-in subscriber failed on %s", event.kind)
        return event

    def _scope_key(self, scope: Any, language_code: str) -> tuple[str, int | None, int | None, str]:
        if scope is None:
            return ("default", None, None, language_code)
        if not isinstance(scope, dict) or scope.get("type") not in _SCOPES:
            raise bad_request("can't parse BotCommandScope")
        kind = str(scope["type"])
        chat_id: int | None = None
        user_id: int | None = None
        if kind in ("chat", "chat_administrators", "chat_member"):
            chat_id = self._resolve_chat(scope.get("chat_id")).id
        if kind == "chat_member":
            user_id = int(scope.get("user_id") or 0)
            if user_id not in self._users:
                raise bad_request("user not found")
        return (kind, chat_id, user_id, language_code)

    # ----------------------------------------------------------------- internals

    def _resolve_chat(self, ident: Any) -> _Chat:
        if isinstance(ident, str) and ident.startswith("@"):
            for chat in self._chats.values():
                if str(chat.info.get("username", "")).lower() == ident[1:].lower() and chat.type != "private":
                    return chat
            raise bad_request("chat not found")
        try:
            found = self._chats.get(int(ident))
        except (TypeError, ValueError):
            found = None
        if found is None:
            raise bad_request("chat not found")
        return found

    def _scenario_chat(self, chat_id: int, user_id: int | None = None) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None and user_id is not None and chat_id == user_id:
            known = self._users.get(user_id, {})
            self.add_private_chat(user_id, known.get("first_name"), username=known.get("username"))
            chat = self._chats[chat_id]
        if chat is None:
            raise KeyError(f"unknown chat {chat_id}; add it with add_private_chat or add_group first")
        if chat.type == "private" and user_id is not None and user_id != chat_id:
            raise ValueError(f"user {user_id} cannot write in the private chat of {chat_id}")
        return chat

    @staticmethod
    def _scenario_message(chat: _Chat, message_id: int) -> JsonDict:
        message = chat.messages.get(message_id)
        if message is None:
            raise KeyError(f"chat {chat.id} has no message {message_id}")
        return message

    def _store(
        self,
        chat: _Chat,
        sender: JsonDict,
        formatted: FormattedText | None,
        *,
        thread_id: int | None = None,
        reply_to: JsonDict | None = None,
        markup: JsonDict | None = None,
    ) -> JsonDict:
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
            self._set_entities(message, formatted)
        self._set_markup(message, markup)
        chat.messages[message_id] = message
        return message

    def _entity_dicts(self, formatted: FormattedText) -> list[JsonDict]:
        out = formatted.entity_dicts()
        for item, entity in zip(out, formatted.entities, strict=True):
            if entity.user_id is not None:
                item["user"] = dict(self._users.get(entity.user_id, item["user"]))
        return out

    def _set_entities(self, message: JsonDict, formatted: FormattedText) -> None:
        if formatted.entities:
            message["entities"] = self._entity_dicts(formatted)
        else:
            message.pop("entities", None)

    @staticmethod
    def _set_markup(message: JsonDict, markup: JsonDict | None) -> None:
        if markup is not None:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)

    def _bot_sees(self, chat: _Chat, message: JsonDict, formatted: FormattedText) -> bool:
        """Whether Telegram would deliver a user's message to the bot (privacy mode rules)."""
        if chat.bot_status in ("left", "kicked"):
            return False
        if chat.type == "private" or not self.privacy_mode or chat.bot_status == "administrator":
            return True
        me = self.bot_username.lower()
        for entity in formatted.entities:
            covered = formatted.covered(entity).lower()
            if entity.type == "bot_command" and entity.offset == 0:
                _, _, target = covered.partition("@")
                return target in ("", me)
            if entity.type == "mention" and covered == f"@{me}":
                return True
        replied = message.get("reply_to_message", {})
        return bool(replied.get("from", {}).get("id") == self.bot_id)

    def _status_in(self, chat: _Chat, user_id: int) -> str:
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
    def _member(user: JsonDict, status: str) -> JsonDict:
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

    def _new_query(
        self, kind: str, user_id: int, chat_id: int | None, message_id: int | None, payload: str
    ) -> str:
        query_id = str(4_000_000_000_000_000 + self._next_query)
        self._next_query += 1
        self._queries[query_id] = _Query(kind, user_id, chat_id, message_id, payload)
        return query_id
