"""Sources, fetched articles and admin notices: the SQL behind polling feeds (reached as `store.sources`).

Feeds from the sources file and feeds added in chat share one table with their health (last success,
last error, failures in a row, next poll, conditional-GET validators). A poll's new articles, the feed's
new validators and its next poll time are written in one transaction, so a bot killed mid-fetch either
stored a poll whole or not at all, and the next poll fetches it again. Articles are deduplicated by
(source, entry key), canonical URL and fingerprint. Pausing a failing source queues one notice per
admin in the same transaction. Must not import telegram.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from bot.core.models import Article
from bot.core.sourcelist import FullText, SourceSpec
from bot.store.backend import Db, Row

if TYPE_CHECKING:
    from bot.store.facade import Store

MAX_ERROR_CHARS = 1000
MAX_NOTES = 5


class TextFrom(StrEnum):
    """Where a fetched article's text came from."""

    FEED = "feed"  # the feed carried the whole text
    PAGE = "page"  # extracted from the entry's page
    TEASER = "teaser"  # only the feed's teaser: the page could not be fetched or read (see text_note)


class PollStatus(StrEnum):
    """What one poll of a source came to."""

    NEW = "new"  # fetched and parsed (with or without new articles)
    NOT_MODIFIED = "not_modified"  # 304, or the same bytes as last time
    FAILED = "failed"
    PAUSED = "paused"  # not fetched: paused after failures, or by an admin


@dataclass(frozen=True, slots=True)
class Source:
    """A feed the bot polls (or did), with its settings and health."""

    id: int
    url: str
    name: str | None
    origin: str  # "file" (the sources file) or "chat" (/sources add)
    topics: tuple[str, ...]
    every: float
    full_text: FullText
    listed: bool  # still in the file / not removed in chat
    added_by: int | None
    added_at: datetime
    paused: bool
    pause_reason: str | None
    paused_at: datetime | None
    etag: str | None
    last_modified: str | None
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    last_status: str | None
    last_error: str | None
    last_error_at: datetime | None
    notes: tuple[str, ...]  # what the last good poll had to leave out (bad entries, pages not read)
    failures: int  # in a row
    next_poll_at: datetime | None
    articles: int  # stored from it so far
    last_new_at: datetime | None

    @property
    def label(self) -> str:
        """Its name, else the URL's host."""
        if self.name:
            return self.name
        host = self.url.split("://", 1)[-1].split("/", 1)[0]
        return host or self.url

    @property
    def health(self) -> str:
        """One word: paused, failing, ok, or new (never fetched)."""
        if self.paused:
            return "paused"
        if self.failures:
            return "failing"
        return "ok" if self.last_success_at is not None else "new"


@dataclass(frozen=True, slots=True)
class FetchedArticle:
    """A new article from a feed, ready to store: the archive Article and the keys that deduplicate it."""

    article: Article  # its id is the namespaced fetched id (bot.core.entries.fetched_article_id)
    entry_key: str
    canonical_url: str | None
    fingerprint: str
    author: str | None = None
    text_from: TextFrom = TextFrom.FEED
    text_note: str | None = None


@dataclass(frozen=True, slots=True)
class KnownEntries:
    """Which of a poll's entries are stored already, by each key that identifies them."""

    keys: frozenset[str]
    urls: frozenset[str]
    fingerprints: frozenset[str]


@dataclass(frozen=True, slots=True)
class FailureOutcome:
    """What recording a failed poll did."""

    failures: int
    paused: bool  # paused by this failure (notices queued for the admins)


@dataclass(frozen=True, slots=True)
class AdminNotice:
    """Something every admin is told once (today: a source paused after failing)."""

    id: int
    admin_id: int
    kind: str
    source_id: int | None
    source_label: str
    source_url: str
    reason: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SourceCounts:
    """The sources' figures for /stats and /status."""

    sources: int
    ok: int
    failing: int
    paused: int
    articles: int  # fetched articles kept (retention aside)
    last_new_at: datetime | None
    last_success_at: datetime | None


