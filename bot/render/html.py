"""The mechanics of Telegram HTML: escaping, safe links, UTF-16 length budgeting, splitting under the
4096-unit message limit with tags closed and reopened, and the plain-text fallback.

No wording here (that is messages.py). Pure and synchronous, standard library only: must not import
telegram, aiosqlite, asyncio, pydantic or any HTTP client.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

MESSAGE_LIMIT = 4096  # UTF-16 code units of visible text, after entity parsing
ALLOWED_TAGS = frozenset({"b", "i", "u", "s", "a", "code", "pre", "blockquote", "tg-spoiler"})


def escape(text: str, *, quote: bool = False) -> str:
    """Escape &, < and > for Telegram HTML; quote=True also escapes '"' (for attribute values)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace('"', "&quot;") if quote else text


def safe_url(url: str | None) -> str | None:
    """The URL, stripped, if it is an absolute http(s) link; None for anything else (javascript:, data:…)."""
    if not url:
        return None
    url = url.strip()
    if not url or any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def link(text: str, url: str | None) -> str:
    """`text` as a link when url is a safe http(s) URL, else as bold text; both escaped."""
    safe = safe_url(url)
    if safe is None:
        return f"<b>{escape(text)}</b>"
    return f'<a href="{escape(safe, quote=True)}">{escape(text)}</a>'


# A tag Telegram would parse, or one of the entities it understands. Attribute values may not hold
# < or >, which keeps a scan from running past the next tag on malformed input.
_TOKEN = re.compile(
    r"""<(?P<close>/)?(?P<name>[A-Za-z][A-Za-z0-9-]*)(?P<attrs>(?:[^<>"']|"[^"<>]*"|'[^'<>]*')*+)>"""
    r"""|&(?:\#(?P<dec>[0-9]{1,8})|\#[xX](?P<hex>[0-9A-Fa-f]{1,7})|(?P<named>lt|gt|amp|quot));"""
)
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HREF = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Piece:
    """A tag, an entity or literal text; `text` is what the reader sees."""

    raw: str
    text: str = ""
    tag: str = ""  # lower-case name for tags, "" for text
    closing: bool = False


