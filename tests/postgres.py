"""PostgreSQL for the tests: the server named by NEWSBOT_TEST_POSTGRES (CI's, started by .ci/run), else a
scratch cluster started once for the run when the binaries are installed (bot.store.scratch); each test
gets a database of its own, dropped afterwards. Tests that need PostgreSQL skip, saying why, only when
there is neither.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator

import asyncpg

from bot.store.scratch import ScratchCluster, postgres_binaries

ENV = "NEWSBOT_TEST_POSTGRES"
# Read at import, before any test's environment is cleaned of NEWSBOT_* variables.
CONFIGURED = os.environ.get(ENV, "").strip()


class Server:
    """A PostgreSQL server the tests may create databases on."""

    def __init__(self, dsn: str, cluster: ScratchCluster | None) -> None:
        self.dsn = dsn
        self.cluster = cluster

    def dsn_for(self, database: str) -> str:
        """The DSN of one of its databases."""
        base, _, tail = self.dsn.rpartition("/")
        query = ""
        if "?" in tail:
            query = "?" + tail.split("?", 1)[1]
        return f"{base}/{database}{query}"

    async def create_database(self) -> str:
        """A fresh, empty database (byte-order collation, like CI's); returns its name."""
        name = "newsbot_test_" + uuid.uuid4().hex[:12]
        connection = await asyncpg.connect(self.dsn)
        try:
            await connection.execute(
                f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
            )
        finally:
            await connection.close()
        return name

    async def drop_database(self, name: str) -> None:
        """Drop a database made by create_database, closing whatever is still connected to it."""
        connection = await asyncpg.connect(self.dsn)
        try:
            await connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            await connection.close()


def server() -> Iterator[Server | str]:
    """Yield the server to use, or the reason there is none (a generator: the cluster stops after)."""
    if CONFIGURED:
        yield Server(CONFIGURED, None)
        return
    if postgres_binaries() is None:
        yield (
            f"no PostgreSQL: {ENV} is unset and no initdb/pg_ctl is installed "
            "(apt-get install postgresql, or point NEWSBOT_TEST_POSTGRES at a server)"
        )
        return
    try:
        cluster = ScratchCluster.start()
    except RuntimeError as error:
        yield f"no PostgreSQL: a scratch cluster would not start: {error}"
        return
    try:
        yield Server(cluster.dsn, cluster)
    finally:
        cluster.stop()


def run(coroutine: object) -> object:
    """Run a coroutine from synchronous fixture code."""
    return asyncio.run(coroutine)  # type: ignore[arg-type]
