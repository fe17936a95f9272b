"""Everything the bot says, as Telegram HTML: escaping, highlights, citations, lists, buttons as data,
UTF-16 length budgeting and splitting under the 4096-unit message limit.

Pure and synchronous: stdlib and bot.core.models only; must not import telegram, aiosqlite, asyncio
or pydantic. No other module in the bot writes HTML.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from urllib.parse import urlsplit

from bot.core.models import Article, Hit, Problem, Snippet, Topic

MESSAGE_LIMIT = 4096  # UTF-16 code units of visible text, after entity parsing
CALLBACK_DATA_LIMIT = 64  # bytes of UTF-8
ALLOWED_TAGS = frozenset({"b", "i", "u", "s", "a", "code", "pre", "blockquote", "tg-spoiler"})

QUERY_SHOWN = 100  # characters of a question echoed back in a header
TITLE_SHOWN = 120
LEAD_SHOWN = 280
SHOWN_ITEMS = 5  # titles or problems listed before "… and N more"

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# ---------------------------------------------------------------------------------------------------
# Escaping and small pieces


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


def highlight(snippet: Snippet) -> str:
    """The snippet's text, escaped, with each matched span in <b>; bad spans are clamped or skipped."""
    text = snippet.text
    merged: list[list[int]] = []
    for start, end in sorted((max(0, s), min(len(text), e)) for s, e in snippet.spans):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out: list[str] = []
    cursor = 0
    for start, end in merged:
        out.append(escape(text[cursor:start]))
        out.append(f"<b>{escape(text[start:end])}</b>")
        cursor = end
    out.append(escape(text[cursor:]))
    return "".join(out)


def format_date(dt: datetime | None) -> str:
    """A date as "24 Nov 2026" (locale-independent); empty when None."""
    if dt is None:
        return ""
    return f"{dt.day} {_MONTHS[dt.month - 1]} {dt.year}"


def format_moment(moment: datetime | None, *, missing: str = "never") -> str:
    """A UTC timestamp to the minute ("2026-11-24 14:05 UTC"), or `missing` when there is none."""
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else missing


def _one_line(text: str) -> str:
    return " ".join(text.split())


def shorten(text: str, limit: int) -> str:
    """Whitespace collapsed to single spaces, cut at a word boundary to at most `limit` characters."""
    text = _one_line(text)
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def _quoted(text: str) -> str:
    return f"«{escape(shorten(text, QUERY_SHOWN))}»"


def _lead(body: str) -> str:
    """The first non-empty paragraph of a body, shortened for a preview."""
    for paragraph in body.split("\n\n"):
        if paragraph.strip():
            return shorten(paragraph, LEAD_SHOWN)
    return ""


def _first_few(items: Sequence[str], shown: int) -> list[str]:
    lines = [f"• {escape(shorten(item, TITLE_SHOWN))}" for item in items[:shown]]
    if len(items) > shown:
        lines.append(f"… and {len(items) - shown:,} more")
    return lines


# ---------------------------------------------------------------------------------------------------
# Articles and answers


_FLATTEN = str.maketrans({"\n": " ", "\r": " ", "\t": " ", "\v": " ", "\f": " "})


def source_line(article: Article) -> str:
    """`<i>source · date</i>` with whichever exist; empty when neither does."""
    bits = [_one_line(article.source or ""), format_date(article.published)]
    shown = " · ".join(bit for bit in bits if bit)
    return f"<i>{escape(shown)}</i>" if shown else ""


def citation(article: Article, *, snippet: Snippet | None = None, number: int | None = None) -> str:
    """A linked (or bold) title, a source · date line, then the highlighted snippet if given."""
    title = link(shorten(article.title, TITLE_SHOWN * 2) or "Untitled", article.url)
    lines = [title if number is None else f"{number}. {title}"]
    meta = source_line(article)
    if meta:
        lines.append(meta)
    if snippet is not None and snippet.text.strip():
        # Line breaks inside a snippet would read as new paragraphs; swapping them one-for-one keeps
        # the span offsets valid.
        flat = snippet.text.translate(_FLATTEN)
        lines.append(highlight(Snippet(flat, snippet.spans)))
    return "\n".join(lines)


def _numbered(articles: Sequence[Article]) -> list[str]:
    return [citation(article, number=i) for i, article in enumerate(articles, 1)]


def answer(
    query: str, hits: Sequence[Hit], *, offset: int = 0, total: int | None = None, at_least: bool = False
) -> str:
    """A header echoing the question, then numbered citations (from offset + 1) separated by blank lines.

    `at_least` marks `total` as a lower bound (the library stops counting at a cap): shown as "1,000+".
    """
    if not hits:
        return no_match(query)
    first, last = offset + 1, offset + len(hits)
    span = str(first) if first == last else f"{first}–{last}"
    if total is not None:
        shown_total = f"{total:,}+" if at_least else f"{total:,}"
        head = f"{'Result' if first == last else 'Results'} {span} of {shown_total} for {_quoted(query)}"
    elif offset:
        head = f"{'Result' if first == last else 'Results'} {span} for {_quoted(query)}"
    else:
        head = f"Results for {_quoted(query)}"
    blocks = [f"<b>{head}</b>"]
    for number, hit in enumerate(hits, first):
        blocks.append(citation(hit.article, snippet=hit.snippet, number=number))
    return "\n\n".join(blocks)


