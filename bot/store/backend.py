"""What store code writes its SQL against: a connection with aiosqlite's shape, on SQLite or PostgreSQL.

Store methods are written once, in the SQL both databases understand, with `?` placeholders. `Db` is
the connection they get inside a transaction: `await db.execute(sql, params)` (or `async with … as
cursor`) gives a cursor with `rowcount`, `fetchone()` and `fetchall()`; `execute_fetchall` and
`executemany` as in aiosqlite. On PostgreSQL each statement is rewritten once (`to_postgres`, cached):
`?` → `$n`, `INSERT OR IGNORE` → `ON CONFLICT DO NOTHING`, `json_each(?)` (a JSON array as a table of
`value`, ordered by `key`) → `json_array_elements_text(…) WITH ORDINALITY`. Where the two really
differ (the claim of outbox rows, the shared send slot, the instance lock) the store asks
`db.postgres`. Rows are sqlite3.Row or asyncpg.Record: both answer row[0] and row["name"].
Must not import telegram.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Generator, Iterable, Sequence
from types import TracebackType
from typing import Any, Protocol

import aiosqlite


class Row(Protocol):
    """A result row: by position or by column name."""

    def __getitem__(self, key: int | str, /) -> Any: ...


class Cursor:
    """One statement's outcome: the rows it returned (all read at once) and how many rows it touched."""

    def __init__(self, rows: Sequence[Any], rowcount: int) -> None:
        self._rows = list(rows)
        self.rowcount = rowcount

    async def fetchone(self) -> Any:
        """The first row, or None."""
        return self._rows[0] if self._rows else None

    async def fetchall(self) -> list[Any]:
        """Every row."""
        return list(self._rows)


class Statement:
    """A statement under way: await it for its Cursor, or use it as `async with … as cursor`."""

    def __init__(self, running: Awaitable[Cursor]) -> None:
        self._running = running

    def __await__(self) -> Generator[Any, None, Cursor]:
        return self._running.__await__()

    async def __aenter__(self) -> Cursor:
        return await self._running

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


class Db:
    """A connection inside a transaction (or a read); `postgres` tells which database it is."""

    postgres = False

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Statement:
        """Run one statement."""
        return Statement(self._execute(sql, params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Statement:
        """Run one statement per parameter row; rowcount is the sum."""
        return Statement(self._executemany(sql, rows))

    async def execute_fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run one statement and return its rows."""
        cursor = await self._execute(sql, params)
        return await cursor.fetchall()

    async def _execute(self, sql: str, params: Sequence[Any]) -> Cursor:
        raise NotImplementedError

    async def _executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Cursor:
        total = 0
        for row in rows:
            total += max((await self._execute(sql, row)).rowcount, 0)
        return Cursor([], total)


class SqliteDb(Db):
    """An aiosqlite connection."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self.connection = connection

    async def _execute(self, sql: str, params: Sequence[Any]) -> Cursor:
        async with self.connection.execute(sql, tuple(params)) as cursor:
            rows = await cursor.fetchall()
            return Cursor(list(rows), cursor.rowcount)

    async def _executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Cursor:
        async with self.connection.executemany(sql, [tuple(row) for row in rows]) as cursor:
            return Cursor([], max(cursor.rowcount, 0))


class PgDb(Db):
    """An asyncpg connection (from the pool, inside the store's transaction)."""

    postgres = True

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    async def _execute(self, sql: str, params: Sequence[Any]) -> Cursor:
        query, returns_rows = to_postgres(sql)
        if returns_rows:
            rows = await self.connection.fetch(query, *params)
            return Cursor(rows, len(rows))
        status = await self.connection.execute(query, *params)
        return Cursor([], _status_count(status))


def _status_count(status: str) -> int:
    """The row count in a command tag: "UPDATE 3" → 3, "INSERT 0 2" → 2, "CREATE TABLE" → -1."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1


_JSON_EACH = re.compile(r"json_each\(\s*\?\s*\)", re.IGNORECASE)
_INSERT_OR_IGNORE = re.compile(r"^\s*INSERT\s+OR\s+IGNORE\s+INTO\b", re.IGNORECASE)
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)
_ROWS_FIRST = re.compile(r"^\s*(SELECT|WITH|VALUES|PRAGMA|SHOW)\b", re.IGNORECASE)
_NOT_PORTABLE = re.compile(
    r"\b(UPDATE|INSERT)\s+OR\s+(REPLACE|ABORT|FAIL|ROLLBACK)\b|\bUPDATE\s+OR\s+IGNORE\b", re.IGNORECASE
)


@functools.lru_cache(maxsize=1024)
def to_postgres(sql: str) -> tuple[str, bool]:
    """The PostgreSQL form of a statement written for both databases, and whether it returns rows."""
    if _NOT_PORTABLE.search(sql):
        raise ValueError(f"not portable to PostgreSQL (write it for both databases): {sql[:80]!r}")
    text = _JSON_EACH.sub("json_array_elements_text(?::json) WITH ORDINALITY AS json_each(value, key)", sql)
    if _INSERT_OR_IGNORE.search(text):
        text = _INSERT_OR_IGNORE.sub("INSERT INTO", text, count=1)
        text = text.rstrip().rstrip(";")
        returning = _RETURNING.search(text)
        if returning is None:
            text += " ON CONFLICT DO NOTHING"
        else:
            at = returning.start()
            text = text[:at] + "ON CONFLICT DO NOTHING " + text[at:]
    out: list[str] = []
    number = 0
    quoted = False
    for char in text:
        if char == "'":
            quoted = not quoted
        if char == "?" and not quoted:
            number += 1
            out.append(f"${number}")
        else:
            out.append(char)
    query = "".join(out)
    return query, bool(_ROWS_FIRST.match(query) or _RETURNING.search(query))
