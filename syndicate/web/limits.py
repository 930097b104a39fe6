"""Limits on what one client may ask of a process: in a while (sign-ups, inbox posts,
sign-ins), a sliding window per key, in memory, bounded in the keys it tracks; and in one
request, a body read whole but never past a cap. Who the client is: its address, or behind
a trusted proxy (SYNDICATE_TRUSTED_PROXIES), the one that proxy names."""

from __future__ import annotations

import ipaddress
from collections import OrderedDict, deque

from aiohttp import web

TRACKED_CLIENTS = 100_000
Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
LOOPBACK: Networks = (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1/128"))


def parse_trusted(value: str) -> Networks:
    """SYNDICATE_TRUSTED_PROXIES: addresses or networks, comma-separated."""
    return tuple(ipaddress.ip_network(part.strip()) for part in value.split(",") if part.strip())


def client_address(request: web.BaseRequest, trusted: Networks) -> str:
    """The client's address: the peer's, or, when the peer is a trusted proxy (nginx on the
    same machine), the last address it added to X-Forwarded-For."""
    peer = request.remote or ""
    forwarded = request.headers.get("X-Forwarded-For")
    if forwarded and _trusted(peer, trusted):
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return peer


def _trusted(peer: str, trusted: Networks) -> bool:
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in network for network in trusted)


class ClientLimiter:
    """At most `limit` requests per `window` seconds from one client address, in memory (per
    process: with N workers, a client gets at most N times as many)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self.seen: OrderedDict[str, deque[float]] = OrderedDict()

    def allow(self, client: str, now: float) -> float:
        """0 if allowed (and counted); else the seconds until it would be."""
        times = self.seen.pop(client, None) or deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        self.seen[client] = times  # most recent last
        if len(self.seen) > TRACKED_CLIENTS:
            self.seen.popitem(last=False)
        if len(times) >= self.limit:
            return times[0] + self.window - now
        times.append(now)
        return 0.0


async def capped_body(request: web.BaseRequest, cap: int) -> bytes | None:
    """The whole body, however many pieces it arrives in (a read returns what has come so
    far, not all); None past `cap` bytes, read no further."""
    if request.content_length is not None and request.content_length > cap:
        return None
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(65536):
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
