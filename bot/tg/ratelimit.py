"""Per-user question rate limit: N a minute, at most BURST at once, kept in memory.

A token bucket (the generic cell rate algorithm): each question books 60/N seconds; a user may be at most
BURST - 1 bookings ahead of now. So a flood is let through one question every 60/N seconds, spread out,
rather than N at once at the start of each minute. A user over the limit gets one friendly "slow down"
reply a minute and silence after that, so a flood costs us one message, not one per flooded message. A
restart forgets the buckets; that is harmless. Housekeeping (bot.tg.housekeeping) drops the buckets of
users who went quiet. Shared among replicas (`share`, on PostgreSQL), the buckets live in the database
instead (Store.take_budget, the same algorithm on the database's clock), so a user's limit is the same
however the load balancer spreads their messages; ask with `decide`/`decline` then.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from enum import StrEnum

from bot.store import Store, StoreError

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60.0
BURST = 3  # questions a user may ask at once (a follow-up or two) before the pace applies


class Verdict(StrEnum):
    """What to do with one question."""

    ANSWER = "answer"
    SLOW_DOWN = "slow_down"  # refuse, and say so (first refusal in this window)
    IGNORE = "ignore"  # refuse silently (already told)


class QuestionLimiter:
    """About `per_minute` questions per user a minute, at most `burst` at once."""

    def __init__(
        self, per_minute: int, *, burst: int = BURST, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._interval = WINDOW_SECONDS / per_minute
        self._burst = max(1, min(burst, per_minute))
        self._clock = clock
        self._booked: dict[int, float] = {}  # per user: when the bookings made so far run out
        self._told: dict[int, float] = {}
        self._store: Store | None = None  # shared among replicas: the buckets are in the database
        self._kind = ""

    def share(self, store: Store, kind: str) -> None:
        """Keep this limit's buckets in the database every replica uses (`kind` names the limit)."""
        self._store, self._kind = store, kind

    async def decide(self, user_id: int | None) -> Verdict:
        """check(), against the database's buckets when shared (this process's own if it fails)."""
        if self._store is None or user_id is None:
            return self.check(user_id)
        try:
            verdict = await self._store.take_budget(user_id, self._kind, self._interval, self._burst)
        except StoreError as error:
            log.warning("question limits: the database failed, counting here for now: %s", error)
            return self.check(user_id)
        return Verdict(verdict)

    async def decline(self, user_id: int) -> Verdict:
        """refuse(), remembered in the database when shared."""
        if self._store is None:
            return self.refuse(user_id)
        try:
            return Verdict(await self._store.refuse_budget(user_id, self._kind))
        except StoreError as error:
            log.warning("question limits: the database failed, counting here for now: %s", error)
            return self.refuse(user_id)

    def check(self, user_id: int | None) -> Verdict:
        """Record a question from a user and say whether to answer it."""
        if user_id is None:
            return Verdict.ANSWER
        now = self._clock()
        booked = max(self._booked.get(user_id, now), now)
        if booked - now <= (self._burst - 1) * self._interval + 1e-9:
            self._booked[user_id] = booked + self._interval
            return Verdict.ANSWER
        if now - self._told.get(user_id, -WINDOW_SECONDS) >= WINDOW_SECONDS:
            self._told[user_id] = now
            return Verdict.SLOW_DOWN
        return Verdict.IGNORE

    def refuse(self, user_id: int) -> Verdict:
        """Refuse a question for another reason (its user's share of the work is spent): SLOW_DOWN at
        most once a minute, as for the count."""
        now = self._clock()
        if now - self._told.get(user_id, -WINDOW_SECONDS) >= WINDOW_SECONDS:
            self._told[user_id] = now
            return Verdict.SLOW_DOWN
        return Verdict.IGNORE

    def forget_idle(self) -> int:
        """Drop users whose bookings have run out (they would start afresh anyway), so the maps do not
        grow without bound; return how many were dropped."""
        now = self._clock()
        idle = [user for user, booked in self._booked.items() if booked <= now]
        for user_id in idle:
            self._booked.pop(user_id, None)
        for user_id in [user for user, at in self._told.items() if now - at >= WINDOW_SECONDS]:
            del self._told[user_id]
        return len(idle)

    def __len__(self) -> int:
        return len(self._booked)
