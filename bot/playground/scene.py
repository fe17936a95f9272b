"""The playground's cast: who the bot is, the people in the page's sidebar and the chats they share.

Three chats: a reader's private chat, an admin's private chat (where /reload, /stats and /digest now
work) and a group with two members where related-story pushes show. Must not import telegram.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from bot.standin import BotApiStandIn

BOT_USERNAME = "newsbot_playground_bot"
BOT_NAME = "Newsbot"
READER_ID = 5_550_001
SECOND_MEMBER_ID = 5_550_002
DEFAULT_ADMIN_ID = 5_550_000
GROUP_ID = -1_005_550_100


@dataclass(frozen=True, slots=True)
class Person:
    """A simulated Telegram user the page can speak as."""

    id: int
    name: str
    username: str


@dataclass(frozen=True, slots=True)
class Chat:
    """One entry of the sidebar: a chat with the bot and the people who may write in it."""

    id: int
    kind: str  # "private" or "group"
    title: str
    purpose: str
    members: tuple[Person, ...]
    admin: bool = False  # the admin's chat: admin commands, the demo news buttons and the "Add article" form


@dataclass(frozen=True, slots=True)
class Scene:
    """The bot's identity and the sidebar's chats, in sidebar order."""

    token: str
    bot_id: int
    bot_username: str
    bot_name: str
    chats: tuple[Chat, ...]

    @property
    def admin_id(self) -> int:
        """The user id of the admin chat's person (it is listed in the bot's NEWSBOT_ADMIN_IDS)."""
        return next(chat.members[0].id for chat in self.chats if chat.admin)

    def chat(self, chat_id: int) -> Chat | None:
        """The sidebar chat with this id, if there is one."""
        return next((chat for chat in self.chats if chat.id == chat_id), None)

    def member(self, chat_id: int, user_id: int) -> Person | None:
        """The person, if they may write in this chat."""
        chat = self.chat(chat_id)
        if chat is None:
            return None
        return next((person for person in chat.members if person.id == user_id), None)


def build_scene(admin_ids: Sequence[int]) -> Scene:
    """The cast, with a freshly generated bot token; the admin is the first NEWSBOT_ADMIN_IDS entry if any."""
    bot_id = 7_000_000_000 + secrets.randbelow(1_000_000_000)
    token = f"{bot_id}:playground-{secrets.token_urlsafe(24)}"
    admin_id = admin_ids[0] if admin_ids else DEFAULT_ADMIN_ID
    reader = Person(READER_ID, "Robin", "robin_reads")
    sam = Person(SECOND_MEMBER_ID, "Sam", "sam_desk")
    admin = Person(admin_id, "Ada", "ada_admin")
    chats = (
        Chat(
            READER_ID,
            "private",
            "Robin · reader",
            "A private chat as an ordinary user: ask anything, press the buttons, subscribe.",
            (reader,),
        ),
        Chat(
            admin_id,
            "private",
            "Ada · admin",
            "A private chat as an admin: /reload, /stats, /digest now; publish demo news and add an "
            "article to the corpus.",
            (admin,),
            admin=True,
        ),
        Chat(
            GROUP_ID,
            "group",
            "Newsroom",
            "A group with Robin and Sam: mention a tracked topic and the bot pushes related stories.",
            (reader, sam),
        ),
    )
    return Scene(token, bot_id, BOT_USERNAME, BOT_NAME, chats)


def populate(standin: BotApiStandIn, scene: Scene) -> None:
    """Register the scene's people and chats with the stand-in."""
    for chat in scene.chats:
        if chat.kind == "private":
            person = chat.members[0]
            standin.scenario.add_private_chat(person.id, person.name, username=person.username)
            continue
        for person in chat.members:
            standin.scenario.add_user(person.id, person.name, username=person.username)
        # The first member created the group, so they may manage its subscriptions and /related.
        standin.scenario.add_group(
            chat.id,
            chat.title,
            supergroup=True,
            creator=chat.members[0].id,
            members=[person.id for person in chat.members],
        )
