"""The fair worker: CPU-heavy work runs off the event loop, and a user with work waiting goes before users
who were served more recently, so a flood from one user never queues up ahead of everyone else."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from bot.tg.work import CPU_BURST, LIGHT_DEBT, FairWorker, OverBudget


async def test_work_runs_off_the_event_loop_and_returns_or_raises() -> None:
    worker = FairWorker()
    try:
        loop_thread = threading.get_ident()
        assert await worker.run(1, threading.get_ident) != loop_thread
        with pytest.raises(ZeroDivisionError):
            await worker.run(1, lambda: 1 / 0)
    finally:
        worker.close()


async def test_a_user_owing_less_goes_first() -> None:
    """Hostile user 1 queues six jobs; reader 2 asks once while the first runs. The reader's job runs
    next, not after the other five."""
    worker = FairWorker()
    started: list[str] = []
    release = threading.Event()
    running = asyncio.Event()
    loop = asyncio.get_running_loop()

    def job(name: str, wait: bool = False) -> str:
        started.append(name)
        if wait:
            loop.call_soon_threadsafe(running.set)
            release.wait(10)
        return name

    try:
        first = asyncio.ensure_future(worker.run(1, job, "hostile-0", True))
        await asyncio.wait_for(running.wait(), 10)
        flood = [asyncio.ensure_future(worker.run(1, job, f"hostile-{n}")) for n in range(1, 6)]
        reader = asyncio.ensure_future(worker.run(2, job, "reader"))
        await asyncio.sleep(0)
        release.set()
        await asyncio.gather(first, reader, *flood)
    finally:
        worker.close()
    assert started[:3] == ["hostile-0", "reader", "hostile-1"]
    assert worker.forget_idle(older_than=0.0) == 2


async def test_the_kept_thread_serves_only_users_owing_almost_nothing() -> None:
    """Two flooding users: while one's job holds the shared thread, the other (who just spent more than
    LIGHT_DEBT of CPU) waits rather than take the thread kept for others; a reader's job takes it."""
    worker = FairWorker(threads=2, kept=1)
    started: list[str] = []
    release = threading.Event()
    running = asyncio.Event()
    loop = asyncio.get_running_loop()

    def job(name: str, wait: bool = False, burn: float = 0.0) -> str:
        started.append(name)
        spent = time.thread_time()
        while time.thread_time() - spent < burn:
            pass
        if wait:
            loop.call_soon_threadsafe(running.set)
            release.wait(10)
        return name

    try:
        await worker.run(3, job, "other-flood-0", False, LIGHT_DEBT * 2)  # user 3 just spent CPU
        holding = asyncio.ensure_future(worker.run(1, job, "flood-0", True))
        await asyncio.wait_for(running.wait(), 10)
        waiting = asyncio.ensure_future(worker.run(3, job, "other-flood-1"))
        reader = await asyncio.wait_for(worker.run(2, job, "reader"), 10)
        assert reader == "reader" and not waiting.done()
        release.set()
        await asyncio.gather(holding, waiting)
    finally:
        worker.close()
    assert started == ["other-flood-0", "flood-0", "reader", "other-flood-1"]


async def test_a_user_who_used_up_their_share_of_the_workers_is_refused_at_once() -> None:
    """Each user may spend CPU_BURST seconds of the workers' time at once, refilled at CPU_PER_MINUTE a
    minute: a user whose questions are all expensive is refused before any work starts (OverBudget),
    while others are served as usual."""
    worker = FairWorker()

    def busy(seconds: float) -> str:
        spent = time.thread_time()
        while time.thread_time() - spent < seconds:
            pass
        return "done"

    try:
        assert await worker.run(1, busy, CPU_BURST + 0.02) == "done"  # one big job may overdraw
        with pytest.raises(OverBudget):
            await worker.run(1, busy, 0.001)
        assert await worker.run(2, busy, 0.01) == "done"  # another user is not affected
        assert await worker.run(None, busy, 0.001) == "done"  # nor work on nobody's behalf
    finally:
        worker.close()
