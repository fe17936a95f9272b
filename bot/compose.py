"""The composition root: compose(settings) builds the store, the library, the runtime, the Telegram
application and the workers; run(services) runs their lifecycle until SIGINT/SIGTERM or a stop.

The only module that wires the parts together. Nothing happens at import time; Settings are made by the
caller (bot/cli.py) and passed in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass

from bot.logs import register_secrets
from bot.runtime import LibraryLoader, ReloadInProgress, Runtime, load_configured_library
from bot.settings import Settings
from bot.sources import Poller
from bot.store import Store
from bot.tg.alerts import AlertWorker
from bot.tg.app import CONFLICT_GRACE_SECONDS, announce, build_application, connect, start_polling
from bot.tg.context import NewsbotApp
from bot.tg.notices import NoticeWorker

log = logging.getLogger(__name__)

POLL_TIMEOUT = 10  # getUpdates long-poll seconds


@dataclass
class Services:
    """Everything one running bot is made of, built by compose() and run by run()."""

    settings: Settings
    store: Store
    runtime: Runtime
    application: NewsbotApp
    alerts: AlertWorker
    poller: Poller
    notices: NoticeWorker
    poll_timeout: int = POLL_TIMEOUT
    conflict_grace: float = CONFLICT_GRACE_SECONDS

    @property
    def stopping(self) -> asyncio.Event:
        """Set to stop the bot; run() then shuts everything down in order and returns."""
        return self.application.bot_data.stop


async def compose(
    settings: Settings,
    token: str,
    load: LibraryLoader = load_configured_library,
    *,
    poll_timeout: int = POLL_TIMEOUT,
    conflict_grace: float = CONFLICT_GRACE_SECONDS,
) -> Services:
    """Open the store (taking the instance lock first, so a second instance refuses at once), load the
    library (the corpus, then the stored fetched articles) off the event loop, and build the runtime,
    the application, the alert worker, the sources' poller and the admin notices.

    Raises StoreError when the database cannot be used; nothing is left open then.
    """
    # PTB logs URLs with the token at DEBUG: redact it even if logging was set up elsewhere.
    register_secrets([token])
    store = await Store.open(settings.database, lock=True)
    try:
        library = await asyncio.to_thread(load, settings)
        runtime = Runtime(settings=settings, store=store, library=library, loader=load)
        await runtime.attach_fetched()
        application = build_application(runtime, token)
        data = application.bot_data
        alerts = AlertWorker(
            store,
            application.bot,
            lambda article_id: runtime.library.article(article_id),
            rate_per_second=settings.send_rate,
            answers_busy=lambda: data.answers_in_flight > 0,
        )
        runtime.on_new_alerts = alerts.wake
        notices = NoticeWorker(store, application.bot)

        async def rebuild_after_retention() -> None:
            with contextlib.suppress(ReloadInProgress):  # the reload under way reads the store too
                await runtime.reload()

        poller = Poller(
            settings,
            store,
            on_new_articles=runtime.refresh_fetched,
            on_notice=notices.wake,
            on_expired=rebuild_after_retention,
        )
        data.poller = poller
    except BaseException:
        await store.close()
        raise
    return Services(
        settings, store, runtime, application, alerts, poller, notices, poll_timeout, conflict_grace
    )


async def run(services: Services, *, install_signal_handlers: bool = True) -> str | None:
    """Run the bot until SIGINT/SIGTERM or services.stopping is set; returns why it stopped early, if it
    did (Telegram unreachable, the token rejected, another instance polling). Closes the store."""
    application, stop = services.application, services.stopping
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM) if install_signal_handlers else ()
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    try:
        failure = await connect(application)
        if failure is not None:
            return failure
        async with application:  # initialized already; shutdown() runs on the way out
            await announce(application)
            await services.runtime.ingest()  # articles added while we were down become alerts now
            await application.start()
            background = [
                asyncio.create_task(services.alerts.run(stop), name="alerts"),
                asyncio.create_task(services.runtime.watch_corpus(stop), name="corpus-watcher"),
                asyncio.create_task(services.poller.run(stop), name="sources"),
                asyncio.create_task(services.notices.run(stop), name="admin-notices"),
            ]
            await start_polling(
                application, poll_timeout=services.poll_timeout, conflict_grace=services.conflict_grace
            )
            await stop.wait()
            log.info("shutting down")
            await asyncio.gather(*background, return_exceptions=True)
            assert application.updater is not None
            await application.updater.stop()  # the updater stops before the application
            await application.stop()
        return application.bot_data.exit_reason
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
        await services.store.close()
