"""The running bot's shared state: settings, store, the current library snapshot, corpus reloads, the
corpus watcher, articles fetched from sources joining the view, and ingesting new articles (which queues
their alerts).

The library is the archive: the corpus folder plus the articles stored from sources. A reload reads the
corpus files that changed and makes a new view with them (a new segment of each index; `/reload full`
rebuilds everything, a big corpus in a child process), then swaps it in with one assignment; readers
holding the old view finish with it undisturbed. New fetched articles go through one step, `extend_view`
(new articles in → new library view out), then are ingested; small segments are merged afterwards.
Knows nothing of Telegram: the handlers (bot.tg) render and reply, and the alert worker is woken through
on_new_alerts.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.core.archive import extend_library, merge_segments, with_fetched
from bot.core.corpus import corpus_fingerprint
from bot.core.interests import Subscription, match_interests
from bot.core.library import Library, Progress
from bot.core.models import Article, Problem
from bot.core.saved_view import NoSavedView, SavedView
from bot.core.snapshot import (
    SnapshotError,
    base_key,
    build_snapshot,
    load_or_build,
    read_changed_files,
    snapshot_key,
)
from bot.core.stories import Story, StoryIndex, StoryRecord
from bot.settings import Settings
from bot.store import IngestResult, Store

log = logging.getLogger(__name__)

LibraryLoader = Callable[[Settings], Library]


# From this much corpus text on, /reload builds in a child process: a build is Python-heavy work that
# would hold the interpreter lock (and so the event loop) for seconds if it ran in a thread.
PROCESS_BUILD_FROM_BYTES = 1 << 20


def load_configured_library(settings: Settings, progress: Progress | None = None) -> Library:
    """The configured corpus as a library: from its snapshot if unchanged, else built and saved (blocking)."""
    started = time.perf_counter()
    loaded = load_or_build(
        settings.corpus_dir,
        settings.topics_path,
        settings.snapshot_dir,
        max_file_bytes=settings.max_file_bytes,
        progress=progress,
    )
    for warning in loaded.warnings:
        log.warning("%s", warning)
    for note in loaded.notes:
        log.info("%s", note)
    library = loaded.library.updated(min_relevance=settings.min_relevance)
    log.info(
        "%s %d articles, %d passages in %.2f s",
        "loaded the snapshot of" if loaded.from_snapshot else "indexed",
        library.article_count,
        len(library.passages),
        time.perf_counter() - started,
    )
    return library


def saved_view_of(settings: Settings) -> SavedView:
    """Where the running view is saved segment by segment (see bot.core.saved_view): one folder per
    corpus directory and base (code, topics file, loader settings), so nothing else is ever resumed."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(base_key(settings.topics_path, max_file_bytes=settings.max_file_bytes).encode())
    digest.update(f"\0{settings.corpus_dir.resolve()}".encode("utf-8", "surrogateescape"))
    return SavedView(settings.snapshot_dir, digest.hexdigest())


def load_saved_view(settings: Settings, saved: SavedView) -> Library | None:
    """At start-up: the view the bot last saved, its segments memory-mapped, with the corpus files
    changed since read again (a new segment); None when there is no usable saved view or most files
    changed (the caller then loads the corpus as usual). Fetched articles are reconciled afterwards
    (Runtime.attach_fetched)."""
    started = time.perf_counter()
    try:
        view = saved.load()
    except NoSavedView:
        log.info("no saved view yet: loading the corpus")
        return None
    except SnapshotError as error:
        log.warning("the saved view cannot be resumed (%s): loading the corpus", error)
        return None
    changed = read_changed_files(view, settings.corpus_dir, max_file_bytes=settings.max_file_bytes)
    if changed is None:
        log.info("most corpus files changed since the saved view: loading the corpus")
        return None
    view = changed.extension.library.updated(min_relevance=settings.min_relevance)
    log.info(
        "resumed the saved view: %d articles in %d segments, %d corpus files changed since, %.2f s",
        view.article_count,
        len(getattr(view.article_index, "segments", (view.article_index,))),
        changed.files,
        time.perf_counter() - started,
    )
    return view


