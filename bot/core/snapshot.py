"""Library snapshots on disk, so a restart with an unchanged corpus skips loading and indexing.

A snapshot is a directory of .npy arrays (memory-mapped on load, never pickled) and small JSON files,
named by a key over the corpus fingerprint, the topics file, the loader settings and the code that
builds libraries. Text lives in one UTF-8 byte array with offsets; articles are made on first use.
Must not import telegram, aiosqlite, asyncio or pydantic.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import secrets
import shutil
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

import bot.core.corpus.duplicates
import bot.core.corpus.feeds
import bot.core.corpus.fields
import bot.core.corpus.formats
import bot.core.corpus.jsonl
import bot.core.corpus.markdown
import bot.core.corpus.pages
import bot.core.corpus.scan
import bot.core.index
import bot.core.library
import bot.core.text
import bot.core.topics
from bot.core.corpus import corpus_changes, corpus_fingerprint
from bot.core.corpus.fields import EARLIEST, LATEST
from bot.core.index import BM25Index, load_array
from bot.core.library import (
    CorpusFile,
    LazySequence,
    Library,
    PassageTable,
    Progress,
    article_token,
    assemble_library,
    load_library,
)
from bot.core.models import Article, Problem, Topic
from bot.core.text import ANALYZER_VERSION
from bot.core.topics import MAX_TOPICS_BYTES, TopicMatcher

if TYPE_CHECKING:
    from bot.core.archive import Extension

SNAPSHOT_FORMAT = "newsbot-library"
SNAPSHOT_VERSION = 2  # 2: article and title indexes beside the passage index
KEEP_SNAPSHOTS = 3  # the newest few stay; older ones are removed after a save

_FIELDS = ("id", "title", "body", "source", "url", "path", "tags")  # text fields, in blob order
_NO_SOURCE, _NO_URL, _NO_DATE, _NO_LINE = 1, 2, 4, 8  # bits of the per-article "absent" flags
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY = 86_400


def _micros(moment: datetime) -> int:
    """Microseconds since 1970 (UTC), as stored."""
    delta = moment - _EPOCH
    return (delta.days * _DAY + delta.seconds) * 1_000_000 + delta.microseconds


_TEMP_PREFIX = ".tmp-"
_STALE_TEMP_SECONDS = 3600
# Modules whose code decides what a library holds: a change to any of them invalidates snapshots.
_CODE = (
    bot.core.corpus.duplicates,
    bot.core.corpus.feeds,
    bot.core.corpus.fields,
    bot.core.corpus.formats,
    bot.core.corpus.jsonl,
    bot.core.corpus.markdown,
    bot.core.corpus.pages,
    bot.core.corpus.scan,
    bot.core.index,
    bot.core.library,
    bot.core.text,
    bot.core.topics,
)


_INDEX_DIRECTORIES = ("index", "article_index", "title_index")  # passages, whole articles, titles


def _indexes(library: Library) -> dict[str, BM25Index]:
    indexes = (library.index, library.article_index, library.title_index)
    # A snapshot holds each index as one segment: segments are joined first (exact, like a fresh build).
    single = [index if isinstance(index, BM25Index) else index.single() for index in indexes]
    return dict(zip(_INDEX_DIRECTORIES, single, strict=True))


# The snapshot folder each loaded or saved library's indexes came from, by its article index (which a
# view's segment keeps): a saved view links such a segment instead of writing it again.
_SavedIn = tuple[Path, BM25Index, BM25Index]  # the folder, and the passage and title indexes beside
_SAVED_IN: weakref.WeakKeyDictionary[BM25Index, _SavedIn] = weakref.WeakKeyDictionary()


def saved_folder(index: BM25Index, passage_index: BM25Index, title_index: BM25Index) -> Path | None:
    """The snapshot folder holding exactly these three indexes (one library's), if one does."""
    found = _SAVED_IN.get(index)
    if found is None or found[1] is not passage_index or found[2] is not title_index:
        return None
    return found[0] if (found[0] / "header.json").is_file() else None


class SnapshotError(ValueError):
    """A snapshot directory that cannot be used (missing, corrupt, or written by other code)."""


def snapshot_key(corpus_dir: Path, topics_path: Path, *, max_file_bytes: int) -> str:
    """The name a snapshot of this corpus, topics file and loader setting is stored under."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(base_key(topics_path, max_file_bytes=max_file_bytes).encode())
    digest.update(corpus_fingerprint(corpus_dir).encode())
    return digest.hexdigest()


def base_key(topics_path: Path, *, max_file_bytes: int) -> str:
    """What a snapshot was built with, the corpus files aside: the code, the topics file, the loader
    setting. Snapshots of one base differ only in the corpus files they hold."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{SNAPSHOT_FORMAT}:{SNAPSHOT_VERSION}:{ANALYZER_VERSION}:{max_file_bytes}\n".encode())
    for module in _CODE:
        try:
            digest.update(Path(str(module.__file__)).read_bytes())
        except OSError:  # no source to read (a frozen install): the versions above must do
            digest.update(module.__name__.encode())
    digest.update(f"\0{topics_path}\0".encode("utf-8", "surrogateescape"))  # problems name the file
    try:
        if topics_path.is_file():  # never open a FIFO: it would wait for a writer
            digest.update(topics_path.read_bytes()[: MAX_TOPICS_BYTES + 1])
        else:
            digest.update(b"not a regular file")
    except OSError as error:
        digest.update(f"no topics file: {error.errno}".encode())
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Loaded:
    """A library with how it was obtained: from its snapshot or freshly built (and why, when it matters)."""

    library: Library
    from_snapshot: bool
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # how it was obtained, when it is worth a line in the log


