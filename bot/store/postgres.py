"""The PostgreSQL side of the store: a connection pool, transactions, errors described for the operator,
and what several replicas share through PostgreSQL itself — LISTEN/NOTIFY and session advisory locks.

Write transactions are serial by default: each takes one transaction-level advisory lock first, so the
store's read-then-write methods behave as on SQLite (whose BEGIN IMMEDIATE serialises writers) however
many replicas run. The few writes made to run side by side (claiming outbox rows with FOR UPDATE SKIP
LOCKED, marking them sent, the shared send slot, the question log, per-user budgets) pass serial=False.
asyncpg is the driver (see README, Dependencies). Must not import telegram.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bot.store.backend import PgDb
from bot.store.errors import (
    DatabaseBusy,
    DatabaseFull,
    DatabaseReadOnly,
    DatabaseUnreachable,
    StoreError,
)
from bot.store.schema import migrate_postgres

log = logging.getLogger(__name__)

WRITE_LOCK = 0x6E657773_626F7402  # pg_advisory_xact_lock taken by every serial write transaction
CONNECT_TIMEOUT = 10.0
POOL_SIZE = 10


def is_postgres_url(target: object) -> bool:
    """Whether NEWSBOT_DATABASE names a PostgreSQL server rather than a SQLite file."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def redacted_dsn(dsn: str) -> str:
    """The DSN without its password, for logs and messages."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


def dsn_password(dsn: str) -> str | None:
    """The password in a DSN, if any (registered as a secret so no log line shows it)."""
    return urlsplit(dsn).password


def describe(label: str, error: BaseException) -> StoreError:
    """The StoreError for what PostgreSQL (or the way to it) said, described for the operator."""
    if isinstance(error, StoreError):
        return error
    if isinstance(error, asyncpg.PostgresError):
        code = getattr(error, "sqlstate", "") or ""
        message = str(error).replace("\n", " ")
        if code.startswith("53"):  # insufficient resources: disk full, out of memory, too many connections
            return DatabaseFull(f"database {label} is out of resources ({message}); nothing was half-done")
        if code == "25006":
            return DatabaseReadOnly(f"database {label} is read-only ({message}); the bot must write to it")
        if code in ("40001", "40P01", "55P03", "57014"):
            return DatabaseBusy(f"database {label} is busy ({message}); try again")
        if code.startswith(("08", "57P")):
            return DatabaseUnreachable(f"database {label} dropped the connection ({message})")
        return StoreError(f"database {label}: {message}")
    if isinstance(error, (OSError, asyncpg.InterfaceError, TimeoutError, ConnectionError)):
        return DatabaseUnreachable(
            f"cannot reach database {label}: {error or type(error).__name__} "
            "(is PostgreSQL running there, and NEWSBOT_DATABASE right?)"
        )
    return StoreError(f"database {label}: {error}")


class Postgres:
    """A pool of connections to one PostgreSQL database, migrated on open."""

    def __init__(self, dsn: str, pool: Any, version: int) -> None:
        self.dsn = dsn
        self.label = redacted_dsn(dsn)
        self.pool = pool
        self.schema_version = version
        self._closed = False

    @classmethod
    async def open(cls, dsn: str, *, pool_size: int = POOL_SIZE) -> Postgres:
        """Connect, migrate, and keep a pool; raise StoreError if the database cannot be used."""
        label = redacted_dsn(dsn)
        try:
            pool = await asyncpg.create_pool(
                dsn, min_size=1, max_size=pool_size, timeout=CONNECT_TIMEOUT, command_timeout=60
            )
        except Exception as error:
            raise describe(label, error) from error
        try:
            async with pool.acquire() as connection:
                version = await migrate_postgres(connection, label)
        except BaseException as error:
            await pool.close()
            if isinstance(error, Exception):
                raise describe(label, error) from error
            raise
        return cls(dsn, pool, version)

    async def close(self) -> None:
        """Close every connection (safe to call twice)."""
        if self._closed:
            return
        self._closed = True
        try:
            await asyncio.wait_for(self.pool.close(), 10)
        except (TimeoutError, asyncpg.PostgresError, OSError):
            self.pool.terminate()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"database {self.label} is closed")

    @asynccontextmanager
    async def transaction(self, *, write: bool = True, serial: bool = True) -> AsyncIterator[PgDb]:
        """One transaction; a serial write first takes the store-wide write lock."""
        self._check_open()
        try:
            # A read-only transaction sees one snapshot throughout (the admin overview is one read).
            isolation = "read_committed" if write else "repeatable_read"
            async with (
                self.pool.acquire() as connection,
                connection.transaction(isolation=isolation, readonly=not write),
            ):
                if write and serial:
                    await connection.execute("SELECT pg_advisory_xact_lock($1)", WRITE_LOCK)
                yield PgDb(connection)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as error:
            raise describe(self.label, error) from error

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[PgDb]:
        """A connection for reads, each statement on its own."""
        self._check_open()
        try:
            async with self.pool.acquire() as connection:
                yield PgDb(connection)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as error:
            raise describe(self.label, error) from error

    async def ping(self) -> None:
        """Raise StoreError unless the database answers now."""
        async with self.reading() as db:
            await db.execute_fetchall("SELECT 1")

    async def notify(self, channel: str, payload: str) -> None:
        """pg_notify: every connection listening on `channel` hears `payload` once this commits."""
        async with self.transaction(serial=False) as db:
            await db.execute("SELECT pg_notify(?, ?)", (channel, payload))

    async def connect(self) -> Any:
        """A connection of its own, outside the pool (a listener, a session lock)."""
        self._check_open()
        try:
            return await asyncpg.connect(self.dsn, timeout=CONNECT_TIMEOUT)
        except Exception as error:
            raise describe(self.label, error) from error


LISTEN_ERRORS = (StoreError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)


class Listener:
    """LISTEN on one channel over a dedicated connection, reconnecting when it is lost; `on_message`
    gets each payload, `on_connected` runs after every (re)connection (to catch up on what was missed)."""

    def __init__(
        self,
        database: Postgres,
        channel: str,
        on_message: Callable[[str], object],
        on_connected: Callable[[], object] = lambda: None,
        *,
        check_every: float = 5.0,
    ) -> None:
        self._database = database
        self._channel = channel
        self._on_message = on_message
        self._on_connected = on_connected
        self._check_every = check_every
        self.connected = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Listen until `stop` is set."""
        while not stop.is_set():
            connection: Any = None
            try:
                connection = await self._database.connect()
                lost = asyncio.Event()
                connection.add_termination_listener(lambda _connection, lost=lost: lost.set())
                await connection.add_listener(
                    self._channel, lambda _c, _pid, _channel, payload: self._on_message(payload)
                )
                self.connected.set()
                self._on_connected()
                while not stop.is_set() and not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self._check_every)
                    if not stop.is_set():
                        await asyncio.wait_for(connection.fetchval("SELECT 1"), self._check_every)
            except LISTEN_ERRORS as error:
                log.warning("listening for other replicas failed (%s); trying again", error)
            finally:
                self.connected.clear()
                if connection is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(connection.close(), 5)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)


