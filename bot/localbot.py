"""Running the real bot against a local Bot API (the stand-in on 127.0.0.1): in this event loop (tests,
the playground) or as a `python -m bot run` child process (process tests, the end-to-end benchmark).

One helper for everyone who runs the bot locally: start it, wait until it long-polls the stand-in or has
set its webhook there (or learn why it stopped first), let the caller work, stop it cleanly. Does not
import telegram itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from pathlib import Path

from bot.compose import Services, compose, run
from bot.runtime import LibraryLoader, load_configured_library
from bot.settings import Settings
from bot.standin import BotApiStandIn


class BotStoppedEarly(Exception):
    """The bot stopped before it started polling; the message says why (or that it gave no reason)."""


async def until_polling(
    standin: BotApiStandIn,
    running: Awaitable[object],
    *,
    timeout: float | None = None,  # noqa: ASYNC109 - a plain deadline keeps call sites short
) -> None:
    """Wait until the bot long-polls the stand-in (in webhook mode: has set its webhook there). `running`
    ends when the bot does (its task, or its process's wait()): if it ends first, BotStoppedEarly with the
    reason it returned, or what it raised. TimeoutError after `timeout` seconds; None waits as long as the
    bot keeps starting (a big corpus)."""
    owned = not isinstance(running, asyncio.Future)  # a coroutine we wrap; a task stays the caller's
    finished = asyncio.ensure_future(running)
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    try:
        while True:
            remaining = 60.0 if deadline is None else max(deadline - loop.time(), 0.0)
            polling = asyncio.ensure_future(standin.wait_until_receiving(timeout=min(remaining, 60.0)))
            done, _ = await asyncio.wait({polling, finished}, return_when=asyncio.FIRST_COMPLETED)
            if finished in done:
                polling.cancel()
                reason = finished.result()  # raises what stopped the bot, if it raised
                raise BotStoppedEarly(str(reason) if reason else "no reason given")
            try:
                polling.result()
                return
            except TimeoutError:
                if deadline is not None and loop.time() >= deadline:
                    raise
    finally:
        if owned and not finished.done():
            finished.cancel()


@dataclass
class LocalBot:
    """The bot running in this event loop against a stand-in."""

    standin: BotApiStandIn
    services: Services
    task: asyncio.Task[str | None]

    @property
    def settings(self) -> Settings:
        """The bot's settings."""
        return self.services.settings

    async def settled(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109 - a plain deadline
        """Wait until the bot has fetched every update queued so far and finished handling each one, so
        whatever it was going to send about them has been sent."""
        await self.standin.wait_until_delivered(timeout=timeout)
        # python-telegram-bot marks an update done only after its handlers (and the error handler) return.
        await asyncio.wait_for(self.services.application.update_queue.join(), timeout)


@contextlib.asynccontextmanager
async def local_bot(
    settings: Settings,
    standin: BotApiStandIn,
    *,
    load: LibraryLoader = load_configured_library,
    poll_timeout: int = 1,
    probation: float = 0.0,
    stall_after: float | None = None,
    read_timeout: float | None = None,
    poll_backoff: float | None = None,
    install_signal_handlers: bool = False,
    startup_timeout: float | None = 30.0,
    stop_timeout: float = 30.0,
) -> AsyncIterator[LocalBot]:
    """Compose the bot from `settings` (its token and base URL must be the stand-in's), run it in this
    event loop, yield once it polls, and stop it cleanly afterwards. BotStoppedEarly if it stops first.

    The stand-in is the caller's own, so no other instance can be polling it: there is no probation
    (see bot.tg.polling) unless one is asked for. read_timeout and poll_backoff: see compose()."""
    token = settings.telegram_token.get_secret_value() if settings.telegram_token else ""
    services = await compose(
        settings,
        token,
        load,
        poll_timeout=poll_timeout,
        probation=probation,
        stall_after=stall_after,
        read_timeout=read_timeout,
        poll_backoff=poll_backoff,
    )
    task = asyncio.create_task(run(services, install_signal_handlers=install_signal_handlers), name="newsbot")
    try:
        await until_polling(standin, task, timeout=startup_timeout)
        yield LocalBot(standin, services, task)
    finally:
        services.stopping.set()
        await asyncio.wait_for(task, timeout=stop_timeout)


class BotProcess:
    """`python -m bot run` as a child process, its output going to a log file."""

    def __init__(self, process: asyncio.subprocess.Process, log_path: Path, started: float) -> None:
        self.process = process
        self.log_path = log_path
        self.started = started

    @classmethod
    async def start(cls, env: dict[str, str], cwd: Path, log_path: Path) -> BotProcess:
        """Spawn the bot; stdout and stderr go to log_path (a pipe nobody drains could block a chatty bot)."""
        with open(log_path, "ab") as log_file:  # noqa: ASYNC230 - opening a local file is instant
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                cwd=cwd,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
            )
        return cls(process, log_path, time.monotonic())

    @property
    def pid(self) -> int:
        """The bot's process id."""
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        """The exit code, once the process has ended."""
        return self.process.returncode

    async def wait(self) -> int:
        """Wait for the process to end; returns its exit code."""
        return await self.process.wait()

    async def wait_polling(self, standin: BotApiStandIn, timeout: float) -> float:  # noqa: ASYNC109
        """Wait until the bot long-polls; returns the seconds since spawn. BotStoppedEarly (with the end of
        its log) if it exits first."""
        try:
            await until_polling(standin, self.process.wait(), timeout=timeout)
        except BotStoppedEarly:
            raise BotStoppedEarly(f"the bot exited during start-up:\n{self.tail()}") from None
        return time.monotonic() - self.started

    def kill(self) -> None:
        """SIGKILL: the process ends at once, with no cleanup at all (a crash, as far as it can tell)."""
        self.process.kill()

    async def stop(self, timeout: float = 60.0) -> int:  # noqa: ASYNC109
        """SIGTERM, wait for a clean exit (SIGKILL after `timeout`); returns the exit code."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), timeout)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        return int(self.process.returncode or 0)

    def output(self) -> str:
        """Everything the bot has printed so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def tail(self, chars: int = 3000) -> str:
        """The end of the bot's log."""
        return self.output()[-chars:]
