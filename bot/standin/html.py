"""Telegram's HTML parse mode: markup in, plain text plus UTF-16 entities out, or Telegram's error.

Follows the rules of the Bot API ("Formatting options", HTML style) and the wording of the
errors Telegram returns; stricter than Telegram about unknown named entities such as &nbsp;.
Pure and synchronous; must not import telegram, aiohttp or asyncio.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from bot.render.html import utf16_len
from bot.standin.entities import Entity, FormattedText, sort_entities

SUPPORTED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
    }
)
_SIMPLE_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
}
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPACE = " \t\n\r\x0b\x0c"
_NAME_TOKEN = re.compile(r"[A-Za-z0-9.\-]*")
_USER_LINK = re.compile(r"tg://user\?id=(\d{1,19})$", re.IGNORECASE)
_WEB_LINK = re.compile(r"(https?|tg|ton)://\S+$", re.IGNORECASE)
_BARE_HOST = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(/\S*)?$")
# Inside these nothing else may be formatted; Telegram drops such inner entities.
_OPAQUE = frozenset({"code", "pre"})
_QUOTES = frozenset({"blockquote", "expandable_blockquote"})


class HtmlParseError(ValueError):
    """Markup Telegram rejects; str(error) is its reason ('Unsupported start tag "p" at byte offset 0')."""


@dataclass(slots=True)
class _Open:
    tag: str
    byte_pos: int
    offset: int  # UTF-16 offset in the output where the tag's content begins
    text_pos: int  # index in the output characters where the content begins
    order: int
    argument: str = ""
    expandable: bool = False


@dataclass(slots=True)
class _Parser:
    source: str
    strict: bool
    out: list[str] = field(default_factory=list)
    out_len: int = 0  # UTF-16 units emitted so far
    stack: list[_Open] = field(default_factory=list)
    made: list[tuple[int, Entity]] = field(default_factory=list)
    opened: int = 0

    def byte_offset(self, index: int) -> int:
        return len(self.source[:index].encode("utf-8", "surrogatepass"))

    def emit(self, text: str) -> None:
        self.out.append(text)
        self.out_len += utf16_len(text)

    def char(self, index: int) -> str:
        """The character at index, or '' past the end (stands in for C's terminating NUL)."""
        return self.source[index] if index < len(self.source) else ""

    def skip_spaces(self, index: int) -> int:
        while self.char(index) and self.char(index) in _SPACE:
            index += 1
        return index

    def run(self) -> FormattedText:
        src = self.source
        i = 0
        while i < len(src):
            c = src[i]
            if c == "&":
                decoded, after = self.reference(i)
                if decoded is not None:
                    self.emit(decoded)
                    i = after
                    continue
            if c != "<":
                self.emit(c)
                i += 1
                continue
            i = self.end_tag(i) if self.char(i + 1) == "/" else self.start_tag(i)
        if self.stack:
            raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{self.stack[-1].tag}"')
        return self.result()

    def reference(self, index: int) -> tuple[str | None, int]:
        """Decode a character reference at index: (character, index after it) or (None, index)."""
        src = self.source
        pos = index + 1
        value: int | None = None
        if self.char(pos) == "#":
            pos += 1
            hexadecimal = self.char(pos) == "x"
            if hexadecimal:
                pos += 1
            digits_start = pos
            digits = "0123456789abcdefABCDEF" if hexadecimal else "0123456789"
            while self.char(pos) and self.char(pos) in digits:
                pos += 1
            if pos == digits_start:
                return None, index
            value = int(src[digits_start:pos], 16 if hexadecimal else 10)
            valid = 0 < value < 0x10FFFF and not 0xD800 <= value <= 0xDFFF and pos - index < 10
            if not valid:
                if self.strict and self.char(pos) == ";":
                    reference = src[index : pos + 1]
                    raise HtmlParseError(
                        f'Unsupported HTML entity "{reference}" at byte offset {self.byte_offset(index)}'
                    )
                return None, index
            decoded = chr(value)
        else:
            while self.char(pos).isascii() and self.char(pos).isalpha():
                pos += 1
            name = src[index + 1 : pos]
            if name not in _NAMED:
                # Telegram shows unknown references literally; strict mode refuses them so that
                # unescaped text is caught by tests rather than shown to users.
                if self.strict and name and self.char(pos) == ";":
                    raise HtmlParseError(
                        f'Unsupported HTML entity "&{name};" at byte offset {self.byte_offset(index)}'
                    )
                return None, index
            decoded = _NAMED[name]
        if self.char(pos) == ";":
            pos += 1
        return decoded, pos

    def start_tag(self, begin: int) -> int:
        src = self.source
        pos = begin + 1
        while self.char(pos) and self.char(pos) not in _SPACE and self.char(pos) != ">":
            pos += 1
        tag = src[begin + 1 : pos].lower()
        at = self.byte_offset(begin)
        if tag not in SUPPORTED_TAGS:
            raise HtmlParseError(f'Unsupported start tag "{tag}" at byte offset {at}')
        opened = _Open(tag, at, self.out_len, len(self.out), self.opened)
        self.opened += 1
        while self.char(pos) != ">":
            pos = self.skip_spaces(pos)
            if not self.char(pos):
                raise HtmlParseError(f"Unclosed start tag at byte offset {at}")
            if self.char(pos) == ">":
                break
            pos = self.attribute(opened, pos)
        if tag == "span" and opened.argument != "spoiler":
            raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
        self.stack.append(opened)
        return pos + 1

    def attribute(self, opened: _Open, pos: int) -> int:
        """Read one attribute of an open tag starting at pos; returns the index after it."""
        src = self.source
        at = opened.byte_pos
        name_start = pos
        while self.char(pos) and self.char(pos) not in _SPACE and self.char(pos) not in "=>":
            pos += 1
        name = src[name_start:pos]
        if not name:
            raise HtmlParseError(f'Empty attribute name in the tag "{opened.tag}" at byte offset {at}')
        pos = self.skip_spaces(pos)
        if self.char(pos) != "=":
            if opened.tag == "blockquote" and name == "expandable":
                opened.expandable = True
                return pos
            if not self.char(pos):
                raise HtmlParseError(f"Unclosed start tag at byte offset {at}")
            raise HtmlParseError(
                "Expected equal sign in declaration of an attribute of the tag "
                f'"{opened.tag}" at byte offset {at}'
            )
        pos = self.skip_spaces(pos + 1)
        quote = self.char(pos)
        if not quote:
            raise HtmlParseError(f"Unclosed start tag at byte offset {at}")
        if quote in "'\"":
            pos += 1
            parts: list[str] = []
            while self.char(pos) and self.char(pos) != quote:
                if self.char(pos) == "&":
                    decoded, after = self.reference(pos)
                    if decoded is not None:
                        parts.append(decoded)
                        pos = after
                        continue
                parts.append(src[pos])
                pos += 1
            if self.char(pos) != quote:
                raise HtmlParseError(
                    f"Unclosed end of attribute value at byte offset {self.byte_offset(pos)}"
                )
            value = "".join(parts)
            pos += 1
        else:
            token = _NAME_TOKEN.match(src, pos)
            end = token.end() if token else pos
            value = src[pos:end].lower()
            if self.char(end) and self.char(end) not in _SPACE and self.char(end) != ">":
                raise HtmlParseError(f"Unexpected end of name token at byte offset {self.byte_offset(end)}")
            pos = end
        self.keep_argument(opened, name, value)
        return pos

    @staticmethod
    def keep_argument(opened: _Open, name: str, value: str) -> None:
        # Telegram ignores attributes it does not know, so only these four matter.
        if opened.tag == "a" and name == "href":
            opened.argument = value
        elif opened.tag == "code" and name == "class" and value.startswith("language-"):
            opened.argument = value[len("language-") :]
        elif opened.tag == "span" and name == "class" and value.startswith("tg-"):
            opened.argument = value[len("tg-") :]
        elif opened.tag == "tg-emoji" and name == "emoji-id":
            opened.argument = value

    def end_tag(self, begin: int) -> int:
        src = self.source
        at = self.byte_offset(begin)
        if not self.stack:
            raise HtmlParseError(f"Unexpected end tag at byte offset {at}")
        pos = begin + 2
        while self.char(pos) and self.char(pos) not in _SPACE and self.char(pos) != ">":
            pos += 1
        name = src[begin + 2 : pos].lower()
        pos = self.skip_spaces(pos)
        if self.char(pos) != ">":
            raise HtmlParseError(f"Unclosed end tag at byte offset {at}")
        opened = self.stack.pop()
        if name and name != opened.tag:
            raise HtmlParseError(
                f'Unmatched end tag at byte offset {at}, expected "</{opened.tag}>", found "</{name}>"'
            )
        if self.out_len > opened.offset:
            self.close(opened)
        return pos + 1

    def close(self, opened: _Open) -> None:
        offset, length = opened.offset, self.out_len - opened.offset
        tag = opened.tag
        entity: Entity | None
        if tag in _SIMPLE_TYPES:
            entity = Entity(_SIMPLE_TYPES[tag], offset, length)
        elif tag == "blockquote":
            entity = Entity("expandable_blockquote" if opened.expandable else "blockquote", offset, length)
        elif tag == "code":
            entity = Entity("code", offset, length, language=opened.argument or None)
        elif tag == "pre":
            entity = self.pre(offset, length)
        elif tag == "tg-emoji":
            if not opened.argument.isdigit() or int(opened.argument) == 0:
                raise HtmlParseError("Invalid custom emoji identifier specified")
            entity = Entity("custom_emoji", offset, length, custom_emoji_id=opened.argument)
        else:
            entity = self.link(opened, offset, length)
        if entity is not None:
            self.made.append((opened.order, entity))

    def pre(self, offset: int, length: int) -> Entity:
        language: str | None = None
        if self.made:
            _, last = self.made[-1]
            if last.type == "code" and last.offset == offset and last.length == length:
                # <pre><code class="language-x">…</code></pre> is one pre entity with a language.
                self.made.pop()
                language = last.language
        return Entity("pre", offset, length, language=language)

    def link(self, opened: _Open, offset: int, length: int) -> Entity | None:
        url = opened.argument or "".join(self.out[opened.text_pos :])
        user = _USER_LINK.match(url)
        if user:
            return Entity("text_mention", offset, length, user_id=int(user.group(1)))
        if _WEB_LINK.match(url):
            return Entity("text_link", offset, length, url=url)
        if _BARE_HOST.match(url):
            return Entity("text_link", offset, length, url=f"http://{url}")
        return None  # Telegram silently drops links it cannot use

    def result(self) -> FormattedText:
        ordered = [entity for _, entity in sorted(self.made, key=lambda item: item[0])]
        kept: list[Entity] = []
        for index, entity in enumerate(ordered):
            # With proper nesting an enclosing entity was opened earlier, so look only backwards.
            enclosing = [e for e in ordered[:index] if e.offset <= entity.offset and entity.end <= e.end]
            if any(outer.type in _OPAQUE for outer in enclosing):
                continue
            if entity.type in _QUOTES and any(outer.type in _QUOTES for outer in enclosing):
                continue
            kept.append(replace(entity, language=None) if entity.type == "code" else entity)
        return FormattedText("".join(self.out), sort_entities(kept))


def parse_html(source: str, *, strict: bool = True) -> FormattedText:
    """Parse Telegram HTML into plain text and entities; raises HtmlParseError with Telegram's reason.

    With strict=False unknown references such as &nbsp; stay literal text, as Telegram shows them.
    """
    return _Parser(source, strict).run()


def escape(text: str) -> str:
    """Escape the three characters Telegram's HTML mode treats specially."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
