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
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

KEEPALIVE_SECONDS = 75.0
log = logging.getLogger("syndicate.connections")


class HeadTimeoutHandler(RequestHandler):
    """aiohttp's protocol, with a deadline for each request head."""

    def __init__(self, *args: Any, head_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_timeout = head_timeout
        self.head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm()  # a new connection must ask for something, soon

    def data_received(self, data: bytes) -> None:
        if self.head_deadline is None:
            self._arm()  # the first byte of a head
        super().data_received(data)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.head_arrived()
        super().connection_lost(exc)

    def head_arrived(self) -> None:
        if self.head_deadline is not None:
            self.head_deadline.cancel()
            self.head_deadline = None

    def _arm(self) -> None:
        self.head_deadline = asyncio.get_running_loop().call_later(self.head_timeout, self._expire)

    def _expire(self) -> None:
        self.head_deadline = None
        log.debug("closed a connection that sent no complete request head in time")
        self.force_close()


class Server(web.Server):
    """aiohttp's low-level server, making `HeadTimeoutHandler` connections."""

    def __init__(self, handler: Any, *, head_timeout: float, **kwargs: Any) -> None:
        super().__init__(handler, request_factory=self._request, **kwargs)
        self.head_timeout = head_timeout

    def __call__(self) -> RequestHandler:
        return HeadTimeoutHandler(
            self, loop=self._loop, head_timeout=self.head_timeout, **self._kwargs
        )

    def _request(
        self, message: Any, payload: Any, protocol: RequestHandler, writer: Any, task: Any
    ) -> BaseRequest:
        """Called when a request head has arrived whole: its deadline is over."""
        if isinstance(protocol, HeadTimeoutHandler):
            protocol.head_arrived()
        return BaseRequest(message, payload, protocol, writer, task, self._loop)
