"""Reading a corpus directory: walk it without leaving it, read each article file whole and settled,
fingerprint it; then hand the bytes to the pure parsers (formats.py) and drop duplicates.

The only part of the corpus package that does I/O: it lists directories, stats and reads files, and
sleeps a moment (once per load) to let files still being written settle. Synchronous; must not import
telegram, aiosqlite, asyncio, pydantic or any HTTP client.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from time import sleep

from bot.core.corpus.duplicates import drop_duplicates
from bot.core.corpus.fields import failed
from bot.core.corpus.formats import is_article_file, parse_file
from bot.core.models import Article, Corpus, Problem

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
READ_ATTEMPTS = 3  # a file still changing after this many reads is reported, not half-read
SETTLED_SECONDS = 1.0  # files modified more recently than this are read twice and compared…
SETTLE_PAUSE = 0.01  # …this far apart (one pause per load, however many such files there are)
CHANGING = "file kept changing while being read; it will be read at the next reload"
OUTSIDE = "now leads outside the corpus directory; not read"
SPECIAL = "not a regular file (a FIFO, socket or device); not read"

Progress = Callable[[int, int], None]


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
    loaded, read_problems = _read_all(candidates, max_bytes, progress)
    problems.extend(read_problems)
    articles = drop_duplicates(loaded, problems)
    problems.sort(key=lambda p: (p.path, p.line or 0))
    return Corpus(articles=tuple(articles), problems=tuple(problems))


@dataclass(frozen=True, slots=True)
class CorpusChanges:
    """What differs in a corpus directory from a known state of its files (see corpus_changes)."""

    stamps: dict[str, str]  # every article file now: relative path → "size:mtime_ns"
    touched: frozenset[str]  # files new, changed or gone since the known state
    articles: tuple[Article, ...]  # the articles of the new and changed files, in path order
    problems: tuple[Problem, ...]  # theirs, and the walk's
    fingerprint: str  # corpus_fingerprint of the directory as walked


def corpus_changes(
    root: Path, known: Mapping[str, str], *, max_bytes: int = DEFAULT_MAX_BYTES
) -> CorpusChanges:
    """Walk the corpus and read only the files whose stamp differs from `known` (or that are new).

    A file changing between the walk and its reading keeps the stamp of the walk, so the next call
    reads it again: a change is never missed, at worst read twice."""
    candidates, problems = _scan(root)
    stamps = {candidate.rel: _stamp_text(candidate.path) for candidate in candidates}
    touched = {rel for rel, stamp in stamps.items() if known.get(rel) != stamp} | (
        known.keys() - stamps.keys()
    )
    fingerprint = _fingerprint(candidates, stamps, problems)
    loaded, read_problems = _read_all([c for c in candidates if c.rel in touched], max_bytes, None)
    problems.extend(read_problems)
    problems.sort(key=lambda p: (p.path, p.line or 0))
    return CorpusChanges(stamps, frozenset(touched), tuple(loaded), tuple(problems), fingerprint)


def corpus_state(root: Path) -> tuple[dict[str, str], str]:
    """Every article file's "size:mtime_ns" by its relative path, and corpus_fingerprint, of one walk."""
    candidates, problems = _scan(root)
    stamps = {candidate.rel: _stamp_text(candidate.path) for candidate in candidates}
    return stamps, _fingerprint(candidates, stamps, problems)


