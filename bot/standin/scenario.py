"""The users' part in the stand-in: people and chats appear, users write, edit, press buttons and type
inline queries, the bot is blocked or added, groups become supergroups.

Each action changes the World (world.py) the way Telegram would and queues the update the bot would get
(updates.py), within Telegram's rules: privacy mode decides which group messages the bot sees, entities
are detected as Telegram detects them. Call it from the event loop's thread. Must not import telegram or
aiohttp.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable

from bot.standin.entities import Entity, FormattedText, detect_entities
from bot.standin.protocol import JsonDict
from bot.standin.updates import UpdateQueue
from bot.standin.world import ChatState, EventKind, World

# The user Telegram names as the sender of messages posted on behalf of a chat (anonymous admins).
ANONYMOUS_SENDER: JsonDict = {
    "id": 1087968824,
    "is_bot": True,
    "first_name": "Group",
    "username": "GroupAnonymousBot",
}


class Scenario:
    """The users' actions: each one changes the world and queues the update Telegram would send."""

    def __init__(self, world: World, updates: UpdateQueue) -> None:
        self.world = world
        self.updates = updates

    # ----------------------------------------------------------------- people and chats

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
        self.world.users[user_id] = user
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
        self.world.chats[user_id] = ChatState(info, members={user_id})
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
            if user_id not in self.world.users:
                self.add_user(user_id)
        self.world.chats[chat_id] = ChatState(
            info,
            creator=creator,
            admins=admin_ids,
            members=member_ids,
            bot_status="administrator" if bot_is_admin else "member",
        )
        return dict(info)

    def add_member(self, chat_id: int, user_id: int, *, admin: bool = False) -> None:
        """Put a user into a group (quietly: no service message, no update)."""
        chat = self._chat(chat_id)
        if user_id not in self.world.users:
            self.add_user(user_id)
        chat.members.add(user_id)
        if admin:
            chat.admins.add(user_id)

    def demote(self, chat_id: int, user_id: int) -> None:
        """Take a member's administrator rights away (quietly, as add_member puts them in)."""
        self._chat(chat_id).admins.discard(user_id)

    def add_topic(self, chat_id: int, name: str) -> int:
        """Open a forum topic (stores its forum_topic_created message); returns message_thread_id."""
        chat = self._chat(chat_id)
        if not chat.info.get("is_forum"):
            raise ValueError(f"chat {chat_id} is not a forum")
        opener = self.world.users.get(chat.creator or 0, self.world.bot_sender())
        message = self.world.store_message(chat, opener, None)
        message["forum_topic_created"] = {"name": name, "icon_color": 7322096}
        thread_id = int(message["message_id"])
        message["message_thread_id"] = thread_id
        message["is_topic_message"] = True
        chat.topics[thread_id] = name
        return thread_id

    def migrate_group(self, chat_id: int, to_chat_id: int | None = None) -> int:
        """Upgrade a group to a supergroup for good; calls on the old id then fail with migrate_to_chat_id."""
        chat = self._chat(chat_id)
        new_id = self.supergroup_for(chat, to_chat_id)
        chat.migrated_to = new_id
        actor = self.world.users.get(chat.creator or 0, self.world.bot_sender())
        old_note = self.world.store_message(chat, actor, None)
        old_note["migrate_to_chat_id"] = new_id
        new_chat = self.world.chats[new_id]
        new_note = self.world.store_message(new_chat, actor, None)
        new_note["migrate_from_chat_id"] = chat_id
        self._queue("message", old_note, chat_id)
        self._queue("message", new_note, new_id)
        return new_id

    def supergroup_for(self, chat: ChatState, to_chat_id: int | None) -> int:
        """Make (once) the supergroup a group upgrades into; returns its id."""
        if chat.type != "group":
            raise ValueError(f"chat {chat.id} is not a basic group")
        new_id = to_chat_id if to_chat_id is not None else -(10**12) - abs(chat.id)
        if new_id not in self.world.chats:
            info = {**chat.info, "id": new_id, "type": "supergroup"}
            self.world.chats[new_id] = ChatState(
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
        chat = self._chat(chat_id)
        candidates = [by_user, chat.id if chat.type == "private" else chat.creator, *sorted(chat.admins)]
        actor_id = next((uid for uid in candidates if uid is not None and uid in self.world.users), None)
        if actor_id is None:
            raise ValueError(f"say who changed the bot's status in chat {chat_id} (by_user=...)")
        actor = self.world.users[actor_id]
        old = self.world.member(self.world.bot_sender(), chat.bot_status)
        chat.bot_status = status
        payload: JsonDict = {
            "chat": dict(chat.info),
            "from": dict(actor),
            "date": int(time.time()),
            "old_chat_member": old,
            "new_chat_member": self.world.member(self.world.bot_sender(), status),
        }
        return self._queue("my_chat_member", payload, chat.id)

    # ----------------------------------------------------------------- what users do

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
        chat = self._chat(chat_id, user_id)
        user = self.world.users.get(user_id) or self.add_user(user_id, is_bot=from_bot)
        if user["is_bot"] != from_bot:
            user = {**user, "is_bot": from_bot}
        if chat.type != "private":
            chat.members.add(user_id)
        replied = self.world.message_in(chat, reply_to) if reply_to is not None else None
        if thread_id is not None and chat.info.get("is_forum") and thread_id not in chat.topics:
            raise KeyError(f"chat {chat_id} has no topic {thread_id}")
        formatted = detect_entities(text, tuple(entities))
        message = self.world.store_message(chat, user, formatted, thread_id=thread_id, reply_to=replied)
        if self._bot_sees(chat, message, formatted):
            self._queue("message", message, chat.id)
        return copy.deepcopy(message)

    def send_as_chat(
        self, chat_id: int, text: str, *, admin: int | None = None, sender_chat: int | None = None
    ) -> JsonDict:
        """A message in a group sent on behalf of a chat, as Telegram delivers it: from GroupAnonymousBot
        with sender_chat set. An anonymous administrator (`admin`, who must be one) speaks as the group
        itself; `sender_chat` is another chat (a linked channel). Returns the Message."""
        chat = self._chat(chat_id)
        if chat.type == "private":
            raise ValueError("only groups have messages sent on behalf of a chat")
        if sender_chat is None:
            if admin is None or (admin not in chat.admins and admin != chat.creator):
                raise ValueError("only an administrator of the group can post as the group")
            speaker = dict(chat.info)
        else:
            speaker = {"id": sender_chat, "type": "channel", "title": f"Channel {sender_chat}"}
        formatted = detect_entities(text)
        message = self.world.store_message(chat, ANONYMOUS_SENDER, formatted)
        message["sender_chat"] = speaker
        if self._bot_sees(chat, message, formatted):
            self._queue("message", message, chat.id)
        return copy.deepcopy(message)

    def edit_user_message(self, chat_id: int, message_id: int, text: str) -> JsonDict:
        """A user edits their message; queues an edited_message update if the bot may see it."""
        chat = self._chat(chat_id)
        message = self.world.message_in(chat, message_id)
        if message.get("from", {}).get("id") == self.world.bot_id:
            raise ValueError("that message was sent by the bot; users edit only their own")
        formatted = detect_entities(text)
        message["text"] = formatted.text
        self.world.set_entities(message, formatted)
        message["edit_date"] = int(time.time())
        if self._bot_sees(chat, message, formatted):
            self._queue("edited_message", message, chat.id)
        return copy.deepcopy(message)

    def click(self, chat_id: int, user_id: int, message_id: int, callback_data: str) -> str:
        """A user presses an inline button carrying callback_data (not checked against the keyboard,
        so forged data can be sent); queues a callback_query update and returns its id."""
        chat = self._chat(chat_id)
        message = self.world.message_in(chat, message_id)
        user = self.world.users.get(user_id) or self.add_user(user_id)
        query_id = self.world.new_query("callback", user_id, chat.id, message_id, callback_data)
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
        message = self.world.message_in(self._chat(chat_id), message_id)
        rows = message.get("reply_markup", {}).get("inline_keyboard", [])
        labels = [button.get("text") for row in rows for button in row]
        for row in rows:
            for button in row:
                if button.get("text") == button_text and "callback_data" in button:
                    return self.click(chat_id, user_id, message_id, str(button["callback_data"]))
        raise KeyError(f"no callback button {button_text!r} on message {message_id}; buttons: {labels}")

    def inline_query(self, user_id: int, query: str, offset: str = "", *, chat_type: str = "sender") -> str:
        """A user types "@bot query"; queues an inline_query update and returns its id."""
        user = self.world.users.get(user_id) or self.add_user(user_id)
        query_id = self.world.new_query("inline", user_id, None, None, query)
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

    # ----------------------------------------------------------------- internals

    def _queue(self, update_type: str, payload: JsonDict, chat_id: int | None) -> int:
        update = self.updates.put(update_type, payload)
        inner = payload.get("message")
        message: JsonDict = inner if isinstance(inner, dict) else payload
        message_id = message.get("message_id") if isinstance(message.get("message_id"), int) else None
        self.world.record(EventKind.UPDATE, chat_id, message_id, update)
        return int(update["update_id"])

    def _chat(self, chat_id: int, user_id: int | None = None) -> ChatState:
        """The chat an action happens in; a user's first message to the bot opens their private chat."""
        chat = self.world.chats.get(chat_id)
        if chat is None and user_id is not None and chat_id == user_id:
            known = self.world.users.get(user_id, {})
            self.add_private_chat(user_id, known.get("first_name"), username=known.get("username"))
            chat = self.world.chats[chat_id]
        if chat is None:
            chat = self.world.chat_state(chat_id)  # raises, naming what to do
        if chat.type == "private" and user_id is not None and user_id != chat_id:
            raise ValueError(f"user {user_id} cannot write in the private chat of {chat_id}")
        return chat

    def _bot_sees(self, chat: ChatState, message: JsonDict, formatted: FormattedText) -> bool:
        """Whether Telegram would deliver a user's message to the bot (privacy mode rules)."""
        if chat.bot_status in ("left", "kicked"):
            return False
        if chat.type == "private" or not self.world.privacy_mode or chat.bot_status == "administrator":
            return True
        me = self.world.bot_username.lower()
        for entity in formatted.entities:
            covered = formatted.covered(entity).lower()
            if entity.type == "bot_command" and entity.offset == 0:
                _, _, target = covered.partition("@")
                return target in ("", me)
            if entity.type == "mention" and covered == f"@{me}":
                return True
        replied = message.get("reply_to_message", {})
        return bool(replied.get("from", {}).get("id") == self.world.bot_id)
