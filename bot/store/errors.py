"""What can go wrong with the database, as StoreError subclasses carrying their operator-facing description.

Every sqlite3 (or asyncpg: bot.store.postgres.describe) error a Store method meets leaves the store as one
of these, so callers (the Telegram side, the runtime) never import a database driver: str(error) names
the file, what SQLite said and what to do about it.
Must not import telegram.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


class StoreError(Exception):
    """The database cannot do what was asked; str(error) is one line for the operator."""

    @property
    def description(self) -> str:
        """The operator-facing line: which database, what is wrong, what to do."""
        return str(self)


class StoreLockedError(StoreError):
    """Another process holds the instance lock on this database."""


class DatabaseCorrupt(StoreError):
    """The file is not a SQLite database, or its contents are damaged."""


class DatabaseUnopenable(StoreError):
    """SQLite cannot open the file (a missing or unwritable directory)."""


class DatabaseReadOnly(StoreError):
    """The file (or its directory) cannot be written."""


class DatabaseBusy(StoreError):
    """Another process held the write lock for longer than the busy timeout."""


class DatabaseFull(StoreError):
    """The disk (or the file's size limit) is full; nothing was half-written."""


class DatabaseFailing(StoreError):
    """The disk answered with an I/O error."""


class DatabaseUnreachable(StoreError):
    """The PostgreSQL server cannot be reached (or dropped the connection)."""


class DatabaseGone(StoreError):
    """The file the store opened is no longer the file at its path (deleted, or replaced by another)."""


def store_error(path: Path, error: sqlite3.Error) -> StoreError:
    """The StoreError for what SQLite said about the database at `path`, described for the operator."""
    message = str(error)
    if "not a database" in message:
        return DatabaseCorrupt(
            f"{path} is not a SQLite database, or its header is corrupt ({message}); "
            "point NEWSBOT_DATABASE at the right file, or move this one aside"
        )
    if "malformed" in message:
        return DatabaseCorrupt(
            f"database {path} is corrupt ({message}); restore it from a backup or move it aside"
        )
    if "unable to open" in message:
        return DatabaseUnopenable(
            f"cannot open database {path}: {message} (does the directory exist and is it writable? "
            "NEWSBOT_DATABASE names the file)"
        )
    if "readonly" in message or "read-only" in message:
        return DatabaseReadOnly(
            f"database {path} is read-only ({message}); the bot needs to write to it and its directory"
        )
    if "locked" in message or "busy" in message:
        return DatabaseBusy(f"database {path} is busy ({message}); another process is holding a write lock")
    if "full" in message:
        return DatabaseFull(
            f"database {path} cannot grow ({message}); free some disk space, nothing was half-written"
        )
    if "i/o error" in message.lower():
        return DatabaseFailing(
            f"database {path} could not be written ({message}); is the file or disk read-only or failing?"
        )
    return StoreError(f"database {path}: {message}")
