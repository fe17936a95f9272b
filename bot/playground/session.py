"""One playground session: the Bot API stand-in, the real bot (unchanged, run by bot.localbot) and the page.

Everything runs in one event loop; the bot's database and caches live in a scratch directory that is
removed on exit. The bundled sample corpus is copied there first so articles added from the page never
change the repository; a corpus named with --corpus is used in place. Uses no telegram types itself:
the bot is composed and run exactly as `newsbot run` runs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import yaml
from pydantic import SecretStr

from bot.core.sourcelist import load_sources
from bot.localbot import BotStoppedEarly, LocalBot, local_bot
from bot.playground.articles import SUBDIRECTORY
from bot.playground.demofeed import FOLLOW_SECONDS, POLL_SECONDS, DemoFeed
from bot.playground.scene import Scene, build_scene, populate
from bot.playground.server import PlaygroundServer, is_loopback
from bot.runtime import LibraryLoader
from bot.settings import Settings
from bot.standin import BotApiStandIn

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
BUNDLED_CORPUS = Path(__file__).resolve().parents[2] / "corpus"
# The watcher's interval in the playground, so an article added from the page shows up without /reload.
WATCH_SECONDS = 5.0
POLL_TIMEOUT = 2  # getUpdates long-poll seconds: short, so Ctrl+C stops the bot at once


class PlaygroundError(Exception):
    """The session could not start; the message is one line for the terminal."""


@dataclass
class Playground:
    """A running session: where the page is, who is in it, and the bot's own settings."""

    url: str
    scene: Scene
    standin: BotApiStandIn
    server: PlaygroundServer
    settings: Settings
    corpus_dir: Path
    corpus_copied: bool
    bot: LocalBot


def bind_warning(host: str) -> str | None:
    """The warning to print before serving the page on an interface other than loopback, if any."""
    if is_loopback(host):
        return None
    return (
        f"warning: serving the playground on {host}, not only on this machine: anyone who can reach "
        "that address can chat as the playground's users and write articles into the corpus."
    )


def playground_settings(settings: Settings, scene: Scene, standin: BotApiStandIn, scratch: Path) -> Settings:
    """The bot's settings: the operator's, pointed at the stand-in, a generated token and scratch storage."""
    admins = [scene.admin_id, *(uid for uid in settings.admin_ids if uid != scene.admin_id)]
    poll = settings.corpus_poll_seconds
    return settings.model_copy(
        update={
            "telegram_token": SecretStr(scene.token),
            "telegram_base_url": standin.base_url,
            "admin_ids": admins,
            "database": scratch / "newsbot.sqlite3",
            "snapshot_dir": scratch / "snapshots",
            "corpus_poll_seconds": min(poll, WATCH_SECONDS) if poll > 0 else 0.0,
        }
    )


def add_demo_sources(settings: Settings, feeds: Sequence[DemoFeed], scratch: Path) -> Settings:
    """The bot's settings with a sources file in the scratch directory: the demo feeds (polled every few
    seconds) and whatever the operator's sources file lists; private addresses allowed (it is local)."""
    specs, _ = load_sources(settings.sources_path)
    demo_urls = {feed.url for feed in feeds}
    entries: list[dict[str, object]] = [
        {"url": feed.url, "name": feed.name, "every": POLL_SECONDS, "full_text": "auto"} for feed in feeds
    ]
    entries += [
        {
            "url": s.url,
            "name": s.name,
            "topics": list(s.topics),
            "every": s.every,
            "full_text": s.full_text.value,
        }
        for s in specs
        if s.url not in demo_urls
    ]
    path = scratch / "sources.yaml"
    scratch.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"sources": entries}, sort_keys=False), encoding="utf-8")
    return settings.model_copy(update={"sources_file": path, "fetch_private_addresses": True})


def prepare_corpus(corpus_dir: Path, scratch: Path) -> tuple[Path, bool]:
    """The corpus the session uses, and whether it is a scratch copy (only of the bundled sample)."""
    if corpus_dir.resolve() != BUNDLED_CORPUS.resolve():
        return corpus_dir, False
    copy = scratch / "corpus"
    shutil.copytree(corpus_dir, copy, symlinks=True)
    return copy, True


