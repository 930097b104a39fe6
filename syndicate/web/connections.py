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

Open connections are bounded (`max_connections`, from the open-files limit, which `serve`
raises to its hard limit at start: `raise_open_files_limit`). Past 90% of the bound, idle
keep-alive connections (no request under way, no head arriving) are closed, oldest first,
down to 75%: a new client, or `/healthz`, is worth more than a reader's idle connection,
which it reopens when it next polls. Past the bound with nothing idle, a new connection is
closed at once (refused) rather than leaving the kernel to refuse every connection, silently,
for as long as the descriptors are gone. Both are counted (`on_close`) and logged once per
episode (until the count falls back under 75%).

Cost on the hot path: a connection notes when a head starts (one clock read) and forgets it
when the head is whole. One sweep per server, every `head_timeout / SWEEPS_PER_TIMEOUT`
seconds while connections are open, closes the late ones, so a head gets between
`head_timeout` and 1.25 x `head_timeout`. (A timer per request, armed and cancelled, cost
5% of the throughput: `make bench`.)
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

KEEPALIVE_SECONDS = 75.0
SWEEPS_PER_TIMEOUT = 4
# A request head is at most 32 KB, as nginx's default large_client_header_buffers (4 x 8
# KB); aiohttp's own limits (8 KB a line or field, MAX_LINE_SIZE in service.py) apply
# within it. Past it the head is refused before it is buffered (a client sending 10 MB of
# head cost 10 MB of memory per connection).
MAX_HEAD_BYTES = 32 * 1024
HEAD_END = b"\r\n\r\n"
LINGER_SECONDS = 2.0
_MESSAGE = b"The request head (its line and header fields) is over 32 KB.\n"
TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: " + str(len(_MESSAGE)).encode() + b"\r\n"
    b"Connection: close\r\n\r\n" + _MESSAGE
)
RESERVED_FILES = 64  # descriptors kept for content files, logs, the watcher, outgoing pings
SHED_AT, SHED_TO = 0.90, 0.75  # of max_connections: idle ones closed from, and down to
SHED, REFUSED = "idle-closed", "refused"  # why a connection was closed early (on_close)
SLOW_BODY = "slow-body"
# A request body must arrive whole within BODY_SECONDS of its head (a 1 MB activity at 17
# KB/s), and at MIN_BODY_RATE bytes a second on average once the header timeout has passed:
# as a dripping head does, a dripping body would hold a connection for as long as it liked
# (nginx: client_body_timeout, 60 s between reads).
BODY_SECONDS = 60.0
MIN_BODY_RATE = 1024.0
log = logging.getLogger("syndicate.connections")


def raise_open_files_limit() -> int:
    """Raise this process's open-files soft limit to its hard limit; the limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError) as error:  # pragma: no cover - a limit we may not raise
            log.warning("cannot raise the open-files limit from %d to %d: %s", soft, hard, error)
    return soft


def connection_budget(max_connections: int) -> int:
    """Open connections a process keeps: `max_connections`, or (0) what the open-files
    limit leaves once `RESERVED_FILES` are set aside."""
    if max_connections:
        return max_connections
    return max(16, raise_open_files_limit() - RESERVED_FILES)


class HeadTimeoutHandler(RequestHandler):
    """aiohttp's protocol, noting when the head it waits for started to arrive and how big
    it has grown (a head over `MAX_HEAD_BYTES` is answered 431 before it is buffered), and
    how fast a request's body arrives once its head has (the sweep closes slow ones)."""

    head_started: float | None = None  # loop time of the head's first byte; None: no head due
    head_bytes = 0  # bytes of the head arriving so far
    _tail = b""  # the last bytes received, for a blank line split between two reads
    _discarding = False  # answered 431: what the client still sends is read and dropped
    _payload: Any = None  # the body of the newest request whose head has arrived
    body_started: float | None = None  # loop time that head arrived, while its body arrives
    body_bytes = 0  # bytes received since

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.head_started = self._loop.time()  # a new connection must ask for something, soon

    def data_received(self, data: bytes) -> None:
        if self._discarding:
            return
        if self.body_started is not None:
            self.body_bytes += len(data)
        elif self.head_started is None and not self._busy():
            self.head_started = self._loop.time()  # the first byte of a head
            self.head_bytes, self._tail = 0, b""
        if self.head_started is not None:
            room = MAX_HEAD_BYTES - self.head_bytes
            if len(data) > room and HEAD_END not in (self._tail + data)[: len(self._tail) + room]:
                self._too_large()
                return
            self.head_bytes += len(data)
            self._tail = data[-3:]
        parsed = self._request_count
        super().data_received(data)
        if self._request_count != parsed and self._messages:  # a head arrived whole
            self.head_started = None
            payload = self._messages[-1][1]
            if not payload.is_eof():  # a body follows (a GET's payload is at its end)
                self._payload = payload
                self.body_started, self.body_bytes = self._loop.time(), 0
        if self.body_started is not None and self.body_arrived():
            self.body_started = None

    def body_arrived(self) -> bool:
        """The newest request's body is whole (or it had none)."""
        return self._payload is None or self._payload.is_eof()

    def _busy(self) -> bool:
        """A request is being handled, waits to be, or its body is arriving: what arrives
        is that body or the next request, which aiohttp's own limits bound."""
        # (aiohttp sets _request_in_progress before, and clears it after, _current_request.)
        return self._request_in_progress or bool(self._messages) or not self.body_arrived()

    def _too_large(self) -> None:
        """Answer 431 and close; until then (at most `LINGER_SECONDS`) read and drop what
        the client still sends, so it reads the answer instead of a reset connection."""
        self._discarding = True
        self.head_started = None
        transport = self.transport
        if transport is None:
            return
        transport.write(TOO_LARGE)
        self._loop.call_later(LINGER_SECONDS, self.force_close)


