"""The Store: the one object the rest of the bot asks for persistent state; every SQL statement is here.

Async (aiosqlite, one connection serialised by a lock); methods are named by intent (subscribe,
due_alerts, mark_sent …) and return frozen dataclasses (records.py, bot.core.interests). Times are
timezone-aware UTC datetimes in Python and fixed-width ISO-8601 text in the database, so text order is
time order. Every sqlite3 error leaves as a StoreError subclass (errors.py). Every write is checked to
have reached the file that is at the database's path (not one deleted or replaced since it was opened,
which SQLite would go on writing to, nameless); if not, it fails with DatabaseGone and on_lost is told.
Must not import telegram.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import secrets
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiosqlite

from bot.core.interests import (
    MAX_SUBSCRIPTIONS,
    AlertStatus,
    SubscribeOutcome,
    Subscription,
    SubscriptionKind,
)
from bot.core.schedules import ScheduleError, parse_schedule, zone_or_utc
from bot.core.stories import Reason, StoryRecord
from bot.store.backend import Db, Row, SqliteDb
from bot.store.errors import DatabaseGone, StoreError, store_error
from bot.store.postgres import Listener, Postgres, SessionLock, is_postgres_url
from bot.store.records import (
    ChatRecord,
    IngestResult,
    Matcher,
    OutboxItem,
    QuestionStats,
    Stats,
    StoryAssigner,
)
from bot.store.schema import check_writable, migrate, release_instance_lock, take_instance_lock
from bot.store.sources import SourceStore

log = logging.getLogger(__name__)

INITIAL_LOAD_KEY = "initial_load_done"
PURGED_QUESTIONS_KEY = "questions_purged"  # question-log rows deleted by retention, so totals stay right
# After a checkpoint the write-ahead log is cut back to this size (SQLite keeps its largest size else).
JOURNAL_SIZE_LIMIT = 1 << 20
# note_chat writes a chat's "last seen" at most this often: a chat sending many messages (or a flood)
# costs one write a minute, not one per message.
NOTE_CHAT_SECONDS = 60.0
QUERY_TOKEN_BYTES = 8  # 11 url-safe characters: fits callback data with room to spare
MAX_ERROR_CHARS = 1000
CHATS_PER_READ = 64  # chats whose due alerts due_alerts_by_chat reads in one statement


# How many articles an outbox row's story holds (in an UPDATE of outbox); its message shows shown_members.
def _utcnow() -> datetime:
    return datetime.now(UTC)


def _text(moment: datetime) -> str:
    # Fixed width (microseconds always present) so that comparing the text compares the times.
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: the store needs timezone-aware times")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _maybe_time(text: str | None) -> datetime | None:
    return None if text is None else _time(text)


def _chat(row: Row) -> ChatRecord:
    related = row["related_enabled"]
    return ChatRecord(
        id=row["id"],
        type=row["type"],
        title=row["title"],
        first_seen=_time(row["first_seen"]),
        last_seen=_time(row["last_seen"]),
        active=bool(row["active"]),
        inactive_reason=row["inactive_reason"],
        related_enabled=None if related is None else bool(related),
        last_alert_at=_maybe_time(row["last_alert_at"]),
        timezone=row["timezone"],
    )


def _subscription(row: Row) -> Subscription:
    return Subscription(
        id=row["id"],
        chat_id=row["chat_id"],
        kind=SubscriptionKind(row["kind"]),
        value=row["value"],
        label=row["label"],
        created_at=_time(row["created_at"]),
        schedule=row["schedule"],
    )


def _outbox_item(row: Row) -> OutboxItem:
    return OutboxItem(
        id=row["id"],
        chat_id=row["chat_id"],
        article_id=row["article_id"],
        reason=row["reason"],
        status=AlertStatus(row["status"]),
        attempts=row["attempts"],
        next_attempt_at=_time(row["next_attempt_at"]),
        last_error=row["last_error"],
        created_at=_time(row["created_at"]),
        sent_at=_maybe_time(row["sent_at"]),
        message_id=row["message_id"],
        story_id=row["story_id"],
        shown_members=row["shown_members"],
        edit_due=bool(row["edit_due"]),
        digest_due=_maybe_time(row["digest_due"]),
    )


def _story_record(row: Row) -> StoryRecord:
    return StoryRecord(
        article_id=row["article_id"],
        story_id=row["story_id"],
        reason=Reason(row["reason"]),
        source=row["source"],
        published=_maybe_time(row["published"]),
        chars=row["chars"],
        added_at=_maybe_time(row["added_at"]),
    )


_Work = tuple[list[tuple[int, str, str]], list[StoryRecord]]


class Store:
    """The bot's persistent state. Open with `await Store.open(path or postgresql://…)`; on SQLite an
    instance serialises its calls, on PostgreSQL they run side by side on a pool."""

    def __init__(
        self,
        path: Path | None,
        db: aiosqlite.Connection | None,
        lock_fd: int | None,
        schema_version: int,
        identity: tuple[int, int] | None = None,
        *,
        postgres: Postgres | None = None,
    ) -> None:
        self._path = path
        self._conn: aiosqlite.Connection | None = db
        self._postgres = postgres
        self._lock_fd = lock_fd
        self._schema_version = schema_version
        self._identity = identity  # (device, inode) of the file opened
        self._lost: DatabaseGone | None = None
        self._noted: dict[int, float] = {}  # chat → loop time it was last recorded active
        self.on_lost: Callable[[DatabaseGone], None] = lambda error: None  # told once, when noticed
        # One connection is shared by every coroutine: without this lock a statement from one task could land
        # inside another task's open transaction.
        self._mutex = asyncio.Lock()
        self.sources = SourceStore(self)  # feeds, fetched articles, admin notices (bot/store/sources.py)

    # -- life cycle ---------------------------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        path: Path | str,
        *,
        busy_timeout_ms: int = 5000,
        lock: bool = False,
        journal_size_limit: int = JOURNAL_SIZE_LIMIT,
        pool_size: int = 10,
    ) -> Store:
        """Open (creating and migrating as needed) the database at `path` — a SQLite file, or a
        PostgreSQL server named by a postgresql:// URL — and raise StoreError if unusable.

        `lock` takes SQLite's instance lock (PostgreSQL is made for several replicas: it has none).
        journal_size_limit -1 leaves the write-ahead log at its largest size (SQLite's default)."""
        if is_postgres_url(path):
            database = await Postgres.open(str(path), pool_size=pool_size)
            return cls(None, None, None, database.schema_version, postgres=database)
        path = Path(path)
        lock_fd = await asyncio.to_thread(take_instance_lock, path, lock)
        db: aiosqlite.Connection | None = None
        try:
            db = await aiosqlite.connect(path, isolation_level=None)
            db.row_factory = sqlite3.Row
            await db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")  # pragmas take no parameters
            await db.execute("PRAGMA journal_mode = WAL")
            await db.execute(f"PRAGMA journal_size_limit = {int(journal_size_limit)}")
            await db.execute("PRAGMA synchronous = NORMAL")
            await db.execute("PRAGMA foreign_keys = ON")
            version = await migrate(db, path)
            await check_writable(db)
            identity = await asyncio.to_thread(_file_identity, path)
        except sqlite3.Error as error:
            await _close_quietly(db)
            release_instance_lock(lock_fd)
            raise store_error(path, error) from error
        except BaseException:
            await _close_quietly(db)
            release_instance_lock(lock_fd)
            raise
        return cls(path, db, lock_fd, version, identity)

    async def close(self) -> None:
        """Close the connection(s) and release the instance lock; safe to call twice."""
        if self._postgres is not None:
            await self._postgres.close()
            return
        db, self._conn = self._conn, None
        try:
            if db is not None:
                async with self._mutex:
                    await db.close()
        except sqlite3.Error as error:
            raise store_error(self.path, error) from error
        finally:
            fd, self._lock_fd = self._lock_fd, None
            release_instance_lock(fd)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def path(self) -> Path:
        """The SQLite file (StoreError on PostgreSQL, which has none)."""
        if self._path is None:
            raise StoreError(f"database {self.label} is PostgreSQL: it has no file")
        return self._path

    @property
    def label(self) -> str:
        """The database as operators name it: the file, or the URL without its password."""
        return self._postgres.label if self._postgres is not None else str(self._path)

    @property
    def postgres(self) -> Postgres | None:
        """The PostgreSQL database, when that is the backend (replicas share it); None on SQLite."""
        return self._postgres

    @property
    def schema_version(self) -> int:
        """The database's schema version after migrations, i.e. len(MIGRATIONS)."""
        return self._schema_version

    @property
    def _db(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise StoreError(f"database {self.label} is closed")
        return self._conn

    @asynccontextmanager
    async def _transaction(self, *, write: bool = True, serial: bool = True) -> AsyncIterator[Db]:
        """One transaction. On SQLite, IMMEDIATE takes the write lock up front, so racing writers (even
        in other processes) queue on busy_timeout instead of failing half-way through. On PostgreSQL a
        serial write takes the store-wide advisory lock first (the same guarantee across replicas);
        serial=False is for writes written to run side by side (row locks, single statements)."""
        if self._postgres is not None:
            async with self._postgres.transaction(write=write, serial=serial) as pg:
                yield pg
            return
        async with self._mutex:
            db = self._db
            if write and self._lost is not None:
                raise self._lost
            try:
                await db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield SqliteDb(db)
                    await db.execute("COMMIT")
                except BaseException:
                    await db.rollback()
                    raise
            except sqlite3.Error as error:
                raise store_error(self.path, error) from error
            if write:
                await self._check_still_there()

    async def _check_still_there(self) -> None:
        """Raise DatabaseGone (telling on_lost, once) if the file at our path is not the one we write to."""
        if self._identity is None:
            return
        now = await asyncio.to_thread(_file_identity, self.path)
        if now == self._identity:
            return
        if now is None:
            what = "was deleted while the bot was running"
        else:
            what = "was replaced by another file while the bot was running"
        self._lost = DatabaseGone(
            f"database {self.path} {what}: the last change went to the old file, which is gone with it, "
            "and nothing more can be saved; restart the bot (restore the file from a backup if it was "
            "not meant to go)"
        )
        log.error("%s", self._lost)
        self.on_lost(self._lost)
        raise self._lost

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[Db]:
        if self._postgres is not None:
            async with self._postgres.reading() as pg:
                yield pg
            return
        async with self._mutex:
            try:
                yield SqliteDb(self._db)
            except sqlite3.Error as error:
                raise store_error(self.path, error) from error

    async def ping(self) -> None:
        """Raise StoreError unless the database answers now (/healthz)."""
        async with self._reading() as db:
            await db.execute_fetchall("SELECT 1")

    # -- several replicas (PostgreSQL) ----------------------------------------------------------------------

    @property
    def shared(self) -> bool:
        """Whether other replicas may use this database at once (PostgreSQL); False for a SQLite file,
        which the instance lock keeps to one process."""
        return self._postgres is not None

    def leader_lock(self, name: str) -> SessionLock:
        """A session-level advisory lock named `name`: one replica at a time holds it, and PostgreSQL
        hands it on when the holder's connection dies (PostgreSQL only)."""
        return SessionLock(self._shared(), _lock_key(name))

    def listener(
        self,
        channel: str,
        on_message: Callable[[str], object],
        on_connected: Callable[[], object] = lambda: None,
    ) -> Listener:
        """LISTEN on `channel` over a connection of its own, reconnecting when it is lost; run() it
        (PostgreSQL only)."""
        return Listener(self._shared(), channel, on_message, on_connected)

    async def notify(self, channel: str, payload: str) -> None:
        """NOTIFY every replica listening on `channel` (this one too) with `payload` (PostgreSQL only)."""
        await self._shared().notify(channel, payload)

    def _shared(self) -> Postgres:
        if self._postgres is None:
            raise StoreError(f"database {self.label} is SQLite: one process, nothing shared")
        return self._postgres

    # -- chats ----------------------------------------------------------------------------------------------

    async def touch_chat(
        self, chat_id: int, type: str, title: str | None, now: datetime | None = None
    ) -> ChatRecord:
        """Record that a chat is alive; a chat coming back gets its parked alerts revived."""
        at = _text(now or _utcnow())
        async with self._transaction() as db:
            before = await _fetch_chat(db, chat_id)
            if before is None:
                await db.execute(
                    "INSERT INTO chats (id, type, title, first_seen, last_seen, active) "
                    "VALUES (?, ?, ?, ?, ?, 1)",
                    (chat_id, type, title, at, at),
                )
            else:
                await db.execute(
                    "UPDATE chats SET type = ?, title = ?, last_seen = ?, active = 1, inactive_reason = NULL "
                    "WHERE id = ?",
                    (type, title, at, chat_id),
                )
                if not before.active:
                    await _set_status(db, chat_id, AlertStatus.PARKED, AlertStatus.PENDING)
            chat = await _fetch_chat(db, chat_id)
        assert chat is not None
        self._noted[chat_id] = asyncio.get_running_loop().time()
        return chat

    async def note_chat(self, chat_id: int, type: str, title: str | None) -> bool:
        """touch_chat for a message in passing: skipped if this chat was recorded active in the last
        NOTE_CHAT_SECONDS (and not deactivated since); True when it wrote."""
        now = asyncio.get_running_loop().time()
        if now - self._noted.get(chat_id, -NOTE_CHAT_SECONDS) < NOTE_CHAT_SECONDS:
            return False
        if len(self._noted) > 100_000:
            self._noted = {c: t for c, t in self._noted.items() if now - t < NOTE_CHAT_SECONDS}
        await self.touch_chat(chat_id, type, title)
        return True

    async def deactivate_chat(self, chat_id: int, reason: str) -> bool:
        """Mark a chat inactive (blocked, kicked…) and park its pending alerts; keep its subscriptions."""
        self._noted.pop(chat_id, None)  # its next message must make it active again
        async with self._transaction() as db:
            changed = await _rowcount(
                db, "UPDATE chats SET active = 0, inactive_reason = ? WHERE id = ?", (reason, chat_id)
            )
            if changed:
                await _set_status(db, chat_id, AlertStatus.PENDING, AlertStatus.PARKED)
        return changed > 0

    async def get_chat(self, chat_id: int) -> ChatRecord | None:
        """The chat's record, or None if the bot never saw it."""
        async with self._reading() as db:
            return await _fetch_chat(db, chat_id)

    async def count_chats(self, active_only: bool = False) -> int:
        """How many chats the bot knows (or, with active_only, can still reach)."""
        sql = "SELECT COUNT(*) FROM chats WHERE active = 1" if active_only else "SELECT COUNT(*) FROM chats"
        async with self._reading() as db:
            return await _scalar_int(db, sql)

    async def set_related(self, chat_id: int, enabled: bool | None, now: datetime | None = None) -> None:
        """Switch related-story pushes on or off for a chat; None returns it to the default."""
        value = None if enabled is None else int(enabled)
        async with self._transaction() as db:
            await _ensure_chat(db, chat_id, now)
            await db.execute("UPDATE chats SET related_enabled = ? WHERE id = ?", (value, chat_id))

    async def related_enabled(self, chat_id: int, default: bool) -> bool:
        """Whether related-story pushes are on in this chat, falling back to `default`."""
        async with self._reading() as db:
            rows = await db.execute_fetchall("SELECT related_enabled FROM chats WHERE id = ?", (chat_id,))
        for row in rows:
            if row[0] is not None:
                return bool(row[0])
        return default

    async def migrate_chat(self, old_id: int, new_id: int, now: datetime | None = None) -> bool:
        """Move a group that became a supergroup to its new id, merging with anything already there."""
        if old_id == new_id:
            return False
        self._noted.pop(old_id, None)
        self._noted.pop(new_id, None)
        at = _text(now or _utcnow())
        async with self._transaction() as db:
            old = await _fetch_chat(db, old_id)
            if old is None:
                return False
            new = await _fetch_chat(db, new_id)
            if new is None:
                await db.execute(
                    "INSERT INTO chats (id, type, title, first_seen, last_seen, active, related_enabled, "
                    "last_alert_at) SELECT ?, 'supergroup', title, first_seen, ?, 1, related_enabled, "
                    "last_alert_at FROM chats WHERE id = ?",
                    (new_id, at, old_id),
                )
            else:
                related = new.related_enabled if new.related_enabled is not None else old.related_enabled
                last_alert = max(
                    (t for t in (new.last_alert_at, old.last_alert_at) if t is not None), default=None
                )
                await db.execute(
                    "UPDATE chats SET active = 1, inactive_reason = NULL, related_enabled = ?, "
                    "last_alert_at = ?, last_seen = ? WHERE id = ?",
                    (
                        None if related is None else int(related),
                        None if last_alert is None else _text(last_alert),
                        at,
                        new_id,
                    ),
                )
            # Rows that would duplicate one the new id already has stay behind; deleting the old chat then
            # removes exactly those duplicates through ON DELETE CASCADE.
            await db.execute(
                "UPDATE subscriptions SET chat_id = ? WHERE chat_id = ? AND NOT EXISTS (SELECT 1 FROM "
                "subscriptions s WHERE s.chat_id = ? AND s.kind = subscriptions.kind AND s.value = "
                "subscriptions.value)",
                (new_id, old_id, new_id),
            )
            await db.execute(
                "UPDATE outbox SET chat_id = ? WHERE chat_id = ? AND NOT EXISTS (SELECT 1 FROM outbox o "
                "WHERE o.chat_id = ? AND o.article_id = outbox.article_id)",
                (new_id, old_id, new_id),
            )
            await db.execute("UPDATE push_log SET chat_id = ? WHERE chat_id = ?", (new_id, old_id))
            await db.execute("UPDATE saved_queries SET chat_id = ? WHERE chat_id = ?", (new_id, old_id))
            await db.execute("DELETE FROM chats WHERE id = ?", (old_id,))
            await _set_status(db, new_id, AlertStatus.PARKED, AlertStatus.PENDING)
        return True

    # -- questions and pagination ---------------------------------------------------------------------------

    async def log_question(
        self,
        chat_id: int,
        results: int,
        duration_ms: float,
        question: str | None = None,
        now: datetime | None = None,
    ) -> None:
        """Log one answered question; pass the text only when the operator enabled question logging."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO question_log (at, chat_id, results, duration_ms, question) "
                "VALUES (?, ?, ?, ?, ?)",
                (_text(now or _utcnow()), chat_id, results, float(duration_ms), question),
            )

    async def question_stats(self, now: datetime | None = None) -> QuestionStats:
        """Questions in the last 24 hours, in total, and their recent average duration."""
        async with self._transaction(write=False) as db:
            return await _question_stats(db, now or _utcnow())

    async def save_query(
        self, chat_id: int, query: str, ttl: timedelta = timedelta(hours=24), now: datetime | None = None
    ) -> str:
        """Remember a query for "More results" buttons; return its short url-safe token."""
        created = now or _utcnow()
        async with self._transaction(serial=False) as db:
            for _ in range(5):
                token = secrets.token_urlsafe(QUERY_TOKEN_BYTES)
                # A token collision (vanishingly rare) inserts nothing: just draw again.
                inserted = await _rowcount(
                    db,
                    "INSERT OR IGNORE INTO saved_queries (id, chat_id, query, created_at, expires_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (token, chat_id, query, _text(created), _text(created + ttl)),
                )
                if inserted:
                    return token
        raise StoreError(f"database {self.path}: could not draw an unused query token")

    async def load_query(self, query_id: str, chat_id: int, now: datetime | None = None) -> str | None:
        """The saved query, or None when unknown, expired, or saved by another chat."""
        async with self._reading() as db:
            rows = await db.execute_fetchall(
                "SELECT query FROM saved_queries WHERE id = ? AND chat_id = ? AND expires_at > ?",
                (query_id, chat_id, _text(now or _utcnow())),
            )
        for row in rows:
            return str(row[0])
        return None

    async def purge_expired(
        self,
        now: datetime | None = None,
        *,
        push_log_retention: timedelta = timedelta(days=7),
        question_log_retention: timedelta | None = None,
        alert_retention: timedelta | None = None,
        idle_chat_retention: timedelta | None = None,
    ) -> int:
        """Delete what is past its time; return the rows deleted. Always: expired saved queries and push
        history older than push_log_retention. When given: question-log rows (counted on in meta, so
        totals stay right), delivered or failed alerts, and chats idle that long that hold nothing the
        chat asked for (no subscription, no /related choice, no alert still owed). None keeps all."""
        at = now or _utcnow()
        async with self._transaction() as db:
            deleted = await _rowcount(db, "DELETE FROM saved_queries WHERE expires_at <= ?", (_text(at),))
            deleted += await _rowcount(
                db, "DELETE FROM push_log WHERE at < ?", (_text(at - push_log_retention),)
            )
            if question_log_retention is not None:
                questions = await _rowcount(
                    db, "DELETE FROM question_log WHERE at < ?", (_text(at - question_log_retention),)
                )
                if questions:
                    purged = int(await _meta(db, PURGED_QUESTIONS_KEY) or 0)
                    await _set_meta(db, PURGED_QUESTIONS_KEY, str(purged + questions))
                deleted += questions
            if alert_retention is not None:
                deleted += await _rowcount(
                    db,
                    "DELETE FROM outbox WHERE status IN ('sent', 'failed') AND created_at < ? "
                    "AND COALESCE(sent_at, created_at) < ?",
                    (_text(at - alert_retention), _text(at - alert_retention)),
                )
            if idle_chat_retention is not None:
                deleted += await _rowcount(
                    db,
                    "DELETE FROM chats WHERE last_seen < ? AND related_enabled IS NULL "
                    "AND NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.chat_id = chats.id) "
                    "AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.chat_id = chats.id "
                    "AND o.status IN ('pending', 'parked'))",
                    (_text(at - idle_chat_retention),),
                )
        return deleted

    async def checkpoint(self) -> None:
        """Copy the write-ahead log into the database and cut it to nothing, so the files stop growing
        (SQLite; PostgreSQL checkpoints and vacuums on its own)."""
        if self._postgres is not None:
            return
        async with self._reading() as db:
            await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # -- meta ------------------------------------------------------------------------------------------------

    async def get_meta(self, key: str) -> str | None:
        """A value from the key/value meta table."""
        async with self._reading() as db:
            return await _meta(db, key)

    async def set_meta(self, key: str, value: str) -> None:
        """Store a value in the key/value meta table."""
        async with self._transaction() as db:
            await _set_meta(db, key, value)

    # -- subscriptions --------------------------------------------------------------------------------------

    async def subscribe(
        self,
        chat_id: int,
        kind: SubscriptionKind | str,
        value: str,
        label: str,
        *,
        limit: int = MAX_SUBSCRIPTIONS,
        now: datetime | None = None,
        schedule: str | None = None,
    ) -> SubscribeOutcome:
        """Add a subscription unless the chat already has it or has reached `limit`; `schedule` (the
        canonical text of a bot.core.schedules.Schedule) is set on it either way, when given."""
        kind = SubscriptionKind(kind)
        at = now or _utcnow()
        async with self._transaction() as db:
            await _ensure_chat(db, chat_id, at)
            exists = await _scalar_int(
                db,
                "SELECT EXISTS (SELECT 1 FROM subscriptions WHERE chat_id = ? AND kind = ? AND value = ?)",
                (chat_id, kind.value, value),
            )
            if exists:
                if schedule is not None:
                    await db.execute(
                        "UPDATE subscriptions SET schedule = ? WHERE chat_id = ? AND kind = ? AND value = ?",
                        (schedule, chat_id, kind.value, value),
                    )
                return SubscribeOutcome.ALREADY
            count = await _scalar_int(db, "SELECT COUNT(*) FROM subscriptions WHERE chat_id = ?", (chat_id,))
            if count >= limit:
                return SubscribeOutcome.LIMIT_REACHED
            await db.execute(
                "INSERT INTO subscriptions (chat_id, kind, value, label, created_at, schedule) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (chat_id, kind.value, value, label, _text(at), schedule or "now"),
            )
        return SubscribeOutcome.ADDED

    async def set_timezone(self, chat_id: int, name: str | None, now: datetime | None = None) -> None:
        """Set the IANA time zone a chat's digest times are read in (None: back to UTC)."""
        async with self._transaction() as db:
            await _ensure_chat(db, chat_id, now or _utcnow())
            await db.execute("UPDATE chats SET timezone = ? WHERE id = ?", (name, chat_id))

    async def unsubscribe(self, chat_id: int, kind: SubscriptionKind | str, value: str) -> bool:
        """Remove one subscription by what it follows; False if the chat did not have it."""
        kind = SubscriptionKind(kind)
        async with self._transaction() as db:
            removed = await _rowcount(
                db,
                "DELETE FROM subscriptions WHERE chat_id = ? AND kind = ? AND value = ?",
                (chat_id, kind.value, value),
            )
        return removed > 0

    async def unsubscribe_by_id(self, chat_id: int, sub_id: int) -> bool:
        """Remove a subscription by id, only if it belongs to this chat."""
        async with self._transaction() as db:
            removed = await _rowcount(
                db, "DELETE FROM subscriptions WHERE id = ? AND chat_id = ?", (sub_id, chat_id)
            )
        return removed > 0

    async def unsubscribe_all(self, chat_id: int) -> int:
        """Remove every subscription of a chat; return how many there were."""
        async with self._transaction() as db:
            return await _rowcount(db, "DELETE FROM subscriptions WHERE chat_id = ?", (chat_id,))

    async def subscriptions(self, chat_id: int) -> list[Subscription]:
        """A chat's subscriptions, oldest first."""
        async with self._reading() as db:
            rows = await db.execute_fetchall(
                "SELECT * FROM subscriptions WHERE chat_id = ? ORDER BY id", (chat_id,)
            )
        return [_subscription(row) for row in rows]

    async def all_subscriptions(self, active_chats_only: bool = True) -> list[Subscription]:
        """Every subscription (by default only of chats the bot can still reach), oldest first."""
        async with self._reading() as db:
            return await _all_subscriptions(db, active_chats_only)

    async def subscription_counts_by_topic(self, active_chats_only: bool = True) -> dict[str, int]:
        """Topic slug → number of chats subscribed to it."""
        async with self._reading() as db:
            return await _subscriptions_by_topic(db, active_chats_only)

    # -- related-story pushes -------------------------------------------------------------------------------

    async def record_push(
        self, chat_id: int, topic: str, article_ids: Sequence[str], now: datetime | None = None
    ) -> None:
        """Remember that these articles were pushed to the chat for `topic` (one push event)."""
        if not article_ids:
            return
        at = now or _utcnow()
        async with self._transaction() as db:
            await _log_push(db, chat_id, topic, article_ids, at)

    async def push_allowed(
        self,
        chat_id: int,
        topic: str,
        *,
        cooldown: timedelta,
        max_per_hour: int,
        now: datetime | None = None,
    ) -> bool:
        """False if `topic` was pushed here within `cooldown` or the chat had max_per_hour pushes in 1 h."""
        at = now or _utcnow()
        async with self._transaction(write=False) as db:
            return await _push_fits(db, chat_id, topic, at, cooldown=cooldown, max_per_hour=max_per_hour)

    async def claim_push(
        self,
        chat_id: int,
        topic: str,
        article_ids: Sequence[str],
        *,
        cooldown: timedelta,
        max_per_hour: int,
        now: datetime | None = None,
    ) -> bool:
        """push_allowed and record_push in one serial transaction: True (and recorded) when the push may
        go out, so two replicas handling one chat's messages never both push past the limits."""
        at = now or _utcnow()
        async with self._transaction() as db:
            if not await _push_fits(db, chat_id, topic, at, cooldown=cooldown, max_per_hour=max_per_hour):
                return False
            await _log_push(db, chat_id, topic, article_ids, at)
        return True

    async def recently_pushed_articles(
        self, chat_id: int, within: timedelta, now: datetime | None = None
    ) -> set[str]:
        """Article ids pushed to the chat within the given window."""
        async with self._reading() as db:
            rows = await db.execute_fetchall(
                "SELECT DISTINCT article_id FROM push_log WHERE chat_id = ? AND at > ?",
                (chat_id, _text((now or _utcnow()) - within)),
            )
        return {str(row[0]) for row in rows}

    # -- ingest and the outbox -------------------------------------------------------------------------------

    async def ingest_articles(
        self,
        article_ids: Sequence[str],
        match: Matcher,
        now: datetime | None = None,
        *,
        assign: StoryAssigner | None = None,
        edit_within: timedelta = timedelta(hours=24),
    ) -> IngestResult:
        """Record the corpus's ids as seen, their stories, and queue alerts for the never-seen ones.

        The very first load only records (a fresh bot must not alert on its whole archive). `match` and
        `assign` run in a worker thread, off the event loop and outside any transaction, with the ids not
        seen yet (in ingest order) and the active chats' subscriptions (analysing article text can take a
        while). One write transaction then records the ids, their stories and the alerts of those still
        unseen, so repeated, racing or crashed ingests (even from other processes) queue each alert once,
        and a failing `match` writes nothing. A chat gets one alert per story: an article of a story the
        chat was alerted to (or is about to be) flags that alert for an update instead, when it was sent
        less than `edit_within` ago (older alerts are left as they are).
        """
        at = _text(now or _utcnow())
        # str() guards the NOT IN below: an int id would never equal its stored text and re-alert forever.
        payload = json.dumps(list(dict.fromkeys(str(article_id) for article_id in article_ids)))
        while True:
            async with self._transaction(write=False) as db:
                first_load = await _is_first_load(db)
                unseen = await _unseen(db, payload)
                subscriptions = [] if first_load or not unseen else await _all_subscriptions(db, True)
                zones = await _zones(db) if subscriptions else {}

            def work(ids: list[str], first: bool, subs: list[Subscription]) -> _Work:
                found = [] if first else list(match(ids, subs))
                return found, ([] if assign is None else list(assign(ids)))

            matched: list[tuple[int, str, str]] = []
            records: list[StoryRecord] = []
            if unseen:
                matched, records = await asyncio.to_thread(work, list(unseen), first_load, subscriptions)
            async with self._transaction() as db:
                if await _is_first_load(db) != first_load:
                    # Another process made the first load meanwhile (it happens once): match after all.
                    continue
                new_ids = await _unseen(db, payload)  # a subset of `unseen`: the seen set only grows
                await db.execute(
                    "INSERT OR IGNORE INTO seen_articles (article_id, first_seen) "
                    "SELECT value, CAST(? AS TEXT) FROM json_each(?)",
                    (at, json.dumps(new_ids)),
                )
                fresh = set(new_ids)
                kept = [record for record in records if record.article_id in fresh]
                await db.executemany(
                    "INSERT OR IGNORE INTO story_articles "
                    "(article_id, story_id, reason, source, published, chars, added_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            r.article_id,
                            r.story_id,
                            r.reason.value,
                            r.source,
                            None if r.published is None else _text(r.published),
                            r.chars,
                            _text(r.added_at) if r.added_at is not None else at,
                        )
                        for r in kept
                    ],
                )
                if first_load:
                    await _set_meta(db, INITIAL_LOAD_KEY, at)
                    return IngestResult(new_ids=new_ids, alerts_created=0, first_load=True)
                story_of = {record.article_id: record.story_id for record in kept}
                order = {article_id: n for n, article_id in enumerate(new_ids)}
                reasons = _group_reasons(matched, fresh)
                # In ingest order, so of two new articles of one story the first one is the alert.
                ordered = sorted(reasons.items(), key=lambda pair: order[pair[0][1]])
                digests = _digest_times(subscriptions, zones, now or _utcnow())
                rows = []
                for (chat_id, article_id), why in ordered:
                    due = _due(digests, chat_id, why)
                    when = at if due is None else _text(due)
                    rows.append(
                        (
                            chat_id,
                            article_id,
                            ", ".join(why),
                            when,
                            at,
                            story_of.get(article_id),
                            due and when,
                        )
                    )
                async with db.executemany(
                    "INSERT OR IGNORE INTO outbox (chat_id, article_id, reason, status, attempts, "
                    "next_attempt_at, created_at, story_id, digest_due) "
                    "SELECT CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT), 'pending', 0, "
                    "CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT) "
                    "WHERE EXISTS (SELECT 1 FROM chats WHERE id = ? AND active = 1)",
                    [(*row, row[0]) for row in rows],
                ) as cursor:
                    created = max(cursor.rowcount, 0)  # executemany sums the rows each run inserted
                grown = sorted({r.story_id for r in kept if r.reason is not Reason.NEW})
                edits = 0
                if grown:
                    edits = await _rowcount(
                        db,
                        "UPDATE outbox SET edit_due = 1 WHERE edit_due = 0 "
                        "AND story_id IN (SELECT value FROM json_each(?)) "
                        "AND (status = 'pending' OR (status = 'sent' AND sent_at >= ?))",
                        (json.dumps(grown), _text((now or _utcnow()) - edit_within)),
                    )
            return IngestResult(new_ids=new_ids, alerts_created=created, first_load=False, edits_due=edits)

    async def story_records(self) -> list[StoryRecord]:
        """Every article's place in its story, in ingest order (to restore the story index)."""
        async with self._reading() as db:
            rows = await db.execute_fetchall("SELECT * FROM story_articles ORDER BY seq")
        return [_story_record(row) for row in rows]

    async def due_edits(
        self, within: timedelta, now: datetime | None = None, limit: int = 100
    ) -> list[OutboxItem]:
        """Sent alerts whose story gained reports, sent less than `within` ago, for reachable chats;
        older flags are dropped (such alerts are left as they are)."""
        cutoff = _text((now or _utcnow()) - within)
        async with self._transaction() as db:
            await db.execute(
                "UPDATE outbox SET edit_due = 0 WHERE edit_due = 1 AND status = 'sent' AND sent_at < ?",
                (cutoff,),
            )
            rows = await db.execute_fetchall(
                "SELECT o.* FROM outbox o JOIN chats c ON c.id = o.chat_id "
                "WHERE o.edit_due = 1 AND o.status = 'sent' AND o.message_id IS NOT NULL "
                "AND c.active = 1 ORDER BY o.sent_at, o.id LIMIT ?",
                (limit,),
            )
        return [_outbox_item(row) for row in rows]

    async def message_alerts(self, chat_id: int, message_id: int) -> list[OutboxItem]:
        """The delivered alerts one message carries (one, or a digest's several), in their order."""
        async with self._reading() as db:
            rows = await db.execute_fetchall(
                "SELECT * FROM outbox WHERE chat_id = ? AND message_id = ? AND status = 'sent' "
                "ORDER BY created_at, id",
                (chat_id, message_id),
            )
        return [_outbox_item(row) for row in rows]

    async def mark_edited(self, alert_id: int, shown_members: int, *, final: bool = False) -> bool:
        """An alert's message now counts `shown_members` members of its story. Its update flag stays up
        if the story holds more by now (a report recorded while the edit was on its way: its ingest found
        the flag already up), so the next pass shows that one too; with `final` (the message is left as
        it is) the flag goes down whatever the story holds."""
        async with self._transaction() as db:
            changed = await _rowcount(
                db,
                "UPDATE outbox SET shown_members = ?, "
                "edit_due = CASE WHEN ? THEN 0 WHEN "
                "(SELECT COUNT(*) FROM story_articles s WHERE s.story_id = outbox.story_id) > ? THEN 1 "
                "ELSE 0 END "
                "WHERE id = ?",
                (shown_members, final, shown_members, alert_id),
            )
        return changed > 0

    async def due_alerts(self, now: datetime | None = None, limit: int = 100) -> list[OutboxItem]:
        """Pending alerts whose time has come, for chats still reachable, oldest first."""
        async with self._reading() as db:
            rows = await db.execute_fetchall(
                "SELECT o.* FROM outbox o JOIN chats c ON c.id = o.chat_id "
                "WHERE o.status = 'pending' AND o.next_attempt_at <= ? AND c.active = 1 "
                "ORDER BY o.created_at, o.id LIMIT ?",
                (_text(now or _utcnow()), limit),
            )
        return [_outbox_item(row) for row in rows]

    async def due_alerts_by_chat(
        self, now: datetime | None = None, limit: int = 100
    ) -> dict[int, list[OutboxItem]]:
        """Due alerts per chat, chats in order of their oldest alert, at most `limit` rows, each chat's
        whole: a digest is one message only if its rows come in one batch (an ingest queues row after
        row, article by article, so the oldest `limit` rows would hold a few stories of many chats).
        Only a chat with more than `limit` due gets its oldest `limit` now and the rest next time."""
        due = _text(now or _utcnow())
        batch: dict[int, list[OutboxItem]] = {}
        taken = 0
        async with self._reading() as db:
            # The chats of the oldest `limit` due rows, in order; each chat is then read whole, a few
            # chats at a time, until the batch is full (cheap at any outbox size: both use an index).
            oldest = await db.execute_fetchall(
                "SELECT o.chat_id FROM outbox o JOIN chats c ON c.id = o.chat_id "
                "WHERE o.status = 'pending' AND o.next_attempt_at <= ? AND c.active = 1 "
                "ORDER BY o.created_at, o.id LIMIT ?",
                (due, limit),
            )
            chats = list(dict.fromkeys(int(row[0]) for row in oldest))
            for first in range(0, len(chats), CHATS_PER_READ):
                some = chats[first : first + CHATS_PER_READ]
                rows = await db.execute_fetchall(
                    "SELECT * FROM outbox WHERE chat_id IN (SELECT CAST(value AS BIGINT) FROM json_each(?)) "
                    "AND status = 'pending' AND next_attempt_at <= ? ORDER BY created_at, id",
                    (json.dumps(some), due),
                )
                found: dict[int, list[OutboxItem]] = {}
                for row in rows:
                    item = _outbox_item(row)
                    found.setdefault(item.chat_id, []).append(item)
                for chat_id in some:
                    items = found.get(chat_id)
                    if not items:
                        continue  # delivered meanwhile (by another process)
                    if batch and taken + len(items) > limit:
                        return batch
                    batch[chat_id] = items[:limit]
                    taken += len(batch[chat_id])
        return batch

    async def advance_digests(self, chat_id: int, now: datetime | None = None) -> list[OutboxItem]:
        """Make a chat's waiting digests due now, for an admin trying schedules; returns the rows moved, as
        they were. Each row keeps its digest time, so a digest is still one message, and once sent it is
        no longer pending: its scheduled time finds nothing of it left to send."""
        at = _text(now or _utcnow())
        async with self._transaction() as db:
            rows = await db.execute_fetchall(
                "SELECT * FROM outbox WHERE chat_id = ? AND status = 'pending' "
                "AND digest_due IS NOT NULL AND next_attempt_at > ? ORDER BY created_at, id",
                (chat_id, at),
            )
            await db.execute(
                "UPDATE outbox SET next_attempt_at = ? "
                "WHERE id IN (SELECT CAST(value AS BIGINT) FROM json_each(?))",
                (at, json.dumps([row["id"] for row in rows])),
            )
        return [_outbox_item(row) for row in rows]

    async def claim_alerts(
        self, owner: str, lease: timedelta, now: datetime | None = None, limit: int = 100
    ) -> dict[int, list[OutboxItem]]:
        """Claim due alerts for one replica (`owner`) for `lease`, as due_alerts_by_chat reads them: per
        chat, chats in order of their oldest alert, each chat's due rows whole (a digest is one message
        only if its rows come in one batch), at most `limit` rows. A chat is claimed by one owner at a
        time: on PostgreSQL the oldest due rows are picked FOR UPDATE SKIP LOCKED (replicas claiming at
        once pick different ones) and their chats' rows locked (FOR NO KEY UPDATE SKIP LOCKED) while they
        are claimed, so two replicas never claim one chat at once; a chat whose rows another owner holds
        under a live lease is left to it. Rows of an owner that died come free when its lease ends; an
        owner's own rows are always its again."""
        at = now or _utcnow()
        stamp, until = _text(at), _text(at + lease)
        batch: dict[int, list[OutboxItem]] = {}
        async with self._transaction(serial=False) as db:
            # Replicas claiming at once skip each other's oldest rows (and so mostly take other chats).
            oldest_sql = (
                "SELECT o.chat_id FROM outbox o JOIN chats c ON c.id = o.chat_id "
                "WHERE o.status = 'pending' AND o.next_attempt_at <= ? AND c.active = 1 "
                "AND (o.lease_until IS NULL OR o.lease_until <= ? OR o.lease_owner = ?) "
                "ORDER BY o.created_at, o.id LIMIT ? FOR UPDATE OF o SKIP LOCKED"
                if db.postgres
                else "SELECT o.chat_id FROM outbox o JOIN chats c ON c.id = o.chat_id "
                "WHERE o.status = 'pending' AND o.next_attempt_at <= ? AND c.active = 1 "
                "AND (o.lease_until IS NULL OR o.lease_until <= ? OR o.lease_owner = ?) "
                "ORDER BY o.created_at, o.id LIMIT ?"
            )
            oldest = await db.execute_fetchall(oldest_sql, (stamp, stamp, owner, limit))
            chats = list(dict.fromkeys(int(row[0]) for row in oldest))
            if db.postgres and chats:
                # Chats another replica is claiming right now are skipped, not waited for.
                locked = await db.execute_fetchall(
                    "SELECT id FROM chats WHERE id IN (SELECT CAST(value AS BIGINT) FROM json_each(?)) "
                    "FOR NO KEY UPDATE SKIP LOCKED",
                    (json.dumps(chats),),
                )
                held = {int(row[0]) for row in locked}
                chats = [chat_id for chat_id in chats if chat_id in held]
            taken = 0
            for first in range(0, len(chats), CHATS_PER_READ):
                some = chats[first : first + CHATS_PER_READ]
                # Read again under the chat locks: a claim that committed meanwhile shows here.
                rows = await db.execute_fetchall(
                    "SELECT * FROM outbox WHERE chat_id IN (SELECT CAST(value AS BIGINT) FROM json_each(?)) "
                    "AND status = 'pending' ORDER BY created_at, id",
                    (json.dumps(some),),
                )
                found: dict[int, list[OutboxItem]] = {}
                others: set[int] = set()
                for row in rows:
                    if row["lease_owner"] not in (None, owner) and row["lease_until"] > stamp:
                        others.add(int(row["chat_id"]))
                    elif row["next_attempt_at"] <= stamp:
                        item = _outbox_item(row)
                        found.setdefault(item.chat_id, []).append(item)
                full = False
                for chat_id in some:
                    items = found.get(chat_id)
                    if not items or chat_id in others:
                        continue  # delivered meanwhile, or another replica holds the chat
                    if batch and taken + len(items) > limit:
                        full = True
                        break
                    batch[chat_id] = items[:limit]
                    taken += len(batch[chat_id])
                if full:
                    break
            ids = [item.id for items in batch.values() for item in items]
            if ids:
                await db.execute(
                    "UPDATE outbox SET lease_owner = ?, lease_until = ? "
                    "WHERE id IN (SELECT CAST(value AS BIGINT) FROM json_each(?))",
                    (owner, until, json.dumps(ids)),
                )
        return batch

    async def extend_leases(self, owner: str, lease: timedelta, now: datetime | None = None) -> int:
        """Renew every live lease `owner` holds on pending alerts (a replica's heartbeat while it works
        through its batch); a lease that ran out is not revived (another replica may hold the rows)."""
        at = now or _utcnow()
        async with self._transaction(serial=False) as db:
            return await _rowcount(
                db,
                "UPDATE outbox SET lease_until = ? "
                "WHERE lease_owner = ? AND status = 'pending' AND lease_until > ?",
                (_text(at + lease), owner, _text(at)),
            )

    async def renew_alerts(
        self, owner: str, ids: Sequence[int], lease: timedelta, now: datetime | None = None
    ) -> bool:
        """Extend `owner`'s lease on these pending alerts just before sending them; False when any of
        them is no longer its own to send (its lease ran out and another replica claimed it, or it was
        settled meanwhile) — then none of them is sent."""
        async with self._transaction(serial=False) as db:
            return await _renew(db, owner, ids, lease, now or _utcnow())

    async def book_send(
        self, owner: str, ids: Sequence[int], lease: timedelta, rate: str, gap: float
    ) -> float | None:
        """renew_alerts and reserve_send_slot in one transaction, just before sending these alerts: the
        seconds to wait before the send, or None (and no slot booked) when they are no longer `owner`'s."""
        async with self._transaction(serial=False) as db:
            if not await _renew(db, owner, ids, lease, _utcnow()):
                return None
            return await _reserve_slot(db, rate, gap)

    async def release_alerts(self, owner: str) -> int:
        """Give back every lease `owner` holds (a replica stopping cleanly): the rows are due at once
        for the others instead of after the lease."""
        async with self._transaction(serial=False) as db:
            return await _rowcount(
                db,
                "UPDATE outbox SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?",
                (owner,),
            )

    async def reserve_send_slot(self, name: str, gap: float) -> float:
        """Book the next send of the rate shared by every replica (a row holding the next free slot,
        advanced by `gap` seconds per booking, on the database's clock); returns the seconds to wait
        before sending. A send a little late (under one gap) books from its own slot, so small delays
        do not lower the rate; a replica that dies leaves at most the slots it booked unused."""
        async with self._transaction(serial=False) as db:
            return await _reserve_slot(db, name, gap)

    async def pause_sends(self, name: str, seconds: float) -> None:
        """Hold every replica's sends of this rate for `seconds` (Telegram said 429: wait)."""
        if self._postgres is None:
            return
        async with self._transaction(serial=False) as db:
            await db.execute("INSERT OR IGNORE INTO send_slots (name, next_at) VALUES (?, 0)", (name,))
            await db.execute(
                "UPDATE send_slots SET next_at = GREATEST(next_at, "
                "EXTRACT(EPOCH FROM clock_timestamp())::float8 + CAST(? AS float8)) WHERE name = ?",
                (seconds, name),
            )

    async def take_budget(
        self, user_id: int, kind: str, interval: float, burst: int, window: float = 60.0
    ) -> str:
        """One question (of `kind`) by a user against the limit every replica shares: a token bucket
        of `burst` questions refilled one per `interval` seconds, on the database's clock. Returns
        "answer", "slow_down" (refused: say so, at most once per `window`) or "ignore"."""
        async with self._transaction(serial=False) as db:
            await db.execute(
                "INSERT OR IGNORE INTO question_budget (user_id, kind, booked_until, told_at) "
                "VALUES (?, ?, 0, NULL)",
                (user_id, kind),
            )
            budget_sql = (
                "SELECT booked_until, told_at FROM question_budget WHERE user_id = ? AND kind = ? FOR UPDATE"
                if db.postgres
                else "SELECT booked_until, told_at FROM question_budget WHERE user_id = ? AND kind = ?"
            )
            rows = await db.execute_fetchall(budget_sql, (user_id, kind))
            now = await _epoch(db)
            booked = max(float(rows[0][0]), now)
            told = rows[0][1]
            if booked - now <= (burst - 1) * interval + 1e-9:
                await db.execute(
                    "UPDATE question_budget SET booked_until = ? WHERE user_id = ? AND kind = ?",
                    (booked + interval, user_id, kind),
                )
                return "answer"
            if told is None or now - float(told) >= window:
                await db.execute(
                    "UPDATE question_budget SET told_at = ? WHERE user_id = ? AND kind = ?",
                    (now, user_id, kind),
                )
                return "slow_down"
            return "ignore"

    async def refuse_budget(self, user_id: int, kind: str, window: float = 60.0) -> str:
        """A question refused for another reason: "slow_down" at most once per window, else "ignore"."""
        async with self._transaction(serial=False) as db:
            await db.execute(
                "INSERT OR IGNORE INTO question_budget (user_id, kind, booked_until, told_at) "
                "VALUES (?, ?, 0, NULL)",
                (user_id, kind),
            )
            now = await _epoch(db)
            changed = await _rowcount(
                db,
                "UPDATE question_budget SET told_at = ? WHERE user_id = ? AND kind = ? "
                "AND (told_at IS NULL OR told_at <= ?)",
                (now, user_id, kind, now - window),
            )
        return "slow_down" if changed else "ignore"

    async def forget_budgets(self, window: float = 60.0) -> int:
        """Drop question budgets with nothing booked and no recent refusal (housekeeping)."""
        async with self._transaction(serial=False) as db:
            now = await _epoch(db)
            return await _rowcount(
                db,
                "DELETE FROM question_budget WHERE booked_until <= ? AND (told_at IS NULL OR told_at <= ?)",
                (now, now - window),
            )

    async def get_alert(self, alert_id: int) -> OutboxItem | None:
        """One outbox row by id."""
        async with self._reading() as db:
            rows = await db.execute_fetchall("SELECT * FROM outbox WHERE id = ?", (alert_id,))
        for row in rows:
            return _outbox_item(row)
        return None

    async def chat_alerts(self, chat_id: int) -> list[OutboxItem]:
        """Every outbox row of a chat, oldest first."""
        async with self._reading() as db:
            rows = await db.execute_fetchall(
                "SELECT * FROM outbox WHERE chat_id = ? ORDER BY created_at, id", (chat_id,)
            )
        return [_outbox_item(row) for row in rows]

    async def mark_sent(
        self,
        ids: Sequence[int],
        message_id: int | None,
        now: datetime | None = None,
        *,
        shown: Mapping[int, int] | None = None,
    ) -> int:
        """Mark alerts delivered (one message may carry several) and stamp their chats' last alert time;
        `shown`: how many members of its story each alert's message counted."""
        at = _text(now or _utcnow())
        payload = json.dumps([int(i) for i in ids])
        async with self._transaction(serial=False) as db:  # row locks suffice
            if shown:
                await db.executemany(
                    "UPDATE outbox SET shown_members = ? WHERE id = ? AND status != 'sent'",
                    [(count, alert_id) for alert_id, count in shown.items()],
                )
            await db.execute(
                "UPDATE chats SET last_alert_at = ? WHERE id IN "
                "(SELECT chat_id FROM outbox "
                "WHERE id IN (SELECT CAST(value AS BIGINT) FROM json_each(?)) AND status != 'sent')",
                (at, payload),
            )
            # A flag raised while the alert waited is down once the message shows the whole story (a
            # report recorded after it was rendered keeps it up): no edit pass for what is already shown.
            return await _rowcount(
                db,
                "UPDATE outbox SET status = 'sent', sent_at = ?, message_id = ?, last_error = NULL, "
                "lease_owner = NULL, lease_until = NULL, edit_due = CASE WHEN edit_due = 1 AND "
                "(SELECT COUNT(*) FROM story_articles s WHERE s.story_id = outbox.story_id) > shown_members "
                "THEN 1 ELSE 0 END "
                "WHERE id IN (SELECT CAST(value AS BIGINT) FROM json_each(?)) AND status != 'sent'",
                (at, message_id, payload),
            )

    async def mark_retry(self, alert_id: int, error: str, next_attempt_at: datetime) -> bool:
        """Count a failed attempt and schedule the next one; only pending alerts are touched."""
        async with self._transaction(serial=False) as db:  # row locks suffice
            changed = await _rowcount(
                db,
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, "
                "lease_owner = NULL, lease_until = NULL WHERE id = ? AND status = 'pending'",
                (error[:MAX_ERROR_CHARS], _text(next_attempt_at), alert_id),
            )
        return changed > 0

    async def mark_failed(self, alert_id: int, error: str) -> bool:
        """Give up on an alert for good, keeping the error for the admin."""
        async with self._transaction(serial=False) as db:  # row locks suffice
            changed = await _rowcount(
                db,
                "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ?, "
                "lease_owner = NULL, lease_until = NULL WHERE id = ? AND status IN ('pending', 'parked')",
                (error[:MAX_ERROR_CHARS], alert_id),
            )
        return changed > 0

    async def park_chat_alerts(self, chat_id: int) -> int:
        """Set a chat's pending alerts aside (it blocked or removed the bot); return how many."""
        async with self._transaction() as db:
            return await _set_status(db, chat_id, AlertStatus.PENDING, AlertStatus.PARKED)

    async def unpark_chat(self, chat_id: int) -> int:
        """Reactivate a chat and put its parked alerts back in the queue; return how many."""
        async with self._transaction() as db:
            await db.execute("UPDATE chats SET active = 1, inactive_reason = NULL WHERE id = ?", (chat_id,))
            return await _set_status(db, chat_id, AlertStatus.PARKED, AlertStatus.PENDING)

    async def alert_counts(self) -> dict[str, int]:
        """Outbox rows per status (every status present, zero included)."""
        async with self._reading() as db:
            return await _alert_counts(db)

    async def last_delivery_at(self) -> datetime | None:
        """When the most recent alert was delivered, if ever."""
        async with self._reading() as db:
            return await _scalar_time(db, "SELECT MAX(sent_at) FROM outbox")

    async def chat_last_alert_at(self, chat_id: int) -> datetime | None:
        """When the chat last received an alert, if ever."""
        async with self._reading() as db:
            return await _scalar_time(db, "SELECT last_alert_at FROM chats WHERE id = ?", (chat_id,))

    async def chat_types(self, chat_ids: Sequence[int]) -> dict[int, str]:
        """The type (private, group, supergroup, channel) of each of these chats the store knows."""
        async with self._reading() as db:
            rows = await db.execute_fetchall(
                "SELECT id, type FROM chats WHERE id IN (SELECT CAST(value AS BIGINT) FROM json_each(?))",
                (json.dumps([int(c) for c in chat_ids]),),
            )
        return {int(row[0]): str(row[1]) for row in rows}

    async def next_due_at(self) -> datetime | None:
        """The earliest next attempt of a pending alert of a reachable chat (a worker sleeps till then)."""
        async with self._reading() as db:
            return await _scalar_time(
                db,
                "SELECT MIN(o.next_attempt_at) FROM outbox o JOIN chats c ON c.id = o.chat_id "
                "WHERE o.status = 'pending' AND c.active = 1",
            )

    async def next_claimable_at(self, owner: str) -> datetime | None:
        """next_due_at for one replica: a row another replica holds is due for `owner` when its lease
        ends (if that replica dies), not before."""
        async with self._reading() as db:
            return await _scalar_time(
                db,
                "SELECT MIN(CASE WHEN o.lease_owner IS NOT NULL AND o.lease_owner <> ? "
                "AND o.lease_until > o.next_attempt_at THEN o.lease_until ELSE o.next_attempt_at END) "
                "FROM outbox o JOIN chats c ON c.id = o.chat_id WHERE o.status = 'pending' AND c.active = 1",
                (owner,),
            )

    # -- maintenance -----------------------------------------------------------------------------------------

    async def database_size_bytes(self) -> int:
        """Size of the database file plus its write-ahead log (PostgreSQL: the database's size)."""
        if self._postgres is not None:
            async with self._reading() as db:
                return await _scalar_int(db, "SELECT pg_database_size(current_database())")
        return await asyncio.to_thread(_file_sizes, self.path)

    async def integrity_check(self) -> str:
        """SQLite's integrity check: "ok", or the problems it found, one per line (PostgreSQL checks its
        own pages as it reads them: "ok" when it answers)."""
        if self._postgres is not None:
            await self.ping()
            return "ok"
        async with self._reading() as db:
            rows = await db.execute_fetchall("PRAGMA integrity_check")
        return "\n".join(str(row[0]) for row in rows)

    async def stats(self, now: datetime | None = None) -> Stats:
        """The admin overview (/stats): chats, subscriptions, questions, alerts, database size."""
        async with self._transaction(write=False) as db:
            chats_total = await _scalar_int(db, "SELECT COUNT(*) FROM chats")
            chats_active = await _scalar_int(db, "SELECT COUNT(*) FROM chats WHERE active = 1")
            subscriptions = await _scalar_int(db, "SELECT COUNT(*) FROM subscriptions")
            by_topic = await _subscriptions_by_topic(db, active_only=True)
            questions = await _question_stats(db, now or _utcnow())
            alerts = await _alert_counts(db)
            last_delivery = await _scalar_time(db, "SELECT MAX(sent_at) FROM outbox")
        return Stats(
            chats_total=chats_total,
            chats_active=chats_active,
            subscriptions=subscriptions,
            subscriptions_by_topic=by_topic,
            questions=questions,
            alerts=alerts,
            last_delivery_at=last_delivery,
            database_bytes=await self.database_size_bytes(),
        )


