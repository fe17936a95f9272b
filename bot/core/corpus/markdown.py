"""Markdown files with YAML front matter → one Article; the body's Markdown stripped to plain paragraphs.

Pure and synchronous (text in, Article or Invalid out). Must not import telegram, aiosqlite, asyncio,
pydantic or any HTTP client, and does no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from html import unescape

import yaml

from bot.core.corpus.fields import Invalid, build_article, kind_of, text_key, title_of
from bot.core.models import Article


def parse_markdown(text: str, rel: str) -> Article:
    """One article from a Markdown file's text; raises Invalid when it cannot be built."""
    fields, body_text = _split_front_matter(text)
    paragraphs = _markdown_paragraphs(body_text)
    title = title_of(fields)
    if paragraphs and text_key(paragraphs[0]) == text_key(title):
        paragraphs = paragraphs[1:]  # the title repeated as the first heading
    return build_article(fields, title, "\n\n".join(paragraphs), rel=rel, line=None, default_id=rel)


def _split_front_matter(text: str) -> tuple[Mapping[str, object], str]:
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        raise Invalid("no front matter: the file must start with '---', a 'title:' line and '---'", 1)
    for end in range(1, len(lines)):
        if lines[end].rstrip() in ("---", "..."):
            break
    else:
        raise Invalid("front matter opened with '---' on line 1 is never closed", 1)
    source = "\n".join(lines[1:end])
    try:
        loaded = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        detail = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise Invalid(f"front matter is not valid YAML: {detail}", line) from exc
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # PyYAML builds dates itself and raises plain ValueError for e.g. 2024-02-30.
        raise Invalid(f"front matter is not valid YAML: {exc}", 1) from exc
    if loaded is None:
        loaded = {}
    if not isinstance(loaded, dict):
        raise Invalid(f"front matter must be 'key: value' fields, not {kind_of(loaded)}", 2)
    return loaded, "\n".join(lines[end + 1 :])


_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_ATX_HEADING = re.compile(r" {0,3}#{1,6}(?:[ \t]+|$)")
_ATX_CLOSING = re.compile(r"(?:^|[ \t]+)#+[ \t]*$")
_SETEXT_UNDERLINE = re.compile(r" {0,3}(?:=+|-+)[ \t]*$")
_THEMATIC_BREAK = re.compile(r" {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$")
_REFERENCE_DEFINITION = re.compile(r" {0,3}\[[^\]]+\]:[ \t]*\S")
_TABLE_RULE = re.compile(r"[ \t]*\|?[ \t]*:?-{3,}:?[ \t]*(?:\|[ \t]*:?-{3,}:?[ \t]*)+\|?[ \t]*$")
_QUOTE = re.compile(r" {0,3}>[ \t]?")
_LIST_MARKER = re.compile(r"[ \t]*(?:[-*+]|\d{1,3}[.)])[ \t]+")
_HIDDEN_HTML = (
    (re.compile(r"<!--"), re.compile(r"-->")),
    (re.compile(r"<script\b[^<>]*>", re.I), re.compile(r"</script\s*>", re.I)),
    (re.compile(r"<style\b[^<>]*>", re.I), re.compile(r"</style\s*>", re.I)),
)


def _markdown_paragraphs(markdown: str) -> list[str]:
    """Markdown → plain paragraphs: markup gone, fenced code kept as text, one paragraph per block."""
    for opening, closing in _HIDDEN_HTML:
        markdown = _cut_spans(markdown, opening, closing)
    paragraphs: list[str] = []
    current: list[str] = []

    def flush() -> None:
        joined = " ".join(" ".join(current).split())
        if joined:
            paragraphs.append(joined)
        current.clear()

    fence: str | None = None
    for raw in markdown.split("\n"):
        if fence is not None:
            stripped = raw.strip()
            if stripped.startswith(fence) and not stripped.strip(fence[0]):
                flush()
                fence = None
            elif stripped:
                current.append(stripped)
            else:
                flush()
            continue
        line = raw
        while quote := _QUOTE.match(line):
            line = line[quote.end() :]
        if not line.strip():
            flush()
        elif fence_open := _FENCE.match(line):
            flush()
            fence = fence_open.group(1)
        elif _SETEXT_UNDERLINE.match(line) or _THEMATIC_BREAK.match(line):
            flush()  # under a line it makes that line a heading, alone it is a rule: a break either way
        elif _REFERENCE_DEFINITION.match(line) or _TABLE_RULE.match(line):
            continue
        elif heading := _ATX_HEADING.match(line):
            flush()
            current.append(_inline(_ATX_CLOSING.sub("", line[heading.end() :])))
            flush()
        elif line.lstrip().startswith("|"):
            flush()
            current.append(_inline(line.strip().strip("|").replace("|", " ")))
            flush()
        elif item := _LIST_MARKER.match(line):
            flush()
            current.append(_inline(line[item.end() :]))
        else:
            current.append(_inline(line))
    flush()
    return paragraphs