class Server(web.Server):
    """aiohttp's low-level server, making `HeadTimeoutHandler` connections, sweeping the
    ones whose head is late and keeping open connections within `max_connections`."""

    def __init__(
        self,
        handler: Any,
        *,
        head_timeout: float,
        max_connections: int,
        on_close: Callable[[str], None] = lambda reason: None,
        **kwargs: Any,
    ) -> None:
        super().__init__(handler, request_factory=self._request, **kwargs)
        self.head_timeout = head_timeout
        self.max_connections = max_connections
        self.on_close = on_close
        self._crowded = False  # an episode near the bound is under way (logged once)
        self._refusing = False  # and in it, new connections were refused (logged once)
        self._sweep: asyncio.TimerHandle | None = None

    def __call__(self) -> RequestHandler:
        return HeadTimeoutHandler(self, loop=self._loop, **self._kwargs)

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        if len(self._connections) > SHED_AT * self.max_connections:
            self._make_room(handler)
        elif self._crowded and len(self._connections) < SHED_TO * self.max_connections:
            self._crowded = self._refusing = False
        if self._sweep is None:
            self._schedule_sweep()

    def _make_room(self, newcomer: RequestHandler) -> None:
        """Close idle keep-alive connections, oldest first, down to `SHED_TO`; refuse the
        newcomer if the bound is still passed."""
        target = int(SHED_TO * self.max_connections)
        excess = len(self._connections) - target
        closed = 0
        for handler in list(self._connections):
            if closed >= excess:
                break
            if handler is not newcomer and _idle(handler):
                handler.force_close()
                self.on_close(SHED)
                closed += 1
        if not self._crowded:
            self._crowded = True
            log.warning(
                "%d open connections, near the bound of %d (SYNDICATE_MAX_CONNECTIONS or the "
                "open-files limit): closing idle keep-alive connections; raise the limit or "
                "add workers if this recurs",
                len(self._connections), self.max_connections,
            )  # fmt: skip
        if len(self._connections) - closed > self.max_connections:
            closed += self._shed_slow_bodies(len(self._connections) - closed - self.max_connections)
        if len(self._connections) - closed > self.max_connections:
            # Closed once aiohttp has finished setting the connection up (closing it from
            # within its connection_made leaves its request task without a manager).
            self._loop.call_soon(newcomer.force_close)
            self.on_close(REFUSED)
            if not self._refusing:
                self._refusing = True
                log.warning(
                    "refusing new connections: %d open, none idle, past the bound of %d",
                    len(self._connections) - closed,
                    self.max_connections,
                )

    def _shed_slow_bodies(self, wanted: int) -> int:
        """Close up to `wanted` connections whose request body is still arriving, slowest
        first: a new client is worth more than a body that is taking its time."""
        now = self._loop.time()
        arriving = [
            (handler.body_bytes / max(now - started, 1e-3), index, handler)
            for index, handler in enumerate(self._connections)
            if isinstance(handler, HeadTimeoutHandler)
            and (started := handler.body_started) is not None
        ]
        arriving.sort(key=lambda entry: entry[:2])
        for _, _, handler in arriving[:wanted]:
            handler.force_close()
            self.on_close(SLOW_BODY)
        return min(wanted, len(arriving))

    def _schedule_sweep(self) -> None:
        period = self.head_timeout / SWEEPS_PER_TIMEOUT
        self._sweep = self._loop.call_later(period, self._close_late_heads)

    def _close_late_heads(self) -> None:
        self._sweep = None
        limit = self._loop.time() - self.head_timeout
        now = self._loop.time()
        for handler in list(self._connections):
            started = getattr(handler, "head_started", None)
            if started is not None and started <= limit:
                handler.head_started = None  # type: ignore[attr-defined]
                log.debug("closed a connection that sent no complete request head in time")
                handler.force_close()
            body = getattr(handler, "body_started", None)
            if body is not None and _slow(now - body, handler.body_bytes, self.head_timeout):  # type: ignore[attr-defined]
                handler.body_started = None  # type: ignore[attr-defined]
                log.debug("closed a connection whose request body arrived too slowly")
                handler.force_close()
                self.on_close(SLOW_BODY)
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


def _slow(elapsed: float, received: int, grace: float) -> bool:
    """A body arriving for `elapsed` seconds, `received` bytes of it so far, is too slow."""
    return elapsed > BODY_SECONDS or (elapsed > grace and received < MIN_BODY_RATE * elapsed)


def _idle(handler: RequestHandler) -> bool:
    """No request under way, queued or arriving: a keep-alive connection between requests
    (aiohttp's `_current_request` is the request being handled, `_messages` those parsed
    and not yet handled)."""
    return (
        getattr(handler, "head_started", None) is None
        and getattr(handler, "body_started", None) is None
        and getattr(handler, "_current_request", None) is None
        and not getattr(handler, "_request_in_progress", False)
        and not getattr(handler, "_messages", None)
    )