# -- statement helpers: they expect the caller to hold the store's mutex -------------------------------------


async def _close_quietly(db: aiosqlite.Connection | None) -> None:
    if db is not None:
        with contextlib.suppress(Exception):
            await db.close()


async def _rowcount(db: Db, sql: str, params: Sequence[Any] = ()) -> int:
    async with db.execute(sql, params) as cursor:
        return max(cursor.rowcount, 0)


async def _scalar(db: Db, sql: str, params: Sequence[Any] = ()) -> Any:
    async with db.execute(sql, params) as cursor:
        row = await cursor.fetchone()
    return None if row is None else row[0]


async def _push_fits(
    db: Db, chat_id: int, topic: str, at: datetime, *, cooldown: timedelta, max_per_hour: int
) -> bool:
    """Whether a push about `topic` at `at` keeps to the limits: not within `cooldown` of the last push
    of that topic to the chat, and fewer than max_per_hour pushes to it in the hour before."""
    recent_topic = await _scalar_int(
        db,
        "SELECT EXISTS (SELECT 1 FROM push_log WHERE chat_id = ? AND topic = ? AND at > ?)",
        (chat_id, topic, _text(at - cooldown)),
    )
    # One push writes a row per article, all with the same topic and time: count those pairs.
    pushes = await _scalar_int(
        db,
        "SELECT COUNT(*) FROM (SELECT DISTINCT topic, at FROM push_log WHERE chat_id = ? AND at > ?) "
        "AS pushes",
        (chat_id, _text(at - timedelta(hours=1))),
    )
    return not recent_topic and pushes < max_per_hour