def load_file(path: Path, root: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> Corpus:
    """Parse one file into articles and problems (no duplicate checks, no symlink checks)."""
    candidate = _Candidate(_relative(path, root), path)
    read = _read_candidate(candidate, max_bytes)
    if isinstance(read, Corpus):
        return read
    if read.recent:
        return _settle([(0, candidate, read)], max_bytes)[0]
    return _parse(candidate, read.data)


def corpus_fingerprint(root: Path) -> str:
    """A cheap hash of (path, size, mtime_ns) of every candidate file: changes when the corpus does."""
    return corpus_state(root)[1]


def _fingerprint(candidates: list[_Candidate], stamps: Mapping[str, str], problems: list[Problem]) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for candidate in candidates:
        digest.update(f"{candidate.rel}\0{stamps[candidate.rel]}\n".encode())
    for problem in problems:
        digest.update(f"!{problem.path}\0{problem.reason}\n".encode())
    return digest.hexdigest()


def _stamp_text(path: Path) -> str:
    try:
        stat = path.stat()
        return f"{stat.st_size}:{stat.st_mtime_ns}"
    except OSError as exc:
        return f"error:{exc.errno}"


def _read_all(
    candidates: list[_Candidate], max_bytes: int, progress: Progress | None
) -> tuple[list[Article], list[Problem]]:
    """Read and parse the files (recently modified ones again once they settle): articles in order."""
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
            results.append(read if isinstance(read, Corpus) else _parse(candidate, read.data))
        if progress is not None:
            progress(done, total)
    for index, result in _settle(recent, max_bytes).items():
        results[index] = result
    loaded = [article for result in results for article in result.articles]
    return loaded, [problem for result in results for problem in result.problems]


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
                elif entry.is_file(follow_symlinks=False) and is_article_file(entry.name):
                    candidates.append(_Candidate(rel, path, real_root))
                elif is_article_file(entry.name) and not entry.is_file(follow_symlinks=False):
                    problems.append(Problem(rel, None, SPECIAL))  # reading a FIFO would wait forever
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
        if target.is_dir() or is_article_file(path.name):
            problems.append(Problem(rel, None, "symlink leads outside the corpus directory; not followed"))
        return
    if target.is_dir():
        # Its files are already inside the root, so following it would only duplicate them or loop.
        return
    if not is_article_file(path.name):
        return
    if target.is_file():
        candidates.append(_Candidate(rel, path, real_root))
    elif not target.exists():
        problems.append(Problem(rel, None, "broken symlink"))
    else:
        problems.append(Problem(rel, None, SPECIAL))


def _relative(path: Path, root: Path) -> str:
    try:
        return _printable(path.relative_to(root).as_posix())
    except ValueError:
        return _printable(path.as_posix())


def _printable(name: str) -> str:
    """File names that are not valid UTF-8 arrive with surrogates; make them safe to print and send."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _over(max_bytes: int) -> str:
    """The size cap, with the setting that raises it (the operator's, read by bot/settings.py)."""
    return f"over the {max_bytes:,}-byte limit (raise NEWSBOT_MAX_FILE_MB to load it)"


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
            return failed(rel, None, f"file is {size:,} bytes, {_over(max_bytes)}")
        read = _read_once(path, max_bytes, candidate.root)
    except OSError as exc:
        return failed(rel, None, f"cannot read file: {_why(exc)}")
    if not isinstance(read, _Read):  # OUTSIDE or SPECIAL, or None: still changing
        return failed(rel, None, read or CHANGING)
    if len(read.data) > max_bytes:
        return failed(rel, None, f"file grew while being read, {_over(max_bytes)}")
    return read


def _read_once(path: Path, max_bytes: int, root: Path | None) -> _Read | str | None:
    """Read up to max_bytes + 1; None if the file changed during every attempt, OUTSIDE if what was
    opened is not (or no longer) a file inside `root`, SPECIAL if it is no regular file."""
    for _ in range(READ_ATTEMPTS):
        # O_NONBLOCK: a file swapped for a FIFO since the scan must not make the open wait for a writer.
        with os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC), "rb") as handle:
            opened = os.fstat(handle.fileno())
            if not stat.S_ISREG(opened.st_mode):
                return SPECIAL
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
                results[index] = _parse(candidate, read.data)
            else:
                changed.append((index, candidate, again))
        recent = changed
    for index, candidate, _ in recent:
        results[index] = failed(candidate.rel, None, CHANGING)
    return results


def _parse(candidate: _Candidate, data: bytes) -> Corpus:
    return parse_file(candidate.rel, candidate.path.suffix, data)


def _stamp(stat: os.stat_result) -> tuple[int, int]:
    # Not ctime: replacing the file (an atomic save) changes the old inode's ctime, not its content.
    return (stat.st_size, stat.st_mtime_ns)
