"""Telegram message entities: the value type, UTF-16 arithmetic, trimming and auto-detection.

Offsets and lengths are in UTF-16 code units, as in the Bot API (counted by bot.render.html.utf16_len).
Pure and synchronous; must not import telegram, aiohttp or asyncio.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from bot.render.html import utf16_len  # the bot's own count: one definition for Telegram's UTF-16 units

# Entities that Telegram keeps apart from auto-detected links: nothing is detected inside them.
_OPAQUE_TYPES = frozenset({"code", "pre", "text_link", "text_mention", "custom_emoji"})

_COMMAND = re.compile(r"(?<![\w/@])/([A-Za-z0-9_]{1,64})(@[A-Za-z0-9_]{3,32})?(?![\w/@])")
_MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_]{5,32})(?![\w@])")
_HASHTAG = re.compile(r"(?<![\w#])#(\w{1,256})(?![\w#])")
_URL = re.compile(r"(?<![\w/@])https?://[^\s<>\"]+", re.IGNORECASE)
_URL_TAIL = ".,;:!?)]}'\""
_TRIMMED = " \t\n\r\x0b\x0c"


@dataclass(frozen=True, slots=True)
class Entity:
    """One message entity; the optional fields are set only for the types that carry them."""

    type: str
    offset: int
    length: int
    url: str | None = None
    language: str | None = None
    custom_emoji_id: str | None = None
    user_id: int | None = None

    @property
    def end(self) -> int:
        """UTF-16 offset just past the entity."""
        return self.offset + self.length

    def to_dict(self) -> dict[str, Any]:
        """The Bot API MessageEntity object (text_mention gets a bare user; callers may enrich it)."""
        out: dict[str, Any] = {"type": self.type, "offset": self.offset, "length": self.length}
        if self.url is not None:
            out["url"] = self.url
        if self.language is not None:
            out["language"] = self.language
        if self.custom_emoji_id is not None:
            out["custom_emoji_id"] = self.custom_emoji_id
        if self.user_id is not None:
            out["user"] = {"id": self.user_id, "is_bot": False, "first_name": ""}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Entity:
        """Read a Bot API MessageEntity object; raises KeyError/TypeError/ValueError when malformed."""
        user = data.get("user")
        return cls(
            type=str(data["type"]),
            offset=int(data["offset"]),
            length=int(data["length"]),
            url=data.get("url"),
            language=data.get("language"),
            custom_emoji_id=data.get("custom_emoji_id"),
            user_id=int(user["id"]) if isinstance(user, dict) else None,
        )


@dataclass(frozen=True, slots=True)
class FormattedText:
    """Plain text plus its entities, sorted by offset (outer entities first)."""

    text: str
    entities: tuple[Entity, ...] = ()

    def entity_dicts(self) -> list[dict[str, Any]]:
        """The entities as Bot API objects."""
        return [entity.to_dict() for entity in self.entities]

    def covered(self, entity: Entity) -> str:
        """The text an entity spans."""
        return utf16_slice(self.text, entity.offset, entity.end)


def utf16_slice(text: str, start: int, end: int) -> str:
    """The part of text between two UTF-16 offsets."""
    return text.encode("utf-16-le", "surrogatepass")[2 * start : 2 * end].decode("utf-16-le", "surrogatepass")


def sort_entities(entities: list[Entity]) -> tuple[Entity, ...]:
    """Telegram's order: by offset, longer (enclosing) entities first; ties keep the given order."""
    return tuple(sorted(entities, key=lambda e: (e.offset, -e.length)))


def trim(formatted: FormattedText) -> FormattedText:
    """Strip leading and trailing whitespace as Telegram does, clipping entities to what is left."""
    text = formatted.text
    kept = text.strip(_TRIMMED)
    if kept == text:
        return formatted
    shift = utf16_len(text[: len(text) - len(text.lstrip(_TRIMMED))])
    limit = utf16_len(kept)
    clipped: list[Entity] = []
    for entity in formatted.entities:
        start = max(entity.offset - shift, 0)
        end = min(entity.end - shift, limit)
        if end > start:
            clipped.append(replace(entity, offset=start, length=end - start))
    return FormattedText(kept, sort_entities(clipped))


def detect_entities(text: str, existing: tuple[Entity, ...] = ()) -> FormattedText:
    """Add the entities Telegram finds by itself (bot commands, mentions, hashtags, URLs).

    Nothing is detected where it would overlap a code, pre, text_link, text_mention or
    custom_emoji entity already present.
    """
    blocked = [(e.offset, e.end) for e in existing if e.type in _OPAQUE_TYPES]
    found: list[Entity] = []
    taken: list[tuple[int, int]] = []

    def add(kind: str, start: int, stop: int, url: str | None = None) -> None:
        begin = utf16_len(text[:start])
        end = begin + utf16_len(text[start:stop])
        span = (begin, end)
        if any(b < end and begin < e for b, e in blocked + taken):
            return
        taken.append(span)
        found.append(Entity(kind, begin, end - begin, url=url))

    for match in _URL.finditer(text):
        stop = match.end()
        while stop > match.start() and text[stop - 1] in _URL_TAIL:
            stop -= 1
        add("url", match.start(), stop)
    for match in _COMMAND.finditer(text):
        add("bot_command", match.start(), match.end())
    for match in _MENTION.finditer(text):
        add("mention", match.start(), match.end())
    for match in _HASHTAG.finditer(text):
        if not match.group(1).isdigit():
            add("hashtag", match.start(), match.end())
    return FormattedText(text, sort_entities([*existing, *found]))
