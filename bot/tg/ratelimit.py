"""Per-user question rate limit: a sliding one-minute window kept in memory.

A user over the limit gets one friendly "slow down" reply per window and silence after that, so a flood
costs us one message, not one per flooded message. A restart forgets the windows; that is harmless.
Housekeeping (bot.tg.housekeeping) drops the windows of users who went quiet.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from enum import StrEnum

WINDOW_SECONDS = 60.0


class Verdict(StrEnum):
    """What to do with one question."""

    ANSWER = "answer"
    SLOW_DOWN = "slow_down"  # refuse, and say so (first refusal in this window)
    IGNORE = "ignore"  # refuse silently (already told)


class QuestionLimiter:
    """At most `per_minute` questions per user in any 60-second window."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = per_minute
        self._clock = clock
        self._asked: dict[int, deque[float]] = {}
        self._told: dict[int, float] = {}

    def check(self, user_id: int | None) -> Verdict:
        """Record a question from a user and say whether to answer it."""
        if user_id is None:
            return Verdict.ANSWER
        now = self._clock()
        asked = self._asked.setdefault(user_id, deque())
        while asked and now - asked[0] >= WINDOW_SECONDS:
            asked.popleft()
        if len(asked) < self._limit:
            asked.append(now)
            self._told.pop(user_id, None)
            return Verdict.ANSWER
        if now - self._told.get(user_id, -WINDOW_SECONDS) >= WINDOW_SECONDS:
            self._told[user_id] = now
            return Verdict.SLOW_DOWN
        return Verdict.IGNORE

    def forget_idle(self) -> int:
        """Drop users with no question in the window, so the maps do not grow without bound; return how
        many were dropped."""
        now = self._clock()
        idle = [u for u, asked in self._asked.items() if not asked or now - asked[-1] >= WINDOW_SECONDS]
        for user_id in idle:
            self._asked.pop(user_id, None)
            self._told.pop(user_id, None)
        return len(idle)

    def __len__(self) -> int:
        return len(self._asked)