class SessionLock:
    """A session-level advisory lock asked for on a dedicated connection (kept between tries, so asking
    costs one query, not a new connection): whoever holds it leads; when its process dies, PostgreSQL ends
    the session and the lock passes to the next replica that asks."""

    def __init__(self, database: Postgres, key: int) -> None:
        self._database = database
        self._key = key
        self._connection: Any = None
        self._held = False

    @property
    def held(self) -> bool:
        """Whether this process holds the lock (as far as it knows)."""
        return self._held and self._connection is not None and not self._connection.is_closed()

    async def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; True when held."""
        if self.held:
            return True
        if self._connection is None or self._connection.is_closed():
            self._connection = await self._database.connect()
        try:
            self._held = bool(await self._connection.fetchval("SELECT pg_try_advisory_lock($1)", self._key))
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as error:
            await self.release()
            raise describe(self._database.label, error) from error
        return self._held

    async def still_held(self, timeout: float = 5.0) -> bool:  # noqa: ASYNC109 - one short check
        """Check the connection that holds the lock; False (and released) when it is gone."""
        if not self.held:
            return False
        try:
            await asyncio.wait_for(self._connection.fetchval("SELECT 1"), timeout)
            return True
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError):
            await self.release()
            return False

    async def release(self) -> None:
        """Let go (closing the session releases the lock)."""
        connection, self._connection, self._held = self._connection, None, False
        if connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), 5)