def load_or_build(
    corpus_dir: Path,
    topics_path: Path,
    snapshot_dir: Path,
    *,
    max_file_bytes: int,
    progress: Progress | None = None,
) -> Loaded:
    """The library from its snapshot if there is a usable one, else loaded, indexed and saved."""
    key = snapshot_key(corpus_dir, topics_path, max_file_bytes=max_file_bytes)
    directory = snapshot_dir / key
    warnings: list[str] = []
    if directory.is_dir():
        try:
            return Loaded(load_snapshot(directory), from_snapshot=True)
        except SnapshotError as error:
            warnings.append(f"ignored the unusable snapshot {directory} ({error}); rebuilding")
            shutil.rmtree(directory, ignore_errors=True)
    earlier = _latest_of_base(snapshot_dir, base_key(topics_path, max_file_bytes=max_file_bytes))
    if earlier is not None:
        updated = _brought_up_to_date(earlier, corpus_dir, max_file_bytes)
        if updated is not None:
            return updated
    library = load_library(corpus_dir, topics_path, max_file_bytes=max_file_bytes, progress=progress)
    try:
        save_snapshot(library, snapshot_dir, key, base=base_key(topics_path, max_file_bytes=max_file_bytes))
    except OSError as error:
        warnings.append(
            f"could not save a snapshot in {snapshot_dir}: {error} (set NEWSBOT_SNAPSHOT_DIR to a writable "
            "directory; without a snapshot every start indexes the corpus again)"
        )
    return Loaded(library, from_snapshot=False, warnings=tuple(warnings))


@dataclass(frozen=True, slots=True)
class Changed:
    """A view brought up to date with the corpus files (see read_changed_files)."""

    extension: Extension
    files: int  # how many files were new, changed or gone


# Past this share of the corpus files changed, a fresh build (which also saves its snapshot) beats
# bringing an older snapshot up to date file by file.
UPDATE_AT_MOST_SHARE = 0.5


