"""Several replicas of the real bot for the replica tests and bench.replicas: `newsbot run` processes
(tests.replica) in webhook mode sharing one PostgreSQL database and one corpus folder, behind a
round-robin proxy (tests.proxy) on 127.0.0.1 that the Bot API stand-in POSTs updates to. Each replica
serves its webhook and /healthz on ports of its own; a replica can be SIGKILLed and started again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from bot.standin import BotApiStandIn
from bot.store.scratch import free_port
from tests.proxy import RoundRobinProxy
from tests.website import Website

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
SECRET = "replicas-Secret_0123456789"
WEBHOOK_PATH = "/telegram"
STARTUP_TIMEOUT = 90.0


async def claimed_alerts(dsn: str, pid: int) -> list[int]:
    """The chat of each pending alert the replica process with this pid holds a claim on (read straight
    from PostgreSQL): what a killed replica leaves for the others once its lease runs out."""
    connection = await asyncpg.connect(dsn)
    try:
        return await _claimed(connection, pid)
    finally:
        await connection.close()


async def until_taken_over(dsn: str, pid: int, timeout: float = 60.0) -> None:  # noqa: ASYNC109
    """Wait until the (killed) replica process with this pid holds a claim on no pending alert any more:
    once its lease ran out, the others claimed what it left (a row is sent only by the one holding it)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    connection = await asyncpg.connect(dsn)  # one connection for every look, not one each
    try:
        while left := await _claimed(connection, pid):
            if loop.time() > deadline:
                raise TimeoutError(f"the others did not take over the alerts of chats {left[:10]}…")
            await asyncio.sleep(0.1)
    finally:
        await connection.close()


async def _claimed(connection: asyncpg.Connection, pid: int) -> list[int]:
    rows = await connection.fetch(
        "SELECT chat_id FROM outbox WHERE status = 'pending' AND lease_owner LIKE $1", f"%:{pid}:%"
    )
    return [int(row[0]) for row in rows]


