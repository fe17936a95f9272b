"""What the store returns besides the core's interest types: chats, outbox rows, ingest results, figures.

Frozen dataclasses only. Subscriptions, their kinds and alert statuses are the core's (bot.core.interests);
the store keeps them but does not define them. Must not import telegram.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from bot.core.interests import AlertStatus, Subscription
from bot.core.stories import StoryRecord


@dataclass(frozen=True, slots=True)
class ChatRecord:
    """A chat the bot has seen, with its per-chat settings."""

    id: int
    type: str
    title: str | None
    first_seen: datetime
    last_seen: datetime
    active: bool
    inactive_reason: str | None
    related_enabled: bool | None  # None: use the bot-wide default
    last_alert_at: datetime | None
    timezone: str | None = None  # IANA name chosen with /timezone; None: UTC


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One alert: an article owed to a chat, with its delivery state."""

    id: int
    chat_id: int
    article_id: str
    reason: str
    status: AlertStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    message_id: int | None
    story_id: str | None = None  # the story it alerts (a chat gets each story once)
    shown_members: int = 1  # members of the story the message counted when sent or last edited
    edit_due: bool = False  # the story gained members since: update the message
    digest_due: datetime | None = None  # sent with its chat's digest due then; None: as it comes


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What one corpus (re)load changed: the never-seen ids, alerts queued, whether it was the first load."""

    new_ids: list[str]
    alerts_created: int
    first_load: bool
    edits_due: int = 0  # alerts of stories that gained a report, flagged for an update


@dataclass(frozen=True, slots=True)
class QuestionStats:
    """Questions answered in the last 24 hours and in total; average duration over the last 24 hours."""

    last_24h: int
    total: int
    avg_duration_ms: float | None


@dataclass(frozen=True, slots=True)
class Stats:
    """Everything the admin overview (/stats) shows from the database, read in one transaction."""

    chats_total: int
    chats_active: int
    subscriptions: int
    subscriptions_by_topic: dict[str, int]  # topic slug → chats still reachable that follow it
    questions: QuestionStats
    alerts: dict[str, int] = field(default_factory=dict)
    last_delivery_at: datetime | None = None
    database_bytes: int = 0


# Matches new article ids against subscriptions; returns (chat_id, article_id, reason) triples. The store
# calls it in a worker thread, outside any transaction.
Matcher = Callable[[list[str], list[Subscription]], Iterable[tuple[int, str, str]]]

# Gives new article ids (in ingest order) their stories; the store calls it in the same worker thread.
StoryAssigner = Callable[[list[str]], Iterable[StoryRecord]]