async def _log_push(db: Db, chat_id: int, topic: str, article_ids: Sequence[str], at: datetime) -> None:
    """One push event: a push_log row per article (each once)."""
    await _ensure_chat(db, chat_id, at)
    await db.executemany(
        "INSERT INTO push_log (chat_id, topic, article_id, at) VALUES (?, ?, ?, ?)",
        [(chat_id, topic, article_id, _text(at)) for article_id in dict.fromkeys(article_ids)],
    )


async def _scalar_int(db: Db, sql: str, params: Sequence[Any] = ()) -> int:
    value = await _scalar(db, sql, params)
    return int(value or 0)


async def _scalar_time(db: Db, sql: str, params: Sequence[Any] = ()) -> datetime | None:
    value = await _scalar(db, sql, params)
    return None if value is None else _time(str(value))


async def _renew(db: Db, owner: str, ids: Sequence[int], lease: timedelta, at: datetime) -> bool:
    payload = json.dumps([int(i) for i in ids])
    renewed = await _rowcount(
        db,
        "UPDATE outbox SET lease_owner = ?, lease_until = ? "
        "WHERE id IN (SELECT CAST(value AS BIGINT) FROM json_each(?)) AND status = 'pending' "
        "AND (lease_owner = ? OR lease_owner IS NULL OR lease_until <= ?)",
        (owner, _text(at + lease), payload, owner, _text(at)),
    )
    return renewed == len(set(ids))


