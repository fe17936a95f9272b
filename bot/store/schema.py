"""The database's shape: the append-only, versioned migrations, applying them, and the instance lock.

Never edit a migration script that has shipped: append a new one, to MIGRATIONS (SQLite) and to
POSTGRES_MIGRATIONS alike, so both databases have the same tables and columns. Each SQLite script is one
transaction that ends by setting PRAGMA user_version to its 1-based position (aiosqlite's executescript
commits first, so the transaction must be inside the script); each PostgreSQL script runs in one
transaction and ends by recording its number in newsbot_schema. The instance lock (an flock on
`<database>.lock`) keeps a second bot process off the same SQLite file. Must not import telegram.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import sqlite3
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg

from bot.store.errors import StoreError, StoreLockedError

log = logging.getLogger(__name__)

# Append-only: never edit a script that has shipped, add a new one. Each runs as one transaction and ends by
# setting user_version to its 1-based position. BEGIN IMMEDIATE makes a second process that is migrating the
# same file wait for the first instead of failing on a stale snapshot.
MIGRATIONS: tuple[str, ...] = (
    """
    BEGIN IMMEDIATE;
    CREATE TABLE chats (
        id INTEGER PRIMARY KEY,
        type TEXT NOT NULL,
        title TEXT,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
        inactive_reason TEXT,
        related_enabled INTEGER CHECK (related_enabled IN (0, 1)),
        last_alert_at TEXT
    );
    CREATE TABLE question_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        chat_id INTEGER NOT NULL,
        results INTEGER NOT NULL,
        duration_ms REAL NOT NULL,
        question TEXT
    );
    CREATE INDEX question_log_at ON question_log (at);
    CREATE TABLE saved_queries (
        id TEXT PRIMARY KEY,
        chat_id INTEGER NOT NULL,
        query TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    CREATE INDEX saved_queries_expires_at ON saved_queries (expires_at);
    CREATE TABLE seen_articles (
        article_id TEXT PRIMARY KEY,
        first_seen TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;
    PRAGMA user_version = 1;
    COMMIT;
    """,
    """
    BEGIN IMMEDIATE;
    CREATE TABLE subscriptions (
        id INTEGER PRIMARY KEY,
        chat_id INTEGER NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('topic', 'keywords')),
        value TEXT NOT NULL,
        label TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (chat_id, kind, value)
    );
    CREATE TABLE push_log (
        id INTEGER PRIMARY KEY,
        chat_id INTEGER NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
        topic TEXT NOT NULL,
        article_id TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX push_log_chat_at ON push_log (chat_id, at);
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        chat_id INTEGER NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
        article_id TEXT NOT NULL,
        reason TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'sent', 'failed', 'parked')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_error TEXT,
        created_at TEXT NOT NULL,
        sent_at TEXT,
        message_id INTEGER,
        UNIQUE (chat_id, article_id)
    );
    CREATE INDEX outbox_status_due ON outbox (status, next_attempt_at);
    PRAGMA user_version = 2;
    COMMIT;
    """,
    # 3: feeds polled over HTTP (from the sources file or added in chat) with their health, the articles
    # fetched from them (deduplicated by feed id, canonical URL and fingerprint; story_id is for grouping
    # copies and rewrites of one event), and notices owed to admins (a source paused after failures).
    """
    BEGIN IMMEDIATE;
    CREATE TABLE sources (
        id INTEGER PRIMARY KEY,
        url TEXT NOT NULL UNIQUE,
        name TEXT,
        origin TEXT NOT NULL CHECK (origin IN ('file', 'chat')),
        topics TEXT NOT NULL DEFAULT '[]',
        every_seconds REAL NOT NULL,
        full_text TEXT NOT NULL DEFAULT 'auto' CHECK (full_text IN ('auto', 'always', 'never')),
        listed INTEGER NOT NULL DEFAULT 1 CHECK (listed IN (0, 1)),
        added_by INTEGER,
        added_at TEXT NOT NULL,
        paused INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
        pause_reason TEXT,
        paused_at TEXT,
        etag TEXT,
        last_modified TEXT,
        last_attempt_at TEXT,
        last_success_at TEXT,
        last_status TEXT,
        last_error TEXT,
        last_error_at TEXT,
        last_notes TEXT,
        failures INTEGER NOT NULL DEFAULT 0,
        next_poll_at TEXT,
        articles INTEGER NOT NULL DEFAULT 0,
        last_new_at TEXT
    );
    CREATE INDEX sources_due ON sources (listed, paused, next_poll_at);
    CREATE TABLE fetched_articles (
        id INTEGER PRIMARY KEY,
        article_id TEXT NOT NULL UNIQUE,
        source_id INTEGER NOT NULL REFERENCES sources (id),
        entry_key TEXT NOT NULL,
        canonical_url TEXT,
        fingerprint TEXT NOT NULL,
        url TEXT,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        published TEXT,
        author TEXT,
        source_name TEXT,
        tags TEXT NOT NULL DEFAULT '[]',
        text_from TEXT NOT NULL CHECK (text_from IN ('feed', 'page', 'teaser')),
        text_note TEXT,
        fetched_at TEXT NOT NULL,
        expired_at TEXT,
        story_id INTEGER,
        UNIQUE (source_id, entry_key)
    );
    CREATE INDEX fetched_articles_url ON fetched_articles (canonical_url);
    CREATE INDEX fetched_articles_fingerprint ON fetched_articles (fingerprint);
    CREATE INDEX fetched_articles_fetched_at ON fetched_articles (fetched_at);
    CREATE INDEX fetched_articles_story ON fetched_articles (story_id) WHERE story_id IS NOT NULL;
    CREATE TABLE admin_notices (
        id INTEGER PRIMARY KEY,
        admin_id INTEGER NOT NULL,
        kind TEXT NOT NULL,
        source_id INTEGER REFERENCES sources (id),
        reason TEXT NOT NULL,
        created_at TEXT NOT NULL,
        sent_at TEXT
    );
    CREATE INDEX admin_notices_unsent ON admin_notices (sent_at, id);
    PRAGMA user_version = 3;
    COMMIT;
    """,
    # 4: stories. Each article's place in its story (a group of reports of one event), in ingest order
    # (seq), so the story index is restored at start-up exactly as it was built. An alert now belongs to a
    # story: a chat is alerted once per story (the partial unique index), and a later report of the story
    # flags the alert for an edit ("+N sources") instead of a message; shown_members is how many members
    # of the story the message as sent (or last edited) counts.
    """
    BEGIN IMMEDIATE;
    CREATE TABLE story_articles (
        seq INTEGER PRIMARY KEY,
        article_id TEXT NOT NULL UNIQUE,
        story_id TEXT NOT NULL,
        reason TEXT NOT NULL CHECK (reason IN ('new', 'copy', 'rewrite')),
        source TEXT,
        published TEXT,
        chars INTEGER NOT NULL,
        added_at TEXT NOT NULL
    );
    CREATE INDEX story_articles_story ON story_articles (story_id);
    ALTER TABLE outbox ADD COLUMN story_id TEXT;
    ALTER TABLE outbox ADD COLUMN shown_members INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE outbox ADD COLUMN edit_due INTEGER NOT NULL DEFAULT 0 CHECK (edit_due IN (0, 1));
    CREATE UNIQUE INDEX outbox_chat_story ON outbox (chat_id, story_id) WHERE story_id IS NOT NULL;
    CREATE INDEX outbox_story ON outbox (story_id) WHERE story_id IS NOT NULL;
    CREATE INDEX outbox_edit_due ON outbox (edit_due) WHERE edit_due = 1;
    PRAGMA user_version = 4;
    COMMIT;
    """,
    # 5: digest schedules. A subscription's schedule (now, daily HH:MM, weekly DAY HH:MM) in its chat's
    # time zone (IANA name; NULL: UTC). An alert of a digest subscription waits in the outbox until its
    # digest is due (digest_due, also its next_attempt_at), so schedules live in the database and a digest
    # missed while the bot was down is simply due at start-up, once.
    """
    BEGIN IMMEDIATE;
    ALTER TABLE subscriptions ADD COLUMN schedule TEXT NOT NULL DEFAULT 'now';
    ALTER TABLE chats ADD COLUMN timezone TEXT;
    ALTER TABLE outbox ADD COLUMN digest_due TEXT;
    PRAGMA user_version = 5;
    COMMIT;
    """,
    # 6: several replicas on one database (PostgreSQL): an outbox row claimed by one replica carries its
    # lease (owner, until), so a replica that dies hands its rows over when the lease ends; the shared
    # send slot keeps the global alert rate (bot.tg.alerts), and the question budget the per-user limits.
    """
    BEGIN IMMEDIATE;
    ALTER TABLE outbox ADD COLUMN lease_owner TEXT;
    ALTER TABLE outbox ADD COLUMN lease_until TEXT;
    CREATE TABLE send_slots (
        name TEXT PRIMARY KEY,
        next_at REAL NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE question_budget (
        user_id INTEGER NOT NULL,
        kind TEXT NOT NULL,
        booked_until REAL NOT NULL,
        told_at REAL,
        PRIMARY KEY (user_id, kind)
    ) WITHOUT ROWID;
    PRAGMA user_version = 6;
    COMMIT;
    """,
)

# The same migrations for PostgreSQL, one for one: the same tables, columns and constraints, in its types
# (BIGINT for Telegram's 64-bit ids, identity columns, DOUBLE PRECISION; times stay fixed-width ISO text,
# compared byte by byte with COLLATE "C", so the store's SQL is the same on both). Each script runs in one
# transaction under an advisory lock (replicas starting together migrate once) and ends by recording its
# number in newsbot_schema. tests/test_store.py checks that both databases end with the same columns.
POSTGRES_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE chats (
        id BIGINT PRIMARY KEY,
        type TEXT NOT NULL,
        title TEXT,
        first_seen TEXT COLLATE "C" NOT NULL,
        last_seen TEXT COLLATE "C" NOT NULL,
        active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
        inactive_reason TEXT,
        related_enabled INTEGER CHECK (related_enabled IN (0, 1)),
        last_alert_at TEXT COLLATE "C"
    );
    CREATE TABLE question_log (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        at TEXT COLLATE "C" NOT NULL,
        chat_id BIGINT NOT NULL,
        results INTEGER NOT NULL,
        duration_ms DOUBLE PRECISION NOT NULL,
        question TEXT
    );
    CREATE INDEX question_log_at ON question_log (at);
    CREATE TABLE saved_queries (
        id TEXT PRIMARY KEY,
        chat_id BIGINT NOT NULL,
        query TEXT NOT NULL,
        created_at TEXT COLLATE "C" NOT NULL,
        expires_at TEXT COLLATE "C" NOT NULL
    );
    CREATE INDEX saved_queries_expires_at ON saved_queries (expires_at);
    CREATE TABLE seen_articles (
        article_id TEXT PRIMARY KEY,
        first_seen TEXT COLLATE "C" NOT NULL
    );
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    UPDATE newsbot_schema SET version = 1;
    """,
    """
    CREATE TABLE subscriptions (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        chat_id BIGINT NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('topic', 'keywords')),
        value TEXT NOT NULL,
        label TEXT NOT NULL,
        created_at TEXT COLLATE "C" NOT NULL,
        UNIQUE (chat_id, kind, value)
    );
    CREATE TABLE push_log (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        chat_id BIGINT NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
        topic TEXT NOT NULL,
        article_id TEXT NOT NULL,
        at TEXT COLLATE "C" NOT NULL
    );
    CREATE INDEX push_log_chat_at ON push_log (chat_id, at);
    CREATE TABLE outbox (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        chat_id BIGINT NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
        article_id TEXT NOT NULL,
        reason TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'sent', 'failed', 'parked')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT COLLATE "C" NOT NULL,
        last_error TEXT,
        created_at TEXT COLLATE "C" NOT NULL,
        sent_at TEXT COLLATE "C",
        message_id BIGINT,
        UNIQUE (chat_id, article_id)
    );
    CREATE INDEX outbox_status_due ON outbox (status, next_attempt_at);
    UPDATE newsbot_schema SET version = 2;
    """,
    """
    CREATE TABLE sources (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        url TEXT NOT NULL UNIQUE,
        name TEXT,
        origin TEXT NOT NULL CHECK (origin IN ('file', 'chat')),
        topics TEXT NOT NULL DEFAULT '[]',
        every_seconds DOUBLE PRECISION NOT NULL,
        full_text TEXT NOT NULL DEFAULT 'auto' CHECK (full_text IN ('auto', 'always', 'never')),
        listed INTEGER NOT NULL DEFAULT 1 CHECK (listed IN (0, 1)),
        added_by BIGINT,
        added_at TEXT COLLATE "C" NOT NULL,
        paused INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
        pause_reason TEXT,
        paused_at TEXT COLLATE "C",
        etag TEXT,
        last_modified TEXT,
        last_attempt_at TEXT COLLATE "C",
        last_success_at TEXT COLLATE "C",
        last_status TEXT,
        last_error TEXT,
        last_error_at TEXT COLLATE "C",
        last_notes TEXT,
        failures INTEGER NOT NULL DEFAULT 0,
        next_poll_at TEXT COLLATE "C",
        articles INTEGER NOT NULL DEFAULT 0,
        last_new_at TEXT COLLATE "C"
    );
    CREATE INDEX sources_due ON sources (listed, paused, next_poll_at);
    CREATE TABLE fetched_articles (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        article_id TEXT NOT NULL UNIQUE,
        source_id BIGINT NOT NULL REFERENCES sources (id),
        entry_key TEXT NOT NULL,
        canonical_url TEXT,
        fingerprint TEXT NOT NULL,
        url TEXT,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        published TEXT COLLATE "C",
        author TEXT,
        source_name TEXT,
        tags TEXT NOT NULL DEFAULT '[]',
        text_from TEXT NOT NULL CHECK (text_from IN ('feed', 'page', 'teaser')),
        text_note TEXT,
        fetched_at TEXT COLLATE "C" NOT NULL,
        expired_at TEXT COLLATE "C",
        story_id BIGINT,
        UNIQUE (source_id, entry_key)
    );
    CREATE INDEX fetched_articles_url ON fetched_articles (canonical_url);
    CREATE INDEX fetched_articles_fingerprint ON fetched_articles (fingerprint);
    CREATE INDEX fetched_articles_fetched_at ON fetched_articles (fetched_at);
    CREATE INDEX fetched_articles_story ON fetched_articles (story_id) WHERE story_id IS NOT NULL;
    CREATE TABLE admin_notices (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        admin_id BIGINT NOT NULL,
        kind TEXT NOT NULL,
        source_id BIGINT REFERENCES sources (id),
        reason TEXT NOT NULL,
        created_at TEXT COLLATE "C" NOT NULL,
        sent_at TEXT COLLATE "C"
    );
    CREATE INDEX admin_notices_unsent ON admin_notices (sent_at, id);
    UPDATE newsbot_schema SET version = 3;
    """,
    """
    CREATE TABLE story_articles (
        seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        article_id TEXT NOT NULL UNIQUE,
        story_id TEXT NOT NULL,
        reason TEXT NOT NULL CHECK (reason IN ('new', 'copy', 'rewrite')),
        source TEXT,
        published TEXT COLLATE "C",
        chars INTEGER NOT NULL,
        added_at TEXT COLLATE "C" NOT NULL
    );
    CREATE INDEX story_articles_story ON story_articles (story_id);
    ALTER TABLE outbox ADD COLUMN story_id TEXT;
    ALTER TABLE outbox ADD COLUMN shown_members INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE outbox ADD COLUMN edit_due INTEGER NOT NULL DEFAULT 0 CHECK (edit_due IN (0, 1));
    CREATE UNIQUE INDEX outbox_chat_story ON outbox (chat_id, story_id) WHERE story_id IS NOT NULL;
    CREATE INDEX outbox_story ON outbox (story_id) WHERE story_id IS NOT NULL;
    CREATE INDEX outbox_edit_due ON outbox (edit_due) WHERE edit_due = 1;
    UPDATE newsbot_schema SET version = 4;
    """,
    """
    ALTER TABLE subscriptions ADD COLUMN schedule TEXT NOT NULL DEFAULT 'now';
    ALTER TABLE chats ADD COLUMN timezone TEXT;
    ALTER TABLE outbox ADD COLUMN digest_due TEXT COLLATE "C";
    UPDATE newsbot_schema SET version = 5;
    """,
    """
    ALTER TABLE outbox ADD COLUMN lease_owner TEXT;
    ALTER TABLE outbox ADD COLUMN lease_until TEXT COLLATE "C";
    CREATE TABLE send_slots (
        name TEXT PRIMARY KEY,
        next_at DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE question_budget (
        user_id BIGINT NOT NULL,
        kind TEXT NOT NULL,
        booked_until DOUBLE PRECISION NOT NULL,
        told_at DOUBLE PRECISION,
        PRIMARY KEY (user_id, kind)
    );
    UPDATE newsbot_schema SET version = 6;
    """,
)
# Any number: the advisory lock replicas take while migrating (pg_advisory_xact_lock).
MIGRATION_LOCK = 0x6E657773_626F7401