@dataclass
class Replica:
    """One replica process: its ports, its log file, and the process while it runs."""

    index: int
    listen_port: int
    metrics_port: int
    log_path: Path
    process: asyncio.subprocess.Process | None = None
    starts: int = 0

    @property
    def running(self) -> bool:
        """Whether its process is alive (as far as this side knows)."""
        return self.process is not None and self.process.returncode is None

    def output(self) -> str:
        """Everything it has printed, over all its runs."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


@dataclass
class ReplicaSet:
    """`count` replicas of the bot on one PostgreSQL database (`dsn`), behind one proxy."""

    standin: BotApiStandIn
    folder: Path
    dsn: str
    token: str
    admin: int
    count: int = 3
    send_rate: float = 25.0
    lease_seconds: float = 30.0
    extra: dict[str, str] = field(default_factory=dict)
    behind_proxy: bool = True  # False (one replica): the stand-in posts straight to it, as to one bot
    replicas: list[Replica] = field(default_factory=list)
    site: Website | None = None  # a news site the replicas' sources file points at, if any
    proxy: RoundRobinProxy = field(default_factory=lambda: RoundRobinProxy([]))

    @property
    def corpus(self) -> Path:
        """The corpus folder every replica reads (shared, as on one machine or a shared volume)."""
        return self.folder / "corpus"

    async def start(self) -> None:
        """Copy the bundled corpus, start the proxy and every replica; return once each is ready."""
        if not self.corpus.exists():
            await asyncio.to_thread(shutil.copytree, CORPUS, self.corpus)
        self.replicas = [
            Replica(n, free_port(), free_port(), self.folder / f"replica-{n}.log") for n in range(self.count)
        ]
        self.proxy.backends = [replica.listen_port for replica in self.replicas]
        await self.proxy.start()
        for replica in self.replicas:
            await self.launch(replica)
        await asyncio.gather(*(self.until_ready(replica) for replica in self.replicas))

    def env(self, replica: Replica) -> dict[str, str]:
        """The environment of one replica."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
        env.update(
            NEWSBOT_TELEGRAM_TOKEN=self.token,
            NEWSBOT_TELEGRAM_BASE_URL=self.standin.base_url,
            NEWSBOT_CORPUS_DIR=str(self.corpus),
            NEWSBOT_DATABASE=self.dsn,
            NEWSBOT_SNAPSHOT_DIR=str(self.folder / f"snapshots-{replica.index}"),
            NEWSBOT_ADMIN_IDS=str(self.admin),
            NEWSBOT_LOG_LEVEL="INFO",
            NEWSBOT_CORPUS_POLL_SECONDS="0",
            NEWSBOT_WEBHOOK_URL=self.webhook_url(replica),
            NEWSBOT_WEBHOOK_SECRET=SECRET,
            NEWSBOT_LISTEN_HOST="127.0.0.1",
            NEWSBOT_LISTEN_PORT=str(replica.listen_port),
            NEWSBOT_METRICS_PORT=str(replica.metrics_port),
            NEWSBOT_ALERT_LEASE_SECONDS=str(self.lease_seconds),
            PYTHONPATH=str(REPO),
            NO_PROXY="127.0.0.1,localhost",
            no_proxy="127.0.0.1,localhost",
        )
        env.update(self.extra)
        return env

    def webhook_url(self, replica: Replica) -> str:
        """Where the stand-in posts updates: the proxy, or the one replica itself."""
        if self.behind_proxy:
            return self.proxy.url + WEBHOOK_PATH
        return f"http://127.0.0.1:{replica.listen_port}{WEBHOOK_PATH}"

    async def launch(self, replica: Replica) -> None:
        """Start one replica's process (not waiting for it to be ready)."""
        replica.starts += 1
        with open(replica.log_path, "ab") as log:  # noqa: ASYNC230 - opening a local file is instant
            replica.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.replica",
                str(self.send_rate),
                cwd=self.folder,
                env=self.env(replica),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )

    async def until_ready(self, replica: Replica, timeout: float = STARTUP_TIMEOUT) -> None:  # noqa: ASYNC109
        """Wait until the replica's /healthz says ok and its webhook server answers."""
        process = replica.process
        assert process is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            while True:
                if process.returncode is not None:
                    raise RuntimeError(f"replica {replica.index} exited:\n{replica.output()[-3000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    health = await client.get(f"http://127.0.0.1:{replica.metrics_port}/healthz")
                    served = await client.get(f"http://127.0.0.1:{replica.listen_port}{WEBHOOK_PATH}")
                    if health.status_code == 200 and served.status_code:
                        return
                if loop.time() > deadline:
                    raise TimeoutError(f"replica {replica.index} not ready:\n{replica.output()[-3000:]}")
                await asyncio.sleep(0.1)

    async def revive(self) -> None:
        """Start again every replica that is not running (one killed), and wait until each is ready."""
        down = [replica for replica in self.replicas if not replica.running]
        for replica in down:
            await self.launch(replica)
        await asyncio.gather(*(self.until_ready(replica) for replica in down))

    async def kill(self, replica: Replica) -> None:
        """SIGKILL: the replica ends at once, with no cleanup at all."""
        assert replica.process is not None
        replica.process.kill()
        await replica.process.wait()

    async def stop(self) -> None:
        """SIGTERM every replica still running, wait for each, stop the proxy."""
        running = [r for r in self.replicas if r.process is not None and r.process.returncode is None]
        for replica in running:
            assert replica.process is not None
            replica.process.send_signal(signal.SIGTERM)
        for replica in running:
            assert replica.process is not None
            try:
                await asyncio.wait_for(replica.process.wait(), 30)
            except TimeoutError:
                replica.process.kill()
                await replica.process.wait()
        await self.proxy.stop()

    async def answers_total(self) -> float:
        """newsbot_answers_total summed over the running replicas' /metrics."""
        total = 0.0
        async with httpx.AsyncClient(timeout=5.0) as client:
            for replica in self.replicas:
                if not replica.running:
                    continue
                text = (await client.get(f"http://127.0.0.1:{replica.metrics_port}/metrics")).text
                found = re.search(r"^newsbot_answers_total (\S+)$", text, re.MULTILINE)
                total += float(found.group(1)) if found else 0.0
        return total

    def logs(self) -> str:
        """Every replica's log, one after another."""
        return "\n".join(f"--- replica {r.index} ---\n{r.output()}" for r in self.replicas)
