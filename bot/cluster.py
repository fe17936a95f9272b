"""Several replicas on one PostgreSQL database: which one leads, and what one tells the others.

One replica at a time leads: it holds a session-level advisory lock (Store.leader_lock) on a connection of
its own and runs the work that must happen once — fetching sources, admin notices, housekeeping's database
pass, editing alerts whose story grew. When its process dies PostgreSQL ends the session, the lock is free,
and the next replica to ask (every LEAD_CHECK seconds) leads. What changes the archive on one replica (a
/reload, the corpus watcher, new fetched articles) and new alerts are NOTIFYed on CHANNEL; the others
reload from the shared corpus folder and store, without telling again, and wake their alert worker.
Built by the composition root only when the store is shared. Knows nothing of Telegram.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
from collections.abc import Callable, Coroutine
from typing import Any

from bot.runtime import ReloadInProgress, Runtime
from bot.store import Store, StoreError

log = logging.getLogger(__name__)

CHANNEL = "newsbot"  # LISTEN/NOTIFY channel every replica shares
LEADER_LOCK = "leader"
LEAD_CHECK = 2.0  # seconds between a follower's tries for the lead (and the leader's look at its lock)
RETRY_PAUSE = 0.5  # a reload asked for while one runs waits this long before trying again

LeaderWork = Callable[[asyncio.Event], list[Coroutine[Any, Any, object]]]


def replica_name() -> str:
    """This process's name on its claims and notifications: host, pid and a random tail (unique even
    across restarts that reuse a pid)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Cluster:
    """This replica's part among several: run() leads when it can and follows the others' changes."""

    def __init__(
        self,
        store: Store,
        runtime: Runtime,
        *,
        name: str,
        lead: LeaderWork,
        wake_alerts: Callable[[], None],
        check_every: float = LEAD_CHECK,
    ) -> None:
        self.store = store
        self.runtime = runtime
        self.name = name
        self.leading = False
        self._lead_work = lead
        self._wake_alerts = wake_alerts
        self._check_every = check_every
        self._asked: set[str] = set()  # changes the others announced, not yet followed
        self._asked_event = asyncio.Event()
        self._sending: set[asyncio.Task[None]] = set()

    # -- telling the others ----------------------------------------------------------------------------------

    def announce(self, kind: str) -> None:
        """Tell the other replicas (in the background): "reload", "rebuild" (a full reload), "fetched"
        or "alerts"."""
        task = asyncio.get_running_loop().create_task(self._notify(kind), name=f"notify-{kind}")
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _notify(self, kind: str) -> None:
        try:
            await self.store.notify(CHANNEL, json.dumps({"kind": kind, "from": self.name}))
        except StoreError as error:  # they catch up at their next reconnect, poll or reload
            log.warning("could not tell the other replicas about %s: %s", kind, error)

    def _heard(self, payload: str) -> None:
        try:
            message = json.loads(payload)
            kind, sender = str(message["kind"]), str(message["from"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a notification not from a newsbot replica: %r", payload[:100])
            return
        if sender == self.name:
            return
        self._asked.add(kind)
        self._asked_event.set()

    def _reconnected(self) -> None:
        # Whatever was announced while the listener was away: look for fetched articles and new alerts.
        self._asked.update(("fetched", "alerts"))
        self._asked_event.set()

    # -- running ---------------------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Lead when the lock is free, follow the others' changes, until `stop`."""
        listener = self.store.listener(CHANNEL, self._heard, self._reconnected)
        try:
            await asyncio.gather(listener.run(stop), self._lead(stop), self._follow(stop))
        finally:
            if self._sending:
                await asyncio.gather(*self._sending, return_exceptions=True)

    async def _lead(self, stop: asyncio.Event) -> None:
        lock = self.store.leader_lock(LEADER_LOCK)
        try:
            while not stop.is_set():
                try:
                    if await lock.try_acquire():
                        await self._while_leading(lock, stop)
                except StoreError as error:
                    log.warning("could not ask for the lead (trying again): %s", error)
                await _wait(stop, self._check_every)
        finally:
            await lock.release()

    async def _while_leading(self, lock: Any, stop: asyncio.Event) -> None:
        log.info("replica %s leads: it fetches sources and keeps house for every replica", self.name)
        self.leading = True
        ended = asyncio.Event()
        work = [asyncio.create_task(job) for job in self._lead_work(ended)]
        try:
            while not stop.is_set():
                await _wait(stop, self._check_every)
                if not stop.is_set() and not await lock.still_held():
                    log.warning("replica %s lost its connection holding the lead; it follows now", self.name)
                    break
        finally:
            self.leading = False
            ended.set()
            for outcome in await asyncio.gather(*work, return_exceptions=True):
                if isinstance(outcome, BaseException):
                    log.error("the leader's work failed while stopping", exc_info=outcome)

    async def catch_up(self) -> None:
        """Bring this replica's view up to date with the shared corpus and store now (the alert worker
        met an article another replica added before its notification arrived)."""
        changed = (await self.runtime.refresh_fetched(announce=False)) is not None
        try:
            changed = not (await self.runtime.reload(announce=False)).kept_old or changed
        except ReloadInProgress:
            # Most likely the reload the others' notice started: its view is the one that knows the
            # article. Returning before it is swapped in would have the alert taken for gone (failed).
            await self.runtime.reload_finished()
            changed = True
        if changed:
            await self.runtime.restore_stories()

    async def _follow(self, stop: asyncio.Event) -> None:
        """Do what the others announced: reload the corpus, take in fetched articles, send alerts."""
        while not stop.is_set():
            await _wait(stop, None, self._asked_event)
            self._asked_event.clear()
            asked, self._asked = self._asked, set()
            try:
                changed = False
                for kind in ("rebuild", "reload"):
                    if kind not in asked:
                        continue
                    try:
                        outcome = await self.runtime.reload(full=kind == "rebuild", announce=False)
                        changed = changed or not outcome.kept_old
                    except ReloadInProgress:  # one of our own is under way: follow once it is done
                        self._asked.add(kind)
                        self._asked_event.set()
                        await _wait(stop, RETRY_PAUSE)
                    break  # a rebuild holds whatever a reload would have read
                if "fetched" in asked:
                    changed = (await self.runtime.refresh_fetched(announce=False)) is not None or changed
                if changed:
                    # Stories were assigned where the articles were ingested: take them from the store.
                    await self.runtime.restore_stories()
            except Exception:  # following must outlive any one bad pass
                log.exception("could not follow another replica's change")
            self._wake_alerts()


async def _wait(stop: asyncio.Event, seconds: float | None, also: asyncio.Event | None = None) -> None:
    """Until `stop` (or `also`) is set, or `seconds` have passed (None: no limit)."""
    events = [stop] if also is None else [stop, also]
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*waiters, return_exceptions=True)
