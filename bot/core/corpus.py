"""Corpus loading: a directory of Markdown, JSON Lines, scraped text pages and feeds → articles + problems.

Pure and synchronous; bad input becomes a Problem, never an exception, and the rest still loads.
Must not import telegram, aiosqlite, asyncio or pydantic.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from email.utils import parsedate_to_datetime
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from time import sleep

import feedparser
import yaml

from bot.core.models import Article, Corpus, Problem

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
JSONL_SUFFIXES = frozenset({".jsonl"})
TEXT_SUFFIXES = frozenset({".txt"})
FEED_SUFFIXES = frozenset({".xml", ".rss", ".atom"})
ARTICLE_SUFFIXES: frozenset[str] = MARKDOWN_SUFFIXES | JSONL_SUFFIXES | TEXT_SUFFIXES | FEED_SUFFIXES
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
READ_ATTEMPTS = 3  # a file still changing after this many reads is reported, not half-read
SETTLED_SECONDS = 1.0  # files modified more recently than this are read twice and compared…
SETTLE_PAUSE = 0.01  # …this far apart (one pause per load, however many such files there are)
CHANGING = "file kept changing while being read; it will be read at the next reload"
OUTSIDE = "now leads outside the corpus directory; not read"

Progress = Callable[[int, int], None]


class _Invalid(Exception):
    """One article cannot be built: the reason (and line, when known) of its Problem."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


@dataclass(frozen=True, slots=True)
class _Candidate:
    rel: str
    path: Path
    root: Path | None = None  # the resolved corpus directory the file must still be in when it is read


# --------------------------------------------------------------------------- public API


def load_corpus(
    root: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, progress: Progress | None = None
) -> Corpus:
    """Load every article file under `root` (sorted order); duplicates and bad input become problems."""
    candidates, problems = _scan(root)
    total = len(candidates)
    if progress is not None:
        progress(0, total)
    results: list[Corpus] = []
    recent: list[tuple[int, _Candidate, _Read]] = []
    for done, candidate in enumerate(candidates, start=1):
        read = _read_candidate(candidate, max_bytes)
        if isinstance(read, _Read) and read.recent:
            recent.append((len(results), candidate, read))
            results.append(Corpus(articles=(), problems=()))  # its place, filled once it has settled
        else:
            results.append(read if isinstance(read, Corpus) else _parse_candidate(candidate, read.data))
        if progress is not None:
            progress(done, total)
    for index, result in _settle(recent, max_bytes).items():
        results[index] = result
    loaded = [article for result in results for article in result.articles]
    problems.extend(problem for result in results for problem in result.problems)
    articles = _drop_duplicates(loaded, problems)
    problems.sort(key=lambda p: (p.path, p.line or 0))
    return Corpus(articles=tuple(articles), problems=tuple(problems))


