"""Polling sources: which feeds are due, fetching them politely, reading their entries, fetching the full
text of teasers, and storing each poll whole; the runtime is then told there are new articles.

A poll is: a conditional GET of the feed (ETag, Last-Modified) → parse (bot.core.entries, in a thread)
→ drop entries already stored (feed id, canonical URL, fingerprint) before any page is fetched → fetch
and extract the pages of new teasers (bot.sources.extract, in a thread) → one store transaction with the
articles, the feed's validators and its next poll. The first good poll of a source is its backlog: stored
and searchable, recorded as seen, alerted to nobody. Failures back off exponentially, honour
Retry-After, and after NEWSBOT_FETCH_MAX_FAILURES in a row pause the source and queue one notice per
admin. Nothing here raises past a poll: a bad feed is a reported problem, and the loop goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from bot.core.entries import (
    FeedDocument,
    FeedEntry,
    FeedError,
    canonical_url,
    entry_article,
    fetched_article_id,
    fingerprint,
    is_teaser,
    parse_feed_document,
)
from bot.core.models import Problem
from bot.core.polling import cache_lifetime, first_poll, next_after_failure, next_after_success
from bot.core.sourcelist import FullText, check_url, load_sources
from bot.settings import Settings
from bot.sources.extract import ExtractionFailed, PageArticle, extract_article
from bot.sources.http import PAGE_ACCEPT, Fetched, FetchError, WebClient
from bot.sources.workers import TooSlow, Workers
from bot.store import FetchedArticle, PollStatus, Source, Store, StoreError, TextFrom

log = logging.getLogger(__name__)

MAX_PAGES_PER_POLL = 100  # pages fetched for one poll's new teasers; the rest keep their teasers
PAGE_MAX_BYTES = 3 * 1024 * 1024
IDLE_SECONDS = 30.0  # the longest the loop sleeps before looking at the sources file again
RETENTION_EVERY_SECONDS = 3600.0

NewArticles = Callable[[], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class PollReport:
    """One source's poll, as `newsbot fetch --json` and /sources report it."""

    url: str
    name: str
    status: PollStatus
    new: int = 0
    error: str | None = None
    notes: tuple[str, ...] = ()
    paused_now: bool = False

    def as_json(self) -> dict[str, object]:
        """The documented JSON object (README, "CLI")."""
        return {
            "url": self.url,
            "name": self.name,
            "status": self.status.value,
            "new": self.new,
            "error": self.error,
        }


class CheckOutcome(StrEnum):
    """What /sources add found."""

    ADDED = "added"
    ALREADY = "already"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class SourceCheck:
    """The result of checking a URL once for /sources add."""

    outcome: CheckOutcome
    url: str
    source: Source | None = None
    title: str | None = None
    format: str | None = None
    entries: int = 0
    stored: int = 0
    full_text: int = 0
    error: str | None = None
    notes: tuple[str, ...] = ()