async def build_snapshot_in_child(settings: Settings) -> bool:
    """Build the corpus's snapshot in a separate process, so the event loop and the GIL stay free.

    True when the child succeeded (the loader will then find the snapshot); False when no process
    could be started or the build failed there, and the caller should build in a thread instead.
    """
    try:
        context = multiprocessing.get_context("spawn")
        child = context.Process(
            target=build_snapshot,
            args=(settings.corpus_dir, settings.topics_path, settings.snapshot_dir),
            kwargs={"max_file_bytes": settings.max_file_bytes},
            name="newsbot-index-build",
            daemon=True,
        )
        child.start()
    except (OSError, RuntimeError, ValueError) as error:
        log.warning("could not start a process to build the index (%s): building in a thread", error)
        return False
    try:
        await asyncio.to_thread(child.join)
    except asyncio.CancelledError:
        child.terminate()
        await asyncio.shield(asyncio.to_thread(child.join))
        raise
    if child.exitcode != 0:
        log.warning("building the index in a separate process failed (exit code %s)", child.exitcode)
        return False
    key = await asyncio.to_thread(
        snapshot_key, settings.corpus_dir, settings.topics_path, max_file_bytes=settings.max_file_bytes
    )
    if not (settings.snapshot_dir / key / "header.json").is_file():
        log.warning("the index-building process left no snapshot of the current corpus")
        return False
    return True


def corpus_bytes(root: Path) -> int:
    """Total size of the files under the corpus directory (what decides where a reload builds)."""
    total = 0
    for folder, _, files in os.walk(root):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.stat(os.path.join(folder, name)).st_size
    return total


class ReloadInProgress(Exception):
    """Another reload is running; the caller should say so instead of starting a second one."""


@dataclass(frozen=True, slots=True)
class ReloadOutcome:
    """What a reload changed, for the admin's report."""

    before: int
    after: int
    added: tuple[Article, ...]
    changed: tuple[Article, ...]
    removed: tuple[Article, ...]
    problems: tuple[Problem, ...]
    seconds: float
    kept_old: bool = False
    error: str | None = None
    alerts_created: int = 0


