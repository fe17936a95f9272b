"""The archive's view on disk, segment by segment, so a restart maps what the bot held instead of reading
the corpus changes and analysing the fetched articles again.

Beside the whole-corpus snapshots (bot.core.snapshot), the snapshot directory holds a `view-<base>` folder
for each base (bot.core.snapshot.base_key: the code, topics file and loader settings a view was built
with), holding:

- `seg-NNNNNN/`: one segment of the view's three indexes as a library snapshot of its own (its articles,
  their passages, its part of each index), memory-mapped on load. It is written under a temporary name
  and renamed once whole, and never changed afterwards. A segment loaded from a whole snapshot is
  hard-linked from it, not copied.
- `files-NNNNNN.json`: the corpus files the view holds (their stamps and article ids), written when they
  change; `recency-NNNNNN.npy`: the view's articles' order by date, written with each manifest.
- `manifest.json`: the segments in order with the articles of each that are dead, the files' record and
  the view's problems and corpus fingerprint. It is replaced atomically (written, flushed, renamed), and
  only once everything it names is on disk.

A crash at any point leaves the previous manifest and everything it names, so a restart maps a
consistent earlier view; what came after it is found again (changed corpus files by their stamps, fetched
articles in the store) and alerted exactly once, since the store keeps which articles were seen. Folders
and files the manifest does not name are removed at the next save.
Must not import telegram, aiosqlite, asyncio or pydantic.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import secrets
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.core.archive import assemble_view, rewrite_segments, segment_library
from bot.core.index import BM25Index
from bot.core.library import CorpusFile, Library
from bot.core.models import Problem
from bot.core.segments import SegmentedIndex
from bot.core.snapshot import SnapshotError, load_snapshot, saved_folder, write_library

VIEW_PREFIX = "view-"
MANIFEST = "manifest.json"
_FORMAT = "newsbot-view"
_VERSION = 1
_SEGMENT_PREFIX = "seg-"
_FILES_PREFIX = "files-"
_RECENCY_PREFIX = "recency-"  # the view's order by date, newest first (a sort that would read every article)
_TEMP_PREFIX = ".tmp-"
_WRITER_LOCK = ".writer.lock"
KEEP_VIEWS = 3  # views of other bases (older code or topics) kept, newest first


class NoSavedView(SnapshotError):
    """Nothing was saved in this folder yet."""


class ViewTaken(OSError):
    """Another process saves views in this folder (it holds the writer's lock)."""


class SavedView:
    """The view-<base> folder of a snapshot directory: the view saved there, and saving the current one.

    Remembers which segments of the views it saved or loaded are on disk already, so each save writes only
    what is new (a new batch, a merged segment) and the manifest. Not thread-safe: one caller at a time.
    """

    def __init__(self, snapshot_dir: Path, base: str) -> None:
        self.root = snapshot_dir
        self.directory = snapshot_dir / f"{VIEW_PREFIX}{base}"
        self.base = base
        # Segments on disk: the article index of each (what a view's segment keeps) and its folder.
        self._on_disk: list[tuple[BM25Index, str]] = []
        self._files: tuple[object, str] | None = None  # the files mapping last written, and its file
        self._lock = threading.Lock()  # (a save left running by a cancelled caller never overlaps the next)
        self._writer: int | None = None  # the writer lock's file, held once the first save claims it

    # --------------------------------------------------------------------------- loading

    def load(self) -> Library:
        """The view last saved here, its segments memory-mapped; SnapshotError when there is none or it
        cannot be used (then the caller builds the view another way)."""
        try:
            manifest = json.loads((self.directory / MANIFEST).read_text("utf-8"))
        except FileNotFoundError as error:
            raise NoSavedView("no saved view") from error
        except (OSError, ValueError) as error:
            raise SnapshotError(f"unreadable manifest: {error}") from error
        try:
            if manifest.get("format") != _FORMAT or manifest.get("version") != _VERSION:
                raise SnapshotError("a manifest of another format or version")
            if manifest.get("base") != self.base:
                raise SnapshotError("a manifest of another base")
            segments: list[Library] = []
            dead: list[npt.NDArray[np.bool_] | None] = []
            for entry in manifest["segments"]:
                name = str(entry["name"])
                library = load_snapshot(self.directory / name)
                marks = np.asarray(entry["dead"], dtype=np.int64)
                if marks.size and (int(marks.min()) < 0 or int(marks.max()) >= library.article_count):
                    raise SnapshotError(f"dead articles outside segment {name}")
                flags = None
                if marks.size:
                    flags = np.zeros(library.article_count, dtype=bool)
                    flags[marks] = True
                segments.append(library)
                dead.append(flags)
            files_name = str(manifest["files"])
            files_record = json.loads((self.directory / files_name).read_text("utf-8"))
            files = {
                str(rel): CorpusFile(str(stamp), tuple(map(str, ids)))
                for rel, (stamp, ids) in files_record.items()
            }
            problems = tuple(
                Problem(str(path), None if line is None else int(line), str(reason))
                for path, line, reason in manifest["problems"]
            )
            recency = np.load(self.directory / str(manifest["recency"]), allow_pickle=False)
            live = sum(s.article_count for s in segments) - sum(int(f.sum()) for f in dead if f is not None)
            if recency.dtype != np.int64 or recency.shape != (live,):
                raise SnapshotError("the saved recency order does not fit the segments")
            view = assemble_view(segments, dead, recency_rank=recency)
        except SnapshotError:
            raise
        except Exception as error:  # whatever a damaged or foreign folder makes fail: build instead
            raise SnapshotError(f"{type(error).__name__}: {error}") from error
        indexes = [segment.article_index for segment in segments]
        self._on_disk = [
            (index, str(entry["name"]))
            for index, entry in zip(indexes, manifest["segments"], strict=True)
            if isinstance(index, BM25Index)
        ]
        self._files = (files, files_name)
        return view.updated(files=files, problems=problems, fingerprint=str(manifest.get("fingerprint", "")))

    # --------------------------------------------------------------------------- saving

    def save(self, view: Library) -> Library:
        """Bring the folder to this view: write the segments not on disk yet, then the manifest; then
        remove what the manifest no longer names. Returns the view saved: this one, or the same articles
        with a segment rewritten when it had dead articles before it was ever saved (a dead article's
        text is no longer in the view), which the caller may swap in. OSError when the disk refuses
        (the previous manifest then still stands); ValueError when the view cannot be saved segment by
        segment."""
        with self._lock:
            self._claim()
            return self._save(view)

    def close(self) -> None:
        """Let go of the writer lock (at shutdown; a process that ends lets go of it anyway)."""
        with self._lock:
            if self._writer is not None:
                os.close(self._writer)
                self._writer = None

    def _claim(self) -> None:
        """Hold the folder's writer lock for the life of the process (ViewTaken when another process
        holds it): two writers would remove each other's segments."""
        if self._writer is not None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.directory / _WRITER_LOCK, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            os.close(descriptor)
            raise ViewTaken(f"another process saves views in {self.directory}") from error
        except BaseException:
            os.close(descriptor)
            raise
        self._writer = descriptor

    def _save(self, view: Library) -> Library:
        self.directory.mkdir(parents=True, exist_ok=True)
        known = {id(index): name for index, name in self._on_disk}
        unsaved_dead = [
            number
            for number, (article_index, dead) in enumerate(_segments_of(view))
            if id(article_index) not in known
            and saved_folder(article_index, *_other_parts(view, number)) is None
            and _has_dead(view, number)
        ]
        view = rewrite_segments(view, unsaved_dead)
        parts = _segments_of(view)
        next_number = self._next_number()
        entries: list[dict[str, Any]] = []
        on_disk: list[tuple[BM25Index, str]] = []
        for number, (article_index, dead) in enumerate(parts):
            if article_index.num_docs == 0:  # (a merge left it empty: nothing to map back)
                continue
            name = known.get(id(article_index))
            if name is None:
                name = f"{_SEGMENT_PREFIX}{next_number:06d}"
                next_number += 1
                passage_index, title_index = _other_parts(view, number)
                source = saved_folder(article_index, passage_index, title_index)
                if source is not None:
                    self._link(source, name)
                else:
                    self._write(segment_library(view, number), name)
            entries.append({"name": name, "dead": [] if dead is None else np.flatnonzero(dead).tolist()})
            on_disk.append((article_index, name))
        files_name = self._save_files(view, next_number)
        recency_name = f"{_RECENCY_PREFIX}{next_number:06d}.npy"
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(view.recency_rank, dtype=np.int64), allow_pickle=False)
        _replace(self.directory / recency_name, buffer.getvalue())
        manifest = {
            "format": _FORMAT,
            "version": _VERSION,
            "base": self.base,
            "segments": entries,
            "files": files_name,
            "recency": recency_name,
            "problems": [[p.path, p.line, p.reason] for p in view.problems],
            "fingerprint": view.fingerprint,
            "articles": view.article_count,
            "saved": time.time(),
        }
        _replace(self.directory / MANIFEST, json.dumps(manifest, ensure_ascii=False).encode("utf-8"))
        self._on_disk = on_disk
        self._tidy({entry["name"] for entry in entries} | {files_name, recency_name, MANIFEST, _WRITER_LOCK})
        self._prune_other_views()
        return view

    def _next_number(self) -> int:
        numbers = [0]
        for entry in _entries(self.directory):
            for prefix in (_SEGMENT_PREFIX, _FILES_PREFIX, _RECENCY_PREFIX):
                stem = entry.name.removeprefix(prefix).removesuffix(".json").removesuffix(".npy")
                if entry.name.startswith(prefix) and stem.isdigit():
                    numbers.append(int(stem) + 1)
        return max(numbers)

    def _save_files(self, view: Library, number: int) -> str:
        """The file holding the view's corpus-files record: the last one when the record is the same."""
        last = self._files
        if last is not None and last[0] is view.files and (self.directory / last[1]).is_file():
            return last[1]
        name = f"{_FILES_PREFIX}{number:06d}.json"
        record = {rel: [record.stamp, list(record.ids)] for rel, record in view.files.items()}
        _replace(self.directory / name, json.dumps(record, ensure_ascii=False).encode("utf-8"))
        self._files = (view.files, name)
        return name

    def _write(self, segment: Library, name: str) -> None:
        """A segment's snapshot, written whole under a temporary name, flushed, then renamed."""
        temporary = self._temporary(name)
        try:
            write_library(segment, temporary, name)
            _flush_tree(temporary)
            temporary.rename(self.directory / name)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise

    def _link(self, source: Path, name: str) -> None:
        """A whole snapshot's files hard-linked as a segment (copied where links are refused); its
        header is rewritten for the new name, last."""
        temporary = self._temporary(name)
        try:
            for path in sorted(source.rglob("*")):
                target = temporary / path.relative_to(source)
                if path.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                elif path != source / "header.json":
                    target.parent.mkdir(parents=True, exist_ok=True)
                    try:
                        os.link(path, target)
                    except OSError:
                        shutil.copy2(path, target)
            header = json.loads((source / "header.json").read_text("utf-8"))
            header["key"] = name
            (temporary / "header.json").write_text(json.dumps(header, indent=1), "utf-8")
            _flush_tree(temporary)
            temporary.rename(self.directory / name)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise

    def _temporary(self, name: str) -> Path:
        temporary = self.directory / f"{_TEMP_PREFIX}{name}-{os.getpid()}-{secrets.token_hex(4)}"
        temporary.mkdir()
        return temporary

    def _tidy(self, named: set[str]) -> None:
        """Remove the segments and files the manifest no longer names, and temporary leftovers."""
        for entry in _entries(self.directory):
            if entry.name in named:
                continue
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    entry.unlink()

    def _prune_other_views(self) -> None:
        """Keep the KEEP_VIEWS newest views of other bases; older ones will not be loaded again."""
        others: list[tuple[float, Path]] = []
        for entry in _entries(self.root):
            if entry.name.startswith(VIEW_PREFIX) and entry != self.directory:
                try:
                    others.append(((entry / MANIFEST).stat().st_mtime, entry))
                except OSError:
                    others.append((0.0, entry))
        others.sort(reverse=True)
        for _, entry in others[KEEP_VIEWS:]:
            shutil.rmtree(entry, ignore_errors=True)


