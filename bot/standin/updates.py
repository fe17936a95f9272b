"""The stand-in's update queue: what getUpdates hands the bot, confirmed by the offset of its next call.

Telegram's rules for allowed_updates (remembered between calls; types not allowed are dropped for good)
and offsets (a positive one confirms everything below it, a negative one keeps only the last few).
Listeners hear of every queued update (the server wakes its long poll) and of every batch handed out,
with the time it went (the end-to-end benchmark measures answer latency from there). Must not import
telegram or aiohttp.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence

from bot.standin.protocol import JsonDict

_log = logging.getLogger(__name__)

# Telegram's default when allowed_updates is empty or was never given.
_DEFAULT_EXCLUDED = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

HandedOut = Callable[[Sequence[JsonDict], float], None]


class UpdateQueue:
    """Updates waiting for the bot, in order, with Telegram's confirmation and filtering rules."""

    def __init__(self) -> None:
        self._updates: list[JsonDict] = []
        self._next_id = 1
        self._allowed: frozenset[str] | None = None
        self._queued: list[Callable[[], None]] = []
        self._handed_out: list[HandedOut] = []

    def put(self, update_type: str, payload: JsonDict) -> JsonDict:
        """Queue one update (a copy of payload under update_type); returns the update with its update_id."""
        update = {"update_id": self._next_id, update_type: copy.deepcopy(payload)}
        self._next_id += 1
        self._updates.append(update)
        for listener in list(self._queued):
            listener()
        return update

    def pending(self) -> list[JsonDict]:
        """Updates queued and not yet confirmed by a getUpdates offset."""
        return copy.deepcopy(self._updates)

    @property
    def allowed(self) -> list[str] | None:
        """The allowed_updates list last given to getUpdates (None: Telegram's default)."""
        return sorted(self._allowed) if self._allowed is not None else None

    def confirm(self, offset: int | None) -> None:
        """Forget updates below a positive offset; a negative one keeps only the last -offset updates."""
        if offset is None or offset == 0:
            return
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        else:
            self._updates = self._updates[offset:]

    def set_allowed(self, allowed: list[str] | None) -> None:
        """Remember allowed_updates like Telegram does (None: keep the previous list)."""
        if allowed is not None:
            self._allowed = frozenset(allowed) if allowed else None

    def deliverable(self, limit: int) -> list[JsonDict]:
        """The next updates to hand out; updates of types not allowed are dropped for good."""
        kept = []
        for update in self._updates:
            kind = next(key for key in update if key != "update_id")
            if (kind in self._allowed) if self._allowed is not None else (kind not in _DEFAULT_EXCLUDED):
                kept.append(update)
        self._updates = kept
        return copy.deepcopy(kept[:limit])

    def drop(self) -> None:
        """Forget every queued update (setWebhook/deleteWebhook with drop_pending_updates)."""
        self._updates = []

    def on_queued(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call listener() after every update is queued; returns a function that stops it."""
        self._queued.append(listener)
        return lambda: self._queued.remove(listener) if listener in self._queued else None

    def on_handed_out(self, listener: HandedOut) -> Callable[[], None]:
        """Call listener(updates, at) whenever getUpdates hands updates out (`at` on the stand-in's
        clock); returns a function that stops it. Runs inside the request: keep it quick."""
        self._handed_out.append(listener)
        return lambda: self._handed_out.remove(listener) if listener in self._handed_out else None

    def handed_out(self, updates: Sequence[JsonDict], at: float) -> None:
        """Tell the listeners that getUpdates answered with `updates` at `at` (called by the server)."""
        if not updates:
            return
        for listener in list(self._handed_out):
            try:
                listener(updates, at)
            except Exception:
                _log.exception("stand-in handed-out listener failed")