@dataclass
class Runtime:
    """Everything handlers need, built once by the composition root and passed in."""

    settings: Settings
    store: Store
    library: Library
    loader: LibraryLoader = load_configured_library
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    on_new_alerts: Callable[[], None] = lambda: None  # the alert worker's wake()
    on_reloaded: Callable[[], object] = lambda: None  # the corpus watcher swapped in a new library
    # The view changed here ("reload": the corpus; "fetched": articles stored from sources): other
    # replicas sharing the database are told (bot.cluster), and do the same without telling again.
    on_changed: Callable[[str], object] = lambda kind: None
    _reload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Held while the view changes (a reload, fetched articles joining it), so one change never undoes another.
    _view_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _fetched_upto: int = 0  # the last stored fetched-article row the current view holds
    # base_key of the code, topics file and settings the view was built with: when it moves, the next
    # reload rebuilds everything (set at start-up by the composition root, and by each full reload).
    _built_with: str = ""
    # Ids of the view's articles whose recording (and alerts) failed after the view was swapped in: the
    # next reload records them too, since reading only the changed files would not meet them again.
    _unrecorded: set[str] = field(default_factory=set)
    # Where each new view is saved, segment by segment, so a restart maps it (None: not saved).
    saved_view: SavedView | None = None
    _save_failed: bool = False
    _save_wanted: asyncio.Event = field(default_factory=asyncio.Event)
    _saver: asyncio.Task[None] | None = None

    # Reports of one event grouped into stories: built as articles are ingested, restored at start-up
    # from the store in ingest order. Readers (answers, the alert worker) only look articles up.
    stories: StoryIndex = field(default_factory=StoryIndex)
    _stories_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if not self._built_with:
            self._built_with = self._base_now()

    def is_admin(self, user_id: int | None) -> bool:
        """Whether a Telegram user id is listed in NEWSBOT_ADMIN_IDS (checked at the moment of use)."""
        return user_id is not None and user_id in self.settings.admin_ids

    async def reload_finished(self) -> None:
        """Wait until the reload under way, if any, has swapped in its view (or given up)."""
        async with self._reload_lock:
            pass

    @property
    def reloading(self) -> bool:
        """Whether a reload is under way."""
        return self._reload_lock.locked()

    async def reload(self, *, full: bool = False, announce: bool = True) -> ReloadOutcome:
        """Re-read the corpus off the event loop and swap in the new view; raise if one is running.

        Only the files that changed are read and indexed (a new segment; their old articles marked dead),
        unless `full` is asked, the view does not know its files, the topics file or the code changed,
        or most files changed: then everything is rebuilt (a big corpus in a child process). With
        `announce`, other replicas are told once the new view is in (on_changed)."""
        outcome = await self._reload(full=full, announce=announce)
        if not outcome.kept_old:
            self._save_view()
        return outcome

    async def _reload(self, *, full: bool, announce: bool) -> ReloadOutcome:
        if self._reload_lock.locked():
            raise ReloadInProgress
        async with self._reload_lock, self._view_lock:
            old = self.library
            started = time.perf_counter()
            only: list[str] | None = None
            try:
                changed_files = None if full else await asyncio.to_thread(self._changed_files, old)
                if changed_files is not None:
                    new, (added, changed, removed) = changed_files
                    upto = self._fetched_upto
                    only = [article.id for article in (*added, *changed)]
                else:
                    new, (added, changed, removed), upto = await self._build(old)
                    self._built_with = await asyncio.to_thread(self._base_now)
                    await self._follow_base()
            except Exception as error:  # a reload must never take the running bot down
                log.exception("corpus reload failed")
                return ReloadOutcome(
                    old.article_count,
                    old.article_count,
                    (),
                    (),
                    (),
                    (),
                    time.perf_counter() - started,
                    kept_old=True,
                    error=f"{type(error).__name__}: {error}",
                )
            seconds = time.perf_counter() - started
            if new.article_count == 0 and old.article_count > 0:
                return ReloadOutcome(
                    old.article_count, old.article_count, (), (), (), new.problems, seconds, kept_old=True
                )
            self.library = new  # the swap: one assignment
            self._fetched_upto = upto
            if only is not None:
                # Articles a failed ingest left unrecorded (a full disk, say) are still new: again.
                only = list(dict.fromkeys([*self._unrecorded, *only]))
            try:
                ingested = await self.ingest(new, only=only)
            except Exception:
                self._unrecorded = set(only) if only is not None else {a.id for a in new.articles}
                raise
            self._unrecorded = set()
            if announce:
                self.on_changed("rebuild" if full else "reload")
            log.info(
                "corpus reloaded%s: %d → %d articles (+%d ~%d -%d), %d problems, %.2f s",
                "" if only is None else " (the files that changed)",
                old.article_count,
                new.article_count,
                len(added),
                len(changed),
                len(removed),
                len(new.problems),
                seconds,
            )
            return ReloadOutcome(
                old.article_count,
                new.article_count,
                added,
                changed,
                removed,
                new.problems,
                seconds,
                alerts_created=ingested.alerts_created,
            )

    def _base_now(self) -> str:
        settings = self.settings
        return base_key(settings.topics_path, max_file_bytes=settings.max_file_bytes)

    def _changed_files(self, old: Library) -> tuple[Library, tuple[tuple[Article, ...], ...]] | None:
        """The view with the corpus files that changed read again (blocking; see reload), or None when
        a full rebuild is needed."""
        if self._base_now() != self._built_with:
            return None
        changed_files = read_changed_files(
            old, self.settings.corpus_dir, max_file_bytes=self.settings.max_file_bytes
        )
        if changed_files is None:
            return None
        extension = changed_files.extension
        replaced = {article.id for article in extension.removed}
        added = tuple(a for a in extension.added if a.id not in replaced)
        changed = tuple(a for a in extension.added if a.id in replaced)
        again = {article.id for article in changed}
        removed = tuple(a for a in extension.removed if a.id not in again)
        return merge_segments(extension.library), (added, changed, removed)

    async def _build(self, old: Library) -> tuple[Library, tuple[tuple[Article, ...], ...], int]:
        """The new library, what changed, and the last fetched-article row it holds, computed off the
        event loop (a big build in a child process)."""
        settings = self.settings
        # A full rebuild, whose snapshot the loader below then finds (rather than bringing an older
        # snapshot up to date): a big one in a child process, else (or if that fails) in a thread.
        big = await asyncio.to_thread(corpus_bytes, settings.corpus_dir) >= PROCESS_BUILD_FROM_BYTES
        if not (big and await build_snapshot_in_child(settings)):
            with contextlib.suppress(OSError):  # (an unwritable snapshot directory: the loader copes)
                await asyncio.to_thread(
                    build_snapshot,
                    settings.corpus_dir,
                    settings.topics_path,
                    settings.snapshot_dir,
                    max_file_bytes=settings.max_file_bytes,
                )
        fetched, upto = await self.store.sources.articles()

        def load_and_compare() -> tuple[Library, tuple[tuple[Article, ...], ...]]:
            # Comparing makes every article of the new snapshot, and a full garbage collection over
            # them all would stop the event loop for ~0.1 s at 100k articles; what exists now, and the
            # articles made, are long-lived anyway, so they leave the collector's view (refcounting
            # still frees them).
            gc.collect(1)
            gc.freeze()
            new = extend_library(self.loader(settings), fetched)
            changes = compare_libraries(old, new)
            gc.freeze()
            return new, changes

        new, changes = await asyncio.to_thread(load_and_compare)
        return new, changes, upto

    async def attach_fetched(self) -> int:
        """At start-up: make the view hold exactly the stored fetched articles beside the corpus (those
        it lacks added as one segment; any the store no longer keeps taken out), save it; how many."""
        async with self._view_lock:
            fetched, upto = await self.store.sources.articles()
            self.library = await asyncio.to_thread(with_fetched, self.library, fetched)
            self._fetched_upto = upto
            self._save_view()
            return len(fetched)

    async def refresh_fetched(self, *, announce: bool = True) -> IngestResult | None:
        """Bring the articles stored from sources since the view was made into it, and queue their
        alerts; None when there were none. Called by the poller after a poll stored new articles (and it
        also picks up what `newsbot fetch` stored meanwhile)."""
        async with self._view_lock:
            fetched, upto = await self.store.sources.articles(after=self._fetched_upto)
            if not fetched:
                return None
            new = await self.extend_view(self.library, fetched)
            self.library = new  # the swap: one assignment
            self._fetched_upto = upto
            result = await self.ingest(new, only=[article.id for article in fetched])
            self._save_view()
        if announce:
            self.on_changed("fetched")
        log.info("%d fetched articles joined the archive (%d articles now)", len(fetched), new.article_count)
        await self.merge_segments()
        return result

    async def merge_segments(self) -> bool:
        """Join the view's small segments as the tiered policy asks, off the event loop and outside the
        view lock (answers and new articles never wait for it); the result is swapped in only if the
        view did not change meanwhile (else the next change merges). Whether it was swapped in."""
        library = self.library
        merged = await asyncio.to_thread(merge_segments, library)
        if merged is library:
            return False
        async with self._view_lock:
            if self.library is not library:
                return False
            self.library = merged
            self._save_view()
        return True

    async def _follow_base(self) -> None:
        """After a full rebuild: when the code or the topics file moved, the view is saved in the folder of
        the new base (the old folder's writer lock let go first, once a save under way is done)."""
        old = self.saved_view
        if old is None:
            return
        fresh = await asyncio.to_thread(saved_view_of, self.settings)
        if fresh.directory != old.directory:
            await asyncio.to_thread(old.close)
            self.saved_view = fresh

    def _save_view(self) -> None:
        """Have the current view saved in the background (see _save_views); call after a swap."""
        if self.saved_view is None:
            return
        self._save_wanted.set()
        if self._saver is None or self._saver.done():
            self._saver = asyncio.create_task(self._save_views(), name="save-view")

    async def view_saved(self) -> None:
        """Wait until the view of this moment is saved (at shutdown, so a restart resumes it; in tests)."""
        while self._saver is not None and not self._saver.done():
            await asyncio.shield(self._saver)

    async def _save_views(self) -> None:
        """Save the newest view, again while views keep changing: only what is new is written (see
        bot.core.saved_view), off the event loop, and nobody waits for the disk (a /reload's reply, new
        articles' alerts). A failure is logged once and leaves the last saved view, which a restart
        brings up to date by reading what changed since."""
        while self._save_wanted.is_set():
            self._save_wanted.clear()
            saved, view = self.saved_view, self.library
            if saved is None:
                return
            try:
                written = await asyncio.to_thread(saved.save, view)
            except (OSError, ValueError) as error:
                if not self._save_failed:
                    log.warning(
                        "could not save the view in %s (%s): a restart reads what changed again",
                        saved.directory,
                        error,
                    )
                self._save_failed = True
                if isinstance(
                    error, ValueError
                ):  # this view cannot be saved by segments: until a full reload
                    self.saved_view = None
                continue
            if self._save_failed:
                log.info("the view is saved again in %s", saved.directory)
            self._save_failed = False
            if written is not view:  # a segment was rewritten to be saved: the same answers, swapped in
                async with self._view_lock:
                    if self.library is view:
                        self.library = written

    async def extend_view(self, library: Library, articles: Sequence[Article]) -> Library:
        """New articles in → new library view out, off the event loop: a new segment of each index
        (bot.core.archive.extend_library); merge_segments joins small segments later."""
        return await asyncio.to_thread(extend_library, library, articles)

    async def ingest(
        self, library: Library | None = None, *, only: Sequence[str] | None = None
    ) -> IngestResult:
        """Record the snapshot's article ids (or `only` these of them) as seen, put them into stories and
        queue one alert per (chat, story) match; a story's later reports update its alerts instead.

        Matching and recording happen in one store transaction, so repeated or racing reloads, and
        restarts, never queue an alert twice. The very first load of an empty database alerts nothing.
        """
        snapshot = library or self.library
        if not snapshot.articles:
            # An empty corpus must not count as the silent first load, or fixing it would alert everything.
            return IngestResult(new_ids=[], alerts_created=0, first_load=False)

        def match(new_ids: list[str], subscriptions: list[Subscription]) -> list[tuple[int, str, str]]:
            positions = [p for p in (snapshot.position(i) for i in new_ids) if p is not None]
            return match_interests(
                [snapshot.articles[p] for p in positions],
                [snapshot.article_topics[p] for p in positions],
                subscriptions,
                doc_freq=snapshot.article_index.doc_freq,
            )

        def assign(new_ids: list[str]) -> list[StoryRecord]:
            return self.assign_stories(snapshot, new_ids)

        ids = [a.id for a in snapshot.articles] if only is None else list(only)
        result = await self.store.ingest_articles(
            ids, match, assign=assign, edit_within=timedelta(hours=self.settings.alert_edit_hours)
        )
        if result.alerts_created or result.edits_due:
            log.info(
                "%d new articles → %d alerts queued, %d to update",
                len(result.new_ids),
                result.alerts_created,
                result.edits_due,
            )
            self.on_new_alerts()
        return result

    def story_of_article(self, article_id: str) -> Story | None:
        """The story an ingested article belongs to (None before it is ingested)."""
        story_id = self.stories.story_of(article_id)
        return None if story_id is None else self.stories.story(story_id)

    async def restore_stories(self, now: datetime | None = None) -> int:
        """At start-up: rebuild the story index from the store's records, in ingest order (articles still
        in their matching window are analysed again, the rest only keep their place); how many."""
        records = await self.store.story_records()
        library = self.library
        moment = now or datetime.now(UTC)

        def rebuild() -> StoryIndex:
            index = StoryIndex()
            index.advance(moment)
            for record in records:
                index.restore(record, library.article(record.article_id))
            return index

        self.stories = await asyncio.to_thread(rebuild)
        log.info("restored %d stories of %d articles", self.stories.story_count, len(records))
        return len(records)

    def assign_stories(self, library: Library, article_ids: Sequence[str]) -> list[StoryRecord]:
        """Put new articles into stories (blocking: call it from a worker thread) and return what the
        store keeps of them; an article assigned before (an ingest that did not commit) keeps its story."""
        at = datetime.now(UTC)
        records: list[StoryRecord] = []
        with self._stories_lock:
            for article_id in article_ids:
                if article_id not in self.stories:
                    article = library.article(article_id)
                    if article is None:
                        continue
                    self.stories.add(article, at=at)
                record = self.stories.record(article_id, at)
                if record is not None:
                    records.append(record)
        return records

    async def corpus_changed(self) -> bool:
        """Whether the corpus files differ from the ones the current snapshot was built from."""
        fingerprint = await asyncio.to_thread(corpus_fingerprint, self.settings.corpus_dir)
        return fingerprint != self.library.fingerprint

    async def watch_corpus(self, stop: asyncio.Event) -> None:
        """Reload whenever the corpus files change, checking every NEWSBOT_CORPUS_POLL_SECONDS."""
        interval = self.settings.corpus_poll_seconds
        if interval <= 0:
            return
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
                return
            except TimeoutError:
                pass
            try:
                if not self.reloading and await self.corpus_changed():
                    log.info("corpus files changed: reloading")
                    outcome = await self.reload()
                    if not outcome.kept_old:
                        self.on_reloaded()  # nobody asked for this reload: its problems are told
            except ReloadInProgress:
                continue
            except Exception:  # the watcher must outlive any one bad pass
                log.exception("corpus watcher pass failed")


def compare_libraries(old: Library, new: Library) -> tuple[tuple[Article, ...], ...]:
    """Articles added, changed (same id, other content) and removed between two snapshots."""
    added = tuple(article for article in new.articles if old.article(article.id) is None)
    removed = tuple(article for article in old.articles if new.article(article.id) is None)
    changed = tuple(
        article
        for article in new.articles
        if (previous := old.article(article.id)) is not None and _content(previous) != _content(article)
    )
    return added, changed, removed


def _content(article: Article) -> tuple[object, ...]:
    # Where an article sits (path, line) is not part of what it says.
    return (article.title, article.body, article.published, article.source, article.url, article.tags)