def _entity(match: re.Match[str]) -> str:
    if match["named"]:
        return _NAMED[match["named"]]
    code = int(match["dec"]) if match["dec"] else int(match["hex"], 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return "\ufffd"
    return chr(code)


def _scan(html: str) -> Iterator[_Piece]:
    """Tags, entities and runs of literal text; a stray < or & is literal text."""
    pos = 0
    for match in _TOKEN.finditer(html):
        if match.start() > pos:
            run = html[pos : match.start()]
            yield _Piece(run, run)
        if match["name"]:
            yield _Piece(match[0], tag=match["name"].lower(), closing=bool(match["close"]))
        else:
            yield _Piece(match[0], _entity(match))
        pos = match.end()
    if pos < len(html):
        yield _Piece(html[pos:], html[pos:])


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the way Telegram counts."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def visible_length(html: str) -> int:
    """UTF-16 length of the text Telegram shows for this HTML: tags dropped, entities one character."""
    return utf16_len("".join(piece.text for piece in _scan(html)))


def html_to_plain(html: str) -> str:
    """Plain text for the "can't parse entities" fallback: no tags, entities decoded, link URLs in ()."""
    out: list[str] = []
    links: list[tuple[int, str]] = []  # where each open link's text starts, and its URL
    for piece in _scan(html):
        if piece.tag != "a":
            out.append(piece.text)
        elif not piece.closing:
            found = _HREF.search(piece.raw)
            href = next((g for g in found.groups() if g is not None), "") if found else ""
            links.append((len(out), "".join(p.text for p in _scan(href))))
        elif links:
            start, href = links.pop()
            if href and href != "".join(out[start:]).strip():
                out.append(f" ({href})")
    return "".join(out)


def fit_plain(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """Plain text trimmed to `limit` UTF-16 units with a closing "…" (the URLs html_to_plain adds can
    make a part that fitted as HTML overflow as plain text)."""
    while utf16_len(text) > limit:
        text = text[: limit - 1 - (utf16_len(text) - len(text))] + "…"
    return text


def _pieces(html: str) -> list[_Piece]:
    """Like _scan, but literal text one character per piece so any gap between pieces is a cut point."""
    pieces: list[_Piece] = []
    for piece in _scan(html):
        if piece.tag or piece.raw != piece.text:
            pieces.append(piece)
        else:
            pieces.extend(_Piece(ch, ch) for ch in piece.text)
    return pieces


def _is_space(piece: _Piece) -> bool:
    return not piece.tag and piece.text.isspace()


def _is_newline(pieces: Sequence[_Piece], i: int) -> bool:
    return 0 <= i < len(pieces) and not pieces[i].tag and pieces[i].text == "\n"


def _clings(piece: _Piece) -> bool:
    """Whether this character belongs with the one before it (combining mark, joiner, selector, skin tone)."""
    if piece.tag or len(piece.text) != 1:
        return False
    ch = piece.text
    return bool(unicodedata.combining(ch)) or ch in "\u200d\ufe0e\ufe0f" or 0x1F3FB <= ord(ch) <= 0x1F3FF


def _cut(pieces: Sequence[_Piece], first: int, overflow: int) -> int:
    """Where to end a part holding pieces[first:overflow]: the last paragraph break, else line break,
    else space, else a hard cut that keeps characters, joiners and opening tags with what follows."""
    line = word = None
    for k in range(overflow, first, -1):
        if not _is_space(pieces[k]):
            continue
        if _is_newline(pieces, k):
            if _is_newline(pieces, k - 1) or _is_newline(pieces, k + 1):
                return k
            if line is None:
                line = k
        if word is None:
            word = k
    if line is not None:
        return line
    if word is not None:
        return word
    k = overflow
    while k - 1 > first and (_clings(pieces[k]) or pieces[k - 1].text == "\u200d"):
        k -= 1
    if k - 1 == first and (_clings(pieces[k]) or pieces[k - 1].text == "\u200d"):
        k = overflow  # one unbreakable cluster longer than the limit: cut it anyway
    while k - 1 > first and pieces[k - 1].tag and not pieces[k - 1].closing:
        k -= 1
    return k


def _replay(stack: list[_Piece], pieces: Iterable[_Piece]) -> list[_Piece]:
    """The open tags after `pieces`, starting from `stack`; stray closing tags are ignored."""
    stack = list(stack)
    for piece in pieces:
        if not piece.tag:
            continue
        if not piece.closing:
            stack.append(piece)
            continue
        for i in range(len(stack) - 1, -1, -1):
            if stack[i].tag == piece.tag:
                del stack[i:]
                break
    return stack


def _trim(pieces: Sequence[_Piece], *, leading: bool, trailing: bool) -> str:
    """The raw HTML of pieces with whitespace dropped at the requested ends (tags are kept)."""
    content = [i for i, piece in enumerate(pieces) if not piece.tag and not piece.text.isspace()]
    lo = content[0] if content and leading else -1
    hi = content[-1] if content and trailing else len(pieces)
    return "".join(p.raw for i, p in enumerate(pieces) if not (_is_space(p) and (i < lo or i > hi)))


def split_html(html: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split HTML into parts of at most `limit` visible UTF-16 units each.

    Cuts go at paragraph breaks, else line breaks, else spaces, else anywhere between characters
    (never inside a tag, an entity or a surrogate pair); whitespace at each cut and at the very start
    is dropped. Tags open at a cut are closed at the end of one part and reopened, attributes and all,
    at the start of the next. Input that fits is returned unchanged as the only part; blank parts are
    dropped, so all-whitespace input that is too long gives no parts.
    """
    if limit < 2:
        raise ValueError("limit must be at least 2 UTF-16 units (one astral character)")
    if visible_length(html) <= limit:
        return [html]
    pieces = _pieces(html)
    widths = [utf16_len(piece.text) for piece in pieces]
    parts: list[str] = []
    stack: list[_Piece] = []  # tags open where the current part starts
    pos = 0
    while True:
        first = next((i for i in range(pos, len(pieces)) if pieces[i].text.strip()), len(pieces))
        if first == len(pieces):
            break  # only whitespace and tags remain; the previous part already closed its tags
        # Whitespace before `first` is dropped, so it costs nothing.
        overflow, used = first, 0
        while overflow < len(pieces) and used + widths[overflow] <= limit:
            used += widths[overflow]
            overflow += 1
        end = len(pieces) if overflow == len(pieces) else _cut(pieces, first, overflow)
        body = pieces[pos:end]
        after = _replay(stack, body)
        text = _trim(body, leading=True, trailing=end < len(pieces))
        opening = "".join(piece.raw for piece in stack)
        closing = "".join(f"</{piece.tag}>" for piece in reversed(after))
        parts.append(opening + text + closing)
        if end == len(pieces):
            break
        stack, pos = after, end
    return parts