def _stamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: the store needs timezone-aware times")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _now() -> datetime:
    return datetime.now(UTC)


def _source(row: Row) -> Source:
    added = _moment(row["added_at"])
    assert added is not None
    return Source(
        id=row["id"],
        url=row["url"],
        name=row["name"],
        origin=row["origin"],
        topics=tuple(json.loads(row["topics"])),
        every=float(row["every_seconds"]),
        full_text=FullText(row["full_text"]),
        listed=bool(row["listed"]),
        added_by=row["added_by"],
        added_at=added,
        paused=bool(row["paused"]),
        pause_reason=row["pause_reason"],
        paused_at=_moment(row["paused_at"]),
        etag=row["etag"],
        last_modified=row["last_modified"],
        last_attempt_at=_moment(row["last_attempt_at"]),
        last_success_at=_moment(row["last_success_at"]),
        last_status=row["last_status"],
        last_error=row["last_error"],
        last_error_at=_moment(row["last_error_at"]),
        notes=tuple(json.loads(row["last_notes"] or "[]")),
        failures=int(row["failures"]),
        next_poll_at=_moment(row["next_poll_at"]),
        articles=int(row["articles"]),
        last_new_at=_moment(row["last_new_at"]),
    )


def _article(row: Row) -> Article:
    return Article(
        id=row["article_id"],
        title=row["title"],
        body=row["body"],
        published=_moment(row["published"]),
        source=row["source_name"],
        url=row["url"],
        tags=tuple(json.loads(row["tags"])),
        path=row["source_url"],
    )