def _cut_spans(text: str, opening: re.Pattern[str], closing: re.Pattern[str]) -> str:
    """Remove every opening…closing span; an unclosed opening ends the search, which keeps this linear."""
    kept: list[str] = []
    position = 0
    while (start := opening.search(text, position)) is not None:
        end = closing.search(text, start.end())
        if end is None:
            break
        kept.append(text[position : start.start()])
        kept.append("\n")  # a removed block still separates what was around it
        position = end.end()
    kept.append(text[position:])
    return "".join(kept)


_CODE_SPAN = re.compile(r"(`{1,3})(.{1,1000}?)\1")
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
_IMAGE = re.compile(r"!\[[^\[\]]*\](?:\((?:[^()]|\([^()]*\))*\)|\[[^\[\]]*\])")
_LINK = re.compile(r"\[([^\[\]]*)\](?:\((?:[^()]|\([^()]*\))*\)|\[[^\[\]]*\])")
_AUTOLINK = re.compile(r"<((?:https?|ftp|mailto):[^<>\s]+|[^<>\s@]+@[^<>\s@]+\.[^<>\s@]+)>")
_BLOCK_TAG = re.compile(r"</?(?:br|p|div|li|ul|ol|h[1-6]|tr|td|th|table|blockquote|hr)\b[^<>]*>", re.I)
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_STRONG = re.compile(r"\*\*(?=[^\s*])([^*]+?)(?<=[^\s*])\*\*|(?<!\w)__(?=[^\s_])([^_]+?)(?<=[^\s_])__(?!\w)")
_EMPHASIS = re.compile(r"\*(?=[^\s*])([^*]+?)(?<=[^\s*])\*|(?<!\w)_(?=[^\s_])([^_]+?)(?<=[^\s_])_(?!\w)")
_STRIKE = re.compile(r"~~(?=[^\s~])([^~]+?)(?<=[^\s~])~~")
# Escaped punctuation is parked in the private-use area so the markup patterns cannot see it.
_PARK_OFFSET = 0xE000
_UNPARK = {_PARK_OFFSET + code: code for code in range(33, 127)}


def _inline(text: str) -> str:
    """Strip inline Markdown from one line; code spans keep their text untouched."""
    pieces: list[str] = []
    position = 0
    for span in _CODE_SPAN.finditer(text):
        pieces.append(_inline_markup(text[position : span.start()]))
        pieces.append(span.group(2).strip())
        position = span.end()
    pieces.append(_inline_markup(text[position:]))
    return "".join(pieces)


def _inline_markup(text: str) -> str:
    text = _ESCAPED.sub(lambda m: chr(_PARK_OFFSET + ord(m.group(1))), text)
    text = _IMAGE.sub("", text)
    text = _LINK.sub(r"\1", text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _BLOCK_TAG.sub(" ", text)
    text = _TAG.sub("", text)
    for _ in range(3):  # nested emphasis such as ***both*** unwraps one layer per pass
        unwrapped = _STRIKE.sub(r"\1", _EMPHASIS.sub(_either, _STRONG.sub(_either, text)))
        if unwrapped == text:
            break
        text = unwrapped
    return unescape(text.translate(_UNPARK))


def _either(match: re.Match[str]) -> str:
    return match.group(1) if match.group(1) is not None else match.group(2) or ""
