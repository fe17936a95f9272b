"""Reading untrusted documents in child processes, each job with a time limit.

feedparser's forgiving parser and the page extractor are Python code over hostile input: a few megabytes
of angle brackets can keep feedparser busy for minutes, holding the interpreter lock. So feeds are parsed
and pages read in worker processes (forked from a forkserver that has the parsers imported, so a worker
starts in milliseconds), one job per worker at a time: a job past its time limit has its worker killed
and replaced, and becomes a reported problem; the bot's event loop never waits on it. A job's own
exceptions (FeedError, ExtractionFailed) come back as they were raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import multiprocessing.pool
from collections.abc import Callable
from typing import Any, TypeVar, cast

T = TypeVar("T")

# The parsers themselves too: both modules import them on first use only (the bot's process never does).
PRELOAD = ["bot.core.entries", "bot.sources.extract", "feedparser", "trafilatura"]


class TooSlow(Exception):
    """A job ran past its time limit; its worker was killed."""


def _ready() -> bool:
    return True


class Workers:
    """`size` single-process pools; `run` takes a free one, `close` ends them all."""

    def __init__(self, size: int = 2, time_limit: float = 20.0) -> None:
        self.size = max(size, 1)
        self.time_limit = time_limit
        self._pools: list[multiprocessing.pool.Pool | None] = [None] * self.size
        self._free: asyncio.Queue[int] | None = None

    def _context(self) -> Any:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        return context

    def _pool(self, slot: int) -> multiprocessing.pool.Pool:
        pool = self._pools[slot]
        if pool is None:
            pool = self._context().Pool(processes=1, maxtasksperchild=500)
            self._pools[slot] = pool
        return pool

    async def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """function(*args, **kwargs) in a worker; TooSlow past the time limit."""
        if self._free is None:
            self._free = asyncio.Queue()
            for slot in range(self.size):
                self._free.put_nowait(slot)
        slot = await self._free.get()
        try:
            return await self._run(slot, function, args, kwargs)
        finally:
            self._free.put_nowait(slot)

    async def _run(self, slot: int, function: Callable[..., T], args: Any, kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[T] = loop.create_future()

        def settle(value: T | None, error: BaseException | None) -> None:
            if done.done():
                return
            if error is not None:
                done.set_exception(error)
            else:
                done.set_result(cast(T, value))

        def succeeded(value: T) -> None:
            loop.call_soon_threadsafe(settle, value, None)

        def failed(error: BaseException) -> None:
            loop.call_soon_threadsafe(settle, None, error)

        pool = await asyncio.to_thread(self._pool, slot)  # starting a worker forks: off the loop
        pool.apply_async(function, args, kwargs, callback=succeeded, error_callback=failed)
        try:
            return await asyncio.wait_for(done, self.time_limit)
        except TimeoutError:
            self._pools[slot] = None
            await asyncio.to_thread(_terminate, pool)
            raise TooSlow(f"reading it took longer than {self.time_limit:g} s; stopped") from None

    async def start(self) -> None:
        """Start every worker now (the first start also starts the forkserver, which imports the parsers)."""
        await asyncio.gather(*(self.run(_ready) for _ in range(self.size)))

    def close(self) -> None:
        """End the workers (jobs still running are abandoned)."""
        pools, self._pools = self._pools, [None] * self.size
        for pool in pools:
            if pool is not None:
                _terminate(pool)


def _terminate(pool: multiprocessing.pool.Pool) -> None:
    with contextlib.suppress(Exception):
        pool.terminate()
        pool.join()
