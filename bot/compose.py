"""The composition root: compose(settings) builds the store, the library, the runtime, the Telegram
application and the workers; run(services) runs their lifecycle until SIGINT/SIGTERM or a stop.

The only module that wires the parts together. Nothing happens at import time; Settings are made by the
caller (bot/cli.py) and passed in.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.cluster import Cluster, replica_name
from bot.logs import register_secrets
from bot.ops import OpsServer
from bot.runtime import (
    LibraryLoader,
    ReloadInProgress,
    Runtime,
    load_configured_library,
    load_saved_view,
    saved_view_of,
)
from bot.settings import Settings
from bot.sources import Poller as SourcesPoller
from bot.store import Store, StoreError
from bot.store.postgres import dsn_password
from bot.tg.alerts import AlertWorker
from bot.tg.app import announce, build_application, connect, report_problems
from bot.tg.context import NewsbotApp
from bot.tg.notices import NoticeWorker
from bot.tg.polling import (
    BACKOFF_FIRST,
    CONFLICT_GRACE_SECONDS,
    PROBATION_SECONDS,
    READ_MARGIN,
    Poller,
    check_token,
)
from bot.tg.webhook import WebhookReceiver

log = logging.getLogger(__name__)

POLL_TIMEOUT = 10  # getUpdates long-poll seconds
SWITCH_INTERVAL = 0.0005  # seconds; see run()


@dataclass
class Services:
    """Everything one running bot is made of, built by compose() and run by run()."""

    settings: Settings
    store: Store
    runtime: Runtime
    application: NewsbotApp
    alerts: AlertWorker
    poller: Poller  # long polling for updates (built in either mode, run unless there is a webhook)
    sources: SourcesPoller  # fetches the feeds (the Telegram updates poller is `poller`)
    notices: NoticeWorker
    webhook: WebhookReceiver | None = None  # webhook mode: updates arrive here instead
    ops: OpsServer | None = None  # /healthz and /metrics, with NEWSBOT_METRICS_PORT
    cluster: Cluster | None = None  # on PostgreSQL: the lead among replicas, and their notifications

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
    probation: float = PROBATION_SECONDS,
    stall_after: float | None = None,
    read_timeout: float | None = None,
    poll_backoff: float | None = None,
) -> Services:
    """Open the store (on SQLite taking the instance lock first, so a second instance refuses at once;
    PostgreSQL is shared by replicas), load the library (the corpus, then the stored fetched articles) off
    the event loop, and build the runtime, the application, the alert worker, the updates poller (see
    bot.tg.polling for conflict_grace, probation and stall_after), the sources' poller and the admin
    notices; on PostgreSQL also this replica's Cluster (who leads, what the others announce).

    `read_timeout` is how long a request waits for Telegram's answer (for getUpdates on top of the long
    poll), `poll_backoff` the pause after a first failed poll; None keeps the defaults (5 s, 1 s). Tests
    that make Telegram hang or fail shorten them, so waiting out a fault does not take seconds.

    Raises StoreError when the database cannot be used; nothing is left open then.
    """
    # PTB logs URLs with the token at DEBUG: redact it even if logging was set up elsewhere.
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    password = dsn_password(settings.postgres_dsn) if settings.postgres_dsn else None
    register_secrets([token, secret, password or ""])
    store = await Store.open(settings.database, lock=True)
    try:
        # The view the bot last saved, brought up to date, when there is one; else the corpus as usual.
        saved = saved_view_of(settings)
        library = await asyncio.to_thread(load_saved_view, settings, saved)
        if library is None:
            library = await asyncio.to_thread(load, settings)
        # Everything loaded so far lives as long as the process: out of the collector's sight, a full
        # collection (set off by the garbage a flood of messages makes) no longer walks the whole
        # library, a pause of 0.1 s and more for every chat (reloads do the same, bot/runtime.py).
        gc.collect()
        gc.freeze()
        runtime = Runtime(settings=settings, store=store, library=library, loader=load, saved_view=saved)
        await runtime.attach_fetched()
        await runtime.restore_stories()
        application = build_application(runtime, token, read_timeout=read_timeout)
        data = application.bot_data
        name = replica_name()
        cluster: Cluster | None = None

        async def catch_up() -> None:
            if cluster is not None:
                await cluster.catch_up()

        alerts = AlertWorker(
            store,
            application.bot,
            lambda article_id: runtime.library.article(article_id),
            rate_per_second=settings.send_rate,
            story=runtime.story_of_article,
            edit_within=timedelta(hours=settings.alert_edit_hours),
            answers_busy=lambda: data.answers_in_flight > 0,
            on_token_error=lambda: application.create_task(
                check_token(application.bot, data), name="check-token"
            ),
            # On PostgreSQL rows are claimed for a lease, paced together, edited by the leader only.
            owner=name,
            lease=timedelta(seconds=settings.alert_lease_seconds) if store.shared else None,
            edits_here=lambda: cluster is None or cluster.leading,
            catch_up=catch_up if store.shared else None,
        )
        runtime.on_new_alerts = alerts.wake
        notices = NoticeWorker(store, application.bot)

        async def rebuild_after_retention() -> None:
            with contextlib.suppress(ReloadInProgress):  # the reload under way reads the store too
                await runtime.reload(full=True)  # (fetched articles left: only a rebuild drops them)

        sources = SourcesPoller(
            settings,
            store,
            on_new_articles=runtime.refresh_fetched,
            on_notice=notices.wake,
            on_expired=rebuild_after_retention,
        )
        data.sources = sources

        def database_lost(error: StoreError) -> None:
            # Nothing the bot confirms from now on would last: stop, and say why.
            if data.exit_reason is None:
                data.exit_reason = error.description
            data.stop.set()

        store.on_lost = database_lost
        if store.shared:
            cluster = Cluster(
                store,
                runtime,
                name=name,
                lead=lambda ended: [sources.run(ended), notices.run(ended)],
                wake_alerts=alerts.wake,
            )
            runtime.on_changed = cluster.announce
            runtime.on_new_alerts = _both(alerts.wake, lambda: cluster.announce("alerts"))
            data.leads = lambda: cluster.leading
        poller = Poller(
            application,
            poll_timeout=poll_timeout,
            conflict_grace=conflict_grace,
            probation=probation,
            read_margin=READ_MARGIN if read_timeout is None else read_timeout,
            stall_after=stall_after,
            backoff_first=BACKOFF_FIRST if poll_backoff is None else poll_backoff,
        )
        webhook = WebhookReceiver(application, settings) if settings.webhook else None
        ops = None
        if settings.metrics_port is not None:
            ops = OpsServer(runtime, data.metrics, settings.listen_host, settings.metrics_port)
    except BaseException:
        await store.close()
        raise
    return Services(
        settings, store, runtime, application, alerts, poller, sources, notices, webhook, ops, cluster
    )


def _both(first: Callable[[], object], second: Callable[[], object]) -> Callable[[], None]:
    def call() -> None:
        first()
        second()

    return call


async def run(services: Services, *, install_signal_handlers: bool = True) -> str | None:
    """Run the bot until SIGINT/SIGTERM or services.stopping is set; returns why it stopped early, if it
    did (Telegram unreachable, the token rejected, another instance polling, polling that kept failing).
    Closes the store."""
    application, stop = services.application, services.stopping
    loop = asyncio.get_running_loop()
    # Searches run in a worker thread (bot.tg.work). Each time the event loop lets go of the interpreter
    # lock (a socket send, a database call) it waits up to this long to get it back from that thread;
    # the default 5 ms, paid a dozen times per answer, would add tens of ms to every other chat's answer.
    sys.setswitchinterval(SWITCH_INTERVAL)
    signals = (signal.SIGINT, signal.SIGTERM) if install_signal_handlers else ()
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    try:
        failure = await connect(application)
        if failure is not None:
            return failure
        if services.ops is not None:
            try:
                await services.ops.start()
            except OSError as error:
                await application.shutdown()
                return f"cannot serve health and metrics on port {services.ops.port}: {error}"
        async with application:  # initialized already; shutdown() runs on the way out
            await announce(application)
            await report_problems(application)
            services.runtime.on_reloaded = lambda: application.create_task(
                report_problems(application), name="report-problems"
            )
            await services.runtime.ingest()  # articles added while we were down become alerts now
            await application.start()
            receiving = services.webhook.run(stop) if services.webhook else services.poller.run(stop)
            background = [
                asyncio.create_task(services.alerts.run(stop), name="alerts"),
                asyncio.create_task(services.runtime.watch_corpus(stop), name="corpus-watcher"),
                asyncio.create_task(receiving, name="updates"),  # long polling, or the webhook
            ]
            if services.cluster is not None:  # the leader among the replicas fetches and notifies
                background.append(asyncio.create_task(services.cluster.run(stop), name="cluster"))
            else:
                background.append(asyncio.create_task(services.sources.run(stop), name="sources"))
                background.append(asyncio.create_task(services.notices.run(stop), name="admin-notices"))
            if services.ops is not None:
                services.ops.ready = True
            await stop.wait()
            log.info("shutting down")
            if services.ops is not None:
                services.ops.ready = False  # a load balancer stops sending traffic here
            for outcome in await asyncio.gather(*background, return_exceptions=True):
                if isinstance(outcome, BaseException):
                    log.error("a background task failed while stopping", exc_info=outcome)
            await application.stop()  # after polling (or the webhook): updates received last are handled
            await services.runtime.view_saved()  # so the next start resumes the newest view
            if services.runtime.saved_view is not None:
                services.runtime.saved_view.close()
        return application.bot_data.exit_reason
    finally:
        if services.ops is not None:
            await services.ops.stop()
        application.bot_data.work.close()
        for signum in signals:
            loop.remove_signal_handler(signum)
        await services.store.close()
