"""Shared fixtures: paths to the repository, the bundled corpus and ../shared/data."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # imported where used: collecting the tests must not import the whole bot
    from bot.core.library import Library
    from bot.standin import BotApiStandIn
    from bot.store import Store
    from tests.harness import BotUnderTest
    from tests.postgres import Server

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
SHARED_DATA = REPO.parent / "shared" / "data"

# Tests talk only to 127.0.0.1; make sure no proxy setting sends that traffic elsewhere.
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test reads the developer's own NEWSBOT_* variables or writes snapshots into their cache."""
    for name in list(os.environ):
        if name.startswith("NEWSBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session")
def bundled_library() -> Library:
    """The bundled corpus, loaded and indexed once for the whole run."""
    from bot.core.library import load_library

    return load_library(CORPUS, CORPUS / "topics.yaml")


@pytest.fixture
async def standin() -> AsyncIterator[BotApiStandIn]:
    """A Bot API stand-in on 127.0.0.1 with a few users, an admin and a forum group."""
    from bot.standin import BotApiStandIn
    from tests.harness import BOT_USERNAME, TOKEN, populate

    async with BotApiStandIn(TOKEN, bot_username=BOT_USERNAME) as server:
        populate(server)
        yield server


@pytest.fixture
async def newsbot(tmp_path: Path, standin: BotApiStandIn) -> AsyncIterator[BotUnderTest]:
    """The real bot polling the stand-in, over the bundled corpus, with a fresh database."""
    from tests.harness import running_bot

    async with running_bot(tmp_path, standin) as running:
        yield running


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Server]:
    """A PostgreSQL server for the run (NEWSBOT_TEST_POSTGRES, else a scratch cluster); the test skips,
    with the reason, when there is neither (and fails in CI, which installs PostgreSQL)."""
    from tests import postgres

    for found in postgres.server():
        if isinstance(found, str):
            if os.environ.get("CI") == "true":  # .ci/run installs PostgreSQL: never skip there
                pytest.fail(found)
            pytest.skip(found)
        yield found


@pytest.fixture
async def postgres_dsn(postgres_server: Server) -> AsyncIterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards; its DSN."""
    name = await postgres_server.create_database()
    try:
        yield postgres_server.dsn_for(name)
    finally:
        await postgres_server.drop_database(name)


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """What NEWSBOT_DATABASE names, once for each backend: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return tmp_path / "bot.sqlite3"
    return str(request.getfixturevalue("postgres_dsn"))


@pytest.fixture
async def store(database: str | Path) -> AsyncIterator[Store]:
    """The store, opened on each backend in turn (see `database`); a test module may define its own."""
    from bot.store import Store

    opened = await Store.open(database)
    try:
        yield opened
    finally:
        await opened.close()


def pytest_addoption(parser: pytest.Parser) -> None:
    """--long: the reliability suite runs more examples, more kills and a bigger fan-out."""
    parser.addoption(
        "--long",
        action="store_true",
        default=False,
        help="run the reliability tests at full size (more hypothesis examples, kills and chats)",
    )


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    """Print the reliability figures (faults, kills, alerts, hostile inputs) when those tests ran."""
    from tests.reliability import summary_lines

    lines = summary_lines()
    if lines:
        mode = "long" if config.getoption("--long") else "default"
        terminalreporter.section(f"reliability figures ({mode} run)")
        for line in lines:
            terminalreporter.write_line(line)