def load_file(path: Path, root: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Corpus:
    """Parse one file into articles and problems (no duplicate checks, no symlink checks)."""
    candidate = _Candidate(_relative(path, root), path)
    read = _read_candidate(candidate, max_bytes)
    if isinstance(read, Corpus):
        return read
    if read.recent:
        return _settle([(0, candidate, read)], max_bytes)[0]
    return _parse_candidate(candidate, read.data)


def corpus_fingerprint(root: Path) -> str:
    """A cheap hash of (path, size, mtime_ns) of every candidate file: changes when the corpus does."""
    candidates, problems = _scan(root)
    digest = hashlib.blake2b(digest_size=16)
    for candidate in candidates:
        try:
            stat = candidate.path.stat()
            stamp = f"{stat.st_size}:{stat.st_mtime_ns}"
        except OSError as exc:
            stamp = f"error:{exc.errno}"
        digest.update(f"{candidate.rel}\0{stamp}\n".encode())
    for problem in problems:
        digest.update(f"!{problem.path}\0{problem.reason}\n".encode())
    return digest.hexdigest()


# --------------------------------------------------------------------------- walking the tree


def _scan(root: Path) -> tuple[list[_Candidate], list[Problem]]:
    """Find candidate files under root without leaving it; symlinks outside are problems, not followed."""
    try:
        real_root = root.resolve(strict=True)
    except (OSError, RuntimeError):
        return [], [Problem(".", None, f"corpus directory {root} does not exist")]
    if not real_root.is_dir():
        return [], [Problem(".", None, f"corpus path {root} is not a directory")]
    candidates: list[_Candidate] = []
    problems: list[Problem] = []
    pending: list[tuple[Path, str]] = [(root, "")]
    while pending:
        directory, prefix = pending.pop()
        try:
            with os.scandir(directory) as listing:
                entries = list(listing)
        except OSError as exc:
            problems.append(Problem(prefix.rstrip("/") or ".", None, f"cannot list directory: {_why(exc)}"))
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue  # .git, editor swap files, caches
            rel = _printable(prefix + entry.name)
            path = Path(entry.path)
            try:
                if entry.is_symlink():
                    _scan_symlink(path, rel, real_root, candidates, problems)
                elif entry.is_dir(follow_symlinks=False):
                    pending.append((path, rel + "/"))
                elif entry.is_file(follow_symlinks=False) and _is_candidate(entry.name):
                    candidates.append(_Candidate(rel, path, real_root))
            except OSError as exc:
                problems.append(Problem(rel, None, f"cannot inspect: {_why(exc)}"))
    candidates.sort(key=lambda c: c.rel)
    return candidates, problems


def _scan_symlink(
    path: Path, rel: str, real_root: Path, candidates: list[_Candidate], problems: list[Problem]
) -> None:
    try:
        target = path.resolve()
    except (OSError, RuntimeError):
        problems.append(Problem(rel, None, "symlink cannot be resolved (a loop?); not followed"))
        return
    if not target.is_relative_to(real_root):
        if target.is_dir() or _is_candidate(path.name):
            problems.append(Problem(rel, None, "symlink leads outside the corpus directory; not followed"))
        return
    if target.is_dir():
        # Its files are already inside the root, so following it would only duplicate them or loop.
        return
    if not _is_candidate(path.name):
        return
    if target.is_file():
        candidates.append(_Candidate(rel, path, real_root))
    elif not target.exists():
        problems.append(Problem(rel, None, "broken symlink"))


def _is_candidate(name: str) -> bool:
    stem, dot, suffix = name.rpartition(".")
    return bool(dot) and f".{suffix.lower()}" in ARTICLE_SUFFIXES and stem.casefold() != "readme"


def _relative(path: Path, root: Path) -> str:
    try:
        return _printable(path.relative_to(root).as_posix())
    except ValueError:
        return _printable(path.as_posix())


def _printable(name: str) -> str:
    """File names that are not valid UTF-8 arrive with surrogates; make them safe to print and send."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _why(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


# --------------------------------------------------------------------------- one file


@dataclass(frozen=True, slots=True)
class _Read:
    """A file's bytes as they stood at one moment, with its (size, mtime) then."""

    data: bytes
    stamp: tuple[int, int]
    recent: bool  # modified within SETTLED_SECONDS: to be read again a moment later before it is trusted


def _read_candidate(candidate: _Candidate, max_bytes: int) -> _Read | Corpus:
    """The file's bytes, or a Corpus holding the problem that stops it from being read."""
    rel, path = candidate.rel, candidate.path
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return _failed(rel, None, f"file is {size} bytes, over the {max_bytes}-byte limit")
        read = _read_once(path, max_bytes, candidate.root)
    except OSError as exc:
        return _failed(rel, None, f"cannot read file: {_why(exc)}")
    if not isinstance(read, _Read):  # OUTSIDE, or None: still changing
        return _failed(rel, None, read or CHANGING)
    if len(read.data) > max_bytes:
        return _failed(rel, None, f"file grew past the {max_bytes}-byte limit while being read")
    return read


def _read_once(path: Path, max_bytes: int, root: Path | None) -> _Read | str | None:
    """Read up to max_bytes + 1; None if the file changed during every attempt, OUTSIDE if what was
    opened is not (or no longer) a file inside `root`."""
    for _ in range(READ_ATTEMPTS):
        with path.open("rb") as handle:
            opened = os.fstat(handle.fileno())
            where = _opened_where(path, opened, root) if root is not None else "inside"
            if where == "outside":
                return OUTSIDE
            if where == "replaced":
                continue
            before = _stamp(opened)
            data = handle.read(max_bytes + 1)
            after = os.fstat(handle.fileno())
        if before == _stamp(after):
            recent = datetime.now(UTC).timestamp() - after.st_mtime < SETTLED_SECONDS
            return _Read(data, before, recent)
    return None


def _opened_where(path: Path, opened: os.stat_result, root: Path) -> str:
    """ "inside" if the file just opened is the one the path names now, inside root; "outside" if the
    path now leads out of root (the scan checked it, but a file or directory can be swapped for a
    symlink since); "replaced" if the path names another file by now."""
    try:
        real = path.resolve(strict=True)
        named = real.stat()
    except (OSError, RuntimeError):
        return "replaced"
    if not real.is_relative_to(root):
        return "outside"
    return "inside" if (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino) else "replaced"


def _settle(recent: list[tuple[int, _Candidate, _Read]], max_bytes: int) -> dict[int, Corpus]:
    """Read recently modified files again a moment later, all after one pause, and parse those that read
    the same. Timestamps advance only every few milliseconds, and a writer paused half-way leaves a file
    that reads the same twice in a row; a moment later it has moved on, and the file is read again."""
    results: dict[int, Corpus] = {}
    for _ in range(READ_ATTEMPTS):
        if not recent:
            break
        sleep(SETTLE_PAUSE)
        changed = []
        for index, candidate, read in recent:
            again = _read_candidate(candidate, max_bytes)
            if isinstance(again, Corpus):
                results[index] = again
            elif again.data == read.data and again.stamp == read.stamp:
                results[index] = _parse_candidate(candidate, read.data)
            else:
                changed.append((index, candidate, again))
        recent = changed
    for index, candidate, _ in recent:
        results[index] = _failed(candidate.rel, None, CHANGING)
    return results


def _stamp(stat: os.stat_result) -> tuple[int, int]:
    # Not ctime: replacing the file (an atomic save) changes the old inode's ctime, not its content.
    return (stat.st_size, stat.st_mtime_ns)


def _parse_candidate(candidate: _Candidate, data: bytes) -> Corpus:
    rel = candidate.rel
    suffix = candidate.path.suffix.lower()
    if suffix in FEED_SUFFIXES:
        # Feeds declare their own encoding (even UTF-16, which contains NUL bytes): feedparser decides.
        return _parse_feed(data, rel)
    if b"\0" in data:
        return _failed(rel, None, "binary file (contains NUL bytes), not text")
    if suffix in JSONL_SUFFIXES:
        return _parse_jsonl(data, rel)
    try:
        text = _decode(data)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return _failed(rel, line, f"invalid UTF-8 (byte {exc.start}); save the file as UTF-8")
    parse = _parse_markdown if suffix in MARKDOWN_SUFFIXES else _parse_text
    try:
        article = parse(text, rel)
    except _Invalid as exc:
        return _failed(rel, exc.line, exc.reason)
    return Corpus(articles=(article,), problems=())


def _failed(rel: str, line: int | None, reason: str) -> Corpus:
    return Corpus(articles=(), problems=(Problem(rel, line, reason),))


def _decode(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


# --------------------------------------------------------------------------- Markdown


def _parse_markdown(text: str, rel: str) -> Article:
    fields, body_text = _split_front_matter(text)
    paragraphs = _markdown_paragraphs(body_text)
    title = _title(fields)
    if paragraphs and _key(paragraphs[0]) == _key(title):
        paragraphs = paragraphs[1:]  # the title repeated as the first heading
    return _build(fields, title, "\n\n".join(paragraphs), rel=rel, line=None, default_id=rel)


def _split_front_matter(text: str) -> tuple[Mapping[str, object], str]:
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        raise _Invalid("no front matter: the file must start with '---', a 'title:' line and '---'", 1)
    for end in range(1, len(lines)):
        if lines[end].rstrip() in ("---", "..."):
            break
    else:
        raise _Invalid("front matter opened with '---' on line 1 is never closed", 1)
    source = "\n".join(lines[1:end])
    try:
        loaded = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        detail = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise _Invalid(f"front matter is not valid YAML: {detail}", line) from exc
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # PyYAML builds dates itself and raises plain ValueError for e.g. 2024-02-30.
        raise _Invalid(f"front matter is not valid YAML: {exc}", 1) from exc
    if loaded is None:
        loaded = {}
    if not isinstance(loaded, dict):
        raise _Invalid(f"front matter must be 'key: value' fields, not {_kind(loaded)}", 2)
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


# --------------------------------------------------------------------------- JSON Lines


def _parse_jsonl(data: bytes, rel: str) -> Corpus:
    articles: list[Article] = []
    problems: list[Problem] = []
    # Split on b"\n" only: JSON strings may legally hold U+2028, which str.splitlines would break on.
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        if not raw.strip():
            continue
        try:
            article = _parse_jsonl_line(raw, rel, number)
        except _Invalid as exc:
            problems.append(Problem(rel, number, exc.reason))
        else:
            articles.append(article)
    if not articles and not problems:  # like an empty Markdown or text file, say so
        return _failed(rel, None, "no articles: the file has no JSON lines")
    return Corpus(articles=tuple(articles), problems=tuple(problems))


def _parse_jsonl_line(raw: bytes, rel: str, number: int) -> Article:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Invalid(f"invalid UTF-8 (byte {exc.start} of the line)") from exc
    try:
        fields = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Invalid(f"not valid JSON: {exc.msg} (column {exc.colno})") from exc
    except RecursionError as exc:
        raise _Invalid("not valid JSON: nested too deeply") from exc
    if not isinstance(fields, dict):
        raise _Invalid(f"each line must be a JSON object, not {_kind(fields)}")
    body = fields.get("body")
    if body is not None and not isinstance(body, str):
        raise _Invalid(f"'body' must be text, not {_kind(body)}")
    title = _title(fields)
    return _build(
        fields,
        title,
        "\n\n".join(_plain_paragraphs(body or "")),
        rel=rel,
        line=number,
        default_id=f"{rel}#L{number}",
    )


def _plain_paragraphs(text: str) -> list[str]:
    """Plain text → paragraphs split at blank lines, each on one line with single spaces."""
    chunks = re.split(r"\n[ \t\f\v\r]*\n", text.replace("\r\n", "\n").replace("\r", "\n"))
    return [joined for chunk in chunks if (joined := " ".join(chunk.split()))]


# --------------------------------------------------------------------------- scraped text pages

_CHROME_LINES = frozenset(
    {
        "home",
        "menu",
        "search",
        "share",
        "share this",
        "share this article",
        "advertisement",
        "advertisements",
        "sponsored",
        "comments",
        "comment",
        "post comment",
        "print",
        "email",
        "facebook",
        "twitter",
        "linkedin",
        "whatsapp",
        "weibo",
        "wechat",
        "copy link",
        "link copied",
        "subscribe",
        "sign in",
        "log in",
        "login",
        "sign up",
        "register",
        "back to top",
        "skip to content",
        "skip to main content",
        "follow us",
        "newsletter",
        "read more",
        "show more",
        "load more",
        "loading...",
        "all rights reserved",
        "all rights reserved.",
    }
)
_CHROME_PATTERNS = (
    re.compile(r"comments?\s*\(\d+\)"),  # Comments (0)
    re.compile(r"\d+\s+comments?"),
    re.compile(r"\d+\s*/\s*\d+"),  # a comment box's character counter, 0/500
    re.compile(r"(?:share|follow us)\s+(?:on|via)\s+\S+"),
    re.compile(r"page\s+\d+\s+of\s+\d+"),
    re.compile(r"\d+\s+min(?:ute)?s?\s+read"),
    re.compile(r"(?:©|copyright\s+©|copyright\s+\d{4}\b).{0,100}"),
)
_TEASER_MARKERS = frozenset(
    {
        "you may also like",
        "you might also like",
        "more stories",
        "recommended for you",
        "recommended stories",
        "further reading",
        "most read",
        "most popular",
    }
)
_RELATED = re.compile(r"related\b")


def _parse_text(text: str, rel: str) -> Article:
    lines = [joined for raw in text.split("\n") if (joined := " ".join(raw.split()))]
    # A scrape may open with navigation ("Home"): the title is the first line that is not chrome.
    start = next(
        (i for i, line in enumerate(lines) if not _is_chrome(line) and not _is_teaser_marker(line)), None
    )
    if start is None:
        raise _Invalid("missing title: the file has no text")
    title = lines[start]
    return _build(
        {}, title, "\n\n".join(_clean_page(lines[start + 1 :], title)), rel=rel, line=None, default_id=rel
    )


def _clean_page(lines: Iterable[str], title: str) -> list[str]:
    """Each line is a paragraph; keep each once, drop site chrome and the trailing block of teasers."""
    seen = {_key(title)}
    kept: list[str] = []
    for line in lines:
        if _is_teaser_marker(line):
            if kept:
                break  # everything after "Related article" is other stories, or this one repeated
            continue
        if _is_chrome(line):
            continue
        key = _key(line)
        if key not in seen:
            seen.add(key)
            kept.append(line)
    return kept


def _is_chrome(line: str) -> bool:
    folded = line.casefold()
    return folded in _CHROME_LINES or any(pattern.fullmatch(folded) for pattern in _CHROME_PATTERNS)


def _is_teaser_marker(line: str) -> bool:
    folded = line.casefold().rstrip(" :")
    if len(folded.split()) > 6 or folded.endswith((".", "!", "?")) or ":" in folded:
        return False
    return folded in _TEASER_MARKERS or _RELATED.match(folded) is not None


# --------------------------------------------------------------------------- RSS and Atom


def _parse_feed(data: bytes, rel: str) -> Corpus:
    try:
        # Always a stream: feedparser treats bytes or str as a file name or URL to open if it can.
        parsed = feedparser.parse(io.BytesIO(data), resolve_relative_uris=False, sanitize_html=True)
    except Exception as exc:  # hostile bytes inside a third-party parser: report, never stop the load
        return _failed(rel, None, f"cannot parse feed: {exc}")
    entries = parsed.get("entries") or []
    if not entries:
        if parsed.get("version"):
            return _failed(rel, None, "feed has no entries")
        cause = parsed.get("bozo_exception")
        return _failed(rel, None, "not an RSS or Atom feed" + (f" ({cause})" if cause else ""))
    feed_info = parsed.get("feed") or {}
    feed_title = _feed_text(feed_info.get("title"), feed_info.get("title_detail"))
    articles: list[Article] = []
    problems: list[Problem] = []
    for number, entry in enumerate(entries, start=1):
        try:
            articles.append(_feed_article(entry, number, feed_title, rel))
        except _Invalid as exc:
            problems.append(Problem(rel, None, f"feed entry {number}: {exc.reason}"))
    return Corpus(articles=tuple(articles), problems=tuple(problems))


def _feed_article(entry: Mapping[str, object], number: int, feed_title: str | None, rel: str) -> Article:
    title = _feed_text(entry.get("title"), entry.get("title_detail"))
    link = _string(entry.get("link"))
    source_info = entry.get("source")
    source = _feed_text(source_info.get("title"), None) if isinstance(source_info, dict) else None
    tags = [
        term
        for tag in _items(entry.get("tags"))
        if isinstance(tag, dict) and (term := _string(tag.get("term")) or _string(tag.get("label")))
    ]
    fields: dict[str, object] = {
        "id": _string(entry.get("id")) or link,
        "url": link,
        "source": source or feed_title,
        "tags": tags,
        "published": _feed_date(entry),
    }
    return _build(fields, title or "", _feed_body(entry), rel=rel, line=None, default_id=f"{rel}#{number}")


def _feed_date(entry: Mapping[str, object]) -> datetime | None:
    for name in ("published", "updated"):
        if entry.get(name) is None:
            continue
        parsed = entry.get(f"{name}_parsed")
        if not isinstance(parsed, tuple) or len(parsed) < 6:
            raise _Invalid(f"invalid date {entry.get(name)!r} in <{name}>")
        year, month, day, hour, minute, second = (int(part) for part in parsed[:6])
        try:
            # feedparser has already converted to UTC; leap seconds (60) do not fit a datetime.
            return datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
        except ValueError:
            raise _Invalid(f"invalid date {entry.get(name)!r} in <{name}>") from None
    return None


def _feed_body(entry: Mapping[str, object]) -> str:
    best: tuple[str, object] = ("", None)
    for content in _items(entry.get("content")):
        if isinstance(content, dict) and len(value := _string(content.get("value")) or "") > len(best[0]):
            best = (value, content)
    if not best[0]:
        best = (_string(entry.get("summary")) or "", entry.get("summary_detail"))
    return _feed_text(best[0], best[1], paragraphs=True) or ""


def _feed_text(value: object, detail: object, *, paragraphs: bool = False) -> str | None:
    text = _string(value)
    if text is None:
        return None
    kind = detail.get("type") if isinstance(detail, dict) else "text/html"
    chunks = _html_paragraphs(text) if isinstance(kind, str) and "html" in kind else _plain_paragraphs(text)
    return ("\n\n" if paragraphs else " ").join(chunks) or None


def _items(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []


def _string(value: object) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


class _HtmlText(HTMLParser):
    """Collects the text of an HTML fragment, with a paragraph break at every block element."""

    _BLOCKS = frozenset({"p", "div", "br", "li", "dt", "dd", "blockquote", "pre", "tr", "hr", "figcaption"})
    _SECTIONS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "header", "footer"})
    _HIDDEN = frozenset({"script", "style", "template", "head"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden += 1
        elif tag in self._BLOCKS or tag in self._SECTIONS:
            self.chunks.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self._BLOCKS or tag in self._SECTIONS:
            self.chunks.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.chunks.append(data)


def _html_paragraphs(markup: str) -> list[str]:
    parser = _HtmlText()
    parser.feed(markup)
    parser.close()
    return _plain_paragraphs("".join(parser.chunks))


# --------------------------------------------------------------------------- fields → Article


def _build(
    fields: Mapping[str, object], title: str, body: str, *, rel: str, line: int | None, default_id: str
) -> Article:
    if not title:
        raise _Invalid("missing title")
    article_id = _identifier(fields.get("id")) or default_id
    date_field = "published" if fields.get("published") is not None else "date"  # `date` as in Hugo/Jekyll
    published = _published(fields.get(date_field), date_field)
    source = _optional_text(fields, "source")
    url = _optional_text(fields, "url")
    tags = _tags(fields)
    if not body.strip():
        raise _Invalid("empty body: there is no article text")
    return Article(
        id=article_id,
        title=title,
        body=body,
        published=published,
        source=source,
        url=url,
        tags=tags,
        path=rel,
        line=line,
    )


def _title(fields: Mapping[str, object]) -> str:
    return _optional_text(fields, "title") or ""


def _optional_text(fields: Mapping[str, object], name: str) -> str | None:
    value = fields.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Invalid(f"'{name}' must be text, not {_kind(value)}")
    return " ".join(value.split()) or None


def _identifier(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # numeric ids are common in JSON exports
    if not isinstance(value, str):
        raise _Invalid(f"'id' must be text or a whole number, not {_kind(value)}")
    return value.strip() or None


def _published(value: object, name: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time(), tzinfo=UTC)  # a bare date means UTC midnight
    elif isinstance(value, str):
        moment = _parse_date(value, name)
    else:
        raise _Invalid(f"'{name}' must be a date, not {_kind(value)}")
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=UTC)


def _parse_date(text: str, name: str) -> datetime:
    cleaned = text.strip()
    try:
        return datetime.fromisoformat(cleaned)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(cleaned)  # RFC 2822, as in e-mail and RSS
    except (TypeError, ValueError, IndexError):
        hint = "use ISO 8601 such as 2024-05-01 or 2024-05-01T09:30:00+02:00"
        raise _Invalid(f"invalid date {cleaned!r} in '{name}'; {hint}") from None


def _tags(fields: Mapping[str, object]) -> tuple[str, ...]:
    tags: list[str] = []
    for name in ("topics", "tags"):
        value = fields.get(name)
        if value is None:
            continue
        if isinstance(value, str):
            items: list[str] = value.split(",")
        elif isinstance(value, list) and all(isinstance(item, str) for item in value):
            items = [str(item) for item in value]
        else:
            raise _Invalid(f"'{name}' must be a list of text or a comma-separated string")
        for item in items:
            tag = " ".join(item.split())
            if tag and tag not in tags:
                tags.append(tag)
    return tuple(tags)


def _kind(value: object) -> str:
    match value:
        case bool():
            return "true/false"
        case int() | float():
            return "a number"
        case list() | tuple():
            return "a list"
        case dict():
            return "a mapping"
        case datetime() | date():
            return "a date"
        case str():
            return "text"
        case _:
            return type(value).__name__


# --------------------------------------------------------------------------- duplicates


def _drop_duplicates(articles: list[Article], problems: list[Problem]) -> list[Article]:
    """Keep the first article per id and per normalised content (sorted path order), reporting the rest."""
    by_id: dict[str, Article] = {}
    by_content: dict[str, Article] = {}
    kept: list[Article] = []
    for article in articles:
        first = by_id.get(article.id)
        if first is not None:
            where = first.path if first.line is None else f"{first.path}:{first.line}"
            problems.append(
                Problem(article.path, article.line, f"duplicate id {article.id!r}, first used in {where}")
            )
            continue
        key = _key(f"{article.title}\n{article.body}")
        twin = by_content.get(key)
        if twin is not None:
            problems.append(
                Problem(
                    article.path, article.line, f"same title and text as article {twin.id!r}; kept that one"
                )
            )
            continue
        by_id[article.id] = article
        by_content[key] = article
        kept.append(article)
    return kept


def _key(text: str) -> str:
    return " ".join(text.casefold().split())