def no_match(query: str, *, hint: str | None = None) -> str:
    """Nothing matched: say so, show the hint if any, and suggest other words, /topics and /latest."""
    blocks = [f"Nothing in the archive matches {_quoted(query)}."]
    if hint:
        blocks.append(f"<i>{escape(hint)}</i>")
    blocks.append("Try other words, or browse /topics and the /latest stories.")
    return "\n\n".join(blocks)


def related(title: str, articles: Sequence[Article]) -> str:
    """Stories related to `title` as numbered, linked citations."""
    if not articles:
        return f"I found no stories related to {_quoted(title)}."
    return "\n\n".join([f"<b>Related to {_quoted(title)}</b>", *_numbered(articles)])


def topic_push(topic_name: str, articles: Sequence[Article]) -> str:
    """A related-story push: "Related stories" for one topic, as numbered, linked citations."""
    return "\n\n".join([f"<b>Related stories</b> · {escape(_one_line(topic_name))}", *_numbered(articles)])


def subscribed(what: str, understood: str, preview: Sequence[Article], *, already: bool = False) -> str:
    """Confirmation of a subscription: what was understood, and the latest articles it would have matched."""
    head = "You were already subscribed to" if already else "Subscribed to"
    blocks = [f"<b>{head} {escape(_one_line(what))}</b>", escape(understood)]
    if preview:
        blocks.append("<i>Latest articles it matches (a preview; new ones will arrive as alerts):</i>")
        blocks.extend(_numbered(preview))
    else:
        blocks.append("<i>No article in the archive matches it yet; new ones will arrive as alerts.</i>")
    return "\n\n".join(blocks)


def subscription_list(rows: Sequence[tuple[str, str]]) -> str:
    """The chat's subscriptions as (kind, label) rows."""
    if not rows:
        return "This chat has no subscriptions. Try <code>/subscribe openai</code> or /topics."
    lines = [f"<b>Subscriptions</b> ({len(rows):,})", ""]
    lines += [
        f"{n}. {escape(_one_line(label))} <i>({escape(kind)})</i>" for n, (kind, label) in enumerate(rows, 1)
    ]
    return "\n".join(lines)


def article_list(header: str, articles: Sequence[Article]) -> str:
    """A bold header and numbered, linked titles with source · date (for /latest and topic pages)."""
    if not articles:
        return f"<b>{escape(header)}</b>\n\nNothing here yet."
    return "\n\n".join([f"<b>{escape(header)}</b>", *_numbered(articles)])


def topic_list(rows: Sequence[tuple[Topic, int]]) -> str:
    """Every topic with its display name, slug, article count and description."""
    if not rows:
        return "No topics are defined."
    lines = [f"<b>Topics</b> ({len(rows):,})", ""]
    for topic, count in rows:
        line = f"• <b>{escape(_one_line(topic.name))}</b> — <code>{escape(topic.slug)}</code>, "
        lines.append(line + _count(count, "article"))
        if topic.description.strip():
            lines.append(f"  <i>{escape(shorten(topic.description, TITLE_SHOWN))}</i>")
    return "\n".join(lines)