def take_instance_lock(path: Path, lock: bool) -> int | None:
    """Create the parent directory and, if asked, take the instance lock; return the lock's descriptor."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StoreError(
            f"cannot create the directory for database {path}: {error.strerror or error} "
            "(set NEWSBOT_DATABASE to a file in a writable directory)"
        ) from error
    if not lock:
        return None
    lock_path = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise StoreError(
            f"cannot create lock file {lock_path} beside the database: {error.strerror or error} "
            "(set NEWSBOT_DATABASE to a file in a writable directory)"
        ) from error
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        os.close(fd)
        if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise StoreLockedError(
                f"database {path} is in use by another newsbot process (lock {lock_path} is held); "
                "stop that process first"
            ) from error
        raise StoreError(f"cannot lock {lock_path}: {error.strerror or error}") from error
    return fd


def release_instance_lock(fd: int | None) -> None:
    """Release the instance lock taken by take_instance_lock (None: there is none)."""
    if fd is not None:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


async def user_version(db: aiosqlite.Connection) -> int:
    """The schema version the file records."""
    async with db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row is not None else 0


async def check_writable(db: aiosqlite.Connection) -> None:
    """Fail now, not at the first write, if SQLite could only open the file read-only."""
    try:
        # Rewriting the header with the value it holds is the smallest write there is.
        version = await user_version(db)
        await db.execute(f"PRAGMA user_version = {int(version)}")  # pragmas take no parameters
    except sqlite3.Error as error:
        if "readonly" in str(error):
            raise
        # Anything else (a full disk, a busy file) may clear while we run; the writes will say so then.
        log.warning("database write check failed: %s", error)


async def migrate(db: aiosqlite.Connection, path: Path) -> int:
    """Apply the migrations the file has not seen yet, each atomically; return the resulting version."""
    migrations = MIGRATIONS  # read at call time so tests can substitute the tuple
    version = await user_version(db)
    while True:
        if version > len(migrations):
            raise StoreError(
                f"database {path} has schema version {version}, newer than this newsbot knows "
                f"({len(migrations)}); upgrade newsbot or use another database file"
            )
        if version == len(migrations):
            return version
        target = version + 1
        try:
            await db.executescript(migrations[version])
        except sqlite3.Error as error:
            await db.rollback()
            reached = await user_version(db)
            if reached >= target:  # another process applied it while we waited for the write lock
                version = reached
                continue
            raise StoreError(
                f"migration {target} of database {path} failed and was rolled back ({error}); "
                f"the database stays at schema version {version}"
            ) from error
        reached = await user_version(db)
        if reached != target:
            raise StoreError(
                f"migration {target} of database {path} left user_version at {reached}; "
                f"every migration script must end with PRAGMA user_version = {target}"
            )
        log.info("database %s migrated to schema version %d", path, target)
        version = target


async def migrate_postgres(connection: Any, label: str) -> int:
    """Apply the PostgreSQL migrations the database has not seen yet, each in one transaction under an
    advisory lock (replicas starting together wait for each other); return the resulting version."""
    migrations = POSTGRES_MIGRATIONS  # read at call time so tests can substitute the tuple
    try:
        async with connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
            await connection.execute("CREATE TABLE IF NOT EXISTS newsbot_schema (version INTEGER NOT NULL)")
            await connection.execute(
                "INSERT INTO newsbot_schema (version) SELECT 0 "
                "WHERE NOT EXISTS (SELECT 1 FROM newsbot_schema)"
            )
    except asyncpg.PostgresError as error:
        raise StoreError(f"cannot prepare database {label} for its schema: {error}") from error
    while True:
        async with connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
            version = int(await connection.fetchval("SELECT version FROM newsbot_schema"))
            if version > len(migrations):
                raise StoreError(
                    f"database {label} has schema version {version}, newer than this newsbot knows "
                    f"({len(migrations)}); upgrade newsbot or use another database"
                )
            if version == len(migrations):
                return version
            target = version + 1
            try:
                async with connection.transaction():  # a savepoint: the failure is reported, not half-kept
                    await connection.execute(migrations[version])
                    reached = int(await connection.fetchval("SELECT version FROM newsbot_schema"))
                    if reached != target:
                        raise StoreError(
                            f"migration {target} of database {label} left its version at {reached}; "
                            "every migration script must end with "
                            f"UPDATE newsbot_schema SET version = {target}"
                        )
            except asyncpg.PostgresError as error:
                raise StoreError(
                    f"migration {target} of database {label} failed and was rolled back ({error}); "
                    f"the database stays at schema version {version}"
                ) from error
        log.info("database %s migrated to schema version %d", label, target)
