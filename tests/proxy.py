"""A small round-robin reverse proxy on 127.0.0.1 for the replica tests and bench.replicas, in front of
several replicas' webhook servers (what nginx or Caddy does in a deployment): each request goes to the
next backend in turn, and to the one after it when a backend refuses the connection (a killed replica),
as nginx's proxy_next_upstream does. Headers and body pass through unchanged; the backend's answer comes
back. aiohttp, which the bot depends on already.
"""

from __future__ import annotations

import itertools
import socket
from collections import Counter

import aiohttp
from aiohttp import web

HOP_HEADERS = frozenset({"host", "content-length", "connection", "transfer-encoding", "keep-alive"})


class RoundRobinProxy:
    """Serves on 127.0.0.1:port; `backends` are ports of 127.0.0.1 (changeable while running)."""

    def __init__(self, backends: list[int]) -> None:
        self.backends = list(backends)
        self.port = 0
        self.forwarded: Counter[int] = Counter()  # requests answered, per backend port
        self._turn = itertools.count()
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        """http://127.0.0.1:port"""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Listen on a free port of 127.0.0.1."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind(("127.0.0.1", 0))
        self.port = int(listening.getsockname()[1])
        await web.SockSite(self._runner, listening).start()

    async def stop(self) -> None:
        """Stop listening and close the connections to the backends."""
        if self._runner is not None:
            await self._runner.cleanup()
        if self._client is not None:
            await self._client.close()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._client is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        first = next(self._turn)
        backends = self.backends
        for attempt in range(len(backends)):
            port = backends[(first + attempt) % len(backends)]
            try:
                async with self._client.request(
                    request.method,
                    f"http://127.0.0.1:{port}{request.path_qs}",
                    headers=headers,
                    data=body,
                    allow_redirects=False,
                ) as answer:
                    payload = await answer.read()
                    self.forwarded[port] += 1
                    return web.Response(status=answer.status, body=payload, content_type=answer.content_type)
            except (aiohttp.ClientConnectionError, TimeoutError):
                continue  # that replica is down: the next one
        return web.Response(status=502, text="no replica answered\n")