@contextlib.asynccontextmanager
async def running_playground(
    settings: Settings,
    load: LibraryLoader,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    scratch: Path | None = None,
    install_signal_handlers: bool = False,
    follow_seconds: float = FOLLOW_SECONDS,
) -> AsyncIterator[Playground]:
    """Start the stand-in, the page and the bot, yield once the bot polls, and stop all three afterwards.

    follow_seconds: how long after the bot read the first report of the two-source event the second
    site runs its own (tests shorten it; `newsbot playground` keeps the default)."""
    own_scratch = scratch is None
    workdir = Path(tempfile.mkdtemp(prefix="newsbot-playground-")) if scratch is None else scratch
    standin: BotApiStandIn | None = None
    server: PlaygroundServer | None = None
    try:
        corpus_dir, copied = await asyncio.to_thread(prepare_corpus, settings.corpus_dir, workdir)
        settings = settings.model_copy(update={"corpus_dir": corpus_dir})
        scene = build_scene(settings.admin_ids)
        standin = BotApiStandIn(
            scene.token, bot_username=scene.bot_username, bot_id=scene.bot_id, bot_first_name=scene.bot_name
        )
        await standin.start()  # the Bot API side always stays on 127.0.0.1
        populate(standin, scene)
        bot_settings = playground_settings(settings, scene, standin, workdir)
        server = PlaygroundServer(
            standin,
            scene,
            corpus_dir,
            bot_settings.topics_path,
            watch_seconds=bot_settings.corpus_poll_seconds,
            follow_seconds=follow_seconds,
        )
        try:
            await server.start(host, port)
        except OSError as error:
            server = None
            hint = f"; is another playground running? Try --port {port + 1}" if port else ""
            reason = error.strerror or str(error)
            raise PlaygroundError(f"cannot serve the page on {host}:{port}: {reason}{hint}") from None
        bot_settings = await asyncio.to_thread(add_demo_sources, bot_settings, server.demo_feeds, workdir)
        # Loading a large corpus can take minutes: wait as long as the bot keeps starting.
        running = local_bot(
            bot_settings,
            standin,
            load=load,
            poll_timeout=POLL_TIMEOUT,
            install_signal_handlers=install_signal_handlers,
            startup_timeout=None,
        )
        try:
            async with running as bot:
                yield Playground(server.url, scene, standin, server, bot_settings, corpus_dir, copied, bot)
        except BotStoppedEarly as early:
            raise PlaygroundError(f"the bot stopped before it started: {early}") from None
    finally:
        if server is not None:
            await server.close()
        if standin is not None:
            await standin.stop()
        if own_scratch:
            await asyncio.to_thread(shutil.rmtree, workdir, ignore_errors=True)


def describe(playground: Playground) -> list[str]:
    """What the terminal shows once the page is up: the address, the chats, where articles go."""
    corpus = playground.corpus_dir
    where = (
        f"a scratch copy of the bundled sample at {corpus}"
        if playground.corpus_copied
        else f"{corpus} (articles added from the page go to {corpus / SUBDIRECTORY})"
    )
    lines = [
        f"Newsbot playground: open {playground.url} in a browser (Ctrl+C stops it).",
        f"  bot:    @{playground.scene.bot_username}, the real bot polling a local Telegram stand-in",
        f"  corpus: {where}",
    ]
    lines.append(
        f"  feed:   {playground.server.demo.url} — a demo news feed the bot polls every few seconds; "
        "Publish story in the admin chat adds to it"
    )
    first, second = playground.server.event.feeds
    lines.append(
        f"  feeds:  {first.url} and {second.url} — two demo sites; Two sources in the admin chat has both "
        "report one event, a few seconds apart: one alert, edited to count the second source"
    )
    lines += [f"  chat:   {chat.title} — {chat.purpose}" for chat in playground.scene.chats]
    return lines


async def serve_playground(
    settings: Settings, load: LibraryLoader, *, host: str, port: int, out: TextIO
) -> str | None:
    """Run a session until SIGINT/SIGTERM; returns why the bot stopped early, if it did."""
    async with running_playground(
        settings, load, host=host, port=port, install_signal_handlers=True
    ) as playground:
        for line in describe(playground):
            print(line, file=out, flush=True)
        stopped = asyncio.create_task(playground.bot.services.stopping.wait())
        await asyncio.wait({stopped, playground.bot.task}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if playground.bot.task.done():
            return playground.bot.task.result()
    return None


def run_playground(
    settings: Settings,
    load: LibraryLoader,
    *,
    host: str | None = None,
    port: int = DEFAULT_PORT,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """`newsbot playground`: run a session in the foreground; returns the exit code."""
    bind = host if host is not None else DEFAULT_HOST
    warning = bind_warning(bind) if host is not None else None
    if warning:
        print(warning, file=err, flush=True)
    try:
        reason = asyncio.run(serve_playground(settings, load, host=bind, port=port, out=out))
    except KeyboardInterrupt:
        return 0
    except PlaygroundError as error:
        print(f"newsbot: {error}", file=err)
        return 1
    if reason:
        print(f"newsbot: {reason}", file=err)
        return 1
    return 0