class SourceStore:
    """The store's sources, fetched articles and admin notices; every call runs under the Store's lock."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # -- the list of sources ---------------------------------------------------------------------------

    async def sync_file(
        self, specs: Sequence[SourceSpec], default_every: float, now: datetime | None = None
    ) -> int:
        """Make the file's sources the listed file sources: add new ones, update changed ones, unlist the
        ones no longer in the file (their articles stay). A chat-added URL the file now lists becomes a
        file source. Returns how many sources the file lists."""
        at = _stamp(now or _now())
        async with self._store._transaction() as db:
            for spec in specs:
                await db.execute(
                    "INSERT INTO sources (url, name, origin, topics, every_seconds, full_text, listed, "
                    "added_at, next_poll_at) VALUES (?, ?, 'file', ?, ?, ?, 1, ?, NULL) "
                    "ON CONFLICT (url) DO UPDATE SET name = excluded.name, origin = 'file', "
                    "topics = excluded.topics, every_seconds = excluded.every_seconds, "
                    "full_text = excluded.full_text, listed = 1",
                    (
                        spec.url,
                        spec.name,
                        json.dumps(list(spec.topics)),
                        spec.every or default_every,
                        spec.full_text.value,
                        at,
                    ),
                )
            await db.execute(
                "UPDATE sources SET listed = 0 WHERE origin = 'file' AND listed = 1 "
                "AND url NOT IN (SELECT value FROM json_each(?))",
                (json.dumps([spec.url for spec in specs]),),
            )
        return len(specs)

    async def add(
        self,
        url: str,
        *,
        name: str | None,
        every: float,
        added_by: int | None,
        full_text: FullText = FullText.AUTO,
        topics: Sequence[str] = (),
        now: datetime | None = None,
    ) -> tuple[Source, bool]:
        """Add a source from chat (or list a removed one again); returns it and whether it was not listed."""
        at = _stamp(now or _now())
        async with self._store._transaction() as db:
            rows = await db.execute_fetchall("SELECT * FROM sources WHERE url = ?", (url,))
            existing = [_source(row) for row in rows]
            if existing and existing[0].listed:
                return existing[0], False
            if existing:
                await db.execute(
                    "UPDATE sources SET listed = 1, origin = 'chat', name = COALESCE(?, name), "
                    "added_by = ?, added_at = ?, paused = 0, pause_reason = NULL, paused_at = NULL, "
                    "failures = 0, next_poll_at = ? WHERE id = ?",
                    (name, added_by, at, at, existing[0].id),
                )
            else:
                await db.execute(
                    "INSERT INTO sources (url, name, origin, topics, every_seconds, full_text, listed, "
                    "added_by, added_at, next_poll_at) VALUES (?, ?, 'chat', ?, ?, ?, 1, ?, ?, ?)",
                    (url, name, json.dumps(list(topics)), every, full_text.value, added_by, at, at),
                )
            source = await _fetch_source_by_url(db, url)
        assert source is not None
        return source, True

    async def remove(self, source_id: int) -> Source | None:
        """Stop polling a source added in chat (its articles stay); None if unknown or from the file."""
        async with self._store._transaction() as db:
            source = await _fetch_source(db, source_id)
            if source is None or source.origin != "chat" or not source.listed:
                return None
            await db.execute("UPDATE sources SET listed = 0 WHERE id = ?", (source_id,))
        return source

    async def pause(self, source_id: int, reason: str, now: datetime | None = None) -> bool:
        """Pause a listed source (an admin's button); False if unknown or already paused."""
        async with self._store._transaction() as db:
            cursor = await db.execute(
                "UPDATE sources SET paused = 1, pause_reason = ?, paused_at = ? "
                "WHERE id = ? AND listed = 1 AND paused = 0",
                (reason[:MAX_ERROR_CHARS], _stamp(now or _now()), source_id),
            )
            return max(cursor.rowcount, 0) > 0

    async def resume(self, source_id: int, now: datetime | None = None) -> bool:
        """Resume a paused source: failures cleared, polled again right away; False if not paused."""
        at = _stamp(now or _now())
        async with self._store._transaction() as db:
            cursor = await db.execute(
                "UPDATE sources SET paused = 0, pause_reason = NULL, paused_at = NULL, failures = 0, "
                "next_poll_at = ? WHERE id = ? AND listed = 1 AND paused = 1",
                (at, source_id),
            )
            return max(cursor.rowcount, 0) > 0

    async def get(self, source_id: int) -> Source | None:
        """One source by id."""
        async with self._store._reading() as db:
            return await _fetch_source(db, source_id)

    async def by_url(self, url: str) -> Source | None:
        """One source by its URL."""
        async with self._store._reading() as db:
            return await _fetch_source_by_url(db, url)

    async def listed(self) -> list[Source]:
        """Every source polled (or paused): the file's, then those added in chat, each in order added."""
        async with self._store._reading() as db:
            rows = await db.execute_fetchall(
                "SELECT * FROM sources WHERE listed = 1 ORDER BY origin DESC, id"
            )
        return [_source(row) for row in rows]

    async def due(self, now: datetime | None = None, limit: int = 100) -> list[Source]:
        """Listed, unpaused sources whose next poll has come (never polled ones first)."""
        async with self._store._reading() as db:
            rows = await db.execute_fetchall(
                "SELECT * FROM sources WHERE listed = 1 AND paused = 0 "
                "AND (next_poll_at IS NULL OR next_poll_at <= ?) "
                "ORDER BY next_poll_at IS NOT NULL, next_poll_at, id LIMIT ?",
                (_stamp(now or _now()), limit),
            )
        return [_source(row) for row in rows]

    async def schedule_first(self, source_id: int, at: datetime) -> None:
        """Set a never-polled source's first poll (spread over its interval)."""
        async with self._store._transaction() as db:
            await db.execute(
                "UPDATE sources SET next_poll_at = ? WHERE id = ? AND next_poll_at IS NULL",
                (_stamp(at), source_id),
            )

    async def next_due_at(self) -> datetime | None:
        """The earliest next poll of a listed, unpaused source (the poller sleeps till then)."""
        async with (
            self._store._reading() as db,
            db.execute(
                "SELECT MIN(COALESCE(next_poll_at, '')) FROM sources WHERE listed = 1 AND paused = 0"
            ) as cursor,
        ):
            row = await cursor.fetchone()
        if row is None or row[0] is None:
            return None
        return _moment(row[0]) if row[0] else _now()

    # -- polls -----------------------------------------------------------------------------------------

    async def known(
        self, source_id: int, keys: Iterable[str], urls: Iterable[str], fingerprints: Iterable[str]
    ) -> KnownEntries:
        """Which of these entry keys (of this source), canonical URLs and fingerprints (of any source)
        are stored already, so their pages are not fetched again."""
        async with self._store._reading() as db:
            key_rows = await db.execute_fetchall(
                "SELECT value FROM json_each(?) WHERE value IN "
                "(SELECT entry_key FROM fetched_articles WHERE source_id = ?)",
                (_json_list(keys), source_id),
            )
            url_rows = await db.execute_fetchall(
                "SELECT value FROM json_each(?) WHERE value IN (SELECT canonical_url FROM fetched_articles)",
                (_json_list(urls),),
            )
            print_rows = await db.execute_fetchall(
                "SELECT value FROM json_each(?) WHERE value IN (SELECT fingerprint FROM fetched_articles)",
                (_json_list(fingerprints),),
            )
        return KnownEntries(_values(key_rows), _values(url_rows), _values(print_rows))

    async def record_success(
        self,
        source_id: int,
        *,
        status: PollStatus,
        articles: Sequence[FetchedArticle] = (),
        etag: str | None = None,
        last_modified: str | None = None,
        next_poll_at: datetime,
        notes: Sequence[str] = (),
        backlog: bool = False,
        now: datetime | None = None,
    ) -> list[str]:
        """Store a good poll whole: its new articles (those not stored yet by any key), the feed's
        validators, its next poll and a clean health record; returns the ids of the articles stored.

        With `backlog` (the source's first good poll) the articles are also recorded as seen, so what a
        feed held before the bot knew it becomes searchable without alerting anyone.
        """
        at = _stamp(now or _now())
        stored: list[str] = []
        async with self._store._transaction() as db:
            source = await _fetch_source(db, source_id)
            if source is None:
                return []
            for fetched in articles:
                if await _duplicate(db, source_id, fetched):
                    continue
                article = fetched.article
                await db.execute(
                    "INSERT INTO fetched_articles (article_id, source_id, entry_key, canonical_url, "
                    "fingerprint, url, title, body, published, author, source_name, tags, text_from, "
                    "text_note, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        article.id,
                        source_id,
                        fetched.entry_key,
                        fetched.canonical_url,
                        fetched.fingerprint,
                        article.url,
                        article.title,
                        article.body,
                        None if article.published is None else _stamp(article.published),
                        fetched.author,
                        article.source,
                        json.dumps(list(article.tags), ensure_ascii=False),
                        fetched.text_from.value,
                        fetched.text_note,
                        at,
                    ),
                )
                stored.append(article.id)
            if backlog and stored:
                await db.execute(
                    "INSERT OR IGNORE INTO seen_articles (article_id, first_seen) "
                    "SELECT value, CAST(? AS TEXT) FROM json_each(?)",
                    (at, json.dumps(stored)),
                )
            await db.execute(
                "UPDATE sources SET last_attempt_at = ?, last_success_at = ?, last_status = ?, "
                "failures = 0, next_poll_at = ?, etag = COALESCE(?, etag), "
                "last_modified = COALESCE(?, last_modified), last_notes = ?, articles = articles + ?, "
                "last_new_at = CASE WHEN ? > 0 THEN ? ELSE last_new_at END WHERE id = ?",
                (
                    at,
                    at,
                    status.value,
                    _stamp(next_poll_at),
                    etag,
                    last_modified,
                    json.dumps([note[:300] for note in notes[:MAX_NOTES]], ensure_ascii=False),
                    len(stored),
                    len(stored),
                    at,
                    source_id,
                ),
            )
        return stored

    async def record_failure(
        self,
        source_id: int,
        error: str,
        *,
        next_poll_at: datetime,
        pause_after: int,
        admins: Sequence[int] = (),
        now: datetime | None = None,
    ) -> FailureOutcome:
        """Count a failed poll and schedule the next; at `pause_after` failures in a row the source is
        paused and each admin gets one notice, in the same transaction."""
        at = _stamp(now or _now())
        error = error[:MAX_ERROR_CHARS]
        async with self._store._transaction() as db:
            source = await _fetch_source(db, source_id)
            if source is None:
                return FailureOutcome(0, False)
            failures = source.failures + 1
            pausing = failures >= pause_after and not source.paused
            await db.execute(
                "UPDATE sources SET last_attempt_at = ?, last_status = 'failed', last_error = ?, "
                "last_error_at = ?, failures = ?, next_poll_at = ?, "
                "paused = CASE WHEN ? THEN 1 ELSE paused END, "
                "pause_reason = CASE WHEN ? THEN ? ELSE pause_reason END, "
                "paused_at = CASE WHEN ? THEN ? ELSE paused_at END WHERE id = ?",
                (
                    at,
                    error,
                    at,
                    failures,
                    _stamp(next_poll_at),
                    pausing,
                    pausing,
                    f"{failures} failures in a row; the last: {error}",
                    pausing,
                    at,
                    source_id,
                ),
            )
            if pausing:
                await db.executemany(
                    "INSERT INTO admin_notices (admin_id, kind, source_id, reason, created_at) "
                    "VALUES (?, 'source_paused', ?, ?, ?)",
                    [(admin, source_id, error, at) for admin in dict.fromkeys(admins)],
                )
        return FailureOutcome(failures, pausing)

    # -- fetched articles ------------------------------------------------------------------------------

    async def articles(self, after: int = 0) -> tuple[list[Article], int]:
        """The stored articles (retention aside) after row `after`, oldest first, and the last row read."""
        async with self._store._reading() as db:
            rows = await db.execute_fetchall(
                "SELECT a.*, s.url AS source_url FROM fetched_articles a "
                "JOIN sources s ON s.id = a.source_id "
                "WHERE a.id > ? AND a.expired_at IS NULL ORDER BY a.id",
                (after,),
            )
        last = max((int(row["id"]) for row in rows), default=after)
        return [_article(row) for row in rows], last

    async def article_text_from(self, article_id: str) -> tuple[TextFrom, str | None] | None:
        """Where a fetched article's text came from and, for a teaser, why the page gave none."""
        async with self._store._reading() as db:
            rows = await db.execute_fetchall(
                "SELECT text_from, text_note FROM fetched_articles WHERE article_id = ?", (article_id,)
            )
        for row in rows:
            return TextFrom(row[0]), row[1]
        return None

    async def set_story(self, article_id: str, story_id: int | None) -> bool:
        """Attach a fetched article to a story (a group of reports of one event), or detach it."""
        async with self._store._transaction() as db:
            cursor = await db.execute(
                "UPDATE fetched_articles SET story_id = ? WHERE article_id = ?", (story_id, article_id)
            )
            return max(cursor.rowcount, 0) > 0

    async def expire(self, before: datetime, now: datetime | None = None) -> int:
        """Retention: drop the text of articles fetched before `before`. Their keys stay, so a feed still
        listing them does not bring them back; they leave the archive at the next rebuild."""
        async with self._store._transaction() as db:
            cursor = await db.execute(
                "UPDATE fetched_articles SET expired_at = ?, body = '', author = NULL "
                "WHERE expired_at IS NULL AND fetched_at < ?",
                (_stamp(now or _now()), _stamp(before)),
            )
            return max(cursor.rowcount, 0)

    # -- notices and figures ---------------------------------------------------------------------------

    async def pending_notices(self, limit: int = 50) -> list[AdminNotice]:
        """Notices not yet delivered, oldest first."""
        async with self._store._reading() as db:
            rows = await db.execute_fetchall(
                "SELECT n.*, s.name AS source_name, s.url AS source_url FROM admin_notices n "
                "LEFT JOIN sources s ON s.id = n.source_id WHERE n.sent_at IS NULL ORDER BY n.id LIMIT ?",
                (limit,),
            )
        notices = []
        for row in rows:
            created = _moment(row["created_at"])
            assert created is not None
            url = row["source_url"] or ""
            notices.append(
                AdminNotice(
                    id=row["id"],
                    admin_id=row["admin_id"],
                    kind=row["kind"],
                    source_id=row["source_id"],
                    source_label=row["source_name"] or url.split("://", 1)[-1].split("/", 1)[0],
                    source_url=url,
                    reason=row["reason"],
                    created_at=created,
                )
            )
        return notices

    async def notice_sent(self, notice_id: int, now: datetime | None = None) -> None:
        """Mark a notice delivered (or given up on)."""
        async with self._store._transaction() as db:
            await db.execute(
                "UPDATE admin_notices SET sent_at = ? WHERE id = ? AND sent_at IS NULL",
                (_stamp(now or _now()), notice_id),
            )

    async def counts(self) -> SourceCounts:
        """How many sources are fine, failing or paused, and how many articles they gave."""
        async with self._store._reading() as db:
            async with db.execute(
                "SELECT COUNT(*), "
                "SUM(CASE WHEN paused = 0 AND failures = 0 THEN 1 ELSE 0 END), "
                "SUM(CASE WHEN paused = 0 AND failures > 0 THEN 1 ELSE 0 END), "
                "SUM(CASE WHEN paused = 1 THEN 1 ELSE 0 END), "
                "MAX(last_new_at), MAX(last_success_at) FROM sources WHERE listed = 1"
            ) as cursor:
                row = await cursor.fetchone()
            async with db.execute("SELECT COUNT(*) FROM fetched_articles WHERE expired_at IS NULL") as cursor:
                kept = await cursor.fetchone()
        assert row is not None and kept is not None
        return SourceCounts(
            sources=int(row[0] or 0),
            ok=int(row[1] or 0),
            failing=int(row[2] or 0),
            paused=int(row[3] or 0),
            articles=int(kept[0] or 0),
            last_new_at=_moment(row[4]),
            last_success_at=_moment(row[5]),
        )


