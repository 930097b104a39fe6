"""One access-log line per request, at a cost the hot path can afford.

Formatting a record through `logging` for every request halves the throughput of a service
that otherwise does a dictionary lookup per request. Instead each request appends one
preformatted line to an in-memory buffer, and the buffer is written to the stream in one
call every `FLUSH_SECONDS` (or at `MAX_BUFFERED` lines, and at shutdown). Line format:

    2026-11-26T06:41:41Z 203.0.113.0/24 "GET /feed.atom HTTP/1.1" 200 9145 0.0011 "newsboat"

No line holds a person's address or full User-Agent: the client is logged as its network
(IPv4 /24, IPv6 /48), the User-Agent as what reach makes of it (reach/clients.py: a hosted
reader's name, a reader's or tool's family, "bot", "other"), and an email link's token is
redacted.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import re
import sys
import time
from typing import TextIO

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from syndicate.reach.clients import classify

FLUSH_SECONDS = 0.5
MAX_BUFFERED = 2048


class AccessLog:
    """The buffer of an app's access-log lines and the stream they go to."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self.lines: list[str] = []
        self._second = -1
        self._stamp = ""

    def stamp(self) -> str:
        now = int(time.time())
        if now != self._second:  # formatting the time once per second, not per request
            self._second, self._stamp = now, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        return self._stamp

    def add(self, line: str) -> None:
        self.lines.append(line)
        if len(self.lines) >= MAX_BUFFERED:
            self.flush()

    def flush(self) -> None:
        if self.lines:
            lines, self.lines = self.lines, []
            stream = self.stream or sys.stderr
            stream.write("\n".join(lines) + "\n")
            stream.flush()


_TOKEN = re.compile(r"token=[^&#\s]*")


@functools.lru_cache(maxsize=4096)
def network(address: str | None) -> str:
    """The network `address` is in (IPv4 /24, IPv6 /48): enough to see where a flood comes
    from, not whom."""
    try:
        parsed = ipaddress.ip_address(address or "")
    except ValueError:
        return "-"
    if parsed.version == 6 and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    prefix = 24 if parsed.version == 4 else 48
    return str(ipaddress.ip_network(f"{parsed}/{prefix}", strict=False))


def _client(user_agent: str) -> str:
    found = classify(user_agent)
    return found.name or found.kind


class BufferedAccessLogger(AbstractAccessLogger):
    """aiohttp's access-logger hook, writing into an `AccessLog` (see `logger_class`)."""

    sink: AccessLog

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        sink = self.sink
        user_agent = _client(request.headers.get("User-Agent", ""))
        version = request.version
        path = request.raw_path
        if "token=" in path:  # an email link's: it opens someone's subscriptions
            path = _TOKEN.sub("token=(redacted)", path)
        sink.add(
            f'{sink.stamp()} {network(request.remote)} "{request.method} {path} '
            f'HTTP/{version.major}.{version.minor}" {response.status} '
            f'{response.body_length} {time:.4f} "{user_agent}"'
        )

    @property
    def enabled(self) -> bool:
        return True


def logger_class(sink: AccessLog) -> type[BufferedAccessLogger]:
    """An access-logger class bound to `sink` (aiohttp instantiates the class itself)."""
    return type("ServiceAccessLogger", (BufferedAccessLogger,), {"sink": sink})


async def flush_regularly(sink: AccessLog) -> None:
    """Flush `sink` every FLUSH_SECONDS until cancelled, then once more."""
    try:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            sink.flush()
    finally:
        sink.flush()