def key_values(title: str, rows: Sequence[tuple[str, str]]) -> str:
    """A bold title and one "key: value" line per row (for /status and /stats)."""
    lines = [f"<b>{escape(title)}</b>"]
    lines += [f"{escape(key)}: <b>{escape(value)}</b>" for key, value in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------
# Help, welcome, admin reports


class CommandDoc(Protocol):
    """Anything that describes a command the way /help shows it."""

    @property
    def name(self) -> str: ...
    @property
    def args(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def example(self) -> str: ...
    @property
    def admin(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """A command as /help lists it: name without the slash, argument synopsis, one-line description."""

    name: str
    args: str = ""
    description: str = ""
    example: str = ""
    admin: bool = False


def _command_block(command: CommandDoc) -> str:
    usage = "/" + command.name.lstrip("/")
    if command.args:
        usage += " " + command.args
    line = escape(usage)
    if command.description:
        line += " — " + escape(command.description)
    if command.example:
        line += f"\n<i>e.g.</i> <code>{escape(command.example)}</code>"
    return line


def help_text(commands: Sequence[CommandDoc], *, is_admin: bool) -> str:
    """Every public command with usage and example; admin commands too when the reader is an admin."""
    blocks = ["<b>Ask me anything</b> in plain words and I answer from the archive, citing each story."]
    blocks += [_command_block(command) for command in commands if not command.admin]
    admin = [command for command in commands if command.admin]
    if is_admin and admin:
        blocks.append("<b>Admin commands</b>")
        blocks += [_command_block(command) for command in admin]
    return "\n\n".join(blocks)


def welcome(article_count: int, topic_names: Sequence[str]) -> str:
    """The /start greeting: what the bot knows and how to ask."""
    blocks = [
        f"<b>Hello!</b> I answer questions from a news archive of {_count(article_count, 'article')} "
        "and cite the stories I use.",
        "Just send me a question in plain words.",
    ]
    if topic_names:
        shown = ", ".join(escape(_one_line(name)) for name in topic_names[:8])
        more = f" and {len(topic_names) - 8:,} more" if len(topic_names) > 8 else ""
        blocks.append(f"Topics I track: {shown}{more}. See /topics.")
    blocks.append("/latest shows the newest stories; /help lists every command.")
    return "\n\n".join(blocks)


def reload_report(
    *,
    before: int,
    after: int,
    seconds: float,
    added: Sequence[str] = (),
    changed: Sequence[str] = (),
    removed: Sequence[str] = (),
    problems: Sequence[Problem] = (),
    kept_old: bool = False,
    error: str | None = None,
    shown: int = SHOWN_ITEMS,
) -> str:
    """What a reload did: article counts before → after, titles added/changed/removed, problems, time.

    With kept_old the reload failed and the previous snapshot still answers; `error` says why.
    """
    if kept_old:
        kept = f"kept the previous snapshot ({_count(before, 'article')})"
        head = [f"<b>Reload failed</b> after {seconds:.1f} s: {kept}."]
        if error:
            head.append(f"<i>{escape(shorten(error, 300))}</i>")
        blocks = ["\n".join(head)]
    else:
        blocks = [f"<b>Reload finished</b> in {seconds:.1f} s\nArticles: {before:,} → {after:,}"]
        for label, titles in (("Added", added), ("Changed", changed), ("Removed", removed)):
            if titles:
                blocks.append("\n".join([f"{label}: {len(titles):,}", *_first_few(titles, shown)]))
        if not (added or changed or removed):
            blocks.append("No articles added, changed or removed.")
    if problems:
        lines = [f"Problems: {len(problems):,}", *_first_few([str(p) for p in problems], shown)]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


# ---------------------------------------------------------------------------------------------------
# Alerts


def _matched(reasons: Sequence[str]) -> str:
    return f"<i>Matched: {escape(', '.join(_one_line(r) for r in reasons))}</i>" if reasons else ""


def alert(article: Article, snippet: Snippet | None, reasons: Sequence[str]) -> str:
    """One new article for a subscriber: linked title, source · date, snippet or lead, what it matched."""
    if snippet is None or not snippet.text.strip():
        snippet = Snippet(_lead(article.body))
    text = "🔔 " + citation(article, snippet=snippet)
    matched = _matched(reasons)
    return f"{text}\n{matched}" if matched else text


def digest(items: Sequence[tuple[Article, Sequence[str]]]) -> str:
    """Several new articles in one message: numbered citations, each with what it matched."""
    if not items:
        return "No new articles."
    blocks = [f"🔔 <b>{_count(len(items), 'new article')}</b>"]
    for number, (article, reasons) in enumerate(items, 1):
        matched = _matched(reasons)
        entry = citation(article, number=number)
        blocks.append(f"{entry}\n{matched}" if matched else entry)
    return "\n\n".join(blocks)


# ---------------------------------------------------------------------------------------------------
# Buttons as data


@dataclass(frozen=True, slots=True)
class Button:
    """An inline button: exactly one of callback_data (≤ 64 bytes UTF-8) or an http(s) url."""

    text: str
    callback_data: str | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise ValueError("a button needs a label")
        if (self.callback_data is None) == (self.url is None):
            raise ValueError("a button needs exactly one of callback_data or url")
        if self.callback_data is not None:
            size = len(self.callback_data.encode("utf-8"))
            if not 1 <= size <= CALLBACK_DATA_LIMIT:
                raise ValueError(f"callback_data must be 1-{CALLBACK_DATA_LIMIT} bytes, got {size}")
        if self.url is not None and safe_url(self.url) is None:
            raise ValueError(f"not an http(s) URL: {self.url!r}")


Keyboard = tuple[tuple[Button, ...], ...]


def grid(buttons: Iterable[Button], width: int = 3) -> Keyboard:
    """Buttons laid out in rows of at most `width`."""
    if width < 1:
        raise ValueError("width must be at least 1")
    flat = tuple(buttons)
    return tuple(flat[i : i + width] for i in range(0, len(flat), width))


def answer_keyboard(related: Sequence[tuple[int, str]] = (), more: str | None = None) -> Keyboard:
    """Buttons under an answer: "Related N" per (number, callback_data), then "More results" if given."""
    rows = grid((Button(f"Related {number}", callback_data=data) for number, data in related), 4)
    if more is not None:
        rows += ((Button("More results ›", callback_data=more),),)
    return rows


# ---------------------------------------------------------------------------------------------------
# Lengths, splitting and the plain-text fallback

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