async def _reserve_slot(db: Db, name: str, gap: float) -> float:
    if not db.postgres:
        raise StoreError("the shared send slot needs PostgreSQL (one SQLite process paces itself)")
    await db.execute("INSERT OR IGNORE INTO send_slots (name, next_at) VALUES (?, 0)", (name,))
    rows = await db.execute_fetchall(
        "UPDATE send_slots SET next_at = GREATEST(next_at, "
        "EXTRACT(EPOCH FROM clock_timestamp())::float8 - CAST(? AS float8)) + CAST(? AS float8) "
        "WHERE name = ? "
        "RETURNING next_at - CAST(? AS float8) - EXTRACT(EPOCH FROM clock_timestamp())::float8",
        (gap, gap, name, gap),
    )
    return max(0.0, float(rows[0][0])) if rows else 0.0


def _lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a name (the same in every replica)."""
    digest = hashlib.blake2b(f"newsbot:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def _epoch(db: Db) -> float:
    """Now, in seconds since the epoch, on the database's clock (replicas agree on it); SQLite's is ours."""
    if db.postgres:
        return float(await _scalar(db, "SELECT EXTRACT(EPOCH FROM clock_timestamp())::float8"))
    return time.time()


async def _fetch_chat(db: Db, chat_id: int) -> ChatRecord | None:
    rows = await db.execute_fetchall("SELECT * FROM chats WHERE id = ?", (chat_id,))
    for row in rows:
        return _chat(row)
    return None


async def _ensure_chat(db: Db, chat_id: int, now: datetime | None) -> None:
    # Rows that reference a chat need the chat to exist; touch_chat fills in the real type later.
    at = _text(now or _utcnow())
    await db.execute(
        "INSERT OR IGNORE INTO chats (id, type, title, first_seen, last_seen, active) "
        "VALUES (?, 'unknown', NULL, ?, ?, 1)",
        (chat_id, at, at),
    )


async def _set_status(db: Db, chat_id: int, old: AlertStatus, new: AlertStatus) -> int:
    return await _rowcount(
        db, "UPDATE outbox SET status = ? WHERE chat_id = ? AND status = ?", (new.value, chat_id, old.value)
    )


async def _meta(db: Db, key: str) -> str | None:
    value = await _scalar(db, "SELECT value FROM meta WHERE key = ?", (key,))
    return None if value is None else str(value)


async def _set_meta(db: Db, key: str, value: str) -> None:
    await db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


async def _is_first_load(db: Db) -> bool:
    seen_any = await _scalar_int(db, "SELECT EXISTS (SELECT 1 FROM seen_articles)")
    return not seen_any and await _meta(db, INITIAL_LOAD_KEY) is None


async def _unseen(db: Db, ids_json: str) -> list[str]:
    # json_each turns one bound parameter into a table, so any number of ids needs no SQL building.
    rows = await db.execute_fetchall(
        "SELECT value FROM json_each(?) "
        "WHERE value NOT IN (SELECT article_id FROM seen_articles) ORDER BY key",
        (ids_json,),
    )
    return [str(row[0]) for row in rows]


async def _all_subscriptions(db: Db, active_only: bool) -> list[Subscription]:
    rows = await db.execute_fetchall(
        "SELECT s.* FROM subscriptions s JOIN chats c ON c.id = s.chat_id "
        "WHERE c.active = 1 OR ? = 0 ORDER BY s.id",
        (int(active_only),),
    )
    return [_subscription(row) for row in rows]


async def _subscriptions_by_topic(db: Db, active_only: bool) -> dict[str, int]:
    rows = await db.execute_fetchall(
        "SELECT s.value, COUNT(*) FROM subscriptions s JOIN chats c ON c.id = s.chat_id "
        "WHERE s.kind = 'topic' AND (c.active = 1 OR ? = 0) GROUP BY s.value ORDER BY s.value",
        (int(active_only),),
    )
    return {str(row[0]): int(row[1]) for row in rows}


async def _question_stats(db: Db, now: datetime) -> QuestionStats:
    async with db.execute(
        "SELECT COUNT(*), AVG(duration_ms) FROM question_log WHERE at > ?",
        (_text(now - timedelta(hours=24)),),
    ) as cursor:
        row = await cursor.fetchone()
    total = await _scalar_int(db, "SELECT COUNT(*) FROM question_log")
    total += int(await _meta(db, PURGED_QUESTIONS_KEY) or 0)
    recent, average = (0, None) if row is None else (int(row[0]), row[1])
    return QuestionStats(
        last_24h=recent, total=total, avg_duration_ms=None if average is None else float(average)
    )


async def _alert_counts(db: Db) -> dict[str, int]:
    counts: dict[str, int] = {status: 0 for status in AlertStatus}
    rows = await db.execute_fetchall("SELECT status, COUNT(*) FROM outbox GROUP BY status")
    for row in rows:
        counts[AlertStatus(row[0])] = int(row[1])
    return counts


async def _zones(db: Db) -> dict[int, str]:
    rows = await db.execute_fetchall("SELECT id, timezone FROM chats WHERE timezone IS NOT NULL")
    return {int(row[0]): str(row[1]) for row in rows}


def _digest_times(
    subscriptions: Iterable[Subscription], zones: Mapping[int, str], now: datetime
) -> dict[tuple[int, str], datetime | None]:
    """(chat, label) → when that subscription's next digest is due; None for `now` subscriptions (and
    for a schedule stored by a version that read it otherwise: sent as it comes rather than lost)."""
    due: dict[tuple[int, str], datetime | None] = {}
    for subscription in subscriptions:
        try:
            schedule = parse_schedule(subscription.schedule)
        except ScheduleError:
            schedule = parse_schedule("now")
        zone = zone_or_utc(zones.get(subscription.chat_id))
        due[(subscription.chat_id, subscription.label)] = schedule.next_due(now, zone)
    return due


def _due(
    digests: Mapping[tuple[int, str], datetime | None], chat_id: int, labels: Sequence[str]
) -> datetime | None:
    """When an alert matched by these subscriptions goes out: at once if any of them says `now`, else
    with the earliest of their digests."""
    times = [digests.get((chat_id, label)) for label in labels]
    if not times or any(t is None for t in times):
        return None
    return min(t for t in times if t is not None)


def _group_reasons(
    triples: Iterable[tuple[int, str, str]], new_ids: set[str]
) -> dict[tuple[int, str], list[str]]:
    # Several subscriptions of one chat can match one article: that is one alert listing every reason.
    # Ids the ingest did not find new are dropped so a careless matcher cannot re-alert old articles.
    grouped: dict[tuple[int, str], list[str]] = {}
    for chat_id, article_id, reason in triples:
        if article_id not in new_ids:
            continue
        reasons = grouped.setdefault((int(chat_id), article_id), [])
        if reason not in reasons:
            reasons.append(reason)
    return grouped


def _file_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file at path, None when there is none."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    return (info.st_dev, info.st_ino)


def _file_sizes(path: Path) -> int:
    total = 0
    for candidate in (path, path.with_name(path.name + "-wal")):
        with contextlib.suppress(FileNotFoundError):
            total += candidate.stat().st_size
    return total
