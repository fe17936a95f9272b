"""The handlers' CPU-heavy work (searching the archive, reading a message for related stories) in worker
threads, taking turns between users.

On the event loop, one user's long questions would hold up every other chat for as long as they take.
Here each user's work is counted in CPU time: CPU_BURST seconds at once, refilled at CPU_PER_MINUTE a
minute; past it their work is refused before it starts (OverBudget), so questions made to be expensive
run out long before ordinary ones would. Within that, the user who owes the least goes first, one job per
user at a time, and one thread is kept for users who owe almost nothing (LIGHT_DEBT), so someone
flooding the bot queues behind everyone else and a reader asking now never waits for a flood's job.
The library is immutable and the index keeps its scratch space per thread, so a search may run on any
thread. Housekeeping (bot.tg.housekeeping) forgets users who went quiet.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")

# A question costs the workers about 5 ms of CPU (20,000 articles); a user asking 20 a minute uses 0.1 s.
CPU_BURST = 0.25  # seconds of worker CPU one user may spend at once…
CPU_PER_MINUTE = 0.5  # …refilled at this many seconds a minute
LIGHT_DEBT = 0.03  # a user owing at most this may use the kept thread


class OverBudget(Exception):
    """This user has used up their share of the workers for now; nothing was run."""


@dataclass(slots=True)
class _Job:
    call: Callable[..., Any]
    args: tuple[Any, ...]
    future: asyncio.Future[Any]


class _Failed(Exception):
    """A job's exception, with the CPU time it spent before raising."""

    def __init__(self, error: BaseException, spent: float) -> None:
        super().__init__(str(error))
        self.error = error
        self.spent = spent


def _timed(call: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, float]:
    """call(*args) in the worker thread, with the CPU time it took there."""
    started = time.thread_time()
    try:
        result = call(*args)
    except Exception as error:
        raise _Failed(error, time.thread_time() - started) from error
    return result, time.thread_time() - started


class FairWorker:
    """Runs callables in worker threads, the user owing the least CPU time first (then the least recently
    served), one job per user at a time; `kept` of the threads only for users owing at most LIGHT_DEBT."""

    def __init__(self, *, threads: int = 2, kept: int = 1) -> None:
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="newsbot-work")
        self._free = threads
        self._kept = min(kept, threads - 1)
        self._waiting: dict[int | None, deque[_Job]] = {}
        self._running: set[int | None] = set()
        self._served_at: dict[int | None, float] = {}  # loop time each user's latest job started
        self._owed: dict[int, tuple[float, float]] = {}  # user → (CPU seconds owed, loop time then)

    async def run(self, who: int | None, call: Callable[..., T], *args: Any) -> T:
        """Run call(*args) in a worker thread when it is `who`'s turn; return its result (or raise).

        OverBudget, at once, if `who` has spent their share of the workers' time (None: no one's)."""
        loop = asyncio.get_running_loop()
        if who is not None and self._debt(who, loop.time()) > CPU_BURST:
            raise OverBudget
        future: asyncio.Future[T] = loop.create_future()
        self._waiting.setdefault(who, deque()).append(_Job(call, args, future))
        self._dispatch(loop)
        return await future

    def _dispatch(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        while self._free:
            ready = [user for user in self._waiting if user not in self._running]
            if self._free <= self._kept:  # only the kept threads are free: for light users only
                ready = [user for user in ready if self._owes(user, now) <= LIGHT_DEBT]
            if not ready:
                return
            who = min(ready, key=lambda user: (self._owes(user, now), self._served_at.get(user, -math.inf)))
            queue = self._waiting[who]
            job = queue.popleft()
            if not queue:
                del self._waiting[who]
            if job.future.done():  # its caller gave up waiting
                continue
            self._served_at[who] = now
            self._running.add(who)
            self._free -= 1
            running = loop.run_in_executor(self._executor, _timed, job.call, job.args)
            running.add_done_callback(partial(self._finished, loop, who, job))

    def _finished(
        self, loop: asyncio.AbstractEventLoop, who: int | None, job: _Job, done: asyncio.Future[Any]
    ) -> None:
        self._free += 1
        self._running.discard(who)
        if done.cancelled():  # the worker is closing
            job.future.cancel()
            return
        failure = done.exception()
        result, spent = (None, 0.0) if failure is not None else done.result()
        error: BaseException | None = failure
        if isinstance(failure, _Failed):
            error, spent = failure.error, failure.spent
        if who is not None:
            now = loop.time()
            self._owed[who] = (self._debt(who, now) + spent, now)
        if not job.future.done():
            if error is not None:
                job.future.set_exception(error)
            else:
                job.future.set_result(result)
        self._dispatch(loop)

    def _owes(self, who: int | None, now: float) -> float:
        return 0.0 if who is None else self._debt(who, now)

    def _debt(self, who: int, now: float) -> float:
        """CPU seconds `who` has spent beyond what has been refilled since."""
        owed, at = self._owed.get(who, (0.0, now))
        return max(0.0, owed - (now - at) * CPU_PER_MINUTE / 60.0)

    def forget_idle(self, older_than: float = 60.0) -> int:
        """Forget when users with nothing waiting were last served, if that was older_than seconds ago."""
        now = asyncio.get_running_loop().time()
        stale = [
            user
            for user, at in self._served_at.items()
            if now - at >= older_than and user not in self._waiting
        ]
        for user in stale:
            del self._served_at[user]
        for user in [user for user in self._owed if self._debt(user, now) == 0.0]:
            del self._owed[user]
        return len(stale)

    def close(self) -> None:
        """Stop the worker thread (jobs still waiting are cancelled)."""
        for queue in self._waiting.values():
            for job in queue:
                job.future.cancel()
        self._waiting.clear()
        self._executor.shutdown(wait=False, cancel_futures=True)
