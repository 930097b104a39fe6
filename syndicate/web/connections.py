"""Connections that hold a place without asking for anything are closed.

aiohttp closes a connection idle between requests after its keep-alive timeout, but it
has no limit on how long a request head may take to arrive: a client sending one byte a
second (slowloris), or connecting and sending nothing, held its connection for as long as
it liked. Here every request head must arrive whole within `head_timeout` seconds of its
first byte (of the connection's opening, for the first one); otherwise the connection is
closed, as nginx's `client_header_timeout` and Apache's `RequestReadTimeout` do. A
connection idle *between* requests is kept for `KEEPALIVE_SECONDS`, longer than reverse
proxies keep their upstream connections (nginx: 60 s), so a proxy never sends a request
on a connection this side is closing.

Cost on the hot path: a connection notes when a head starts (one clock read) and forgets it
when the head is whole. One sweep per server, every `head_timeout / SWEEPS_PER_TIMEOUT`
seconds while connections are open, closes the late ones, so a head gets between
`head_timeout` and 1.25 x `head_timeout`. (A timer per request, armed and cancelled, cost
5% of the throughput: `make bench`.)
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

KEEPALIVE_SECONDS = 75.0
SWEEPS_PER_TIMEOUT = 4
log = logging.getLogger("syndicate.connections")


class HeadTimeoutHandler(RequestHandler):
    """aiohttp's protocol, noting when the head it waits for started to arrive."""

    head_started: float | None = None  # loop time of the head's first byte; None: no head due

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.head_started = self._loop.time()  # a new connection must ask for something, soon

    def data_received(self, data: bytes) -> None:
        if self.head_started is None:
            self.head_started = self._loop.time()  # the first byte of a head
        super().data_received(data)


class Server(web.Server):
    """aiohttp's low-level server, making `HeadTimeoutHandler` connections and sweeping
    the ones whose head is late."""

    def __init__(self, handler: Any, *, head_timeout: float, **kwargs: Any) -> None:
        super().__init__(handler, request_factory=self._request, **kwargs)
        self.head_timeout = head_timeout
        self._sweep: asyncio.TimerHandle | None = None

    def __call__(self) -> RequestHandler:
        return HeadTimeoutHandler(self, loop=self._loop, **self._kwargs)

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        if self._sweep is None:
            self._schedule_sweep()

    def _schedule_sweep(self) -> None:
        period = self.head_timeout / SWEEPS_PER_TIMEOUT
        self._sweep = self._loop.call_later(period, self._close_late_heads)

    def _close_late_heads(self) -> None:
        self._sweep = None
        limit = self._loop.time() - self.head_timeout
        for handler in list(self._connections):
            started = getattr(handler, "head_started", None)
            if started is not None and started <= limit:
                handler.head_started = None  # type: ignore[attr-defined]
                log.debug("closed a connection that sent no complete request head in time")
                handler.force_close()
        if self._connections:
            self._schedule_sweep()

    async def shutdown(self, timeout: float | None = None) -> None:
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None
        await super().shutdown(timeout)

    def _request(
        self, message: Any, payload: Any, protocol: RequestHandler, writer: Any, task: Any
    ) -> BaseRequest:
        """Called when a request head has arrived whole: no head is due until the next byte."""
        protocol.head_started = None  # type: ignore[attr-defined]
        return BaseRequest(message, payload, protocol, writer, task, self._loop)