def _segments_of(view: Library) -> list[tuple[BM25Index, npt.NDArray[np.bool_] | None]]:
    """Each segment of the view's article index, with its dead flags (None: all live)."""
    index = view.article_index
    if isinstance(index, BM25Index):
        return [(index, None)]
    return [(segment.index, segment.dead) for segment in index.segments]


def _has_dead(view: Library, number: int) -> bool:
    """Whether segment `number` of any of the view's indexes holds dead documents."""
    return any(
        isinstance(index, SegmentedIndex) and index.segments[number].dead_count > 0
        for index in (view.index, view.article_index, view.title_index)
    )


def _other_parts(view: Library, number: int) -> tuple[BM25Index, BM25Index]:
    """Segment `number` of the view's passage and title indexes."""
    found: list[BM25Index] = []
    for index in (view.index, view.title_index):
        found.append(index.segments[number].index if isinstance(index, SegmentedIndex) else index)
    return found[0], found[1]


def _entries(directory: Path) -> Iterator[Path]:
    try:
        yield from list(directory.iterdir())
    except OSError:
        return


def _replace(path: Path, data: bytes) -> None:
    """Write a file whole or not at all: a temporary file, flushed to disk, renamed over the old one."""
    temporary = path.with_name(f"{_TEMP_PREFIX}{path.name}-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    _flush_directory(path.parent)


def _flush_tree(directory: Path) -> None:
    """Flush a freshly written folder's files to disk before it is renamed into use."""
    for path in directory.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    _flush_directory(directory)


def _flush_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):  # (not every file system lets a directory be opened for this)
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
