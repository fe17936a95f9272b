"""The bot's SQLite database: every SQL statement, the migrations and the instance lock live here.

schema.py holds the append-only migrations and the lock; facade.py the Store, named by intent; errors.py
the StoreError family; records.py what the store returns besides the core's interest types. Nothing
outside this package imports sqlite3 or aiosqlite. Must not import telegram.
"""

from bot.store.errors import (
    DatabaseBusy,
    DatabaseCorrupt,
    DatabaseFailing,
    DatabaseFull,
    DatabaseGone,
    DatabaseReadOnly,
    DatabaseUnopenable,
    StoreError,
    StoreLockedError,
)
from bot.store.facade import Store
from bot.store.records import ChatRecord, IngestResult, Matcher, OutboxItem, QuestionStats, Stats

__all__ = [
    "ChatRecord",
    "DatabaseBusy",
    "DatabaseCorrupt",
    "DatabaseFailing",
    "DatabaseFull",
    "DatabaseGone",
    "DatabaseReadOnly",
    "DatabaseUnopenable",
    "IngestResult",
    "Matcher",
    "OutboxItem",
    "QuestionStats",
    "Stats",
    "Store",
    "StoreError",
    "StoreLockedError",
]
