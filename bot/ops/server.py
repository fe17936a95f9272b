"""The health and metrics server: GET /healthz (200 once the bot is up, its library loaded and receiving
updates, while the database answers; else 503) and GET /metrics (Prometheus's text format), on
NEWSBOT_LISTEN_HOST:NEWSBOT_METRICS_PORT, in polling and webhook mode alike. Started and stopped by the
composition root. Must not import telegram.
"""

from __future__ import annotations

import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.ops.metrics import Metrics
from bot.runtime import Runtime
from bot.store import StoreError

log = logging.getLogger(__name__)


class OpsServer:
    """/healthz and /metrics over aiohttp for one running bot."""

    def __init__(self, runtime: Runtime, metrics: Metrics, host: str, port: int) -> None:
        self.runtime = runtime
        self.metrics = metrics
        self.host = host
        self.port = port
        self.ready = False  # set by the composition root once the library is loaded and updates arrive
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen; OSError if the port is taken."""
        app = web.Application()
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.exposition)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        log.info("health and metrics on http://%s:%d/healthz and /metrics", self.host, self.port)

    async def stop(self) -> None:
        """Stop listening (safe to call twice)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def healthz(self, request: web.Request) -> web.Response:
        """200 "ok" when the bot is up (library loaded, updates arriving) and the database answers a read;
        else 503 with why."""
        if not self.ready:
            return web.Response(status=503, text="starting\n")
        try:
            await self.runtime.store.get_meta("health")
        except StoreError as error:
            return web.Response(status=503, text=f"the database does not answer: {error.description}\n")
        return web.Response(text="ok\n")

    async def exposition(self, request: web.Request) -> web.Response:
        """The metrics, with the outbox and the sources read from the store now (kept as last read if it
        does not answer)."""
        store = self.runtime.store
        try:
            self.metrics.outbox(await store.alert_counts())
            listed = await store.sources.listed()
            self.metrics.sources((source.label, source.failures, source.paused) for source in listed)
        except StoreError as error:
            log.warning("metrics: could not read the outbox or the sources: %s", error.description)
        return web.Response(body=self.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})