class Poller:
    """Polls the sources on their schedules; also fetches all of them once (CLI) and checks a new URL."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        on_new_articles: NewArticles | None = None,
        on_notice: Callable[[], None] = lambda: None,
        on_expired: NewArticles | None = None,
        client: Callable[[], WebClient] | None = None,
    ) -> None:
        self.settings = settings
        self._make_client = client
        self.store = store
        self.on_new_articles = on_new_articles
        self.on_notice = on_notice
        self.on_expired = on_expired
        self.file_problems: tuple[Problem, ...] = ()
        self._client: WebClient | None = None
        self._wake = asyncio.Event()
        self._file_stamp: tuple[int, int] | None = None
        self._pages = asyncio.Semaphore(settings.fetch_concurrency)
        self._last_retention = 0.0
        # Feeds are parsed and pages read in child processes with a time limit (workers.py).
        self.workers = Workers(min(settings.fetch_concurrency, 2), time_limit=settings.fetch_timeout_seconds)

    def close(self) -> None:
        """End the parsing workers (run() does it on the way out)."""
        self.workers.close()

    def wake(self) -> None:
        """Look at the schedule now (a source was added or resumed)."""
        self._wake.set()

    def client(self) -> WebClient:
        """A WebClient with the configured limits (not yet entered)."""
        if self._make_client is not None:
            return self._make_client()
        settings = self.settings
        return WebClient(
            timeout=settings.fetch_timeout_seconds,
            max_bytes=settings.fetch_max_bytes,
            allow_private=settings.fetch_private_addresses,
            concurrency=settings.fetch_concurrency,
        )

    @contextlib.asynccontextmanager
    async def _session(self) -> AsyncIterator[WebClient]:
        if self._client is not None:
            yield self._client
            return
        async with self.client() as client:
            self._client = client
            try:
                yield client
            finally:
                self._client = None

    # -- the sources file -------------------------------------------------------------------------------

    async def sync_file(self, *, force: bool = False) -> tuple[Problem, ...]:
        """Read the sources file (when it changed, or with `force`) into the store; its problems."""
        path = self.settings.sources_path
        stamp = await asyncio.to_thread(_file_stamp, path)
        if not force and stamp == self._file_stamp:
            return self.file_problems
        specs, problems = await asyncio.to_thread(load_sources, path)
        await self.store.sources.sync_file(specs, self.settings.fetch_every_seconds)
        self._file_stamp = stamp
        self.file_problems = problems
        for problem in problems:
            log.warning("sources file: %s", problem)
        return problems

    # -- the loop ----------------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Poll due sources until `stop` is set; a failing pass is logged and the next one goes on."""
        try:
            await self._run(stop)
        finally:
            self.close()

    async def _run(self, stop: asyncio.Event) -> None:
        async with self._session():
            stopper = asyncio.ensure_future(stop.wait())
            try:
                while not stop.is_set():
                    # A pass can wait on slow servers for a while: a stop does not wait for it. What a
                    # cancelled poll had not committed is simply fetched again next time.
                    one = asyncio.ensure_future(self._pass())
                    await asyncio.wait({one, stopper}, return_when=asyncio.FIRST_COMPLETED)
                    if not one.done():
                        one.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await one
                        return
                    wait = one.result()
                    self._wake.clear()
                    waker = asyncio.ensure_future(self._wake.wait())
                    try:
                        await asyncio.wait(
                            {waker, stopper}, timeout=wait, return_when=asyncio.FIRST_COMPLETED
                        )
                    finally:
                        waker.cancel()
            finally:
                stopper.cancel()

    async def _pass(self) -> float:
        """One pass: the file, due polls, new articles into the archive, retention; seconds to sleep."""
        try:
            await self.sync_file()
            await self._schedule_new()
            reports = await self.poll_due()
            if any(report.new for report in reports) and self.on_new_articles is not None:
                await self.on_new_articles()
            await self._retention()
            return await self._seconds_to_next()
        except StoreError as error:
            log.warning("polling sources: the database failed, trying again shortly: %s", error)
        except Exception:  # the poller must outlive any one bad pass
            log.exception("polling sources failed")
        return 5.0

    async def _schedule_new(self) -> None:
        now = datetime.now(UTC)
        for source in await self.store.sources.listed():
            if source.next_poll_at is None and not source.paused:
                await self.store.sources.schedule_first(source.id, first_poll(now, source.url, source.every))

    async def _seconds_to_next(self) -> float:
        due = await self.store.sources.next_due_at()
        if due is None:
            return IDLE_SECONDS
        return min(max((due - datetime.now(UTC)).total_seconds(), 0.05), IDLE_SECONDS)

    async def _retention(self) -> None:
        days = self.settings.fetch_retention_days
        if days <= 0 or time.monotonic() - self._last_retention < RETENTION_EVERY_SECONDS:
            return
        self._last_retention = time.monotonic()
        expired = await self.store.sources.expire(datetime.now(UTC) - timedelta(days=days))
        if expired:
            log.info("retention: %d fetched articles older than %g days expired", expired, days)
            if self.on_expired is not None:
                await self.on_expired()

    async def poll_due(self) -> list[PollReport]:
        """Poll every source whose time has come, a few at a time."""
        due = await self.store.sources.due(datetime.now(UTC))
        return await self._poll_many(due)

    async def poll_all(self) -> list[PollReport]:
        """Fetch every listed source once, due or not (`newsbot fetch --once`); paused ones are reported."""
        await self.sync_file(force=True)
        sources = await self.store.sources.listed()
        paused = [
            PollReport(s.url, s.label, PollStatus.PAUSED, error=s.pause_reason) for s in sources if s.paused
        ]
        async with self._session():
            polled = await self._poll_many([s for s in sources if not s.paused])
        by_url = {report.url: report for report in [*paused, *polled]}
        return [by_url[source.url] for source in sources]

    async def _poll_many(self, sources: Sequence[Source]) -> list[PollReport]:
        gate = asyncio.Semaphore(self.settings.fetch_concurrency)

        async def one(source: Source) -> PollReport:
            async with gate:
                return await self.poll(source)

        return list(await asyncio.gather(*(one(source) for source in sources)))

    # -- one poll ----------------------------------------------------------------------------------------

    async def poll(self, source: Source) -> PollReport:
        """Fetch one source and store what is new; every failure is recorded and reported, not raised
        (except the database's own StoreError)."""
        async with self._session() as client:
            try:
                fetched = await client.get(source.url, etag=source.etag, last_modified=source.last_modified)
            except FetchError as error:
                return await self._failed(source, error.reason, error.retry_after)
            return await self._process(source, fetched)

    async def _process(self, source: Source, fetched: Fetched, *, backlog: bool | None = None) -> PollReport:
        now = datetime.now(UTC)
        cache = cache_lifetime(fetched.headers, now)
        next_poll = next_after_success(now, source.url, source.every, cache_seconds=cache)
        etag, modified = fetched.headers.get("etag"), fetched.headers.get("last-modified")
        if fetched.not_modified:
            await self.store.sources.record_success(
                source.id,
                status=PollStatus.NOT_MODIFIED,
                next_poll_at=next_poll,
                etag=etag,
                last_modified=modified,
            )
            return PollReport(source.url, source.label, PollStatus.NOT_MODIFIED)
        try:
            document = await self._parse(fetched)
        except FeedError as error:
            return await self._failed(source, error.reason, None)
        articles, notes = await self._new_articles(source, document)
        first = source.last_success_at is None if backlog is None else backlog
        stored = await self.store.sources.record_success(
            source.id,
            status=PollStatus.NEW,
            articles=articles,
            etag=etag,
            last_modified=modified,
            next_poll_at=next_poll,
            notes=notes,
            backlog=first,
        )
        if stored:
            log.info("source %s: %d new articles%s", source.label, len(stored), " (backlog)" if first else "")
        return PollReport(source.url, source.label, PollStatus.NEW, new=len(stored), notes=tuple(notes))

    async def _parse(self, fetched: Fetched) -> FeedDocument:
        """The fetched document read as a feed, in a worker process; FeedError for anything else."""
        try:
            return await self.workers.run(
                parse_feed_document, fetched.body, url=fetched.url, content_type=fetched.content_type
            )
        except FeedError:
            raise
        except TooSlow as error:
            raise FeedError(f"the feed could not be read: {error}") from None
        except Exception as error:  # hostile bytes in a third-party parser: a problem, never a crash
            raise FeedError(f"cannot read the feed: {type(error).__name__}: {error}") from None

    async def _failed(self, source: Source, reason: str, retry_after: float | None) -> PollReport:
        now = datetime.now(UTC)
        failures = source.failures + 1
        next_poll = next_after_failure(
            now, source.url, source.every, failures, retry_after_seconds=retry_after
        )
        outcome = await self.store.sources.record_failure(
            source.id,
            reason,
            next_poll_at=next_poll,
            pause_after=self.settings.fetch_max_failures,
            admins=self.settings.admin_ids,
        )
        log.warning("source %s failed (%d in a row): %s", source.label, outcome.failures, reason)
        if outcome.paused:
            log.warning("source %s paused after %d failures in a row", source.label, outcome.failures)
            self.on_notice()
        return PollReport(
            source.url, source.label, PollStatus.FAILED, error=reason, paused_now=outcome.paused
        )

    async def _new_articles(
        self, source: Source, document: FeedDocument
    ) -> tuple[list[FetchedArticle], list[str]]:
        notes = list(document.problems)
        keyed = [
            (entry, canonical_url(entry.url) if entry.url else None, fingerprint(entry.title, entry.text))
            for entry in document.entries
        ]
        known = await self.store.sources.known(
            source.id,
            (entry.key for entry, _, _ in keyed),
            (url for _, url, _ in keyed if url),
            (print_ for _, _, print_ in keyed),
        )
        fresh: list[tuple[FeedEntry, str | None, str]] = []
        seen_keys: set[str] = set()
        seen_urls: set[str] = set()
        seen_prints: set[str] = set()
        for entry, url, print_ in keyed:
            if (
                entry.key in known.keys
                or entry.key in seen_keys
                or (url is not None and (url in known.urls or url in seen_urls))
                or print_ in known.fingerprints
                or print_ in seen_prints
            ):
                continue
            seen_keys.add(entry.key)
            seen_prints.add(print_)
            if url is not None:
                seen_urls.add(url)
            fresh.append((entry, url, print_))
        wanted = [
            index
            for index, (entry, _, _) in enumerate(fresh)
            if entry.url
            and (
                source.full_text == FullText.ALWAYS
                or (
                    source.full_text == FullText.AUTO
                    and is_teaser(entry, self.settings.full_text_below_chars)
                )
            )
        ]
        skipped = wanted[MAX_PAGES_PER_POLL:]
        pages = await asyncio.gather(*(self._page(fresh[index][0]) for index in wanted[:MAX_PAGES_PER_POLL]))
        page_of = dict(zip(wanted, pages, strict=False))
        if skipped:
            notes.append(
                f"{len(skipped)} teasers kept without their pages (over {MAX_PAGES_PER_POLL} in one poll)"
            )
        failed_pages = 0
        articles: list[FetchedArticle] = []
        for index, (entry, url, print_) in enumerate(fresh):
            text_from, note, author = TextFrom.FEED, None, entry.author
            page = page_of.get(index)
            if index in skipped:
                text_from, note = TextFrom.TEASER, "page not fetched: too many new entries in one poll"
            if isinstance(page, str):
                text_from, note = TextFrom.TEASER, page
                failed_pages += 1
            elif page is not None:
                entry = replace(entry, text=page.text, published=entry.published or page.published)
                text_from, note, author = TextFrom.PAGE, page.note, author or page.author
            article = entry_article(
                entry,
                article_id=fetched_article_id(source.url, entry.key),
                source_name=source.name or document.title or source.label,
                topics=source.topics,
                path=source.url,
            )
            articles.append(
                FetchedArticle(
                    article=article,
                    entry_key=entry.key,
                    canonical_url=url,
                    fingerprint=print_,
                    author=author,
                    text_from=text_from,
                    text_note=note,
                )
            )
        if failed_pages:
            notes.append(f"{failed_pages} pages gave no text; their teasers were kept")
        return articles, notes

    async def _page(self, entry: FeedEntry) -> PageArticle | str:
        """The entry's page as a PageArticle, or a string saying why not."""
        assert entry.url is not None
        async with self._pages, self._session() as client:
            try:
                fetched = await client.get(
                    entry.url, accept=PAGE_ACCEPT, max_bytes=min(PAGE_MAX_BYTES, client.max_bytes)
                )
            except FetchError as error:
                return f"page not fetched: {error.reason}"
            try:
                return await self.workers.run(
                    extract_article, fetched.body, url=fetched.url, charset=fetched.charset, teaser=entry.text
                )
            except ExtractionFailed as error:
                return f"page not read: {error.reason}"
            except TooSlow as error:
                return f"page not read: {error}"
            except Exception as error:  # a hostile page inside a third-party library
                return f"page not read: {type(error).__name__}: {error}"[:300]

    # -- /sources add ------------------------------------------------------------------------------------

    async def add(self, url: str, *, name: str | None, added_by: int | None) -> SourceCheck:
        """Check a URL once (fetch and read it as a feed); if it is one, add it as a source and store its
        entries as its backlog. A URL already listed is reported, not fetched."""
        try:
            url = check_url(url)
        except ValueError as error:
            return SourceCheck(CheckOutcome.FAILED, url, error=str(error))
        existing = await self.store.sources.by_url(url)
        if existing is not None and existing.listed:
            return SourceCheck(CheckOutcome.ALREADY, url, source=existing)
        async with self._session() as client:
            try:
                fetched = await client.get(url)
            except FetchError as error:
                return SourceCheck(CheckOutcome.FAILED, url, error=error.reason)
        try:
            document = await self._parse(fetched)
        except FeedError as error:
            return SourceCheck(CheckOutcome.FAILED, url, error=error.reason)
        source, _ = await self.store.sources.add(
            url, name=name or document.title, every=self.settings.fetch_every_seconds, added_by=added_by
        )
        report = await self._process(source, fetched, backlog=True)
        source = await self.store.sources.get(source.id) or source
        self.wake()
        return SourceCheck(
            CheckOutcome.ADDED,
            url,
            source=source,
            title=document.title,
            format=document.format,
            entries=len(document.entries),
            stored=report.new,
            notes=report.notes,
        )


def _file_stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_size, stat.st_mtime_ns)