def _latest_of_base(snapshot_dir: Path, base: str) -> Path | None:
    """The newest whole snapshot built with the same code, topics and settings (any corpus state)."""
    found: list[tuple[str, Path]] = []
    try:
        entries = list(snapshot_dir.iterdir())
    except OSError:
        return None
    for entry in entries:
        try:
            header = json.loads((entry / "header.json").read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(header, dict) and header.get("base") == base:
            found.append((str(header.get("created", "")), entry))
    return max(found)[1] if found else None


def read_changed_files(library: Library, corpus_dir: Path, *, max_file_bytes: int) -> Changed | None:
    """The view with the corpus files changed since it read them read again (a new segment of each
    index; see bot.core.archive.apply_changes); None when the view does not know its files or more than
    UPDATE_AT_MOST_SHARE of them changed (a fresh build is then the cheaper way)."""
    from bot.core.archive import apply_changes  # (archive imports the library, as this module does)

    if not library.files:
        return None
    known = {rel: record.stamp for rel, record in library.files.items()}
    changes = corpus_changes(corpus_dir, known, max_bytes=max_file_bytes)
    if len(changes.touched) > UPDATE_AT_MOST_SHARE * max(len(changes.stamps), 1):
        return None
    return Changed(apply_changes(library, changes), len(changes.touched))


def _brought_up_to_date(directory: Path, corpus_dir: Path, max_file_bytes: int) -> Loaded | None:
    """An older snapshot of the corpus with the files changed since read again: a restart after a few
    new files is a load and a small read, not a rebuild. None when the snapshot cannot be used or too
    much changed."""
    try:
        library = load_snapshot(directory)
    except SnapshotError:
        return None
    changed = read_changed_files(library, corpus_dir, max_file_bytes=max_file_bytes)
    if changed is None:
        return None
    updated = changed.extension.library
    count = changed.files
    note = (
        f"loaded the snapshot {directory.name} and brought it up to date: "
        f"{count} corpus file{'' if count == 1 else 's'} changed since"
    )
    return Loaded(updated, from_snapshot=True, notes=(note,))


def build_snapshot(corpus_dir: Path, topics_path: Path, snapshot_dir: Path, *, max_file_bytes: int) -> str:
    """Make sure a usable snapshot of the corpus exists (building it if not); returns its key.

    Meant for a child process: the parent then loads the snapshot, which takes a moment, instead of
    spending the build's CPU time under its own interpreter lock.
    """
    key = snapshot_key(corpus_dir, topics_path, max_file_bytes=max_file_bytes)
    directory = snapshot_dir / key
    if directory.is_dir():
        try:
            load_snapshot(directory)
            return key
        except SnapshotError:
            shutil.rmtree(directory, ignore_errors=True)
    library = load_library(corpus_dir, topics_path, max_file_bytes=max_file_bytes)
    save_snapshot(library, snapshot_dir, key, base=base_key(topics_path, max_file_bytes=max_file_bytes))
    return key


# --------------------------------------------------------------------------- writing


def save_snapshot(
    library: Library, root: Path, key: str, *, keep: int = KEEP_SNAPSHOTS, base: str | None = None
) -> Path:
    """Write the library under root/key (to a temporary directory first, then one rename). `base` is
    the key of what it was built with, the corpus aside (see base_key): a snapshot of the same base can
    be brought up to date file by file."""
    root.mkdir(parents=True, exist_ok=True)
    temporary = root / f"{_TEMP_PREFIX}{key}-{os.getpid()}-{secrets.token_hex(4)}"
    temporary.mkdir()
    try:
        write_library(library, temporary, key, base)
        final = root / key
        try:
            temporary.rename(final)
        except OSError:
            if not (final / "header.json").is_file():
                raise
            shutil.rmtree(temporary, ignore_errors=True)  # another process saved the same snapshot
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    _prune(root, keep=keep, current=final)
    indexes = (library.article_index, library.index, library.title_index)
    if all(isinstance(index, BM25Index) for index in indexes):
        _SAVED_IN[library.article_index] = (final, library.index, library.title_index)  # type: ignore[index,assignment]
    return final


def write_library(library: Library, directory: Path, key: str, base: str | None = None) -> None:
    """Write the library's snapshot files into an existing, empty directory named `key` (header.json,
    the file that marks a snapshot whole, last). Callers write to a temporary name and rename."""
    articles = library.articles
    n = len(articles)
    pieces: list[bytes] = []
    lengths = np.zeros(len(_FIELDS) * n, dtype=np.int64)
    absent = np.zeros(n, dtype=np.uint8)
    published = np.zeros(n, dtype=np.int64)
    utc_offset = np.zeros(n, dtype=np.int32)
    line = np.zeros(n, dtype=np.int64)
    columns: list[list[bytes]] = [[] for _ in _FIELDS]
    for i, article in enumerate(articles):
        texts = (
            article.id,
            article.title,
            article.body,
            article.source or "",
            article.url or "",
            article.path,
            json.dumps(list(article.tags), ensure_ascii=False) if article.tags else "",
        )
        for column, value in zip(columns, texts, strict=True):
            column.append(value.encode("utf-8"))
        flags = (_NO_SOURCE if article.source is None else 0) | (_NO_URL if article.url is None else 0)
        if article.published is None:
            flags |= _NO_DATE
        else:
            published[i] = _micros(article.published)
            offset = article.published.utcoffset()
            utc_offset[i] = 0 if offset is None else int(offset.total_seconds())
        if article.line is None:
            flags |= _NO_LINE
        else:
            line[i] = article.line
        absent[i] = flags
    for f, column in enumerate(columns):
        lengths[f * n : (f + 1) * n] = np.fromiter(map(len, column), dtype=np.int64, count=n)
        pieces.extend(column)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    text = np.frombuffer(b"".join(pieces), dtype=np.uint8)
    del pieces, columns
    slugs = [topic.slug for topic in library.topics]
    slug_index = {slug: j for j, slug in enumerate(slugs)}
    topic_counts = np.fromiter(map(len, library.article_topics), dtype=np.int64, count=n)
    topic_indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(topic_counts, out=topic_indptr[1:])
    topic_ids = np.fromiter(
        (slug_index[slug] for slugs_of in library.article_topics for slug in slugs_of),
        dtype=np.int32,
        count=int(topic_indptr[-1]),
    )
    tokens = np.array([article_token(article.id) for article in articles], dtype="S12").reshape(n)
    arrays: dict[str, npt.NDArray[Any]] = {
        "text": text,
        "offsets": offsets,
        "absent": absent,
        "published": published,
        "utc_offset": utc_offset,
        "line": line,
        "tokens": tokens,
        "recency": np.asarray(library.recency_rank, dtype=np.int64),
        "passage_article": np.asarray(library.passages.owners, dtype=np.int32),
        "passage_start": np.asarray(library.passages.starts, dtype=np.int32),
        "passage_end": np.asarray(library.passages.ends, dtype=np.int32),
        "topic_indptr": topic_indptr,
        "topic_ids": topic_ids,
    }
    for name, array in arrays.items():
        np.save(directory / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)
    for name, index in _indexes(library).items():
        index.save(directory / name)
    meta = {
        "topics": [
            {"slug": t.slug, "name": t.name, "aliases": list(t.aliases), "description": t.description}
            for t in library.topics
        ],
        "problems": [[p.path, p.line, p.reason] for p in library.problems],
        "files": {rel: [record.stamp, list(record.ids)] for rel, record in library.files.items()},
    }
    (directory / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")
    header = {
        "format": SNAPSHOT_FORMAT,
        "version": SNAPSHOT_VERSION,
        "key": key,
        "base": base or "",
        "fingerprint": library.fingerprint,
        "articles": n,
        "passages": len(library.passages),
        "text_bytes": len(text),
        "topic_links": int(topic_indptr[-1]),
        "build_seconds": library.build_seconds,
        "created": datetime.now(UTC).isoformat(),
    }
    (directory / "header.json").write_text(json.dumps(header, indent=1), "utf-8")  # last: marks it whole


def _prune(root: Path, *, keep: int, current: Path) -> None:
    """Remove all but the newest `keep` snapshots (never `current`) and stale temporary directories."""
    snapshots: list[tuple[float, Path]] = []
    now = time.time()
    for entry in root.iterdir():
        try:
            if not entry.is_dir():
                continue
            if entry.name.startswith(_TEMP_PREFIX):
                if now - entry.stat().st_mtime > _STALE_TEMP_SECONDS:
                    shutil.rmtree(entry, ignore_errors=True)
            elif (entry / "header.json").is_file():
                snapshots.append(((entry / "header.json").stat().st_mtime, entry))
        except OSError:
            continue
    snapshots.sort(reverse=True)
    for _, entry in snapshots[max(keep, 1) :]:
        if entry != current:
            shutil.rmtree(entry, ignore_errors=True)


# --------------------------------------------------------------------------- reading


class ArticleTable(LazySequence[Article]):
    """The articles of a snapshot, each made from the memory-mapped text the first time it is read."""

    _item_name = "article"

    def __init__(
        self,
        text: npt.NDArray[np.uint8],
        offsets: npt.NDArray[np.int64],
        absent: npt.NDArray[np.uint8],
        published: npt.NDArray[np.int64],
        utc_offset: npt.NDArray[np.int32],
        line: npt.NDArray[np.int64],
    ) -> None:
        self._text = text
        self._offsets = offsets
        self._absent = absent
        self._published = published
        self._utc_offset = utc_offset
        self._line = line
        self._count = len(absent)
        self._made: list[Article | None] = [None] * self._count
        self.ids = self._column(0)
        # Where each field of article 0 starts and ends in `offsets` (add the article's position): one
        # numpy read gives all of an article's bounds; the text is decoded straight from the mapping.
        fields = np.arange(len(_FIELDS), dtype=np.int64) * self._count
        self._bounds_at = np.stack([fields, fields + 1], axis=1).ravel()
        self._view = np.ascontiguousarray(text).data  # (a memoryview of the mapping itself: no copy)

    def _column(self, field: int) -> list[str]:
        """One text field of every article, decoded in one go."""
        n = self._count
        bounds = self._offsets[field * n : (field + 1) * n + 1]
        base = int(bounds[0])
        data = self._text[base : int(bounds[-1])].tobytes()
        cuts = (bounds - base).tolist()
        return [data[a:b].decode("utf-8", "replace") for a, b in itertools.pairwise(cuts)]

    def __len__(self) -> int:
        return self._count

    def _at(self, index: int) -> Article:
        article = self._made[index]
        if article is None:
            article = self._make(index)
            self._made[index] = article
        return article

    def __iter__(self) -> Iterator[Article]:
        for i in range(self._count):
            yield self[i]

    def _make(self, i: int) -> Article:
        flags = int(self._absent[i])
        published = None
        if not flags & _NO_DATE:
            offset = int(self._utc_offset[i])
            zone = UTC if offset == 0 else timezone(timedelta(seconds=offset))
            published = (_EPOCH + timedelta(microseconds=int(self._published[i]))).astimezone(zone)
        bounds = self._offsets[self._bounds_at + i].tolist()
        view = self._view
        title, body, source, url, path, tags = (  # (the id is read already)
            str(view[bounds[2 * f] : bounds[2 * f + 1]], "utf-8", "replace") for f in range(1, len(_FIELDS))
        )
        return Article(
            id=self.ids[i],
            title=title,
            body=body,
            published=published,
            source=None if flags & _NO_SOURCE else source,
            url=None if flags & _NO_URL else url,
            tags=tuple(json.loads(tags)) if tags else (),
            path=path,
            line=None if flags & _NO_LINE else int(self._line[i]),
        )


def load_snapshot(directory: Path) -> Library:
    """The library saved in directory; SnapshotError if it is missing, corrupt or of another version."""
    started = time.perf_counter()
    try:
        header = json.loads((directory / "header.json").read_text("utf-8"))
        if not isinstance(header, dict) or header.get("format") != SNAPSHOT_FORMAT:
            raise SnapshotError("not a library snapshot")
        if header.get("version") != SNAPSHOT_VERSION or header.get("key") != directory.name:
            raise SnapshotError(f"written for another version or key ({header.get('version')!r})")
        meta = json.loads((directory / "meta.json").read_text("utf-8"))
        arrays = {
            name: load_array(directory / f"{name}.npy")
            for name in (
                "text",
                "offsets",
                "absent",
                "published",
                "utc_offset",
                "line",
                "tokens",
                "recency",
                "passage_article",
                "passage_start",
                "passage_end",
                "topic_indptr",
                "topic_ids",
            )
        }
        n, m = int(header["articles"]), int(header["passages"])
        topics = tuple(
            Topic(
                slug=str(t["slug"]),
                name=str(t["name"]),
                aliases=tuple(map(str, t["aliases"])),
                description=str(t["description"]),
            )
            for t in meta["topics"]
        )
        problems = tuple(
            Problem(str(path), None if line is None else int(line), str(reason))
            for path, line, reason in meta["problems"]
        )
        files = {
            str(rel): CorpusFile(str(stamp), tuple(map(str, ids)))
            for rel, (stamp, ids) in dict(meta.get("files", {})).items()
        }
        _check(arrays, header, n, m, len(topics))
        index, article_index, title_index = (
            BM25Index.load(directory / name, mmap=True) for name in _INDEX_DIRECTORIES
        )
        if index.num_docs != m:
            raise SnapshotError(f"index of {index.num_docs} passages, expected {m}")
        if article_index.num_docs != n or title_index.num_docs != n:
            raise SnapshotError(f"article indexes of {article_index.num_docs} articles, expected {n}")
        articles = ArticleTable(
            arrays["text"],
            arrays["offsets"],
            arrays["absent"],
            arrays["published"],
            arrays["utc_offset"],
            arrays["line"],
        )
        slugs = [topic.slug for topic in topics]
        indptr = arrays["topic_indptr"].tolist()
        topic_ids = arrays["topic_ids"].tolist()
        article_topics = tuple(
            tuple(slugs[j] for j in topic_ids[a:b]) if b > a else () for a, b in itertools.pairwise(indptr)
        )
        passages = PassageTable(
            articles, arrays["passage_article"], arrays["passage_start"], arrays["passage_end"]
        )
        tokens = [token.decode("ascii") for token in arrays["tokens"].tolist()]
    except SnapshotError:
        raise
    except Exception as error:  # whatever a damaged or foreign snapshot makes fail: rebuild instead
        raise SnapshotError(f"{type(error).__name__}: {error}") from error
    _SAVED_IN[article_index] = (directory, index, title_index)
    return assemble_library(
        articles,
        TopicMatcher(topics),
        passages,
        (index, article_index, title_index),
        article_topics,
        problems=problems,
        fingerprint=str(header.get("fingerprint", "")),
        files=files,
        build_seconds=time.perf_counter() - started,
        recency_rank=np.asarray(arrays["recency"]),
        article_ids=articles.ids,
        article_tokens=tokens,
    )


def _in_calendar(published: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    inside: npt.NDArray[np.bool_] = (published >= _micros(EARLIEST)) & (published <= _micros(LATEST))
    return inside


def _check(arrays: dict[str, npt.NDArray[Any]], header: dict[str, Any], n: int, m: int, topics: int) -> None:
    """Shapes, types and cheap invariants, so a damaged snapshot fails here and not mid-answer."""
    offsets = arrays["offsets"]
    owners = arrays["passage_article"]
    starts, ends = arrays["passage_start"], arrays["passage_end"]
    topic_indptr, topic_ids = arrays["topic_indptr"], arrays["topic_ids"]
    checks = {
        "text": arrays["text"].dtype == np.uint8 and arrays["text"].shape == (int(header["text_bytes"]),),
        "offsets": offsets.dtype == np.int64 and offsets.shape == (len(_FIELDS) * n + 1,),
        "flags": all(
            arrays[name].shape == (n,) for name in ("absent", "published", "utc_offset", "line", "tokens")
        ),
        "tokens": arrays["tokens"].dtype == np.dtype("S12"),
        "recency": arrays["recency"].dtype == np.int64 and arrays["recency"].shape == (n,),
        "passages": all(a.dtype == np.int32 and a.shape == (m,) for a in (owners, starts, ends)),
        "topic links": topic_indptr.shape == (n + 1,) and topic_ids.shape == (int(header["topic_links"]),),
    }
    failed = [name for name, ok in checks.items() if not ok]
    if failed:
        raise SnapshotError(f"arrays do not match the header: {', '.join(failed)}")
    values = {
        "offsets": int(offsets[0]) == 0
        and int(offsets[-1]) == len(arrays["text"])
        and bool(np.all(offsets[1:] >= offsets[:-1])),
        "recency": n == 0 or (int(arrays["recency"].min()) == 0 and int(arrays["recency"].max()) == n - 1),
        "passage owners": m == 0
        or (int(owners[0]) >= 0 and int(owners[-1]) < n and bool(np.all(owners[1:] >= owners[:-1]))),
        "passage spans": bool(np.all(starts <= ends)) and (m == 0 or int(starts.min()) >= 0),
        # Every date inside the calendar and every zone within a day of UTC, or an article would fail
        # only when first read, in the middle of an answer.
        "dates": bool(np.all((arrays["absent"] & _NO_DATE).astype(bool) | _in_calendar(arrays["published"]))),
        "zones": bool(np.all(np.abs(arrays["utc_offset"].astype(np.int64)) < _DAY)),
        "topic links": int(topic_indptr[0]) == 0
        and bool(np.all(topic_indptr[1:] >= topic_indptr[:-1]))
        and (len(topic_ids) == 0 or (int(topic_ids.min()) >= 0 and int(topic_ids.max()) < topics)),
    }
    failed = [name for name, ok in values.items() if not ok]
    if failed:
        raise SnapshotError(f"inconsistent arrays: {', '.join(failed)}")