async def _fetch_source(db: Db, source_id: int) -> Source | None:
    rows = await db.execute_fetchall("SELECT * FROM sources WHERE id = ?", (source_id,))
    for row in rows:
        return _source(row)
    return None


async def _fetch_source_by_url(db: Db, url: str) -> Source | None:
    rows = await db.execute_fetchall("SELECT * FROM sources WHERE url = ?", (url,))
    for row in rows:
        return _source(row)
    return None


def _json_list(values: Iterable[str]) -> str:
    return json.dumps(list(dict.fromkeys(values)))


def _values(rows: Iterable[Row]) -> frozenset[str]:
    return frozenset(str(row[0]) for row in rows)


async def _duplicate(db: Db, source_id: int, fetched: FetchedArticle) -> bool:
    """Whether an article is stored already: same id, same entry of the same feed, same canonical URL
    (any feed) or the same words (any feed)."""
    async with db.execute(
        "SELECT EXISTS (SELECT 1 FROM fetched_articles WHERE article_id = ? "
        "OR (source_id = ? AND entry_key = ?) OR fingerprint = ? "
        "OR (CAST(? AS TEXT) IS NOT NULL AND canonical_url = ?))",
        (
            fetched.article.id,
            source_id,
            fetched.entry_key,
            fetched.fingerprint,
            fetched.canonical_url,
            fetched.canonical_url,
        ),
    ) as cursor:
        row = await cursor.fetchone()
    return bool(row and row[0])
