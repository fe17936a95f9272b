"""The bot's database (a SQLite file, or PostgreSQL shared by replicas): every SQL statement, the
migrations and the instance lock live here; backend.py and postgres.py hold what differs between the two.

schema.py holds the append-only migrations and the lock; facade.py the Store, named by intent; sources.py
the feeds, fetched articles and admin notices (store.sources); errors.py the StoreError family; records.py
what the store returns besides the core's interest types. Nothing
outside this package imports sqlite3, aiosqlite or asyncpg. Must not import telegram.
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
from bot.store.records import (
    ChatRecord,
    IngestResult,
    Matcher,
    OutboxItem,
    QuestionStats,
    Stats,
    StoryAssigner,
)
from bot.store.sources import (
    AdminNotice,
    FailureOutcome,
    FetchedArticle,
    KnownEntries,
    PollStatus,
    Source,
    SourceCounts,
    SourceStore,
    TextFrom,
)

__all__ = [
    "AdminNotice",
    "ChatRecord",
    "DatabaseBusy",
    "DatabaseCorrupt",
    "DatabaseFailing",
    "DatabaseFull",
    "DatabaseGone",
    "DatabaseReadOnly",
    "DatabaseUnopenable",
    "FailureOutcome",
    "FetchedArticle",
    "IngestResult",
    "KnownEntries",
    "Matcher",
    "OutboxItem",
    "PollStatus",
    "QuestionStats",
    "Source",
    "SourceCounts",
    "SourceStore",
    "Stats",
    "Store",
    "StoreError",
    "StoreLockedError",
    "StoryAssigner",
    "TextFrom",
]
